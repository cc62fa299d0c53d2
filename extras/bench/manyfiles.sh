#!/bin/bash
# manyfiles.sh - many files over a wide volume: a tree of FILES empty
# files (default a million) on a volume over NBRICKS local bricks (default
# distribute over 16) is made, stat'ed, listed and removed by CLIENTS
# mortar mounts of that volume at once (default 4, each its own process),
# and every phase is timed per STEP files, with every client's and the
# bricks' RSS beside each step, so a per-file cost or a footprint that
# grows with the file count shows.  README.md ("A million files over 16
# bricks") has the usage and a run.
#
# Layout: TOP/d000000 ... TOP/d<NDIRS-1> under one top directory, FILES /
# NDIRS files each (f000000 ...).  Client k owns a contiguous share of the
# directories: it makes them and their files (create) and removes them
# (remove); in stat and readdir it works on client k+1's share, files
# another client made.  Before every phase but the first all clients are
# remounted and the page cache dropped, so each phase starts cold, from
# fresh client processes.
#
# Timing: each client's worker (fileops tree) prints "TIME DONE" progress
# lines; a step ends when the sum over all workers passes a multiple of
# STEP.  A sampler reads every client's and brick's VmRSS once a second;
# a step shows the last sample taken before it ended.
#
# Everything it starts and mounts is undone by the EXIT trap (lib.sh),
# also on failure or ^C: unmount, stop our PIDs, remove the work dir
# unless --keep.
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # sample_after, dump_more: through wait_until

set -u
export LC_ALL=C

FILES=1000000
NBRICKS=16
CLIENTS=4
VOL_TYPE=distribute
NDIRS=1000
STEP=100000
BASE_DIR=${TMPDIR:-/tmp}
BUILD_DIR=
KEEP=0
LOG_LEVEL=warning
PHASE_TIMEOUT=
MORTAR_OPTS=
VOLGEN_OPTS=()
SAMPLE=1 # seconds between RSS samples

usage() {
	cat <<EOF
usage: manyfiles.sh [options]
  --files N        files in the tree (default $FILES)
  --dirs D         directories they are spread over, FILES/D files each;
                   must divide FILES (default $NDIRS)
  --bricks B       bricks of the volume (default $NBRICKS)
  --clients C      mortar mounts of the volume, one process each, working
                   at once (default $CLIENTS)
  --volume-type T  distribute or unify (default $VOL_TYPE)
  --step N         report interval in files (default $STEP)
  --dir DIR        where bricks, mount points and logs go (default $BASE_DIR)
  --build DIR      Mortar build tree (DIR/brickd/brickd, DIR/client/mortar,
                   DIR/extras/tools/mortar-volgen, DIR/translators);
                   default: brickd, mortar and mortar-volgen from PATH
  --mortar-opt O   one more -o option for every client; repeatable
  --volgen-opt O   pass O to mortar-volgen (e.g. --no-md-cache); repeatable
  --timeout S      limit for each phase's workers in seconds (default
                   600 + FILES/50)
  --log-level L    brickd and mortar log level (default $LOG_LEVEL)
  --keep           keep the work dir (logs, progress, state dumps)
  --quick          --files 20000 --dirs 100 --step 5000: a check that takes
                   a few minutes
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--files) FILES=$2; shift 2 ;;
	--dirs) NDIRS=$2; shift 2 ;;
	--bricks) NBRICKS=$2; shift 2 ;;
	--clients) CLIENTS=$2; shift 2 ;;
	--volume-type) VOL_TYPE=$2; shift 2 ;;
	--step) STEP=$2; shift 2 ;;
	--dir) BASE_DIR=$2; shift 2 ;;
	--build) BUILD_DIR=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--mortar-opt) MORTAR_OPTS="${MORTAR_OPTS:+$MORTAR_OPTS,}$2"; shift 2 ;;
	--volgen-opt) VOLGEN_OPTS+=("$2"); shift 2 ;;
	--timeout) PHASE_TIMEOUT=$2; shift 2 ;;
	--log-level) LOG_LEVEL=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--quick) FILES=20000 NDIRS=100 STEP=5000; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "manyfiles.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done

bad() {
	echo "manyfiles.sh: $*" >&2
	exit 2
}
for v in FILES NDIRS NBRICKS CLIENTS STEP ${PHASE_TIMEOUT:+PHASE_TIMEOUT}; do
	if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" = 0 ]; then
		bad "$v must be a positive number"
	fi
done
case $VOL_TYPE in
distribute | unify) ;;
*) bad "--volume-type: distribute or unify" ;;
esac
[ $((FILES % NDIRS)) = 0 ] || bad "--dirs $NDIRS does not divide --files $FILES"
[ "$NDIRS" -ge "$CLIENTS" ] || bad "fewer directories ($NDIRS) than clients ($CLIENTS)"
[ -n "$PHASE_TIMEOUT" ] || PHASE_TIMEOUT=$((600 + FILES / 50))
PER_DIR=$((FILES / NDIRS))
# Progress lines every EVERY files per worker: a step's end is then known
# to about 2% of a step.
EVERY=$((STEP / (CLIENTS * 50)))
[ "$EVERY" -gt 0 ] || EVERY=1

[ "$(id -u)" = 0 ] || bad "needs root (FUSE mounts of brick-owned files, dropping the page cache)"
[ -c /dev/fuse ] || bad "no /dev/fuse"

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

mortar_binaries
for b in "$BRICKD" "$MORTAR" "$VOLGEN" cc; do
	command -v "$b" >/dev/null || bad "no $b"
done

WORK=$(mktemp -d "$BASE_DIR/mortar-manyfiles.XXXXXX") || exit 2
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/dump" "$WORK/vols" "$WORK/prog"

# Always built here: the tree mode is newer than any fileops a build
# tree may hold.
FILEOPS=$WORK/fileops
cc -O2 -Wall -o "$FILEOPS" "$HERE/fileops.c" || die "cannot build fileops"

# forget_pid PID: a process of ours that has ended leaves PIDS, so that
# the trap never signals whoever gets its number next.
forget_pid() {
	local p
	local -a keep=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# ---- the volume and its clients ----------------------------------------

BRICK_PIDS=()
CLIENT_PIDS=()
PORT0=
volgen() {
	"$VOLGEN" -q --force --out "$WORK/vols" "${VOLGEN_OPTS[@]}" mf "$VOL_TYPE" "$@" \
		>>"$WORK/volgen.out" 2>&1 || die "mortar-volgen failed (see $WORK/volgen.out)"
}

# As columns.sh's mortar_setup_volume: volfiles, every brick on a port the
# kernel picks, then the volfiles again with those ports (the client
# volfile the bricks serve names them).
start_volume() {
	local i pid
	local -a bricks=()
	for ((i = 0; i < NBRICKS; i++)); do
		mkdir -p "$WORK/brick$i"
		bricks+=("127.0.0.1:$WORK/brick$i")
	done
	volgen "${bricks[@]}"
	for ((i = 0; i < NBRICKS; i++)); do
		"$BRICKD" -N -f "$WORK/vols/mf-brick-$i.vol" --volfile-dir "$WORK/vols" \
			--host 127.0.0.1 --port 0 --port-file "$WORK/brick$i.port" \
			--log-file "$WORK/brickd$i.log" --log-level "$LOG_LEVEL" \
			--dump-dir "$WORK/dump" </dev/null >>"$WORK/brickd$i.out" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		BRICK_PIDS+=("$pid")
	done
	for ((i = 0; i < NBRICKS; i++)); do
		wait_until 30 test -s "$WORK/brick$i.port" ||
			die "brick $i did not start (see $WORK/brickd$i.log, brickd$i.out)"
		bricks[i]="127.0.0.1:$(cat "$WORK/brick$i.port"):$WORK/brick$i"
	done
	volgen "${bricks[@]}"
	PORT0=$(cat "$WORK/brick0.port")
	echo "${BRICK_PIDS[*]}" >"$WORK/brick.pids"
}

# mount_client K: mortar on WORK/mntK, in the foreground (-N) so its PID
# is ours.
mount_client() {
	local k=$1 mnt=$WORK/mnt$1
	local -a opts=()
	[ -z "$MORTAR_OPTS" ] || opts=(-o "$MORTAR_OPTS")
	"$MORTAR" -N --volfile-server "127.0.0.1:$PORT0" --volume mf \
		--log-file "$WORK/mortar$k.log" --log-level "$LOG_LEVEL" \
		--dump-dir "$WORK/dump" "${opts[@]}" "$mnt" \
		</dev/null >>"$WORK/mortar$k.out" 2>&1 &
	CLIENT_PIDS[k]=$!
	PIDS+=("$!")
	wait_until 30 mountpoint -q "$mnt" ||
		die "client $k did not mount (see $WORK/mortar$k.log, mortar$k.out)"
}

# The sampler reads the client PIDs from a file: they change on remounts.
write_client_pids() {
	echo "${CLIENT_PIDS[*]}" >"$WORK/client.pids.new"
	mv "$WORK/client.pids.new" "$WORK/client.pids"
}

mount_all() {
	local k
	for ((k = 0; k < CLIENTS; k++)); do
		mount_client "$k"
	done
	write_client_pids
}

# remount_all: every client unmounted and its process gone, the page
# cache dropped, every client mounted again: the next phase starts cold.
remount_all() {
	local k pid
	for ((k = 0; k < CLIENTS; k++)); do
		timeout 120 umount "$WORK/mnt$k" || die "cannot unmount client $k"
	done
	for ((k = 0; k < CLIENTS; k++)); do
		pid=${CLIENT_PIDS[k]}
		wait_until 60 eval "! kill -0 $pid 2>/dev/null" ||
			die "client $k (pid $pid) still runs 60 s after its unmount"
		forget_pid "$pid"
	done
	drop_caches
	OUR_DROPS=$((OUR_DROPS + 1))
	mount_all
}

# ---- memory: the sampler and state dumps -------------------------------

# rss_line NCLIENTS PID...: "C0 C1 ... BRICK_MAX BRICK_SUM" in MiB, the
# first NCLIENTS PIDs clients ("-" when gone), the others bricks; one awk
# for all, so sampling costs one process a second.
rss_line() {
	local nc=$1 p
	local -a files=()
	shift
	for p; do
		files+=("/proc/$p/status")
	done
	awk -v nc="$nc" 'BEGIN {
		max = 0; sum = 0
		for (i = 1; i < ARGC; i++) {
			v = -1
			while ((getline line < ARGV[i]) > 0)
				if (line ~ /^VmRSS:/) { split(line, f); v = f[2] / 1024 }
			close(ARGV[i])
			if (i <= nc)
				printf "%s ", v < 0 ? "-" : sprintf("%.1f", v)
			else if (v >= 0) {
				sum += v
				if (v > max) max = v
			}
		}
		printf "%.1f %.1f\n", max, sum
		exit
	}' "${files[@]}"
}

# sampler: "TIME C0 ... BRICK_MAX BRICK_SUM" to rss.log every SAMPLE s.
sampler() {
	local -a cp bp
	read -r -a bp <"$WORK/brick.pids"
	while :; do
		read -r -a cp <"$WORK/client.pids" || cp=()
		echo "$EPOCHREALTIME $(rss_line "${#cp[@]}" "${cp[@]}" "${bp[@]}")"
		sleep "$SAMPLE"
	done >>"$WORK/rss.log" 2>/dev/null
}

# fresh_sample: wait for an RSS sample taken from now on (the clients
# just mounted: the phase's first row must show them, not the old ones).
# Times compared in microseconds ($EPOCHREALTIME without its dot).
sample_after() {
	local t
	t=$(tail -n 1 "$WORK/rss.log" | cut -d' ' -f1)
	[ -n "$t" ] && [ "${t/./}" -gt "${1/./}" ]
}
fresh_sample() {
	wait_until 10 sample_after "$EPOCHREALTIME" || die "the RSS sampler stopped"
}

# dump_of PID: a fresh state dump (SIGUSR1) of a daemon of ours; prints
# its path.  As tests/lib's mt_state_dump: a dump appears under its name
# only once written.
dump_count() {
	local f n=0
	for f in "$WORK"/dump/*."$1".dump.*; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}
dump_more() { [ "$(dump_count "$1")" -gt "$2" ]; }
dump_of() {
	local before
	before=$(dump_count "$1")
	kill -USR1 "$1" 2>/dev/null || return 1
	wait_until 20 dump_more "$1" "$before" || return 1
	# shellcheck disable=SC2012 # our own file names, no odd characters
	ls -t "$WORK"/dump/*."$1".dump.* | head -n 1
}

# dump_summary WHO PID: one line of what the state dump of a client or
# brick says it holds: inodes in its table, open fds, md-cache's and
# upcall's entries (their limits), and the bytes the translators account
# for.
dump_summary() {
	local path
	path=$(dump_of "$2") || { log "$1: no state dump"; return 0; }
	awk -v who="$1" -v path="$path" '
		/^\[/ { sec = $0; type = "" }
		/^type=/ { type = substr($0, 6) }
		sec == "[graph]" && /^inodes=/ { inodes = substr($0, 8) }
		sec == "[graph]" && /^fds=/ { fds = substr($0, 5) }
		type == "performance/md-cache" && /^cached-inodes=/ { md = substr($0, 15) }
		type == "performance/md-cache" && /^max-entries=/ { mdmax = substr($0, 13) }
		type == "features/upcall" && /^inodes=/ { up = substr($0, 8) }
		type == "features/upcall" && /^max-inodes=/ { upmax = substr($0, 12) }
		/^memory.bytes=/ { bytes += substr($0, 14) }
		END {
			printf "  %s state dump: inodes=%s fds=%s", who, inodes, fds
			if (md != "") printf " md-cache %s/%s", md, mdmax
			if (up != "") printf " upcall %s/%s", up, upmax
			printf " translator memory %.1f MiB (%s)\n", bytes / 1048576, path
		}' "$path"
}

# The page cache drops of the whole machine (ours are in remount_all):
# on a shared machine others drop it too, and then the clients' kernels
# forget inodes and the bricks' lookups go cold in the middle of a phase.
drops() { awk '$1 == "drop_pagecache" { print $2 }' /proc/vmstat; }
OUR_DROPS=0
load() { cut -d' ' -f1 /proc/loadavg; }

# ---- the phases ----------------------------------------------------------

SHARE_FIRST=()
SHARE_DIRS=()
shares() {
	local k first=0 base=$((NDIRS / CLIENTS)) extra=$((NDIRS % CLIENTS))
	for ((k = 0; k < CLIENTS; k++)); do
		SHARE_FIRST[k]=$first
		SHARE_DIRS[k]=$((base + (k < extra ? 1 : 0)))
		first=$((first + SHARE_DIRS[k]))
	done
}

# run_workers NAME OP SHIFT: one fileops tree worker per client, all at
# once; client k works on the share of client k+SHIFT.  Progress goes to
# prog/NAME.K; 1 when a worker failed (its message is in NAME.err).
run_workers() {
	local name=$1 op=$2 shift=$3 k s rc=0
	local -a wp=()
	for ((k = 0; k < CLIENTS; k++)); do
		s=$(((k + shift) % CLIENTS))
		timeout "$PHASE_TIMEOUT" "$FILEOPS" tree "$op" "$WORK/mnt$k/tree" \
			"${SHARE_FIRST[s]}" "${SHARE_DIRS[s]}" "$PER_DIR" "$EVERY" \
			>"$WORK/prog/$name.$k" 2>>"$WORK/$name.err" &
		wp[k]=$!
		PIDS+=("$!")
	done
	for ((k = 0; k < CLIENTS; k++)); do
		wait "${wp[k]}" || { rc=1; log "$name: client $k's worker failed"; }
		forget_pid "${wp[k]}"
	done
	[ $rc = 0 ] || sed 's/^/bench:   /' "$WORK/$name.err" >&2
	return $rc
}

# report NAME: the phase's table from its progress lines and rss.log,
# then its verdict line.  1 when the workers did not do FILES files in
# all.
report() {
	local name=$1 f spread
	for f in "$WORK/prog/$name".[0-9]*; do
		awk '{ print $1, $2 - prev; prev = $2 }' "$f"
	done | sort -n -k1,1 >"$WORK/prog/$name.events"
	spread=$(for f in "$WORK/prog/$name".[0-9]*; do tail -n 1 "$f"; done |
		awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 }
			END { printf "%.1f", hi - lo }')
	awk -v name="$name" -v step="$STEP" -v total="$FILES" -v nc="$CLIENTS" \
		-v spread="$spread" '
	function rss_at(t,   i) { # the last sample at or before t (else the first)
		for (i = ns; i > 1 && st[i] > t; i--)
			;
		return i
	}
	function row(files, secs, rate, i,   c, line) {
		line = ""
		for (c = 1; c <= nc; c++)
			line = line sprintf(" %6s", sc[i, c])
		printf "%9s | %8s | %9s |%s | %9s | %9s\n", files, secs, rate, line,
			sbm[i], sbs[i]
	}
	function cmax(i,   c, m) {
		m = 0
		for (c = 1; c <= nc; c++)
			if (sc[i, c] != "-" && sc[i, c] + 0 > m) m = sc[i, c] + 0
		return m
	}
	FNR == NR {
		ns++
		st[ns] = $1
		for (c = 1; c <= nc; c++) sc[ns, c] = $(c + 1)
		sbm[ns] = $(nc + 2)
		sbs[ns] = $(nc + 3)
		next
	}
	{
		if (!started) { t0 = $1; started = 1; want = step < total ? step : total }
		done += $2
		while (want > 0 && done >= want) {
			m++
			te[m] = $1
			tf[m] = want
			want = want >= total ? 0 : (want + step < total ? want + step : total)
		}
	}
	END {
		head = ""
		for (c = 1; c <= nc; c++) head = head sprintf(" %6s", "c" (c - 1))
		printf "%9s | %8s | %9s |%s | %9s | %9s\n", "files", "step s", "files/s",
			head, "brick max", "brick sum"
		row(0, "-", "-", rss_at(t0))
		prev_t = t0; prev_f = 0
		for (i = 1; i <= m; i++) {
			secs = te[i] - prev_t
			n = tf[i] - prev_f
			pf[i] = secs / n
			row(tf[i], sprintf("%.2f", secs), secs > 0 ? sprintf("%.1f", n / secs) : "inf",
				rss_at(te[i]))
			prev_t = te[i]; prev_f = tf[i]
		}
		a = rss_at(te[1]); b = rss_at(te[m])
		printf "verdict %s: %d files in %.1f s (%.1f files/s); per-file time of the last step / the first: %.2f (1.00 = flat); " \
			"client RSS (largest) %.1f -> %.1f MiB, brick RSS max %.1f -> %.1f, sum %.1f -> %.1f MiB (first step -> end); " \
			"workers ended %s s apart\n", name, done, te[m] - t0, done / (te[m] - t0),
			(pf[1] > 0 ? pf[m] / pf[1] : 0), cmax(a), cmax(b), sbm[a], sbm[b], sbs[a], sbs[b], spread
		if (done != total) {
			printf "%s: the workers did %d files, not %d\n", name, done, total
			exit 1
		}
	}' "$WORK/rss.log" "$WORK/prog/$name.events"
}

# phase NAME OP SHIFT: run it, print its table and verdict, then (not
# timed) a state dump of client 0 and brick 0.
VERDICTS=()
phase() {
	local name=$1 rc
	log "== $name: $FILES files, $CLIENTS clients at once"
	fresh_sample
	LOAD0=$(load)
	run_workers "$@" || die "$name failed"
	printf '\n%s (%s files in %s dirs, %s clients, %s over %s bricks; load average %s at the start, %s at the end):\n' \
		"$name" "$FILES" "$NDIRS" "$CLIENTS" "$VOL_TYPE" "$NBRICKS" "$LOAD0" "$(load)"
	report "$name" >"$WORK/$name.table"
	rc=$?
	cat "$WORK/$name.table"
	[ $rc = 0 ] || die "$name: wrong count"
	VERDICTS+=("$(grep '^verdict' "$WORK/$name.table")")
	dump_summary "client 0" "${CLIENT_PIDS[0]}"
	dump_summary "brick 0" "${BRICK_PIDS[0]}"
}

# files_per_brick: how the files landed (regular files outside .mortar).
files_per_brick() {
	local i n
	local -a counts=()
	for ((i = 0; i < NBRICKS; i++)); do
		n=$(find "$WORK/brick$i" -path "$WORK/brick$i/.mortar" -prune -o -type f -print |
			wc -l)
		counts+=("$n")
	done
	printf '%s\n' "${counts[@]}" | awk -v n="$NBRICKS" '
		NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 } { sum += $1 }
		END { printf "  files on the bricks: %d in all, per brick min %d max %d (mean %.0f)\n",
			sum, lo, hi, sum / n }'
}

# bricks_empty: after the remove, each brick holds only .mortar, and in it
# nothing but directories and the root's handle.  Prints what is left.
bricks_empty() {
	local i left rc=0
	for ((i = 0; i < NBRICKS; i++)); do
		left=$(cd "$WORK/brick$i" && find . -mindepth 1 \
			! -path './.mortar' ! \( -path './.mortar/*' -type d \) \
			! -path './.mortar/handles/00/00/00000000-0000-0000-0000-000000000001')
		[ -z "$left" ] && continue
		echo "  brick $i still holds $(wc -l <<<"$left"): $(head -n 5 <<<"$left" | tr '\n' ' ')"
		rc=1
	done
	return $rc
}

# ---- the run -------------------------------------------------------------

log "work dir $WORK"
DROPS0=$(drops)
start_volume
for ((k = 0; k < CLIENTS; k++)); do
	mkdir -p "$WORK/mnt$k"
	MOUNTS+=("$WORK/mnt$k")
done
mount_all
mkdir "$WORK/mnt0/tree" || die "cannot make the top directory"
shares
sampler &
PIDS+=("$!")
wait_until 10 test -s "$WORK/rss.log" || die "no RSS sample"

rev=$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo "?")
printf 'Mortar manyfiles %s: %s files in %s dirs of %s, %s clients, %s over %s bricks,\n' \
	"$(date -u +%FT%TZ)" "$FILES" "$NDIRS" "$PER_DIR" "$CLIENTS" "$VOL_TYPE" "$NBRICKS"
printf 'steps of %s files (script %s, binaries %s%s); RSS in MiB: c0.. each client, brick max/sum over the %s brickd\n' \
	"$STEP" "$rev" "${BUILD_DIR:-from PATH}" "${MORTAR_OPTS:+, -o $MORTAR_OPTS}" "$NBRICKS"

phase create create 0
files_per_brick
remount_all
phase stat stat 1
remount_all
phase readdir readdir 1
top=$("$FILEOPS" readdir "$WORK/mnt0/tree" "$NDIRS") ||
	die "the top directory does not list $NDIRS directories"
echo "  top directory: ${top%% *} entries"
remount_all
phase remove unlink 0
rmdir "$WORK/mnt0/tree" || die "cannot remove the top directory"

rc=0
echo
if bricks_empty; then
	echo "bricks after the remove: nothing left but .mortar's directories"
else
	echo "bricks after the remove: files left (above)"
	rc=1
fi
echo "page cache drops on this machine during the run: $(($(drops) - DROPS0)), $OUR_DROPS of them ours"
echo
printf '%s\n' "${VERDICTS[@]}"
log "done in ${SECONDS}s"
exit $rc
