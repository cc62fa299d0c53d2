#!/bin/bash
# locks.t - fcntl (POSIX record) and flock locks on a real mount: between
# two processes on one mount and between two mounts of the same volume.
# The scenarios live in tests/tools/locktest.c (processes coordinated by
# pipes, every wait bounded); this script sets up the volume and runs each
# scenario once per topology, one TAP point each.  Last, a client that
# dies (mortar killed with SIGKILL) must not leave its locks on the brick.
# shellcheck source=../lib/mortar-test.sh
. "$(dirname "$0")/../lib/mortar-test.sh"

LOCKTEST=$MT_TOOLS/locktest
SCENARIOS="wrlck getlk rdlck ranges setlkw close kill flock flock-wait flock-kill"
# shellcheck disable=SC2086 # split into words on purpose
set -- $SCENARIOS
NSCN=$#

require_binaries "$LOCKTEST"
plan $((5 + 2 * NSCN))

start_brick locks "$MT_TMP/brick" || bail_out "brick did not start"
# No attribute/entry caching: the second mount must see files the first
# one creates at once.
OPTS=entry-timeout=0,attribute-timeout=0,negative-timeout=0
mount_volume "$MT_TMP/m1" locks "$BRICK_PORT" "$OPTS" ||
	bail_out "first mount failed"
mount_volume "$MT_TMP/m2" locks "$BRICK_PORT" "$OPTS" ||
	bail_out "second mount failed"

tap_check "create a file on mount 1" \
	sh -c "echo lock-me > '$MT_TMP/m1/lockfile'"
tap_check "mount 2 sees it" wait_for 10 test -f "$MT_TMP/m2/lockfile"

# run_scn TOPOLOGY SCENARIO PATH_A PATH_B: one TAP point; locktest's
# "# " lines pass through as diagnostics when it fails.
run_scn() {
	local desc="$1: $2" out="$MT_TMP/locktest-$1-$2.out" rc
	timeout 90 "$LOCKTEST" -t 80 "$2" "$3" "$4" >"$out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		tap_ok "$desc"
	else
		tap_not_ok "$desc" "locktest exit status $rc$([ $rc -eq 124 ] && echo ' (timeout)')"
		grep -v '^# pass:' "$out" | diag_file -
	fi
}

for s in $SCENARIOS; do
	# A fresh file per scenario: a leak from one cannot mask the next.
	f=one-$s
	: >"$MT_TMP/m1/$f"
	run_scn "one mount" "$s" "$MT_TMP/m1/$f" "$MT_TMP/m1/$f"
done

for s in $SCENARIOS; do
	f=two-$s
	: >"$MT_TMP/m1/$f"
	wait_for 10 test -f "$MT_TMP/m2/$f"
	run_scn "two mounts" "$s" "$MT_TMP/m1/$f" "$MT_TMP/m2/$f"
done

# After all the kills above, no lock may be left behind: a fresh process
# on each mount takes a write lock on every file at once.
leftover() {
	local f rc=0
	for f in "$MT_TMP"/m1/one-* "$MT_TMP"/m1/two-*; do
		timeout 10 flock -n -x "$f" true || { echo "flock held: $f"; rc=1; }
		timeout 10 "$LOCKTEST" -t 8 wrlck "$f" "$f" >/dev/null ||
			{ echo "fcntl lock held: $f"; rc=1; }
	done
	return $rc
}
tap_check "no lock left behind by killed or exited holders" leftover

# A dead client: locks taken through mount 3, then its mortar process is
# killed.  The brick sees the connection drop and must release them.
mount_volume "$MT_TMP/m3" locks "$BRICK_PORT" "$OPTS" ||
	bail_out "third mount failed"
M3_PID=$MOUNT_PID
: >"$MT_TMP/m1/dc-posix"
: >"$MT_TMP/m1/dc-flock"
wait_for 10 test -f "$MT_TMP/m3/dc-flock"
"$LOCKTEST" -t 120 hold "$MT_TMP/m3/dc-posix" "$MT_TMP/m3/dc-flock" \
	>"$MT_TMP/hold.out" 2>&1 &
HOLD_PID=$!
mt_track .pids "$HOLD_PID"
wait_for 10 grep -qx held "$MT_TMP/hold.out" || diag_file "$MT_TMP/hold.out"
tap_check "locks held through mount 3 keep mount 1 out" \
	sh -c "! timeout 10 '$LOCKTEST' try '$MT_TMP/m1/dc-posix' '$MT_TMP/m1/dc-flock'"
diag "killing mount 3's client (pid $M3_PID) with SIGKILL"
kill -KILL "$M3_PID"
try_dc() {
	timeout 10 "$LOCKTEST" try "$MT_TMP/m1/dc-posix" "$MT_TMP/m1/dc-flock"
}
tap_check "the brick drops a dead client's fcntl and flock locks (15 s)" \
	wait_for 15 try_dc
mt_kill_pid "$HOLD_PID"
mt_untrack .pids "$HOLD_PID"
# The mount is dead now (mountpoint(1) cannot stat it), so unmount it
# by hand; the library's cleanup would take it for unmounted.
timeout 10 umount "$MT_TMP/m3" 2>/dev/null || umount -l "$MT_TMP/m3"
mt_untrack .mounts "$MT_TMP/m3"
