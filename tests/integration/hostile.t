#!/bin/bash
# hostile.t - a hostile client (tests/tools/hostile.c) sends malformed
# frames and path-escaping names to a brick.  The brick must answer each
# with an error or a closed connection, stay alive, keep serving a normal
# mount during and after the attack, and create nothing outside its
# export directory.  A second brick with a short handshake-timeout closes
# connections that never complete a handshake (silent, half a frame,
# only pings) after that deadline, and serves its mount meanwhile.  Then
# the live fuzzer (hostile-fuzz.c) for MORTAR_TEST_LIVE_FUZZ_SECS (20):
# no hang, the brick answers after, a canary tree beside it (reachable by
# a symlink inside) keeps every byte.
# shellcheck source=../lib/mortar-test.sh
. "$(dirname "$0")/../lib/mortar-test.sh"

HOSTILE=$MT_TOOLS/hostile
require_binaries "$HOSTILE"
plan 16

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
# iteration count too).  io_loop MNT TAG: until $MT_TMP/TAG.done; touches
# $MT_TMP/TAG.started after the first round.
io_loop() {
	local mnt=$1 tag=$2 i=0 bad=0 f
	while [ ! -e "$MT_TMP/$tag.done" ] && [ $i -lt 2000 ]; do
		i=$((i + 1))
		f=$mnt/during-$((i % 10))
		if ! timeout 10 sh -c "echo during-$i > '$f'" ||
			[ "$(timeout 10 cat "$f")" != "during-$i" ]; then
			bad=$((bad + 1))
			echo "io failed at iteration $i"
		fi
		[ $i -eq 1 ] && touch "$MT_TMP/$tag.started"
	done
	echo "$i iterations, $bad failed"
	[ $i -gt 0 ] && [ $bad -eq 0 ]
}
io_loop "$MT_TMP/mnt" attack >"$MT_TMP/io.out" 2>&1 &
IO_PID=$!
mt_track .pids "$IO_PID"
wait_for 10 test -e "$MT_TMP/attack.started" || diag "io loop did not start"

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

# The live fuzzer: well-framed requests of every fop with mutated names,
# gfids, fds, offsets, sizes, xdata and callers for FUZZ_SECS, while the
# mount keeps working; the canary tree beside the brick must keep every
# byte.
FUZZ_SECS=${MORTAR_TEST_LIVE_FUZZ_SECS:-20}
canary_sums() { find "$JAIL" -path "$BRICK" -prune -o -type f -print0 |
	sort -z | xargs -0r sha256sum; }
mkdir -p "$JAIL/canary/sub"
for i in 1 2 3; do head -c 4096 /dev/urandom >"$JAIL/canary/sub/c$i"; done
ln -s ../canary "$BRICK/to-canary" 2>/dev/null
canary_sums >"$MT_TMP/canary.before"
jail_listing >"$MT_TMP/jail2.before"
rm -f "$MT_TMP/attack.done" "$MT_TMP/attack.started"
io_loop "$MT_TMP/mnt" fuzz >"$MT_TMP/io2.out" 2>&1 &
IO_PID=$!
mt_track .pids "$IO_PID"
wait_for 10 test -e "$MT_TMP/fuzz.started" || diag "io loop did not start"
timeout $((FUZZ_SECS + 120)) "$HOSTILE" -p "$HPORT" -v hvol -t 10 \
	-T "$FUZZ_SECS" live-fuzz >"$MT_TMP/live.out" 2>&1
rc=$?
touch "$MT_TMP/fuzz.done"
diag "$(grep -h '^# hostile:\|^# live-fuzz:' "$MT_TMP/live.out")"
if [ $rc -eq 0 ]; then
	tap_ok "live fuzz: every request answered or closed, the brick answers after"
else
	tap_not_ok "live fuzz: every request answered or closed, the brick answers after" \
		"hostile exit status $rc$([ $rc -eq 124 ] && echo ' (timeout)')"
	grep -v '^# pass' "$MT_TMP/live.out" | diag_file -
fi
wait_for 30 mt_pid_gone "$IO_PID"
wait "$IO_PID"
tap_result "live fuzz: the mount kept working meanwhile" $? ||
	diag_file "$MT_TMP/io2.out"
mt_untrack .pids "$IO_PID"
tap_check "live fuzz: brick process still alive" kill -0 "$HPID"
canary_sums >"$MT_TMP/canary.after"
tap_check "live fuzz: the canary tree beside the brick kept every byte" \
	diff -u "$MT_TMP/canary.before" "$MT_TMP/canary.after"
jail_listing >"$MT_TMP/jail2.after"
tap_check "live fuzz: nothing appeared outside the brick directory" \
	diff -u "$MT_TMP/jail2.before" "$MT_TMP/jail2.after"

rm -f /tmp/hostile-escape-abs 2>/dev/null

# ---- the handshake deadline (protocol/server handshake-timeout) ---------
GREET=2
start_brick hs "$MT_TMP/hs" --handshake-timeout "$GREET" ||
	bail_out "brick with --handshake-timeout did not start"
HS_PORT=$BRICK_PORT
mount_volume "$MT_TMP/hsmnt" hs "$HS_PORT" || bail_out "mount of hs failed"
io_loop "$MT_TMP/hsmnt" greet >"$MT_TMP/hsio.out" 2>&1 &
IO_PID=$!
mt_track .pids "$IO_PID"
wait_for 10 test -e "$MT_TMP/greet.started" || diag "io loop did not start"
timeout 60 "$HOSTILE" -p "$HS_PORT" -v hs -t 5 -G "$GREET" silent \
	>"$MT_TMP/silent.out" 2>&1
rc=$?
touch "$MT_TMP/greet.done"
# three closes, the served connection, two PINGs after: not a skip
silent_ok() {
	[ "$rc" -eq 0 ] && [ "$(grep -c '^# pass' "$MT_TMP/silent.out")" -ge 5 ]
}
silent_ok
tap_result "connections without a handshake are closed after $GREET s, a handshaken one is served" \
	$? || diag_file "$MT_TMP/silent.out"
diag "$(grep -h 'closed after' "$MT_TMP/silent.out")"
wait_for 30 mt_pid_gone "$IO_PID"
wait "$IO_PID"
tap_result "the mount of that brick kept working meanwhile" $? ||
	diag_file "$MT_TMP/hsio.out"
mt_untrack .pids "$IO_PID"
