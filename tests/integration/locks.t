#!/bin/bash
# locks.t - fcntl (POSIX record) and flock locks on a real mount: between
# two processes on one mount and between two mounts of the same volume.
# The scenarios live in tests/tools/locktest.c (processes coordinated by
# pipes, every wait bounded); this script sets up the volume and runs each
# scenario once per topology, one TAP point each.  Last, a client that
# dies (mortar killed with SIGKILL) must not leave its locks on the brick.
# A create that finds the file already there must lock that file, and a
# reconnect that loses the brick's locks must fail the fds that held them.
# shellcheck source=../lib/mortar-test.sh
. "$(dirname "$0")/../lib/mortar-test.sh"

LOCKTEST=$MT_TOOLS/locktest
SCENARIOS="wrlck getlk rdlck ranges setlkw setlkw-intr close kill flock flock-wait flock-kill"
# shellcheck disable=SC2086 # split into words on purpose
set -- $SCENARIOS
NSCN=$#

require_binaries "$LOCKTEST"
plan $((13 + 2 * NSCN))

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

# close(2) reaches the brick only for a file this mount asked a POSIX lock
# on: the brick's flush drops the closing owner's locks and does nothing
# else, so the closes of a file nobody locked cost no round trip.
brick_flushes() { # the brick's FLUSH count (its first translator's line)
	local dump
	dump=$(mt_state_dump "${MT_BRICK_PID[locks]}") || return 1
	sed -n 's/^fop\.flush count=\([0-9]*\) .*/\1/p' "$dump" | head -n 1
}
flush_economy() {
	local f=$MT_TMP/m1/closes before after i
	echo x >"$f"
	before=$(brick_flushes) || { echo "no brick state dump"; return 1; }
	for i in 1 2 3 4 5 6 7 8 9 10; do cat "$f" >/dev/null; done
	after=$(brick_flushes)
	[ "${after:-0}" = "${before:-0}" ] ||
		{ echo "10 closes of an unlocked file: flushes $before -> $after"; return 1; }
	timeout 10 "$LOCKTEST" -t 8 wrlck "$f" "$f" >/dev/null ||
		{ echo "locktest wrlck failed"; return 1; }
	cat "$f" >/dev/null
	after=$(brick_flushes)
	[ "${after:-0}" -gt "${before:-0}" ] ||
		{ echo "closes after a lock did not reach the brick ($before -> $after)"; return 1; }
}
tap_check "closes reach the brick only once the file was locked here" \
	flush_economy

# A process killed while its lock request waits on the brick: the kernel
# waits for the answer even through SIGKILL once the request reached the
# file system, so the bridge must withdraw it from the brick's queue.
: >"$MT_TMP/m1/kw-posix"
: >"$MT_TMP/m1/kw-flock"
wait_for 10 test -f "$MT_TMP/m2/kw-flock"
"$LOCKTEST" -t 60 hold "$MT_TMP/m1/kw-posix" "$MT_TMP/m1/kw-flock" \
	>"$MT_TMP/kw-hold.out" 2>&1 &
KW_HOLD=$!
mt_track .pids "$KW_HOLD"
wait_for 10 grep -qx held "$MT_TMP/kw-hold.out" || diag_file "$MT_TMP/kw-hold.out"
"$LOCKTEST" -t 60 wait "$MT_TMP/m2/kw-posix" - >"$MT_TMP/kw-w1.out" 2>&1 &
KW_W1=$!
"$LOCKTEST" -t 60 wait - "$MT_TMP/m2/kw-flock" >"$MT_TMP/kw-w2.out" 2>&1 &
KW_W2=$!
mt_track .pids "$KW_W1"
mt_track .pids "$KW_W2"
wait_for 10 grep -qx waiting "$MT_TMP/kw-w1.out"
wait_for 10 grep -qx waiting "$MT_TMP/kw-w2.out"
# Give both requests time to be parked on the brick, then kill them.
sleep 1
kill -KILL "$KW_W1" "$KW_W2"
gone() { # pid: exited (a zombie counts: it is only waiting to be reaped)
	[ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}
both_gone() { gone "$KW_W1" && gone "$KW_W2"; }
tap_check "waiters killed in F_SETLKW and flock exit at once (5 s)" \
	wait_for 5 both_gone
wait "$KW_W1" "$KW_W2" 2>/dev/null
mt_untrack .pids "$KW_W1"
mt_untrack .pids "$KW_W2"
mt_kill_pid "$KW_HOLD"
mt_untrack .pids "$KW_HOLD"
kw_free() {
	timeout 10 "$LOCKTEST" try "$MT_TMP/m2/kw-posix" "$MT_TMP/m2/kw-flock"
}
tap_check "the killed waiters left no lock behind (10 s)" wait_for 10 kw_free

# O_CREAT on a name mount 4 cached as absent (negative-timeout) while
# mount 1 created it meanwhile: the kernel sends CREATE, the brick opens
# the existing file, and the lock must conflict with mount 1's, not land
# on a gfid made up for a file that was never created.
mount_volume "$MT_TMP/m4" locks "$BRICK_PORT" \
	entry-timeout=0,attribute-timeout=0,negative-timeout=60 ||
	bail_out "fourth mount failed"
stat "$MT_TMP/m4/neg-posix" >/dev/null 2>&1 &&
	diag "neg-posix exists before it was created"
"$LOCKTEST" -t 60 hold "$MT_TMP/m1/neg-posix" "$MT_TMP/m1/neg-flock" \
	>"$MT_TMP/neg-hold.out" 2>&1 &
NEG_PID=$!
mt_track .pids "$NEG_PID"
wait_for 10 grep -qx held "$MT_TMP/neg-hold.out" || diag_file "$MT_TMP/neg-hold.out"
neg_conflict() {
	timeout 10 "$LOCKTEST" trylk "$MT_TMP/m4/neg-posix" - >"$MT_TMP/neg-try.out" 2>&1
	local rc=$?
	[ $rc -eq 1 ] || diag_file "$MT_TMP/neg-try.out"
	[ $rc -eq 1 ]
}
tap_check "O_CREAT over a cached negative entry conflicts with mount 1's lock" \
	neg_conflict
mt_kill_pid "$NEG_PID"
mt_untrack .pids "$NEG_PID"

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

# The brick restarts while a process on mount 1 holds a lock: the new
# brick knows nothing of it, so the fd that held it must fail (EBADFD)
# instead of being reopened as if the lock were still there; a fresh
# open works.  Meanwhile a process on mount 4 holds, without a lock, an
# fd it got from O_CREAT over a cached negative entry (the brick opened
# the existing file): it must be reopened as that file, and work.
: >"$MT_TMP/m1/lost-lock"
stat "$MT_TMP/m4/neg-keep" >/dev/null 2>&1 &&
	diag "neg-keep exists before it was created"
: >"$MT_TMP/m1/neg-keep"
start_helper() { # MODE PATH_A PATH_B OUT: sets HELPER_PID
	"$LOCKTEST" -t 120 "$1" "$2" "$3" >"$4" 2>&1 &
	HELPER_PID=$!
	mt_track .pids "$HELPER_PID"
	wait_for 10 grep -qx ready "$4" || diag_file "$4"
}
start_helper lost "$MT_TMP/m1/lost-lock" "$MT_TMP/m1/lost-lock" "$MT_TMP/lost.out"
LOST_PID=$HELPER_PID
start_helper keep "$MT_TMP/m4/neg-keep" "$MT_TMP/m4/neg-keep" "$MT_TMP/keep.out"
KEEP_PID=$HELPER_PID
stop_brick locks KILL
tap_check "brick restarts on the same port" restart_brick locks
mounts_work() {
	timeout 5 cat "$MT_TMP/m1/lost-lock" >/dev/null 2>&1 &&
		timeout 5 cat "$MT_TMP/m4/neg-keep" >/dev/null 2>&1
}
tap_check "mounts 1 and 4 reconnect (30 s)" wait_for 30 mounts_work
helper_check() { # PID OUT
	kill -USR1 "$1"
	wait "$1"
	local rc=$?
	mt_untrack .pids "$1"
	[ $rc -eq 0 ] || diag_file "$2"
	[ $rc -eq 0 ]
}
tap_check "an fd that held a lock fails with EBADFD after the reconnect" \
	helper_check "$LOST_PID" "$MT_TMP/lost.out"
tap_check "an fd created over an existing file is reopened as that file" \
	helper_check "$KEEP_PID" "$MT_TMP/keep.out"
