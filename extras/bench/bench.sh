#!/bin/bash
# bench.sh - compares one workload on a raw directory, a libfuse
# pass-through mount of a directory, and a one-brick Mortar volume over
# loopback: sequential write/read MB/s and creates/stats/readdir/unlinks
# per second.  See README.md in this folder.
#
# Everything it starts (brickd, mortar, passthrough_ll) and every mount
# and temp dir it makes is undone by the EXIT trap, also on failure or ^C.
# shellcheck disable=SC2317 # functions reached through the trap and
# through "${kind}_setup" look unreachable to shellcheck

set -u

SIZE_MB=1024
FILES=10000
BASE_DIR=${TMPDIR:-/tmp}
BUILD_DIR=
THREADS=8
ONLY="raw passthrough mortar"
STEP_TIMEOUT=900 # seconds any one step may take
KEEP=0
LOG_LEVEL=warning
VOL_TYPE=
NBRICKS=1
REPLICA=

usage() {
	cat <<EOF
usage: bench.sh [options]
  --size-mb N     sequential file size in MiB (default $SIZE_MB)
  --files N       small files for create/stat/readdir/unlink (default $FILES)
  --dir DIR       where to make bricks and mount points (default $BASE_DIR)
  --build DIR     Mortar build tree (binaries in DIR/brickd, DIR/client,
                  translators in DIR/translators); default: brickd and
                  mortar from PATH
  --threads N     FUSE worker threads for both FUSE file systems (default $THREADS)
  --only LIST     comma list of raw,passthrough,mortar (default all)
  --smoke         quick run: --size-mb 64 --files 1000
  --keep          keep the work dir (logs) after the run
  --log-level L   brickd and mortar log level (default $LOG_LEVEL)
  --volume-type T the mortar column on a volume made by mortar-volgen
                  over local bricks: unify, distribute, replicate,
                  distributed-replicate, unify-replicate (default: one
                  brick, brickd --export)
  --bricks N      bricks of that volume (default $NBRICKS)
  --replica N     copies of each file (replicate types)
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--size-mb) SIZE_MB=$2; shift 2 ;;
	--files) FILES=$2; shift 2 ;;
	--dir) BASE_DIR=$2; shift 2 ;;
	--build) BUILD_DIR=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--only) ONLY=${2//,/ }; shift 2 ;;
	--smoke) SIZE_MB=64; FILES=1000; shift ;;
	--keep) KEEP=1; shift ;;
	--log-level) LOG_LEVEL=$2; shift 2 ;;
	--volume-type) VOL_TYPE=$2; shift 2 ;;
	--bricks) NBRICKS=$2; shift 2 ;;
	--replica) REPLICA=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done
if [ "${CI:-}" = true ] && [ "$SIZE_MB" -gt 64 ]; then
	SIZE_MB=64
	FILES=1000
fi

HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "$BASE_DIR/mortar-bench.XXXXXX") || exit 2
PIDS=()
MOUNTS=()

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

cleanup() {
	local m p
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null &&
			{ fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; }
	done
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		# bounded: SIGKILL whatever is still there after ~5 s
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	if [ "$KEEP" = 1 ]; then
		log "work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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

# ---- tools ----------------------------------------------------------

FILEOPS=$WORK/fileops
if [ -n "$BUILD_DIR" ] && [ -x "$BUILD_DIR/extras/bench/fileops" ]; then
	FILEOPS=$BUILD_DIR/extras/bench/fileops
else
	cc -O2 -Wall -o "$FILEOPS" "$HERE/fileops.c" || die "cannot build fileops"
fi

PASSTHROUGH=
build_passthrough() {
	local src
	PASSTHROUGH=$(command -v passthrough_ll 2>/dev/null) && return 0
	for src in /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c \
		/usr/share/doc/fuse3/examples/passthrough_ll.c; do
		[ -f "$src" ] || continue
		PASSTHROUGH=$WORK/passthrough_ll
		# shellcheck disable=SC2046
		cc -O2 -o "$PASSTHROUGH" "$src" $(pkg-config --cflags --libs fuse3) &&
			return 0
	done
	PASSTHROUGH=
	return 1
}

BRICKD=brickd
MORTAR=mortar
VOLGEN=mortar-volgen
if [ -n "$BUILD_DIR" ]; then
	BRICKD=$BUILD_DIR/brickd/brickd
	MORTAR=$BUILD_DIR/client/mortar
	VOLGEN=$BUILD_DIR/extras/tools/mortar-volgen
	export MORTAR_XLATOR_PATH=$BUILD_DIR/translators
fi

# ---- the three file systems: setup / remount / teardown ---------------

# Each kind defines kind_setup (sets KDIR, the dir to work in; not run in
# a subshell, since it records PIDs and mounts for the trap), kind_remount
# (drop what the client caches) and kind_teardown.

KDIR=
raw_setup() { mkdir -p "$WORK/raw"; KDIR=$WORK/raw; }
raw_remount() { :; }
raw_teardown() { :; }

PT_PID=
passthrough_setup() {
	mkdir -p "$WORK/pt-src" "$WORK/pt-mnt"
	MOUNTS+=("$WORK/pt-mnt")
	passthrough_mount || return 1
	KDIR=$WORK/pt-mnt
}
passthrough_mount() {
	"$PASSTHROUGH" -f -o "source=$WORK/pt-src,max_threads=$THREADS" \
		"$WORK/pt-mnt" 2>>"$WORK/passthrough.log" &
	PT_PID=$!
	PIDS+=("$PT_PID")
	wait_until 20 mountpoint -q "$WORK/pt-mnt" ||
		{ log "passthrough_ll did not mount (see $WORK/passthrough.log)"; return 1; }
}
passthrough_remount() {
	fusermount3 -u "$WORK/pt-mnt" || return 1
	wait_until 20 eval "! kill -0 $PT_PID 2>/dev/null" || return 1
	passthrough_mount
}
passthrough_teardown() {
	fusermount3 -u "$WORK/pt-mnt" 2>/dev/null
}

BRICK_PORT=
mortar_setup() {
	local pid
	[ -z "$VOL_TYPE" ] || { mortar_setup_volume && return 0; return 1; }
	mkdir -p "$WORK/brick" "$WORK/mnt"
	MOUNTS+=("$WORK/mnt")
	# -N keeps it in the foreground so its PID is ours to stop.
	"$BRICKD" -N --export "$WORK/brick" --volume bench --host 127.0.0.1 \
		--port 0 --port-file "$WORK/brick.port" \
		--log-file "$WORK/brickd.log" --log-level "$LOG_LEVEL" \
		>>"$WORK/brickd.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_until 20 test -s "$WORK/brick.port" ||
		{ log "brickd did not start (see $WORK/brickd.log, brickd.out)"; return 1; }
	BRICK_PORT=$(cat "$WORK/brick.port")
	mortar_mount || return 1
	KDIR=$WORK/mnt
}
# A volume of NBRICKS local bricks: volgen's server volfiles, each brick
# on a port the kernel picks, then the volfiles again with those ports
# (the client volfile the bricks serve names them).
mortar_setup_volume() {
	local i pid vols=$WORK/vols
	local -a bricks=()
	mkdir -p "$WORK/mnt" "$vols"
	MOUNTS+=("$WORK/mnt")
	for ((i = 0; i < NBRICKS; i++)); do
		mkdir -p "$WORK/brick$i"
		bricks+=("127.0.0.1:$WORK/brick$i")
	done
	"$VOLGEN" -q --force --out "$vols" ${REPLICA:+--replica "$REPLICA"} \
		bench "$VOL_TYPE" "${bricks[@]}" || return 1
	for ((i = 0; i < NBRICKS; i++)); do
		"$BRICKD" -N -f "$vols/bench-brick-$i.vol" --volfile-dir "$vols" \
			--host 127.0.0.1 --port 0 --port-file "$WORK/brick$i.port" \
			--log-file "$WORK/brickd$i.log" --log-level "$LOG_LEVEL" \
			>>"$WORK/brickd$i.out" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		wait_until 20 test -s "$WORK/brick$i.port" ||
			{ log "brick $i did not start (see $WORK/brickd$i.log)"; return 1; }
		bricks[i]="127.0.0.1:$(cat "$WORK/brick$i.port"):$WORK/brick$i"
	done
	"$VOLGEN" -q --force --out "$vols" ${REPLICA:+--replica "$REPLICA"} \
		bench "$VOL_TYPE" "${bricks[@]}" || return 1
	BRICK_PORT=$(cat "$WORK/brick0.port")
	mortar_mount || return 1
	KDIR=$WORK/mnt
}
MORTAR_PID=
mortar_mount() {
	"$MORTAR" -N --volfile-server "127.0.0.1:$BRICK_PORT" --volume bench \
		--log-file "$WORK/mortar.log" --log-level "$LOG_LEVEL" \
		-o "fuse-threads=$THREADS" "$WORK/mnt" >>"$WORK/mortar.out" 2>&1 &
	MORTAR_PID=$!
	PIDS+=("$MORTAR_PID")
	wait_until 30 mountpoint -q "$WORK/mnt" ||
		{ log "mortar did not mount (see $WORK/mortar.log, mortar.out)"; return 1; }
}
mortar_remount() {
	umount "$WORK/mnt" || return 1
	wait_until 20 eval "! kill -0 $MORTAR_PID 2>/dev/null" || return 1
	mortar_mount
}
mortar_teardown() { umount "$WORK/mnt" 2>/dev/null; }

DROP_WARNED=0
drop_caches() {
	sync
	if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		[ "$DROP_WARNED" = 1 ] ||
			log "cannot drop the page cache (not root or in a container): raw reads may come from memory"
		DROP_WARNED=1
	fi
}

# ---- the workload -----------------------------------------------------

declare -A RES

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

# fops KIND OP DIR: one fileops run, stores ops/s in RES[KIND,OP-LABEL].
fops() {
	local out
	out=$(timeout "$STEP_TIMEOUT" "$FILEOPS" "$2" "$3" "$FILES") ||
		{ log "$1: fileops $2 failed"; return 1; }
	# shellcheck disable=SC2086
	rate $out
}

run_kind() {
	local kind=$1 dir secs files
	log "== $kind"
	"${kind}_setup" || return 1
	dir=$KDIR
	# write: fdatasync at the end so the data has left the client.
	secs=$(timed dd if=/dev/zero of="$dir/seq" bs=1M count="$SIZE_MB" \
		conv=fdatasync status=none) || { log "$kind: write failed"; return 1; }
	RES[$kind,write]=$(rate "$SIZE_MB" "$secs")
	"${kind}_remount" || return 1
	drop_caches
	secs=$(timed dd if="$dir/seq" of=/dev/null bs=1M status=none) ||
		{ log "$kind: read failed"; return 1; }
	RES[$kind,read]=$(rate "$SIZE_MB" "$secs")
	rm -f "$dir/seq"

	files=$dir/files
	mkdir "$files" || return 1
	RES[$kind,create]=$(fops "$kind" create "$files") || return 1
	"${kind}_remount" || return 1
	drop_caches
	RES[$kind,stat_cold]=$(fops "$kind" stat "$files") || return 1
	RES[$kind,stat_warm]=$(fops "$kind" stat "$files") || return 1
	secs=$(timed sh -c 'ls -f "$1" | wc -l >/dev/null' sh "$files") ||
		{ log "$kind: ls -f failed"; return 1; }
	RES[$kind,readdir]=$(rate "$FILES" "$secs")
	RES[$kind,unlink]=$(fops "$kind" unlink "$files") || return 1
	rmdir "$files"
	"${kind}_teardown"
}

for kind in $ONLY; do
	case $kind in
	raw) ;;
	passthrough) build_passthrough || { log "no passthrough_ll: skipped"; continue; } ;;
	mortar)
		if ! command -v "$BRICKD" >/dev/null || ! command -v "$MORTAR" >/dev/null; then
			log "no brickd/mortar ($BRICKD, $MORTAR): skipped"
			continue
		fi
		if [ -n "$VOL_TYPE" ] && ! command -v "$VOLGEN" >/dev/null; then
			log "no mortar-volgen ($VOLGEN): skipped"
			continue
		fi ;;
	*) die "unknown kind $kind" ;;
	esac
	run_kind "$kind" || log "$kind: run failed; its column stays empty"
done

# ---- report ----------------------------------------------------------

VOLUME_DESC="one brick"
[ -z "$VOL_TYPE" ] || VOLUME_DESC="$VOL_TYPE, $NBRICKS bricks${REPLICA:+, replica $REPLICA}"
printf '\nMortar bench: %s MiB sequential, %s files, %s FUSE threads, mortar on %s, %s\n\n' \
	"$SIZE_MB" "$FILES" "$THREADS" "$VOLUME_DESC" "$(date -u +%FT%TZ)"
printf '%-22s | %12s | %12s | %12s | %s\n' metric raw passthrough mortar \
	mortar/passthrough
printf -- '-----------------------+--------------+--------------+--------------+-------------------\n'
for m in write:"seq write MB/s" read:"seq read MB/s" create:"creates/s" \
	stat_cold:"stats/s (cold)" stat_warm:"stats/s (warm)" \
	readdir:"readdir entries/s" unlink:"unlinks/s"; do
	key=${m%%:*}
	label=${m#*:}
	r=${RES[raw,$key]:--}
	p=${RES[passthrough,$key]:--}
	g=${RES[mortar,$key]:--}
	ratio=$(awk -v a="$g" -v b="$p" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')
	printf '%-22s | %12s | %12s | %12s | %s\n' "$label" "$r" "$p" "$g" "$ratio"
done
[ "$DROP_WARNED" = 1 ] && printf '\nnote: page cache not dropped (no permission); FUSE reads were still cold after remount.\n'
exit 0
