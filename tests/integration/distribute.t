#!/bin/bash
#
# distribute.t: cluster/distribute over 4 bricks on a real mount.
#  - 10,000 files spread within 15% of an even share per brick;
#  - a file put by hand on a brick its name does not hash to is found
#    (once the client's cache of the directory expired);
#  - a rename to a name that hashes elsewhere leaves a linkto file (mode
#    1000, xattr naming the data's subvolume, same gfid), reads back the
#    same data, is listed once; unlink removes data and linkto;
#  - rmdir cleans linkto-only leftovers, and says ENOTEMPTY for a real
#    file on any brick; it leaves no directory open on the bricks;
#  - with a brick killed: its files give ENOTCONN, creates hashed to it
#    fail with ENOTCONN, the rest works, nothing hangs; back after restart;
#  - a client that re-reads the parents' layouts for every new name
#    (layout-refresh-timeout 0) makes directories the other client sees.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-300}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/distribute-lib.sh
. "$top_srcdir/tests/integration/distribute-lib.sh"

require_binaries
command -v getfattr >/dev/null || skip_all "getfattr missing"
plan 26

M=$MT_TMP/mnt
B=$MT_TMP/dd/b
NFILES=${MORTAR_TEST_DHT_FILES:-10000}

tap_require "start 4 bricks" dht_volume dd 4
tap_require "mount" mount_volume_of dd "$M"

# ---- spread
spread() {
	local b n low high
	mkdir "$M/spread" || return 1
	(cd "$M/spread" && seq -f 'file-%g' 1 "$NFILES" | xargs touch) ||
		return 1
	low=$((NFILES * 85 / 400))
	high=$((NFILES * 115 / 400))
	for b in 0 1 2 3; do
		n=$(dht_data_files "$B$b/spread" | wc -l)
		echo "brick $b: $n files (allowed $low..$high)"
		[ "$n" -ge "$low" ] && [ "$n" -le "$high" ] || return 1
	done
}
MT_VERBOSE=1 tap_check "$NFILES files spread within 15% per brick" spread
tap_check "readdir lists each of them once" \
	test "$(find "$M/spread" -mindepth 1 -maxdepth 1 -printf '%f\n' |
		sort -u | wc -l)" -eq "$NFILES"
# telldir/seekdir: the offsets handed up (ext4 bricks give 63-bit hash
# offsets) are valid for seekdir and resume where they were taken.
tap_check "a listing resumed at any returned offset goes on where it was" \
	readdir_resumes "$M/spread"
rm -rf "$M/spread"

# rmdir opens the directory on every brick to check it is empty: the
# bricks must be told to close it again (they hold a directory fd until
# RELEASEDIR), or a client that removes many directories runs the bricks
# out of descriptors.
brick_fds() { ls "/proc/${MT_BRICK_PID[dd-b$1]}/fd" | wc -l; }
rmdir_closes() {
	local b before=() after
	for b in 0 1 2 3; do before[b]=$(brick_fds $b); done
	for i in $(seq 30); do mkdir "$M/rm$i" && rmdir "$M/rm$i" || return 1; done
	for b in 0 1 2 3; do
		after=$(brick_fds $b)
		echo "brick $b: $((before[b])) fds before 30 rmdirs, $after after"
		[ "$after" -le $((before[b] + 3)) ] || return 1
	done
}
MT_VERBOSE=1 tap_check "30 rmdirs leave no directory open on the bricks" rmdir_closes

# ---- a file placed by hand on a brick its name does not hash to
mkdir "$M/d"
byhand() {
	local h other
	echo probe >"$M/d/handmade" || return 1
	h=$(dht_brick_of dd d/handmade) || return 1
	rm "$M/d/handmade" || return 1
	other=$(((h + 1) % 4))
	echo "hashes to brick $h, placed on brick $other"
	echo "made by hand" >"$B$other/d/handmade"
	# Behind the volume's back nobody sends a notice: the client knows
	# d's names (it made d) until its cache lets them go (md-cache-timeout,
	# 1 s here).
	wait_for 3 handmade_reads
}
handmade_reads() { [ "$(cat "$M/d/handmade")" = "made by hand" ]; }
tap_check "a file put by hand on a non-hashed brick is found" byhand

# ---- rename to a name that hashes elsewhere
head -c 300000 /dev/urandom >"$MT_TMP/data"
cp "$MT_TMP/data" "$M/d/orig"
SRC_BRICK=$(dht_brick_of dd d/orig)
NEW=
find_new_name() {
	local i f
	for i in $(seq 1 64); do
		echo x >"$M/d/probe$i" || return 1
		f=$(dht_brick_of dd "d/probe$i")
		rm -f "$M/d/probe$i"
		if [ "$f" != "$SRC_BRICK" ]; then
			NEW=probe$i
			return 0
		fi
	done
	return 1
}
tap_require "find a name hashing to another brick" find_new_name
tap_check "rename to it" mv "$M/d/orig" "$M/d/$NEW"
linkto_left() {
	local b f n=0
	for b in 0 1 2 3; do
		f=$B$b/d/$NEW
		if [ ! -f "$f" ] || [ "$(stat -c '%a %s' "$f")" != "1000 0" ]; then
			continue
		fi
		n=$((n + 1))
		getfattr -n trusted.mortar.dht.linkto --only-values "$f" |
			tr -d '\0' | grep -qx "dd-client-$SRC_BRICK" || return 1
		[ "$(getfattr -n trusted.mortar.gfid -e hex "$f" | tail -n 2)" = \
			"$(getfattr -n trusted.mortar.gfid -e hex \
				"$B$SRC_BRICK/d/$NEW" | tail -n 2)" ] || return 1
	done
	echo "linkto files: $n; data stays on brick $SRC_BRICK"
	[ $n -eq 1 ] && [ "$(dht_brick_of dd "d/$NEW")" = "$SRC_BRICK" ]
}
tap_check "rename leaves one linkto (mode 1000, names the data, same gfid)" \
	linkto_left
tap_check "the renamed file reads back the same data" \
	cmp "$MT_TMP/data" "$M/d/$NEW"
tap_check "readdir lists the new name once and hides the linkto" \
	test "$(find "$M/d" -mindepth 1 -maxdepth 1 -printf '%f\n' |
		grep -cx "$NEW")" -eq 1
gone_everywhere() {
	! find "$B"*/d -maxdepth 1 -name "$NEW" | grep -q .
}
rm "$M/d/$NEW"
tap_check "unlink removes data and linkto" gone_everywhere

# ---- rmdir
rmdir_leftover() {
	mkdir "$M/e" || return 1
	# a linkto left behind (as after an interrupted rename)
	touch "${B}1/e/stale" && chmod 1000 "${B}1/e/stale" &&
		setfattr -n trusted.mortar.dht.linkto -v dd-client-0 \
			"${B}1/e/stale" || return 1
	rmdir "$M/e" && ! find "$B"* -maxdepth 1 -name e | grep -q .
}
tap_check "rmdir removes a directory holding only a linkto leftover" \
	rmdir_leftover
notempty() {
	local out
	mkdir "$M/f" && echo data >"${B}2/f/real" || return 1
	out=$(rmdir "$M/f" 2>&1)
	echo "$out"
	echo "$out" | grep -q "not empty" && [ -d "${B}0/f" ] && [ -d "${B}2/f" ]
}
tap_check "rmdir: ENOTEMPTY when a brick holds a real file" notempty
rm -f "$M/f/real"

# ---- a brick down
for i in $(seq 1 40); do echo "file $i" >"$M/d/k$i"; done
ON2=
for i in $(seq 1 40); do
	[ "$(dht_brick_of dd "d/k$i")" = 2 ] && ON2=k$i && break
done
OFF2=
for i in $(seq 1 40); do
	b=$(dht_brick_of dd "d/k$i")
	[ "$b" != 2 ] && OFF2=k$i && break
done
diag "on brick 2: $ON2; elsewhere: $OFF2"
tap_check "kill brick 2" kill_brick dd-b2
down_errno() {
	local out
	out=$(timeout 20 cat "$M/d/$ON2" 2>&1)
	echo "$out"
	echo "$out" | grep -q "Transport endpoint is not connected"
}
tap_check "a file on the down brick: ENOTCONN (no hang)" \
	wait_for 15 down_errno
tap_check "a file on a live brick still reads" \
	sh -c "timeout 20 cat '$M/d/$OFF2' | grep -qx 'file ${OFF2#k}'"
creates_down() {
	local i ok=0 enotconn=0 other=0 out
	for i in $(seq 1 40); do
		if out=$(timeout 20 sh -c "echo n >'$M/d/new$i'" 2>&1); then
			ok=$((ok + 1))
		elif echo "$out" | grep -q "not connected"; then
			enotconn=$((enotconn + 1))
		else
			other=$((other + 1))
			echo "$out"
		fi
	done
	echo "creates: $ok made, $enotconn ENOTCONN, $other other errors"
	[ $ok -gt 0 ] && [ $enotconn -gt 0 ] && [ $other -eq 0 ] &&
		! find "${B}2/d" -maxdepth 1 -name 'new*' | grep -q .
}
tap_check "creates: ENOTCONN when hashed to the down brick, else made" \
	creates_down
tap_check "ls works with a brick down" timeout 20 ls "$M/d"
tap_check "restart brick 2" restart_brick dd-b2
back() { timeout 10 cat "$M/d/$ON2" 2>/dev/null | grep -qx "file ${ON2#k}"; }
tap_check "its files read again once it is back" wait_for 30 back

# A client that reads every parent's layout again for each new name
# (layout-refresh-timeout 0): directories made through it are there for
# the other client (and, under the sanitizers, it leaks nothing).
M2=$MT_TMP/mnt2
sed '/type cluster\/distribute/a\    option layout-refresh-timeout 0' \
	"$(volume_volfile dd)" >"$MT_TMP/dd-refresh0.vol"
grep -q 'option layout-refresh-timeout 0' "$MT_TMP/dd-refresh0.vol" ||
	bail_out "no cluster/distribute in $(volume_volfile dd)"
tap_require "mount a second client, layout-refresh-timeout 0" \
	mount_volfile "$MT_TMP/dd-refresh0.vol" "$M2"
fresh_mkdirs() {
	mkdir -p "$M2/fr/a/b" "$M2/fr/c" && echo x >"$M2/fr/a/b/f" &&
		[ "$(cat "$M/fr/a/b/f")" = x ] && [ -d "$M/fr/c" ]
}
tap_check "mkdir and create re-reading the parents' layouts" fresh_mkdirs
tap_check "unmount the second client" unmount_volume "$M2"
tap_check "unmount" unmount_volume "$M"
