#!/bin/bash
#
# replicate-locks.t: POSIX locks and flock on a replica 2 volume are held
# on every live copy.  Client A (mount 1) holds a write lock and an flock;
# the first brick is killed: client B (mount 2) still cannot take either,
# nor after the brick is back (A's locks are then on the second brick
# only), until A lets go.  Then locktest's two-mount
# scenarios (conflicts, ranges, blocking waiters, interrupted waiters)
# pass on the replicated file.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-240}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

LOCKTEST=$MT_TOOLS/locktest
require_binaries "$MORTAR_VOLGEN" "$LOCKTEST"
command -v flock >/dev/null || skip_all "flock (util-linux) missing"
[ -e "$top_builddir/translators/cluster/replicate/.libs/replicate.so" ] ||
	skip_all "cluster/replicate is not built"
SCENARIOS="wrlck getlk rdlck ranges setlkw setlkw-intr close kill flock flock-wait flock-kill"
# shellcheck disable=SC2086 # split into words on purpose
set -- $SCENARIOS
plan $((13 + $#))

M1=$MT_TMP/m1
M2=$MT_TMP/m2
# No attribute/entry caching: mount 2 sees mount 1's files at once.
OPTS=entry-timeout=0,attribute-timeout=0,negative-timeout=0
tap_require "start a replica 2 volume" start_volume lk replicate 2 --replica 2
tap_require "mount 1" mount_volume_of lk "$M1" "$OPTS"
tap_require "mount 2" mount_volume_of lk "$M2" "$OPTS"
: >"$M1/posix" && : >"$M1/fl"

# B's attempts: 1 = refused (the lock is held), 0 = granted (and let go).
b_posix() {
	timeout 10 "$LOCKTEST" trylk "$M2/posix" - >"$MT_TMP/trylk.out" 2>&1
}
b_refused() {
	b_posix
	local rc=$?
	[ $rc = 1 ] || { cat "$MT_TMP/trylk.out"; echo "trylk: exit $rc, want 1"; return 1; }
	if timeout 10 flock -n -x "$M2/fl" true; then
		echo "flock granted to B"
		return 1
	fi
}
b_granted() {
	b_posix && timeout 10 flock -n -x "$M2/fl" true
}

"$LOCKTEST" -t 120 hold "$M1/posix" "$M1/fl" >"$MT_TMP/hold.out" 2>&1 &
HOLD=$!
mt_track .pids "$HOLD"
tap_check "A takes a write lock and an flock" \
	wait_for 10 grep -qx held "$MT_TMP/hold.out"
tap_check "B is refused both" b_refused
B0_PID=${MT_BRICK_PID[lk-b0]}
kill_brick lk-b0
tap_check "the first brick is killed" sh -c "! kill -0 $B0_PID 2>/dev/null"
tap_check "B is still refused both with the first brick dead" b_refused
tap_require "the first brick restarts" restart_brick lk-b0
both_up() { # a change needs both copies: each mount writes to both again
	echo 1 >"$M1/probe1" && [ -s "$(brick_dir lk-b0)/probe1" ] &&
		echo 2 >"$M2/probe2" && [ -s "$(brick_dir lk-b0)/probe2" ]
}
tap_check "both mounts reach it again (20 s)" wait_for 20 both_up
# A's locks are on the second brick only now: B is granted on the first,
# refused on the second, and must give the first back.
tap_check "B is refused both with A's locks on the second brick only" b_refused
mt_kill_pid "$HOLD"
mt_untrack .pids "$HOLD"
tap_check "once A is gone, B gets both: no refused attempt left a lock (10 s)" \
	wait_for 10 b_granted

run_scn() { # SCENARIO: one TAP point, locktest between the two mounts
	local out=$MT_TMP/locktest-$1.out rc
	: >"$M1/s-$1"
	timeout 90 "$LOCKTEST" -t 80 "$1" "$M1/s-$1" "$M2/s-$1" >"$out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		tap_ok "two mounts: $1"
	else
		tap_not_ok "two mounts: $1" "locktest exit status $rc"
		grep -v '^# pass:' "$out" | diag_file -
	fi
}
for s in $SCENARIOS; do
	run_scn "$s"
done

unmount_both() { unmount_volume "$M2" && unmount_volume "$M1"; }
tap_check "both mounts unmount cleanly" unmount_both
tap_check "the bricks stop cleanly" stop_volume lk
