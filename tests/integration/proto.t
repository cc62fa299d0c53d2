#!/bin/bash
# proto.t - protocol/client, protocol/server and brickd against real brick
# processes, without FUSE (tests/tools/protoclient.c drives a client
# graph): fops and the fd table, create over an existing file (real gfid
# on the brick fd), readdirplus larger than a frame, GETSPEC, refused
# handshakes (unknown volume, auth.reject), fd reopen after a brick
# restart (and EBADFD when the file is gone), per-client cleanup when a
# client dies, more blocking lock requests of one client than the brick's
# in-flight cap (the connection keeps answering; past the brick's bound,
# ENOLCK), and brickd's command line (daemonize, pid file, clean SIGTERM,
# bad input).
. "$(dirname "$0")/../lib/mortar-test.sh"

PC=$MT_TOOLS/protoclient
require_binaries "$PC"
plan 21

run_pc() { # log-name args...: run protoclient, keep its output
	local name=$1
	shift
	timeout 60 "$PC" "$@" >"$MT_TMP/pc-$name.out" 2>&1
	local rc=$?
	[ $rc -eq 0 ] || diag_file "$MT_TMP/pc-$name.out"
	return $rc
}

start_brick pv "$MT_TMP/brick" --volfile-dir "$MT_TMP/vols" ||
	bail_out "brick did not start"
PORT=$BRICK_PORT
mkdir -p "$MT_TMP/vols"
printf 'volume custom\n type debug/trace\nend-volume\n' >"$MT_TMP/vols/custom.vol"
printf 'volume b\n type storage/posix\n option directory /srv\nend-volume\nvolume s\n type protocol/server\n subvolumes b\nend-volume\n' \
	>"$MT_TMP/vols/brickvol.vol"

tap_check "fops through protocol/client and protocol/server" \
	run_pc basic "$PORT" pv basic
tap_check "create over an existing file: its locks conflict with others" \
	run_pc recreate "$PORT" pv recreate
tap_check "readdirplus bigger than a frame is answered, pages list all" \
	run_pc bigdir "$PORT" pv bigdir "$MT_TMP/brick"
# Waiting lock requests hold no place in the connection's in-flight cap
# (1024); at most 4096 of them per connection, then ENOLCK.
tap_check "4104 waiting lock requests: the connection answers, 8 get ENOLCK, all others granted" \
	run_pc lockwaits "$PORT" pv lockwaits
tap_check "the brick logs the ENOLCK refusal once" \
	sh -c "[ \$(grep -c 'too many blocking lock requests' '$MT_TMP/logs/brick-pv.log') -eq 1 ]"

getspec_is() { # name want-ret [grep pattern]
	timeout 20 "$PC" "$PORT" "$1" getspec >"$MT_TMP/gs.out" 2>&1 || return 1
	grep -qx "ret=$2" "$MT_TMP/gs.out" || { diag_file "$MT_TMP/gs.out"; return 1; }
	[ -z "${3:-}" ] || grep -q -- "$3" "$MT_TMP/gs.out"
}
tap_check "GETSPEC generates a client volfile for a brick volume" \
	getspec_is pv 0 "option remote-port $PORT"
tap_check "GETSPEC serves --volfile-dir files first" \
	getspec_is custom 0 "type debug/trace"
tap_check "GETSPEC refuses a brick (server) volfile with EACCES" \
	getspec_is brickvol -13
tap_check "GETSPEC: unknown volume is ENOENT, bad name EINVAL" \
	sh -c "'$PC' $PORT nope getspec | grep -qx ret=-2 &&
	       '$PC' $PORT ../x getspec | grep -qx ret=-22"
tap_check "unknown proc gets ENOSYS, fop before handshake EPERM" \
	sh -c "'$PC' $PORT x badproc | grep -qx ret=-38 &&
	       '$PC' $PORT x fop-before-hs | grep -qx ret=-1"
tap_check "handshake for an unknown volume is refused (ENOTCONN)" \
	run_pc noup-vol "$PORT" wrongvol noup

# Reopen: the client holds an fd across a brick restart.
reopen_case() { # step
	rm -f "$MT_TMP/restart"
	timeout 90 "$PC" "$PORT" pv "$1" "$MT_TMP/restart" \
		>"$MT_TMP/pc-$1.out" 2>&1 &
	local pc=$! rc
	mt_track .pids "$pc"
	wait_for 20 test -e "$MT_TMP/restart" || return 1
	stop_brick pv || return 1
	if [ "$1" = reopen-bad ]; then
		# the file and its gfid handle: the brick cannot open it again
		find "$MT_TMP/brick" -samefile "$MT_TMP/brick/g-reopen-bad" -delete
	fi
	restart_brick pv || return 1
	wait "$pc"
	rc=$?
	mt_untrack .pids "$pc"
	[ $rc -eq 0 ] || diag_file "$MT_TMP/pc-$1.out"
	return $rc
}
tap_check "an open fd survives a brick restart (reopened by gfid)" \
	reopen_case reopen
tap_check "an fd that cannot be reopened fails with EBADFD" \
	reopen_case reopen-bad
tap_check "the failed reopen is logged once with the gfid" \
	grep -q "cannot reopen fd: gfid=" "$MT_TMP/pc-reopen-bad.out"

# A client that dies: the brick closes its fds and drops its locks.
brick_fds() { ls "/proc/${MT_BRICK_PID[pv]}/fd" | wc -l; }
dump_has() { # pattern: newest state dump of the brick contains it
	local d
	d=$(ls -t "$MT_TMP"/dump/brickd.* 2>/dev/null | head -n 1)
	[ -n "$d" ] && grep -q -- "$1" "$d"
}
FDS0=$(brick_fds)
rm -f "$MT_TMP"/dump/brickd.*
"$PC" "$PORT" pv hold >"$MT_TMP/pc-hold.out" 2>&1 &
HOLD=$!
mt_track .pids "$HOLD"
wait_for 20 grep -q holding "$MT_TMP/pc-hold.out"
tap_check "the brick holds the client's open fds" \
	sh -c "[ \$(ls /proc/${MT_BRICK_PID[pv]}/fd | wc -l) -ge $((FDS0 + 3)) ]"
brick_signal pv USR1
tap_check "state dump lists the client with 3 open fds" \
	wait_for 10 dump_has "open-fds=3"
kill -KILL "$HOLD"
wait "$HOLD" 2>/dev/null
mt_untrack .pids "$HOLD"
fds_back() { [ "$(brick_fds)" -le "$FDS0" ]; }
tap_check "a killed client's fds are closed on the brick" wait_for 10 fds_back
# gone-clients=0: locks forgot the gone client's id once all its calls
# were answered (mortar.client-forget).  That follows the fds' close by a
# moment, so each poll takes a fresh dump.
dump_clean() {
	rm -f "$MT_TMP"/dump/brickd.*
	brick_signal pv USR1
	wait_for 5 dump_has "^clients=" &&
		dump_has "^clients=0$" && dump_has "locks: inodes=0 " &&
		dump_has " gone-clients=0 "
}
tap_check "state dump: no client, no lock left, no gone client kept" \
	wait_for 10 dump_clean

# auth.reject wins over the default auth.allow *
start_brick rj "$MT_TMP/brick-rj" --auth-reject 127.0.0.1 ||
	bail_out "second brick did not start"
tap_check "auth.reject refuses the handshake" \
	run_pc noup-auth "${MT_BRICK_PORT[rj]}" rj noup
stop_brick rj

# brickd's command line: daemon mode, pid file, SIGTERM, bad input.
daemon_case() {
	local d=$MT_TMP/daemon pid
	mkdir -p "$d/brick"
	"$BRICKD" --export "$d/brick" --host 127.0.0.1 --port 0 \
		--port-file "$d/port" --pid-file "$d/pid" \
		--log-file "$d/log" || return 1
	# the parent returned: the daemon already listens
	[ -s "$d/port" ] && [ -s "$d/pid" ] || return 1
	pid=$(cat "$d/pid")
	mt_track .pids "$pid"
	kill -0 "$pid" || return 1
	kill -TERM "$pid"
	wait_for 10 sh -c "! kill -0 $pid 2>/dev/null || grep -q ' Z ' /proc/$pid/stat" ||
		return 1
	mt_untrack .pids "$pid"
	wait_for 10 test ! -e "$d/pid"
}
bad_input() {
	! "$BRICKD" -N --export "$MT_TMP/none" 2>"$MT_TMP/e1" &&
		grep -q "none" "$MT_TMP/e1" &&
		printf 'volume a\n type storage/posix\n option directory /tmp\n option bogus 1\nend-volume\n' >"$MT_TMP/bad.vol" &&
		! "$BRICKD" -N -f "$MT_TMP/bad.vol" 2>"$MT_TMP/e2" &&
		grep -q "bad.vol:4:" "$MT_TMP/e2" &&
		! "$BRICKD" --export "$MT_TMP/brick" --port 70000 2>/dev/null &&
		"$BRICKD" --help | grep -q -- "--export DIR"
}
tap_check "brickd daemonizes once listening, stops cleanly on SIGTERM" \
	daemon_case
tap_check "brickd rejects bad input with clear errors" bad_input
