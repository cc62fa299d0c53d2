# shellcheck shell=bash
# shellcheck disable=SC2034 # BRICK_PID, MOUNT_PID, MT_TOOLS... are for callers
#
# mortar-test.sh: the shared library every integration TAP script sources.
# It gives TAP output helpers, a private temp dir, a watchdog for the whole
# script, start/stop of brickd processes and FUSE mounts, and a cleanup that
# runs on EXIT/INT/TERM (and from the watchdog) even when a test fails:
# unmount what we mounted, stop the PIDs we started, remove the temp dir.
#
# Use (tests/lib/README.md lists every function):
#     #!/bin/bash
#     . "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
#     require_binaries
#     plan 3
#     tap_require "start brick" start_brick vol "$MT_TMP/brick"
#     tap_require "mount" mount_volume "$MT_TMP/mnt" vol "$BRICK_PORT"
#     tap_check "unmount cleanly" unmount_volume "$MT_TMP/mnt"
#
# Environment: top_builddir / top_srcdir (set by make check; guessed when a
# .t is run by hand from the source or build tree), MORTAR_TEST_TIMEOUT
# (whole-script limit, seconds; or set MT_TIMEOUT before sourcing),
# MORTAR_TEST_KEEP=1 keeps the temp dir for debugging,
# MORTAR_TEST_LOG_LEVEL=debug raises the brickd and mortar log level.
# MT_NO_FUSE=1 before sourcing: the script mounts nothing and starts no
# daemon (client/test-mount-helper.t), so it runs without root or FUSE.
#
# State that the watchdog must see lives in files under $MT_TMP (PIDs and
# mounts we own), because the watchdog is a forked subshell.

# Require bash (make check runs .t files with $(SHELL)).
if [ -z "${BASH_VERSION:-}" ]; then
	echo "1..0 # SKIP mortar-test.sh needs bash"
	exit 0
fi

MT_NUM=0
MT_FAILED=0
MT_PLANNED=
MT_CLEANED=
MT_WATCHDOG_PID=
MT_SCRIPT=$(basename "$0")
declare -A MT_BRICK_PID MT_BRICK_PORT MT_BRICK_DIR MT_BRICK_ARGS MT_MOUNT_PID
# Volumes (start_volume): a brick of one runs from a server volfile.
declare -A MT_BRICK_VOLFILE MT_VOL_DIR MT_VOL_BRICKS MT_VOL_TYPE MT_VOL_OPTS

# ------------------------------------------------------------------- TAP

plan() {
	MT_PLANNED=$1
	echo "1..$1"
}

diag() {
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/# /'
	done
}

# Print a file (or stdin with -) as TAP diagnostics, at most 60 lines.
diag_file() {
	if [ "$1" = - ]; then
		tail -n 60 | sed 's/^/# /'
	elif [ -f "$1" ]; then
		tail -n 60 "$1" | sed 's/^/# /'
	fi
}

tap_ok() {
	MT_NUM=$((MT_NUM + 1))
	echo "ok $MT_NUM - $1"
}

tap_not_ok() {
	MT_NUM=$((MT_NUM + 1))
	MT_FAILED=$((MT_FAILED + 1))
	echo "not ok $MT_NUM - $1"
	[ $# -gt 1 ] && diag "$2"
	return 0
}

tap_skip() {
	MT_NUM=$((MT_NUM + 1))
	echo "ok $MT_NUM - $1 # SKIP ${2:-}"
}

# tap_result DESC STATUS: one test point from an exit status.
tap_result() {
	if [ "$2" -eq 0 ]; then
		tap_ok "$1"
	else
		tap_not_ok "$1" "exit status $2"
	fi
	return "$2"
}

# tap_check DESC CMD...: run CMD, one test point; its output is shown as
# diagnostics on failure (or always with MT_VERBOSE=1).  Returns CMD's
# status so callers can stop early.
tap_check() {
	local desc=$1 out rc
	shift
	out="$MT_TMP/.tap_check.out"
	"$@" >"$out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		tap_ok "$desc"
		[ "${MT_VERBOSE:-0}" = 1 ] && diag_file "$out"
	else
		tap_not_ok "$desc" "command failed (status $rc): $*"
		diag_file "$out"
	fi
	return $rc
}

# tap_require DESC CMD...: like tap_check, but a failure ends the script
# (later tests make no sense without a brick or a mount).
tap_require() {
	tap_check "$@" || bail_out "$1: failed"
}

# tap_run_tool DESC CMD...: run a tool that prints TAP itself (posix_check)
# as one test point; its "not ok" lines and comments become diagnostics.
tap_run_tool() {
	local desc=$1 out rc
	shift
	out="$MT_TMP/.tap_tool.out"
	"$@" >"$out" 2>&1
	rc=$?
	grep -v '^ok ' "$out" | grep -v '^# [a-z0-9]*$' | diag_file -
	diag "$(grep -c '^ok ' "$out") checks passed, $(grep -c '^not ok' "$out") failed"
	tap_result "$desc" $rc
}

# Stop the script now: the harness counts a "Bail out!" as an error.
bail_out() {
	echo "Bail out! $*"
	exit 1
}

# Skip the whole script (only before plan).
skip_all() {
	echo "1..0 # SKIP $*"
	MT_PLANNED=0
	exit 0
}

mt_summary() {
	if [ -n "$MT_PLANNED" ] && [ "$MT_PLANNED" != "$MT_NUM" ]; then
		diag "planned $MT_PLANNED tests but ran $MT_NUM"
	fi
	diag "$MT_SCRIPT: $((MT_NUM - MT_FAILED)) of $MT_NUM passed"
}

# ---------------------------------------------------------------- waiting

# wait_for TIMEOUT CMD...: poll CMD every 0.1 s until it succeeds; 1 on
# timeout.  TIMEOUT is in seconds (integer).
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			return 1
		fi
		sleep 0.1
	done
	return 0
}

mt_pid_alive() {
	kill -0 "$1" 2>/dev/null
}

# Gone, or a zombie waiting for its parent (our shell) to reap it.
mt_pid_gone() {
	local state
	kill -0 "$1" 2>/dev/null || return 0
	state=$(ps -o stat= -p "$1" 2>/dev/null)
	[ "${state:0:1}" = Z ]
}

# Stop one PID of ours: TERM, up to 5 s, then KILL.  Reaps it if it is
# our child.
mt_kill_pid() {
	local pid=$1 start
	mt_pid_alive "$pid" || return 0
	if [ -s "$MT_TMP/.start.$pid" ]; then
		start=$(mt_start_time "$pid")
		[ "$start" = "$(cat "$MT_TMP/.start.$pid")" ] || return 0
	fi
	kill -TERM "$pid" 2>/dev/null
	# A stopped process (a test's SIGSTOP) must run to see the TERM.
	kill -CONT "$pid" 2>/dev/null
	if ! wait_for 5 mt_pid_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait_for 5 mt_pid_gone "$pid"
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# --------------------------------------------------------- owned-state files

# Start time of a process (clock ticks since boot), empty if it is gone.
mt_start_time() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	# shellcheck disable=SC2086 # split the fields after "(comm) "
	set -- $stat
	echo "${20}"
}

# Record a PID (.pids) or a mount point (.mounts) that cleanup must undo.
# For a PID its start time is kept too, so that cleanup never signals an
# unrelated process that reused the number.
mt_track() { # FILE LINE
	echo "$2" >>"$MT_TMP/$1"
	if [ "$1" = .pids ]; then
		mt_start_time "$2" >"$MT_TMP/.start.$2"
	fi
}

mt_untrack() { # FILE LINE
	local f="$MT_TMP/$1"
	[ -f "$f" ] || return 0
	grep -vxF -- "$2" "$f" >"$f.new"
	mv -f "$f.new" "$f"
}

# Unmount one path: umount, then lazy fallbacks.  Polls, never hangs.
mt_force_unmount() {
	local mnt=$1
	mountpoint -q "$mnt" 2>/dev/null || return 0
	timeout 10 umount "$mnt" 2>/dev/null ||
		timeout 10 fusermount3 -u "$mnt" 2>/dev/null ||
		fusermount3 -uz "$mnt" 2>/dev/null ||
		umount -l "$mnt" 2>/dev/null
	wait_for 10 mt_not_mounted "$mnt"
}

mt_not_mounted() {
	! mountpoint -q "$1"
}

# Undo everything we own.  Safe to call twice and from the watchdog.
# No pipelines here: mt_kill_pid must run in the shell that owns the PIDs.
mt_release_all() {
	local mnt pid
	local -a list=()
	if [ -f "$MT_TMP/.mounts" ]; then
		mapfile -t list < <(tac "$MT_TMP/.mounts")
		for mnt in "${list[@]}"; do
			mt_force_unmount "$mnt"
		done
	fi
	if [ -f "$MT_TMP/.pids" ]; then
		mapfile -t list < <(tac "$MT_TMP/.pids")
		for pid in "${list[@]}"; do
			mt_kill_pid "$pid"
		done
	fi
}

# A sanitizer report from any daemon fails the script, even when every
# test point passed (leak reports appear only when the daemons exit).
mt_sanitizer_reports() {
	local f found=1
	for f in "$MT_TMP"/logs/*; do
		[ -f "$f" ] || continue
		grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$f" ||
			continue
		diag "sanitizer report in $(basename "$f"):"
		grep -m 40 -A 20 -E 'Sanitizer|runtime error:' "$f" | diag_file -
		found=0
	done
	return $found
}

mt_cleanup() {
	local rc=$? mnt busy=
	[ -n "$MT_CLEANED" ] && return
	MT_CLEANED=1
	trap - EXIT INT TERM
	if [ -e "$MT_TMP/.timeout" ]; then
		rc=1
	fi
	if [ -n "$MT_WATCHDOG_PID" ]; then
		kill -TERM "$MT_WATCHDOG_PID" 2>/dev/null
		wait "$MT_WATCHDOG_PID" 2>/dev/null
	fi
	# A script that worked inside its mount must not keep it busy.
	cd / || true
	mt_release_all
	mt_sanitizer_reports && rc=1
	[ "$MT_FAILED" -gt 0 ] && rc=1
	if [ -n "$MT_PLANNED" ] && [ "$MT_PLANNED" != "$MT_NUM" ]; then
		rc=1
	fi
	mt_summary
	# Never rm -rf through a live mount: that would delete brick data.
	if [ -f "$MT_TMP/.mounts" ]; then
		while read -r mnt; do
			mountpoint -q "$mnt" 2>/dev/null && busy=1 &&
				diag "still mounted: $mnt"
		done <"$MT_TMP/.mounts"
	fi
	if [ -n "$busy" ] || [ "${MORTAR_TEST_KEEP:-0}" = 1 ]; then
		diag "kept $MT_TMP"
	else
		rm -rf --one-file-system "$MT_TMP"
	fi
	exit $rc
}

# The watchdog already printed its Bail out; a user's ^C did not.
mt_on_signal() {
	[ -e "$MT_TMP/.timeout" ] || echo "Bail out! interrupted by a signal"
	exit 1
}

# The watchdog: after MT_TIMEOUT seconds, report and undo our state so a
# main script stuck in a syscall on a dead mount returns, then TERM it.
# Its stdout is the TAP stream (fd 9); its sleeps get /dev/null.
mt_watchdog() {
	local deadline=$((SECONDS + MT_TIMEOUT)) main=$1 child
	exec 9>&1 >/dev/null 2>&1
	while [ $SECONDS -lt $deadline ]; do
		mt_pid_alive "$main" || exit 0
		sleep 1 9>&-
	done
	touch "$MT_TMP/.timeout"
	echo "Bail out! timeout after ${MT_TIMEOUT}s" >&9
	mt_release_all
	# The stuck foreground command is a child of the main script.
	for child in $(ps -o pid= --ppid "$main"); do
		[ "$child" = "$BASHPID" ] && continue
		kill -TERM "$child" 2>/dev/null
	done
	kill -TERM "$main" 2>/dev/null
	exit 0
}

# ------------------------------------------------------------------- setup

mt_find_tree() {
	local here d
	here=$(cd "$(dirname "$0")" && pwd)
	# This file is tests/lib/mortar-test.sh of the source tree, wherever
	# the script that sources it lives (tests/integration/, client/).
	if [ -z "${top_srcdir:-}" ]; then
		top_srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	fi
	if [ -z "${top_builddir:-}" ]; then
		for d in "$PWD" "$PWD/.." "$PWD/../.." "$here/../.."; do
			if [ -f "$d/config.status" ]; then
				top_builddir=$(cd "$d" && pwd)
				break
			fi
		done
	fi
	export top_srcdir top_builddir
	[ -n "${top_builddir:-}" ] || [ "${MT_NO_FUSE:-0}" = 1 ] ||
		bail_out "set top_builddir (no config.status found)"
}

mt_init() {
	mt_find_tree
	if [ "${MT_NO_FUSE:-0}" != 1 ]; then
		[ "$(id -u)" -eq 0 ] || skip_all "needs root (FUSE mounts, chown)"
		[ -c /dev/fuse ] || skip_all "/dev/fuse is missing"
		command -v mountpoint >/dev/null ||
			skip_all "mountpoint(1) missing"
		command -v fusermount3 >/dev/null || skip_all "fusermount3 missing"
	fi

	MORTAR_XLATOR_PATH=$top_builddir/translators
	export MORTAR_XLATOR_PATH
	BRICKD=$top_builddir/brickd/brickd
	MORTAR=$top_builddir/client/mortar
	MORTAR_VOLGEN=$top_builddir/extras/tools/mortar-volgen
	MT_TOOLS=$top_builddir/tests/tools
	MT_TIMEOUT=${MT_TIMEOUT:-${MORTAR_TEST_TIMEOUT:-300}}

	MT_TMP=$(mktemp -d "/tmp/mortar-test.${MT_SCRIPT%.t}.XXXXXX") ||
		bail_out "mktemp failed"
	# Unprivileged checks (setpriv) must reach mounts below it.
	chmod 0755 "$MT_TMP"
	mkdir -p "$MT_TMP/logs" "$MT_TMP/dump"
	trap mt_cleanup EXIT
	trap mt_on_signal INT TERM
	mt_watchdog $$ &
	MT_WATCHDOG_PID=$!
	diag "temp dir $MT_TMP, timeout ${MT_TIMEOUT}s, build $top_builddir"
}

# Binaries must exist before a script plans its tests; extra tools may be
# named as arguments.
# shellcheck disable=SC2120 # the arguments are optional
require_binaries() {
	local b
	for b in "$BRICKD" "$MORTAR" "$@"; do
		[ -x "$b" ] || bail_out "missing $b (run make first)"
	done
}

# ------------------------------------------------------------------ bricks

# MORTAR_TEST_LOG_LEVEL=debug (or trace...) for brickd and mortar logs.
mt_log_level_args() {
	[ -n "${MORTAR_TEST_LOG_LEVEL:-}" ] &&
		echo "--log-level $MORTAR_TEST_LOG_LEVEL"
	return 0
}

# start_brick NAME EXPORT_DIR [extra brickd args...]
# Starts brickd -N in the background on a free port; sets BRICK_PID,
# BRICK_PORT and MT_BRICK_PID[NAME], MT_BRICK_PORT[NAME].
start_brick() {
	local name=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	MT_BRICK_DIR[$name]=$dir
	MT_BRICK_ARGS[$name]="$*"
	MT_BRICK_VOLFILE[$name]=
	mt_spawn_brick "$name" 0 "$@"
}

# mt_spawn_brick NAME PORT [args]: the common part of start and restart.
# A brick of a volume (start_volume) runs its server volfile; the others
# export their directory under their own name.
mt_spawn_brick() {
	local name=$1 port=$2 pf="$MT_TMP/brick-$1.port" pid vf
	local -a graph
	shift 2
	rm -f "$pf"
	vf=${MT_BRICK_VOLFILE[$name]:-}
	if [ -n "$vf" ]; then
		graph=(-f "$vf" --volfile-dir "$(dirname "$vf")")
	else
		graph=(--export "${MT_BRICK_DIR[$name]}" --volume "$name")
	fi
	# shellcheck disable=SC2046 # no option at all when the level is unset
	"$BRICKD" $(mt_log_level_args) -N "${graph[@]}" \
		--host 127.0.0.1 --port "$port" --port-file "$pf" \
		--log-file "$MT_TMP/logs/brick-$name.log" \
		--dump-dir "$MT_TMP/dump" "$@" \
		</dev/null >>"$MT_TMP/logs/brick-$name.out" 2>&1 &
	pid=$!
	mt_track .pids "$pid"
	MT_BRICK_PID[$name]=$pid
	if ! wait_for "${MT_START_TIMEOUT:-20}" mt_port_file_ready "$pf" "$pid"; then
		diag "brick $name did not start (pid $pid)"
		diag_file "$MT_TMP/logs/brick-$name.out"
		diag_file "$MT_TMP/logs/brick-$name.log"
		return 1
	fi
	if ! mt_pid_alive "$pid"; then
		diag "brick $name exited during startup"
		diag_file "$MT_TMP/logs/brick-$name.log"
		return 1
	fi
	MT_BRICK_PORT[$name]=$(head -n 1 "$pf")
	BRICK_PID=$pid
	BRICK_PORT=${MT_BRICK_PORT[$name]}
	diag "brick $name: pid $pid port $BRICK_PORT"
	return 0
}

# Ready: the port file holds a number.  A dead brick ends the wait (with
# success, so the caller checks liveness and stops early).
mt_port_file_ready() {
	mt_pid_alive "$2" || return 0
	[ -s "$1" ] && grep -qx '[0-9][0-9]*' "$1"
}

# stop_brick NAME [SIGNAL]: default TERM (clean shutdown, must exit 0);
# KILL simulates a crash.
stop_brick() {
	local name=$1 sig=${2:-TERM} pid=${MT_BRICK_PID[$1]:-} rc=0
	[ -n "$pid" ] || return 1
	mt_stop_child "brick $name" "$pid" "$sig" || rc=1
	MT_BRICK_PID[$name]=
	return $rc
}

# mt_stop_child WHAT PID SIG: signal a daemon the script started (our
# child) and reap it; KILL after 10 s.  1 when it had to be killed, or
# exited non-zero after SIGTERM (a clean shutdown must exit 0).
mt_stop_child() {
	local what=$1 pid=$2 sig=$3 rc=0 status
	kill "-$sig" "$pid" 2>/dev/null
	if ! wait_for 10 mt_pid_gone "$pid"; then
		diag "$what (pid $pid) ignored SIG$sig"
		kill -KILL "$pid" 2>/dev/null
		rc=1
	fi
	wait "$pid" 2>/dev/null
	status=$?
	if [ "$sig" = TERM ] && [ "$status" -ne 0 ]; then
		diag "$what exited with status $status after SIGTERM"
		rc=1
	fi
	mt_untrack .pids "$pid"
	return $rc
}

kill_brick() {
	stop_brick "$1" KILL
	return 0
}

# restart_brick NAME: same export, same port (clients reconnect to it).
# Retries for a while in case the old socket still holds the port.
restart_brick() {
	local name=$1 deadline=$((SECONDS + 15))
	# shellcheck disable=SC2086 # stored extra args are split on purpose
	until mt_spawn_brick "$name" "${MT_BRICK_PORT[$name]}" \
		${MT_BRICK_ARGS[$name]}; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.5
	done
	return 0
}

brick_signal() { # NAME SIGNAL: e.g. USR1 for a state dump
	kill "-$2" "${MT_BRICK_PID[$1]}"
}

# mt_state_dump PID: have daemon PID (a mount or a brick of this test)
# write a state dump (SIGUSR1) into $MT_TMP/dump; prints the new dump's
# path, or fails after 10 s.
mt_dump_count() { # PID
	local f n=0
	for f in "$MT_TMP"/dump/*."$1".dump.*; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}
mt_dump_more() { [ "$(mt_dump_count "$1")" -gt "$2" ]; }
mt_state_dump() {
	local before path
	before=$(mt_dump_count "$1")
	kill -USR1 "$1" || return 1
	wait_for 10 mt_dump_more "$1" "$before" || return 1
	# complete: a dump is renamed to its name once written
	path=$(ls -t "$MT_TMP"/dump/*."$1".dump.* | head -n 1)
	echo "$path"
}
# mt_dump_value PID KEY: KEY's value (first "KEY=" line) in a fresh state
# dump of PID.
mt_dump_value() {
	local path
	path=$(mt_state_dump "$1") || return 1
	sed -n "s/^$2=//p" "$path" | head -n 1
}

# brick_dir BRICK: the directory a brick serves (any brick, e.g. vol-b1).
brick_dir() {
	echo "${MT_BRICK_DIR[$1]}"
}

# ----------------------------------------------------------------- volumes

# start_volume NAME TYPE NBRICKS [mortar-volgen options...]
# A whole volume on loopback: brick dirs $MT_TMP/NAME/b<i>, volfiles from
# mortar-volgen in $MT_TMP/vols/NAME (MT_VOL_DIR[NAME]), one brickd -f per
# brick, named NAME-b0, NAME-b1, ... for stop_brick / kill_brick /
# restart_brick / brick_signal / brick_dir.  Each brick binds port 0 (the
# kernel picks a free one, no race with other tests), then the volfiles
# are generated again with the ports the bricks got, so the client volfile
# every brick serves names the real ports.  MT_VOL_BRICKS[NAME] lists the
# brick names.  Mount with mount_volume_of NAME MNT.
start_volume() {
	local vol=$1 type=$2 n=$3 i
	shift 3
	[ -x "$MORTAR_VOLGEN" ] || {
		diag "missing $MORTAR_VOLGEN (run make first)"
		return 1
	}
	MT_VOL_DIR[$vol]=$MT_TMP/vols/$vol
	MT_VOL_TYPE[$vol]=$type
	MT_VOL_OPTS[$vol]=
	[ $# -gt 0 ] && MT_VOL_OPTS[$vol]=$(printf '%q ' "$@")
	MT_VOL_BRICKS[$vol]=
	mkdir -p "${MT_VOL_DIR[$vol]}"
	for ((i = 0; i < n; i++)); do
		mt_vol_new_brick "$vol" "$i"
	done
	mt_volgen "$vol" || return 1
	for ((i = 0; i < n; i++)); do
		mt_spawn_brick "$vol-b$i" 0 || return 1
	done
	mt_volgen "$vol" || return 1
	diag "volume $vol: $type, $n bricks ($*) in ${MT_VOL_DIR[$vol]}"
	return 0
}

# add_brick NAME: one more brick (NAME-b<n>, dir $MT_TMP/NAME/b<n>) for a
# volume made by start_volume, with the same mortar-volgen options; the
# volfiles are generated again, so a client mounted from now on (or a
# tool reading NAME.vol) sees it.  Clients already mounted keep their
# graph.
add_brick() {
	local vol=$1 i
	local -a have
	read -ra have <<<"${MT_VOL_BRICKS[$vol]}"
	i=${#have[@]}
	mt_vol_new_brick "$vol" "$i"
	mt_volgen "$vol" || return 1
	mt_spawn_brick "$vol-b$i" 0 || return 1
	mt_volgen "$vol" || return 1
	diag "volume $vol: brick $vol-b$i added"
}

# volume_volfile NAME: the client volfile of a volume (for mortar -f or a
# tool's -f).
volume_volfile() {
	echo "${MT_VOL_DIR[$1]}/$1.vol"
}

# mt_vol_new_brick VOL I: register brick I of VOL (not started).
mt_vol_new_brick() {
	local vol=$1 i=$2 b=$1-b$2
	mkdir -p "$MT_TMP/$vol/b$i"
	MT_BRICK_DIR[$b]=$MT_TMP/$vol/b$i
	MT_BRICK_VOLFILE[$b]=${MT_VOL_DIR[$vol]}/$vol-brick-$i.vol
	MT_BRICK_ARGS[$b]=
	MT_BRICK_PORT[$b]=
	MT_VOL_BRICKS[$vol]="${MT_VOL_BRICKS[$vol]:+${MT_VOL_BRICKS[$vol]} }$b"
}

# mt_volgen VOL: (re)write VOL's volfiles, with the port of every brick
# that has one (bricks not started yet bind port 0 and are written again
# once they run).
mt_volgen() {
	local vol=$1 b out=$MT_TMP/logs/volgen-$1.out
	local -a bricks=() opts=()
	eval "opts=(${MT_VOL_OPTS[$vol]})"
	for b in ${MT_VOL_BRICKS[$vol]}; do
		bricks+=("127.0.0.1:${MT_BRICK_PORT[$b]:+${MT_BRICK_PORT[$b]}:}${MT_BRICK_DIR[$b]}")
	done
	if ! "$MORTAR_VOLGEN" -q --force --out "${MT_VOL_DIR[$vol]}" \
		"${opts[@]}" "$vol" "${MT_VOL_TYPE[$vol]}" "${bricks[@]}" \
		>"$out" 2>&1; then
		diag "mortar-volgen failed for $vol:"
		diag_file "$out"
		return 1
	fi
}

# volume_port NAME: the port of a running brick of the volume (the first).
volume_port() {
	local b
	for b in ${MT_VOL_BRICKS[$1]:-}; do
		if [ -n "${MT_BRICK_PID[$b]:-}" ] &&
			mt_pid_alive "${MT_BRICK_PID[$b]}"; then
			echo "${MT_BRICK_PORT[$b]}"
			return 0
		fi
	done
	return 1
}

# mount_volume_of NAME MNT [opts]: mount volume NAME, its volfile fetched
# from any running brick of it.
mount_volume_of() {
	local port
	port=$(volume_port "$1") || {
		diag "volume $1: no brick running"
		return 1
	}
	mount_volume "$2" "$1" "$port" "${3:-}"
}

# stop_volume NAME [SIGNAL]: stop every running brick of the volume.
stop_volume() {
	local b rc=0
	for b in ${MT_VOL_BRICKS[$1]:-}; do
		[ -n "${MT_BRICK_PID[$b]:-}" ] || continue
		stop_brick "$b" "${2:-TERM}" || rc=1
	done
	return $rc
}

# ------------------------------------------------------------------ mounts

# mount_volume MNT VOLUME PORT [mount -o options]
# Runs mortar -N in the background and waits until MNT is a mountpoint.
# Sets MOUNT_PID and MT_MOUNT_PID[MNT].
mount_volume() {
	mt_mount "$1" "$2" "${4:-}" --volfile-server "127.0.0.1:$3" \
		--volume "$2"
}

# mount_volfile VOLFILE MNT [mount -o options]: mortar -N -f VOLFILE MNT,
# like mount_volume (for a volfile a test wrote or changed itself).
mount_volfile() {
	mt_mount "$2" "$1" "${3:-}" -f "$1"
}

# mt_mount MNT WHAT OPTS GRAPH-ARGS...: the common part of the mounts.
mt_mount() {
	local mnt=$1 what=$2 opts=$3 log pid
	local -a extra=()
	shift 3
	mkdir -p "$mnt"
	log="$MT_TMP/logs/mount-$(basename "$mnt").log"
	[ -n "$opts" ] && extra=(-o "$opts")
	# shellcheck disable=SC2046 # no option at all when the level is unset
	"$MORTAR" $(mt_log_level_args) -N "$@" \
		--log-file "$log" --dump-dir "$MT_TMP/dump" "${extra[@]}" \
		"$mnt" </dev/null >>"$log.out" 2>&1 &
	pid=$!
	mt_track .pids "$pid"
	mt_track .mounts "$mnt"
	MT_MOUNT_PID[$mnt]=$pid
	MOUNT_PID=$pid
	if ! wait_for "${MT_MOUNT_TIMEOUT:-20}" mt_mount_ready "$mnt" "$pid" ||
		! mountpoint -q "$mnt"; then
		diag "mount of $what on $mnt failed (pid $pid)"
		diag_file "$log.out"
		diag_file "$log"
		return 1
	fi
	diag "mounted $what on $mnt (pid $pid)"
	return 0
}

mt_mount_ready() {
	mt_pid_alive "$2" || return 0
	mountpoint -q "$1"
}

# mt_stacks PID: every thread's stack of a stuck process (gdb, when
# installed) into logs/stacks-PID.txt, and one line per thread as
# diagnostics (the functions on its stack, innermost first), so a hang in
# CI can be diagnosed from its log.
mt_stacks() {
	local out="$MT_TMP/logs/stacks-$1.txt"
	command -v gdb >/dev/null || return 0
	timeout 30 gdb -p "$1" -batch -ex "thread apply all bt" >"$out" 2>&1
	awk '/^Thread /{if (line) print line; line=$1" "$2":"; next}
	     /^#[0-9]/{fn = ""
		for (i = 1; i <= NF; i++) if ($i == "in") fn = $(i + 1)
		for (i = 1; i <= NF; i++) if ($i == "from") lib = $(i + 1)
		if (fn == "??" && lib != "") { n = split(lib, p, "/"); fn = "??@" p[n] }
		if (fn != "" && fn !~ /^_*(GI_|futex|pthread|clone|start_thread|syscall)/)
			line = line" "fn; lib = ""}
	     END{if (line) print line}' "$out" | head -n 40 | sed 's/^/# /'
}

# track_mount MNT PIDFILE: a client the script started itself as a daemon
# (mortar without -N, --pid-file PIDFILE) is cleaned up like one from
# mount_volume: its PID and MNT are tracked.  Sets MOUNT_PID and
# MT_MOUNT_PID[MNT]; 1 when PIDFILE holds no PID.  Unmount it with
# unmount_daemon (unmount_volume and stop_mount reap a client started by
# mount_volume, our child; a daemon is not).
track_mount() {
	local mnt=$1 pid
	pid=$(head -n 1 "$2" 2>/dev/null)
	mt_track .mounts "$mnt"
	MT_MOUNT_PID[$mnt]=
	MOUNT_PID=
	[ -n "$pid" ] || return 1
	mt_track .pids "$pid"
	MT_MOUNT_PID[$mnt]=$pid
	MOUNT_PID=$pid
}

# unmount_daemon MNT: umount a mount made by a tracked daemon
# (track_mount); its client must exit within 10 s.
unmount_daemon() {
	local mnt=$1 pid=${MT_MOUNT_PID[$1]:-}
	[ -n "$pid" ] && umount "$mnt" && wait_for 10 mt_pid_gone "$pid" ||
		return 1
	mt_untrack .pids "$pid"
	mt_untrack .mounts "$mnt"
	MT_MOUNT_PID[$mnt]=
}

# stop_mount MNT [SIGNAL]: signal the client of MNT (default TERM: it must
# unmount and exit 0 within 10 s) and forget it.
stop_mount() {
	local mnt=$1 sig=${2:-TERM} pid=${MT_MOUNT_PID[$1]:-} rc=0
	[ -n "$pid" ] || return 1
	mt_stop_child "mortar on $mnt" "$pid" "$sig" || rc=1
	mountpoint -q "$mnt" && rc=1
	[ $rc -eq 0 ] && mt_untrack .mounts "$mnt"
	MT_MOUNT_PID[$mnt]=
	return $rc
}

# unmount_volume MNT: umount, wait for the client process to exit.
unmount_volume() {
	local mnt=$1 pid=${MT_MOUNT_PID[$1]:-} rc=0 status
	if ! timeout 10 umount "$mnt" 2>/dev/null &&
		! timeout 10 fusermount3 -u "$mnt" 2>/dev/null; then
		diag "umount $mnt failed; forcing"
		mt_force_unmount "$mnt"
		rc=1
	fi
	if [ -n "$pid" ]; then
		if ! wait_for 10 mt_pid_gone "$pid"; then
			diag "mortar (pid $pid) still running after umount"
			mt_stacks "$pid"
			mt_kill_pid "$pid"
			rc=1
		fi
		wait "$pid" 2>/dev/null
		status=$?
		if [ $rc -eq 0 ] && [ $status -ne 0 ]; then
			diag "mortar (pid $pid) exited with status $status"
			rc=1
		fi
		mt_untrack .pids "$pid"
	fi
	mountpoint -q "$mnt" && rc=1
	[ $rc -eq 0 ] && mt_untrack .mounts "$mnt"
	MT_MOUNT_PID[$mnt]=
	return $rc
}

# -------------------------------------------------------------- utilities

# Best effort: make the next reads come from the bricks, not page cache.
drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
	return 0
}

# Seconds.nanoseconds since the epoch, for timing.
now_ns() {
	date +%s.%N
}

# readdir_resumes DIR [INDEX...]: list DIR once, keeping telldir() before
# each entry; then, for each INDEX (default: the first three, the ones
# around each quarter of the listing, the last), seekdir() there on the
# same handle and on a fresh one and read to the end: the rest must be the
# listing's own rest, in order.  Fails (printing where) otherwise.  For
# translators that merge several children's listings into one.
readdir_resumes() {
	perl -e '
		my $dir = shift;
		opendir(my $d, $dir) or die "opendir $dir: $!";
		my (@names, @pos);
		while (1) {
			my $p = telldir($d);
			my $n = readdir($d);
			last unless defined $n;
			push @names, $n;
			push @pos, $p;
		}
		my $n = @names;
		my @at = @ARGV;
		if (!@at) {
			@at = (0, 1, 2, $n - 1);
			for my $q (1, 2, 3) {
				my $i = int($n * $q / 4);
				push @at, $i - 1, $i, $i + 1;
			}
		}
		my $bad = 0;
		for my $fresh (0, 1) {
			for my $k (@at) {
				next if $k < 0 || $k >= $n;
				my $h = $d;
				if ($fresh) {
					opendir($h, $dir) or die "opendir: $!";
				}
				if (!seekdir($h, $pos[$k])) {
					print "seekdir to entry $k ($pos[$k]) failed: $!\n";
					$bad = 1;
					next;
				}
				my @rest;
				while (defined(my $e = readdir($h))) {
					push @rest, $e;
				}
				my @want = @names[$k .. $n - 1];
				if ("@rest" ne "@want") {
					printf "resumed at entry %d of %d (%s handle, " .
					    "offset %s): %d entries, want %d\n",
					    $k, $n, $fresh ? "fresh" : "same",
					    $pos[$k], scalar(@rest), scalar(@want);
					$bad = 1;
				}
				closedir($h) if $fresh;
			}
		}
		print "$n entries, resumed at ", scalar(@at), " places\n";
		exit $bad;' "$@"
}

mt_init
