# shellcheck shell=bash
# lib.sh - what every part of bench.sh shares: logging, polling with a
# limit, timing, the page-cache drop, and the EXIT trap that undoes
# everything the run started.  Sourced by bench.sh, never run.
#
# Whoever starts a process or mounts something records it here at once
# (PIDS, MOUNTS), so the trap can undo it even if the run dies the next
# line.  A part with its own order of undoing (GlusterFS: stop the volume
# before glusterd) adds a function to CLEANUP_HOOKS; hooks run after the
# mounts are gone and the PIDS stopped, last added first.
# shellcheck disable=SC2317 # functions reached only through the trap

PIDS=()
MOUNTS=()
CLEANUP_HOOKS=()

log() { echo "bench: [${SECONDS}s] $*" >&2; }
die() {
	log "$*"
	exit 1
}

# stop_pid PID: SIGTERM, then SIGKILL whatever is still there after ~5 s.
stop_pid() {
	local p=$1 _
	kill "$p" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$p" 2>/dev/null
}

cleanup() {
	local m p i
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null &&
			{ fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; }
	done
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		stop_pid "$p"
	done
	for ((i = ${#CLEANUP_HOOKS[@]} - 1; i >= 0; i--)); do
		"${CLEANUP_HOOKS[i]}"
	done
	if [ "$KEEP" = 1 ]; then
		log "work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}

now() { date +%s.%N; }

# wait_until SECONDS CMD...: poll CMD every 0.1 s, fail after SECONDS.
wait_until() {
	local limit=$1 _
	shift
	for _ in $(seq $((limit * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# rate OPS SECONDS -> ops/s with one decimal
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "inf" }'; }

# timed CMD...: run CMD under the step timeout, print elapsed seconds.
timed() {
	local t0 t1
	t0=$(now)
	timeout "$STEP_TIMEOUT" "$@" || return 1
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }'
}

# fops OP DIR COUNT: one fileops run, prints its ops/s.
fops() {
	local out
	out=$(timeout "$STEP_TIMEOUT" "$FILEOPS" "$1" "$2" "$3") ||
		{ log "fileops $1 $2 failed"; return 1; }
	# shellcheck disable=SC2086 # "OPS SECONDS", two words on purpose
	rate $out
}

DROP_WARNED=0
drop_caches() {
	sync
	if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		[ "$DROP_WARNED" = 1 ] ||
			log "cannot drop the page cache (not root or in a container): raw reads may come from memory"
		DROP_WARNED=1
	fi
}

# rss_mib PID -> the process's resident set in MiB, or "-"
rss_mib() {
	if [ -z "$1" ] || [ ! -r "/proc/$1/status" ]; then
		echo -
		return
	fi
	awk '/^VmRSS:/ { printf "%.1f", $2 / 1024; found = 1 } END { if (!found) print "-" }' \
		"/proc/$1/status"
}

# mortar_binaries: BRICKD, MORTAR and VOLGEN from the build tree BUILD_DIR
# (translators from there too), or from PATH when it is empty.
# shellcheck disable=SC2034 # read by the scripts that source this
mortar_binaries() {
	BRICKD=brickd
	MORTAR=mortar
	VOLGEN=mortar-volgen
	if [ -n "$BUILD_DIR" ]; then
		BRICKD=$BUILD_DIR/brickd/brickd
		MORTAR=$BUILD_DIR/client/mortar
		VOLGEN=$BUILD_DIR/extras/tools/mortar-volgen
		export MORTAR_XLATOR_PATH=$BUILD_DIR/translators
	fi
}
