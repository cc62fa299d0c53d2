#!/bin/bash
# replicate-kill.t - a replica brick killed (SIGKILL) in the middle of a
# large dd: the application sees no error and reads back what it wrote;
# mortar-heal info lists what needs heal by path meanwhile; when the
# brick returns the automatic heal completes (mortar-heal info becomes
# empty) and both brick copies are identical again.
# replicate-kill-create.t does the same under a create-heavy run.
#
# Knob: MORTAR_TEST_BIG_MB (size of the dd, default 1024).
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/../lib/replica.sh
. "$top_srcdir/tests/lib/replica.sh"

BIG_MB=${MORTAR_TEST_BIG_MB:-1024}

require_binaries "$MT_HEAL"
plan 13

tap_require "start a replica 2 volume" start_volume kv replicate 2 --replica 2
M=$MT_TMP/mnt
tap_require "mount" mount_volume_of kv "$M"
B0=$(brick_dir kv-b0)
B1=$(brick_dir kv-b1)

# ---- large dd -----------------------------------------------------------
head -c $((BIG_MB * 1048576)) /dev/urandom >"$MT_TMP/big.ref"
size_at_least() { # FILE BYTES
	[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]
}
# The killer waits until a quarter of the file reached brick 1.
(
	wait_for 120 size_at_least "$B1/big" $((BIG_MB * 1048576 / 4))
	kill -KILL "${MT_BRICK_PID[kv-b1]}"
) &
killer=$!
t0=$(now_ns)
tap_check "dd of $BIG_MB MiB sees no error while brick 1 is killed" \
	dd if="$MT_TMP/big.ref" of="$M/big" bs=1M conv=fsync
t1=$(now_ns)
wait "$killer"
diag "dd through replica 2 (one brick killed): $(awk -v a="$t0" -v b="$t1" \
	-v s="$BIG_MB" 'BEGIN { printf "%.0f", s / (b - a) }') MB/s"
stop_brick kv-b1 KILL >/dev/null 2>&1 # reap it (already dead)
tap_check "brick 1 was really killed before the end of the dd" \
	sh -c "[ \$(stat -c %s '$B1/big') -lt $((BIG_MB * 1048576)) ]"
drop_caches
tap_check "the data reads back identical" cmp "$MT_TMP/big.ref" "$M/big"
# More changes while brick 1 is down: a tree (its directories need an
# entry heal), and a file written after its last name went while it is
# still open (a pending entry with no path).
mkdir -p "$M/d1/d2" && echo small >"$M/d1/d2/f"
exec 7>"$M/gone"
echo before >&7
rm "$M/gone"
echo after >&7
"$MT_HEAL" -f "${MT_VOL_DIR[kv]}/kv.vol" info >"$MT_TMP/info.out" 2>&1
listed() { # what info prints for one entry: a path (or no path) then status
	grep -Eq "^[^ ]+ $1 needs-heal" "$MT_TMP/info.out"
}
G='\(gfid [0-9a-f-]{36}\)'
tree_listed() {
	listed "/d1/d2/f $G" && listed "/d1/d2 $G" && listed "/d1 $G" &&
		listed "/ \\(gfid 00000000-0000-0000-0000-000000000001\\)"
}
tap_check "mortar-heal info lists the file by its path while brick 1 is down" \
	listed "/big $G" || diag_file "$MT_TMP/info.out"
tap_check "mortar-heal info names files and directories below the root" \
	tree_listed || diag_file "$MT_TMP/info.out"
tap_check "an open file whose name is gone is listed without a path" \
	listed '<gfid:[0-9a-f-]{36}> \(no path: removed\)' ||
	diag_file "$MT_TMP/info.out"
exec 7>&-

tap_require "brick 1 restarts" restart_brick kv-b1
t0=$(now_ns)
tap_check "automatic heal completes (mortar-heal info empty)" \
	wait_for 120 heal_done kv
t1=$(now_ns)
diag "heal of $BIG_MB MiB: $(awk -v a="$t0" -v b="$t1" -v s="$BIG_MB" \
	'BEGIN { printf "%.0f", s / (b - a) }') MB/s (incl. reconnect)"
tap_check "both brick copies are identical" cmp "$B0/big" "$B1/big"
tap_check "no pending counters left" clean_counters kv big
rm -f "$MT_TMP/big.ref"

tap_check "unmount" unmount_volume "$M"
