#!/bin/bash
#
# distribute-migrate.t: what mortar-rebalance's migration leaves for the
# clients, on a 3-brick distribute volume with two mounts.
#  - fds opened for reading before their file is migrated, used only
#    after the migration and after another client rewrote part of the
#    file and made it longer: a read gives the new data (the target's,
#    not the old source copy's), fstat the new size; once they are closed
#    no copy is left on the source brick.  A client that still knows
#    the old location (long entry cache) reads the data after the file
#    was renamed to a name whose linkto sits there.
#  - A file with three names (hard links, in two directories), none of
#    which hashes to the brick holding it, is moved with all of them: one
#    inode on the target with the three names (nlink 3 through the
#    mount), every name reads the data, writes through one are read
#    through another, the names hashing elsewhere have linkto files
#    naming the target, no copy is left on the source; the summary counts
#    it.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-120}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/distribute-lib.sh
. "$top_srcdir/tests/integration/distribute-lib.sh"

RB=$top_builddir/extras/tools/mortar-rebalance
require_binaries "$RB"
command -v python3 >/dev/null || skip_all "python3 missing"
command -v getfattr >/dev/null || skip_all "getfattr missing"
plan 21

# Two mounts hold an fd opened before the migration: M1 caches attributes
# for long (its read reaches the brick with no attribute refresh first),
# M3 caches none (its fstat asks).  M2 is the other client.
M1=$MT_TMP/m1
M2=$MT_TMP/m2
M3=$MT_TMP/m3
B=$MT_TMP/mg/b
CTL=$MT_TMP/ctl
mkdir -p "$CTL"

tap_require "start 3 bricks" dht_volume mg 3 min-free-disk=0
mount_all() {
	mount_volume_of mg "$M1" attribute-timeout=600,entry-timeout=600 &&
		mount_volume_of mg "$M2" &&
		mount_volume_of mg "$M3" attribute-timeout=0
}
tap_require "mount three times" mount_all
VF=$(volume_volfile mg)

# ---- a read through an fd opened before the migration

# A file off its hashed brick: written, then renamed to a name that
# hashes elsewhere (the data stays, a linkto goes to the new name's
# brick), so the rebalance moves it.
mkdir "$M2/x"
head -c $((1 << 20)) /dev/urandom >"$MT_TMP/old"
cp "$MT_TMP/old" "$M2/x/f"
SRC=$(dht_brick_of mg x/f)
read -r NAME _ < <(dht_name_off_brick mg "$M2" x "$SRC")
mv "$M2/x/f" "$M2/x/$NAME"
DST=$(dht_linkto_brick_of mg "x/$NAME")
diag "x/$NAME: data on brick $SRC, hashes to brick ${DST:-?}"

# oldfd.py PATH CTL TAG MODE: open PATH for reading, touch CTL/TAG.ready,
# wait for CTL/go, then MODE "read": read the first 256 KiB (within the
# size the kernel knows) into CTL/TAG.read; "fstat": fstat, then read it
# all; the size goes to CTL/TAG.size.
cat >"$MT_TMP/oldfd.py" <<'EOP'
import os, sys, time
path, ctl, tag, mode = sys.argv[1:5]
fd = os.open(path, os.O_RDONLY)
open(f"{ctl}/{tag}.ready", "w").close()
deadline = time.time() + 60
while not os.path.exists(ctl + "/go"):
    if time.time() > deadline:
        sys.exit(3)
    time.sleep(0.05)
if mode == "read":
    data = os.pread(fd, 262144, 0)
else:
    size = os.fstat(fd).st_size
    with open(f"{ctl}/{tag}.size", "w") as f:
        f.write(str(size))
    data = os.pread(fd, size + 65536, 0)
with open(f"{ctl}/{tag}.read", "wb") as f:
    f.write(data)
os.close(fd)
EOP
python3 "$MT_TMP/oldfd.py" "$M1/x/$NAME" "$CTL" m1 read \
	>"$MT_TMP/oldfd1.out" 2>&1 &
READER1=$!
mt_track .pids "$READER1"
python3 "$MT_TMP/oldfd.py" "$M3/x/$NAME" "$CTL" m3 fstat \
	>"$MT_TMP/oldfd3.out" 2>&1 &
READER3=$!
mt_track .pids "$READER3"
readers_ready() { test -e "$CTL/m1.ready" && test -e "$CTL/m3.ready"; }
tap_require "fds are opened for reading on two mounts" \
	wait_for 20 readers_ready

# ---- a file with three names, none hashing to where it is: made with a
# name that hashes there, linked three times, that name removed.
mkdir -p "$M2/h/sub"
head -c 300000 /dev/urandom >"$MT_TMP/hdata"
cp "$MT_TMP/hdata" "$M2/h/a"
HSRC=$(dht_brick_of mg h/a)
declare -A HASHED
read -r L1 H1 < <(dht_name_off_brick mg "$M2" h "$HSRC" one)
read -r L2 H2 < <(dht_name_off_brick mg "$M2" h "$HSRC" two)
read -r L3 H3 < <(dht_name_off_brick mg "$M2" h/sub "$HSRC" three)
L1=h/$L1 L2=h/$L2 L3=h/sub/$L3
HASHED[$L1]=$H1 HASHED[$L2]=$H2 HASHED[$L3]=$H3
links() {
	ln "$M2/h/a" "$M2/$L1" && ln "$M2/h/a" "$M2/$L2" &&
		ln "$M2/h/a" "$M2/$L3" && rm "$M2/h/a" || return 1
	[ "$(stat -c %h "$M2/$L1")" = 3 ] &&
		[ "$(dht_brick_of mg "$L3")" = "$HSRC" ]
}
tap_require "a file on brick $HSRC with three names hashing elsewhere" links
linkto_names() {
	local l
	for l in "$L1" "$L2" "$L3"; do
		dht_is_linkto "$MT_TMP/mg/b${HASHED[$l]}/$l" || return 1
	done
}
tap_check "ln leaves a linkto on each name's brick (two on one brick too)" \
	linkto_names
diag "names: $L1 -> ${HASHED[$L1]}, $L2 -> ${HASHED[$L2]}, $L3 -> ${HASHED[$L3]}"

"$RB" -f "$VF" --progress 60 start >"$MT_TMP/logs/rebalance.out" 2>&1
RC=$?
diag_file "$MT_TMP/logs/rebalance.out"
tap_check "rebalance moves the files" test "$RC" -eq 0
tap_check "its data is on its hashed brick now" \
	test "$(dht_brick_of mg "x/$NAME")" = "$DST"

# The other client rewrites the first 256 KiB and appends 64 KiB; the
# same changes go to a shadow copy.
rewrite() {
	cp "$MT_TMP/old" "$MT_TMP/new" &&
		head -c 262144 /dev/urandom >"$MT_TMP/blk" &&
		head -c 65536 /dev/urandom >"$MT_TMP/tail" || return 1
	dd if="$MT_TMP/blk" of="$M2/x/$NAME" conv=notrunc status=none &&
		cat "$MT_TMP/tail" >>"$M2/x/$NAME" || return 1
	dd if="$MT_TMP/blk" of="$MT_TMP/new" conv=notrunc status=none
	cat "$MT_TMP/tail" >>"$MT_TMP/new"
	cmp "$MT_TMP/new" "$M2/x/$NAME"
}
tap_check "another client rewrites part of it and appends" rewrite

touch "$CTL/go"
wait "$READER1"
RC1=$?
wait "$READER3"
RC3=$?
mt_untrack .pids "$READER1"
mt_untrack .pids "$READER3"
[ "$RC1" -eq 0 ] || diag_file "$MT_TMP/oldfd1.out"
[ "$RC3" -eq 0 ] || diag_file "$MT_TMP/oldfd3.out"
tap_check "a read through an old fd gives the new data" \
	cmp "$CTL/m1.read" <(head -c 262144 "$MT_TMP/new")
tap_check "fstat through an old fd gives the new size" \
	test "$(cat "$CTL/m3.size" 2>/dev/null)" = $(((1 << 20) + 65536))
tap_check "and a read through it all the new data" \
	cmp "$MT_TMP/new" "$CTL/m3.read"

no_copy_left() {
	local n
	n=$(find "$B$SRC/.mortar/unlink" -type f 2>/dev/null | wc -l)
	[ "$n" -eq 0 ] && [ ! -e "$B$SRC/x/$NAME" ]
}
tap_check "closed: no copy left on the source brick" wait_for 10 no_copy_left

# M1 located the file before it moved (its kernel keeps the name for
# long).  Another client gives it a second name that hashes to the old
# brick, which then holds a linkto with the file's gfid: M1 opening it by
# the name it knows reads the data, not that empty linkto.  (A rename
# would not do: the bricks' notices make M1's kernel forget the old name,
# and ENOENT is then the right answer.)
stale_location() {
	local back
	read -r back _ < <(dht_name_on_brick mg "$M2" x "$SRC" back) &&
		ln "$M2/x/$NAME" "$M2/x/$back" &&
		dht_is_linkto "$B$SRC/x/$back" || return 1
	cmp <(head -c 262144 "$M1/x/$NAME") <(head -c 262144 "$MT_TMP/new")
}
tap_check "a client with the old location reads the data, not a linkto" \
	stale_location

# ---- the file with three names
HD=$(dht_brick_of mg "$L1")
moved_together() {
	local l
	echo "on brick ${HD:-none} (was $HSRC)"
	[ -n "$HD" ] && [ "$HD" != "$HSRC" ] || return 1
	for l in "$L2" "$L3"; do
		[ "$(dht_brick_of mg "$l")" = "$HD" ] || return 1
	done
	[ "$HD" = "${HASHED[$L1]}" ] || [ "$HD" = "${HASHED[$L2]}" ] ||
		[ "$HD" = "${HASHED[$L3]}" ]
}
tap_check "it moved with all its names to where one of them hashes" \
	moved_together
read_all() {
	local l
	for l in "$L1" "$L2" "$L3"; do
		cmp "$MT_TMP/hdata" "$M3/$l" || return 1
	done
}
tap_check "every name reads the data" read_all
one_inode() {
	local got
	got=$(stat -c '%i %h' "$M3/$L1" "$M3/$L2" "$M3/$L3" | sort -u)
	echo "mount: $got"
	[ "$(echo "$got" | wc -l)" -eq 1 ] && [ "${got#* }" = 3 ] || return 1
	# on the brick: one inode, three names and its handle
	got=$(stat -c '%i %h' "$B$HD/$L1" "$B$HD/$L2" "$B$HD/$L3" | sort -u)
	echo "brick $HD: $got"
	[ "$(echo "$got" | wc -l)" -eq 1 ] && [ "${got#* }" = 4 ]
}
tap_check "one inode with three names (nlink 3), on the target too" one_inode
linktos() {
	local l h g
	g=$(getfattr -n trusted.mortar.gfid -e hex --only-values "$B$HD/$L1")
	for l in "$L1" "$L2" "$L3"; do
		h=${HASHED[$l]}
		[ "$h" = "$HD" ] && continue
		dht_is_linkto "$B$h/$l" || return 1
		getfattr -n trusted.mortar.dht.linkto --only-values "$B$h/$l" |
			tr -d '\0' | grep -qx "mg-client-$HD" || return 1
		[ "$(getfattr -n trusted.mortar.gfid -e hex --only-values \
			"$B$h/$l")" = "$g" ] || return 1
		echo "$l: linkto on brick $h names brick $HD"
	done
}
tap_check "names hashing elsewhere have linkto files naming the target" linktos
src_clean() {
	local l
	for l in "$L1" "$L2" "$L3"; do
		[ ! -e "$B$HSRC/$l" ] || dht_is_linkto "$B$HSRC/$l" || return 1
	done
	[ "$(find "$B$HSRC/.mortar/unlink" -type f 2>/dev/null | wc -l)" -eq 0 ]
}
tap_check "no copy of it left on the source brick" src_clean
through_other() {
	echo "written through one name" >"$M2/$L1" &&
		[ "$(cat "$M3/$L3")" = "written through one name" ]
}
tap_check "a write through one name is read through another" through_other
tap_check "the summary counts it" \
	grep -q 'hard links): 1 moved, 0 not moved' "$MT_TMP/logs/rebalance.out"

unmount_all() {
	unmount_volume "$M1" && unmount_volume "$M2" && unmount_volume "$M3"
}
tap_check "unmount" unmount_all
