#!/bin/bash
#
# replicate-lkheal.t: a replica brick that comes back gets back the POSIX
# locks and flocks the other copy kept meanwhile, and only then.
#
# Client A (mount 1) holds a write lock and an flock.  Brick 1 restarts:
# A's locks went with its connection there, but brick 0 kept them all
# along, so brick 1 gets them back.  Then brick 0 dies: client B (mount 2)
# must still be refused both on brick 1 alone (without the restore B got
# them while A's application believed it held them), and A's fds work on
# brick 1 (without the restore they failed with EBADFD there).  Then both
# bricks go away at once: nobody kept the locks, so nothing comes back:
# A's fds fail with EBADFD, and B gets both locks.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-180}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

LOCKTEST=$MT_TOOLS/locktest
require_binaries "$MORTAR_VOLGEN" "$LOCKTEST"
command -v flock >/dev/null || skip_all "flock (util-linux) missing"
[ -e "$top_builddir/translators/cluster/replicate/.libs/replicate.so" ] ||
	skip_all "cluster/replicate is not built"
plan 17

M1=$MT_TMP/m1
M2=$MT_TMP/m2
OPTS=entry-timeout=0,attribute-timeout=0,negative-timeout=0
tap_require "start a replica 2 volume" start_volume lh replicate 2 --replica 2
tap_require "mount 1 (client A)" mount_volume_of lh "$M1" "$OPTS"
M1_PID=$MOUNT_PID
tap_require "mount 2 (client B)" mount_volume_of lh "$M2" "$OPTS"
M2_PID=$MOUNT_PID
: >"$M1/posix" && : >"$M1/fl"

# B's attempts through its own mount.
b_refused() {
	timeout 10 "$LOCKTEST" trylk "$M2/posix" - >"$MT_TMP/trylk.out" 2>&1
	local rc=$?
	[ $rc = 1 ] || { cat "$MT_TMP/trylk.out"; echo "trylk: exit $rc, want 1 (refused)"; return 1; }
	if timeout 10 flock -n -x "$M2/fl" true; then
		echo "flock granted to B"
		return 1
	fi
}
b_granted() {
	timeout 10 "$LOCKTEST" trylk "$M2/posix" - &&
		timeout 10 flock -n -x "$M2/fl" true
}

# dump_has PID PATTERN: a fresh state dump of mount PID (replicate's
# line) has PATTERN.
dump_has() {
	local f
	f=$(mt_state_dump "$1") || return 1
	grep -q -- "$2" "$f"
}
a_dump_has() { dump_has "$M1_PID" "$1"; }
# A's fds: fsync both, compare locktest's "io A B" line with $1.
a_io() {
	local n
	n=$(grep -c '^io ' "$MT_TMP/a.out")
	kill -USR1 "$A" || return 1
	wait_for 15 sh -c "[ \$(grep -c '^io ' '$MT_TMP/a.out') -gt $n ]" || {
		echo "no answer from locktest regain"; return 1; }
	grep '^io ' "$MT_TMP/a.out" | tail -n 1 | grep -qx "io $1" || {
		grep '^io ' "$MT_TMP/a.out" | tail -n 1; echo "want: io $1"; return 1; }
}

"$LOCKTEST" -t 170 regain "$M1/posix" "$M1/fl" >"$MT_TMP/a.out" 2>&1 &
A=$!
mt_track .pids "$A"
tap_check "A takes a write lock and an flock" \
	wait_for 10 grep -qx ready "$MT_TMP/a.out"
tap_check "B is refused both" b_refused

# 1. Brick 1 restarts while brick 0 keeps A's locks.
kill_brick lh-b1
wait_for 10 a_dump_has 'up=0x1 ' || diag "mount 1 did not see brick 1 go"
tap_require "brick 1 restarts" restart_brick lh-b1
tap_check "brick 1 gets A's two locked fds back (20 s)" \
	wait_for 20 a_dump_has 'lock-fds=2 lock-fds-on-all=2 '
# B must be connected to brick 1 again before brick 0 goes, or it has
# no brick to be refused by (its reconnect may take a few seconds).
wait_for 20 dump_has "$M2_PID" 'up=0x3 ' ||
	diag "mount 2 did not see brick 1 come back"
kill_brick lh-b0
wait_for 10 a_dump_has 'up=0x2 ' || diag "mount 1 did not see brick 0 go"
wait_for 10 dump_has "$M2_PID" 'up=0x2 ' ||
	diag "mount 2 did not see brick 0 go"
tap_check "B is refused both on the restarted brick alone" b_refused
tap_check "A's fds work on the restarted brick" a_io "ok ok"
tap_check "no restore was refused" a_dump_has 'lock-restores-failed=0$'

# 2. Brick 0 comes back (gets the locks from brick 1), then both go.
tap_require "brick 0 restarts" restart_brick lh-b0
tap_check "brick 0 gets them back too (20 s)" \
	wait_for 20 a_dump_has 'lock-fds=2 lock-fds-on-all=2 '
kill_brick lh-b0
kill_brick lh-b1
tap_check "mount 1 sees both bricks go (10 s)" wait_for 10 a_dump_has 'up=0x0 '
restart_brick lh-b0 && restart_brick lh-b1
both_up() { # each mount writes to both bricks again
	echo 1 >"$M1/probe1" && [ -s "$(brick_dir lh-b0)/probe1" ] &&
		[ -s "$(brick_dir lh-b1)/probe1" ] &&
		echo 2 >"$M2/probe2" && [ -s "$(brick_dir lh-b0)/probe2" ] &&
		[ -s "$(brick_dir lh-b1)/probe2" ]
}
tap_check "both bricks are back for both mounts (20 s)" wait_for 20 both_up
tap_check "A's fds fail with EBADFD: nobody kept their locks" \
	a_io "EBADFD EBADFD"
tap_check "B gets both locks" b_granted

mt_kill_pid "$A"
mt_untrack .pids "$A"
unmount_both() { unmount_volume "$M2" && unmount_volume "$M1"; }
tap_check "both mounts unmount cleanly" unmount_both
