#!/bin/bash
# replicate-splitbrain.t - split-brain made on purpose: brick A down, write;
# A back, brick B down, write; B back.  Each copy now blames the other.
# The split-brain is detected: a reader gets EIO (stat and getxattr
# too for a metadata split-brain), `mortar-heal
# split-brain` lists it, the automatic heal leaves it alone; and it is
# resolved by each policy, keeping the copy the policy must pick:
#   size      the bigger copy
#   mtime     the copy written last
#   source    the copy of the brick the admin names
#   majority  (replica 3) the content two of three copies agree on
# and by `option favorite-child-policy` during an index heal.  Last,
# `mortar-heal full` finds by crawling what no pending index lists.
#
# The volumes run with quorum none (so one brick takes writes) and with
# heal-on-lookup and self-heal-daemon off (so nothing heals in between).
# The root directory ends up in entry split-brain too (each side got names
# the other lacks): heal merges directories, it never removes a name then.
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/../lib/replica.sh
. "$top_srcdir/tests/lib/replica.sh"

require_binaries "$MT_HEAL"
plan 34

OPTS=(--option cluster/replicate:quorum=none
	--option cluster/replicate:heal-on-lookup=off
	--option cluster/replicate:self-heal-daemon=off)
MOPTS=entry-timeout=0,attribute-timeout=0,negative-timeout=0

tap_require "start a replica 2 volume" start_volume sb replicate 2 \
	--replica 2 "${OPTS[@]}"
M=$MT_TMP/mnt
tap_require "mount" mount_volume_of sb "$M" "$MOPTS"
B0=$(brick_dir sb-b0)
B1=$(brick_dir sb-b1)

# sees_up BRICK: a new file made through the mount reaches BRICK (the
# mount has reconnected to it).
PROBE=0
sees_up() {
	PROBE=$((PROBE + 1))
	echo probe >"$M/.probe$PROBE" 2>/dev/null &&
		[ -e "$(brick_dir "$1")/.probe$PROBE" ]
}
put() { # FILE CONTENT
	printf '%s' "$2" >"$M/$1"
}

# Files written while both are up, then one side each.
for f in f_size f_mtime f_src f_fav f_meta; do put $f base; done
M2=$MT_TMP/mnt2
tap_require "second mount" mount_volume_of sb "$M2" \
	entry-timeout=600,attribute-timeout=600
cat "$M2/f_src" "$M2/f_mtime" >/dev/null
kill_brick sb-b0
put f_size "long content written while brick 0 was down"
put f_mtime "old"
put f_src "from brick 1"
put f_fav "older"
chmod 600 "$M/f_meta" && setfattr -n user.side -v one "$M/f_meta"
restart_brick sb-b0
tap_check "mount sees brick 0 again" wait_for 20 sees_up sb-b0
# A second client that knew the files before: it must not read the copy
# that missed the writes (close-to-open across clients).
tap_check "a second client reads the new content, not the stale copy" \
	sh -c "[ \"\$(cat '$M2/f_src')\" = 'from brick 1' ] &&
	       [ \"\$(cat '$M2/f_mtime')\" = old ]"
kill_brick sb-b1
put f_size "short"
sleep 1.1 # mtime has 1 ns resolution, but be clear about "later"
put f_mtime "newer content"
put f_src "from brick 0"
put f_fav "newest"
chmod 640 "$M/f_meta" && setfattr -n user.side -v zero "$M/f_meta"
restart_brick sb-b1
tap_check "mount sees brick 1 again" wait_for 20 sees_up sb-b1

tap_check "the copies differ on the bricks" sh -c "! cmp -s '$B0/f_size' '$B1/f_size'"
eio() { # FILE: reading it fails with EIO
	local out
	out=$(cat "$1" 2>&1) && return 1
	echo "$out" | grep -q 'Input/output error'
}
tap_check "a reader gets EIO" eio "$M/f_size"
tap_check "the client logged the split-brain" \
	grep -q 'split-brain' "$MT_TMP/logs/mount-mnt.log"
listed() {
	heal_cmd sb split-brain >"$MT_TMP/sb.list"
	cat "$MT_TMP/sb.list"
	[ "$(grep -c ' split-brain data' "$MT_TMP/sb.list")" -eq 4 ]
}
tap_check "mortar-heal split-brain lists the four files" listed
tap_check "mortar-heal index leaves them (and says so)" sh -c \
	"! '$MT_HEAL' -f '${MT_VOL_DIR[sb]}/sb.vol' index"
tap_check "the copies still differ" sh -c "! cmp -s '$B0/f_size' '$B1/f_size'"

# Metadata split-brain (mode and a user xattr set on each side): stat and
# getxattr are refused (so is fstat: cat fails too), and it stays until
# the admin resolves it.
eio_cmd() { # CMD...: fails with EIO
	local out
	out=$("$@" 2>&1) && { echo "worked: $out"; return 1; }
	echo "$out" | grep -q 'Input/output error' || { echo "$out"; return 1; }
}
tap_check "metadata split-brain: stat and getfattr get EIO" sh -c \
	"$(declare -f eio_cmd); eio_cmd stat '$M/f_meta' && eio_cmd getfattr -n user.side '$M/f_meta'"
tap_check "metadata split-brain: each copy keeps its own mode (nothing healed)" \
	sh -c "[ \$(stat -c %a '$B0/f_meta') = 640 ] && [ \$(stat -c %a '$B1/f_meta') = 600 ]"
tap_check "resolve the metadata split-brain --source-brick sb-client-0" \
	heal_cmd sb resolve /f_meta --source-brick sb-client-0
meta_resolved() {
	[ "$(stat -c %a "$B1/f_meta")" = 640 ] && [ "$(stat -c %a "$M/f_meta")" = 640 ] &&
		[ "$(getfattr --only-values -n user.side "$M/f_meta")" = zero ]
}
tap_check "metadata: brick 0's mode and xattr on both, stat works" meta_resolved

# resolved FILE CONTENT: both copies hold CONTENT, the mount reads it.
resolved() {
	drop_caches
	[ "$(cat "$B0/$1")" = "$2" ] && [ "$(cat "$B1/$1")" = "$2" ] &&
		[ "$(cat "$M/$1")" = "$2" ]
}
tap_check "resolve --policy size" heal_cmd sb resolve /f_size --policy size
tap_check "size: the bigger copy survives" \
	resolved f_size "long content written while brick 0 was down"
tap_check "resolve --policy mtime" heal_cmd sb resolve /f_mtime --policy mtime
tap_check "mtime: the newest copy survives" resolved f_mtime "newer content"
tap_check "resolve --source-brick sb-client-1" \
	heal_cmd sb resolve /f_src --source-brick sb-client-1
tap_check "source: brick 1's copy survives" resolved f_src "from brick 1"

# favorite-child-policy: the same volfile with the option set resolves
# during an index heal.
sed 's|^\(\s*type cluster/replicate\)$|\1\n    option favorite-child-policy mtime|' \
	"${MT_VOL_DIR[sb]}/sb.vol" >"$MT_TMP/fav.vol"
tap_check "index heal with favorite-child-policy mtime" \
	"$MT_HEAL" -f "$MT_TMP/fav.vol" index
tap_check "favorite-child-policy: the newest copy survives" resolved f_fav newest
tap_check "nothing left in split-brain" heal_done sb

# ---- full crawl: what no index lists is found by crawling -----------------
kill_brick sb-b1
mkdir -p "$M/deep/er"
head -c 300000 /dev/urandom >"$M/deep/er/full1"
echo two >"$M/deep/full2"
restart_brick sb-b1
tap_check "mount sees brick 1 again (full crawl)" wait_for 20 sees_up sb-b1
rm -f "$B0"/.mortar/indices/xattrop/* "$B1"/.mortar/indices/xattrop/*
tap_check "mortar-heal full" heal_cmd sb full
tap_check "full crawl made the missed tree on brick 1" sh -c \
	"cmp '$B0/deep/er/full1' '$B1/deep/er/full1' && cmp '$B0/deep/full2' '$B1/deep/full2'"
tap_check "unmount" unmount_volume "$M"
tap_check "unmount the second client" unmount_volume "$M2"

# ---- majority with replica 3 -------------------------------------------
tap_require "start a replica 3 volume" start_volume s3 replicate 3 \
	--replica 3 "${OPTS[@]}"
M=$MT_TMP/mnt3
tap_require "mount" mount_volume_of s3 "$M" "$MOPTS"
put f_maj base
kill_brick s3-b2
put f_maj "what two copies say"
restart_brick s3-b2
wait_for 20 sees_up s3-b2 || diag "mount did not see brick 2 again"
kill_brick s3-b0
kill_brick s3-b1
put f_maj "the odd one"
restart_brick s3-b0
restart_brick s3-b1
wait_for 20 sees_up s3-b0 && wait_for 20 sees_up s3-b1 ||
	diag "mount did not see bricks 0 and 1 again"
B0=$(brick_dir s3-b0)
B1=$(brick_dir s3-b1)
B2=$(brick_dir s3-b2)
tap_check "resolve --policy majority" heal_cmd s3 resolve /f_maj --policy majority
tap_check "majority: the content two copies agree on survives" sh -c \
	"for b in '$B0' '$B1' '$B2'; do [ \"\$(cat \$b/f_maj)\" = 'what two copies say' ] || exit 1; done"
