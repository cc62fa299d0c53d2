#!/bin/bash
# hostile.t - a hostile client (tests/tools/hostile.c) sends malformed
# frames and path-escaping names to a brick.  The brick must answer each
# with an error or a closed connection, stay alive, keep serving a normal
# mount during and after the attack, and create nothing outside its
# export directory.
# shellcheck source=../lib/mortar-test.sh
. "$(dirname "$0")/../lib/mortar-test.sh"

HOSTILE=$MT_TOOLS/hostile
require_binaries "$HOSTILE"
plan 9

# The brick lives in its own jail dir, so anything a "../x" name
# managed to create shows up as a change in the jail listing.
JAIL=$MT_TMP/jail
BRICK=$JAIL/brick
# A dir outside the brick that a symlink inside it points to: fops
# resolved through that symlink's gfid must not reach it.
OUTSIDE=$JAIL/outside
mkdir -p "$OUTSIDE"
echo bait >"$OUTSIDE/bait"
start_brick hvol "$BRICK" || bail_out "brick did not start"
HPID=$BRICK_PID
HPORT=$BRICK_PORT
mount_volume "$MT_TMP/mnt" hvol "$HPORT" || bail_out "mount failed"

# Everything under the jail except the brick's own tree, plus the
# absolute path one case tries to create.
jail_listing() {
	find "$JAIL" -path "$BRICK" -prune -o -print | sort
	ls -d /tmp/hostile-escape-abs 2>/dev/null
}
rm -f /tmp/hostile-escape-abs 2>/dev/null
jail_listing >"$MT_TMP/jail.before"

tap_check "write and read a file before the attack" sh -c \
	"echo before > '$MT_TMP/mnt/before' && grep -qx before '$MT_TMP/mnt/before'"

# The mount keeps working while the attack runs: a loop of write + read
# back, each op under timeout, until the attack is over (bounded by the
# iteration count too).
io_loop() {
	local i=0 bad=0 f
	while [ ! -e "$MT_TMP/attack.done" ] && [ $i -lt 2000 ]; do
		i=$((i + 1))
		f=$MT_TMP/mnt/during-$((i % 10))
		if ! timeout 10 sh -c "echo during-$i > '$f'" ||
			[ "$(timeout 10 cat "$f")" != "during-$i" ]; then
			bad=$((bad + 1))
			echo "io failed at iteration $i"
		fi
		[ $i -eq 1 ] && touch "$MT_TMP/io.started"
	done
	echo "$i iterations, $bad failed"
	[ $i -gt 0 ] && [ $bad -eq 0 ]
}
io_loop >"$MT_TMP/io.out" 2>&1 &
IO_PID=$!
mt_track .pids "$IO_PID"
wait_for 10 test -e "$MT_TMP/io.started" || diag "io loop did not start"

# Seed from the clock, printed by hostile so a failure can be replayed.
# Five rounds: more fuzz, and a longer attack for the mount to live
# through.
timeout 240 "$HOSTILE" -h 127.0.0.1 -p "$HPORT" -v hvol -t 5 -n 5 -e "$OUTSIDE" \
	>"$MT_TMP/hostile.out" 2>&1
rc=$?
touch "$MT_TMP/attack.done"
if [ $rc -eq 0 ]; then
	tap_ok "every hostile frame got an error reply or a closed connection"
	grep -c '^# pass' "$MT_TMP/hostile.out" | sed 's/^/# checks passed: /'
else
	tap_not_ok "every hostile frame got an error reply or a closed connection" \
		"hostile exit status $rc$([ $rc -eq 124 ] && echo ' (timeout)')"
	{ head -n 1 "$MT_TMP/hostile.out"; grep -v '^# pass' "$MT_TMP/hostile.out"; } |
		diag_file -
fi

# A client that sends and never reads: the brick stops reading it
# instead of queueing replies; its RSS is watched through -P.
# A sanitizer build keeps freed memory in quarantine (256 MiB): allow
# for it, the sent bytes still show whether the brick stopped reading.
FLOOD_MAX_KB=$((64 << 10))
grep -qa __asan_init "/proc/$HPID/exe" 2>/dev/null &&
	FLOOD_MAX_KB=$((384 << 10))
run_flood() {
	timeout 60 "$HOSTILE" -p "$HPORT" -v hvol -t 5 -P "$HPID" \
		-M "$FLOOD_MAX_KB" flood \
		>"$MT_TMP/flood.out" 2>&1 || {
		diag_file "$MT_TMP/flood.out"
		return 1
	}
}

wait_for 30 mt_pid_gone "$IO_PID"
wait "$IO_PID"
tap_result "the mount kept working during the attack" $? ||
	diag_file "$MT_TMP/io.out"
diag "io loop: $(tail -n 1 "$MT_TMP/io.out")"
mt_untrack .pids "$IO_PID"

tap_check "brick memory stays bounded under a flood of unread replies" \
	run_flood
diag "$(grep -h 'RSS' "$MT_TMP/flood.out")"
tap_check "brick process still alive (kill -0 $HPID)" kill -0 "$HPID"
tap_check "brick still answers a fresh hostile PING" \
	timeout 30 "$HOSTILE" -p "$HPORT" -v hvol -t 5 framing
tap_check "write and read a file after the attack" sh -c \
	"echo after > '$MT_TMP/mnt/after' && grep -qx after '$MT_TMP/mnt/after' &&
	 grep -qx before '$MT_TMP/mnt/before'"
tap_check "the data landed in the brick directory" sh -c \
	"grep -qx after '$BRICK/after'"

jail_listing >"$MT_TMP/jail.after"
tap_check "nothing appeared outside the brick directory" \
	diff -u "$MT_TMP/jail.before" "$MT_TMP/jail.after"
rm -f /tmp/hostile-escape-abs 2>/dev/null
