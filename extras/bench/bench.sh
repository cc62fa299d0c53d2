#!/bin/bash
# bench.sh - one workload on Mortar, GlusterFS and libfuse's pass-through
# file system side by side, in one run: sequential and parallel MB/s,
# metadata ops/s (creates, stats, readdir, unlinks, parallel stat-ers in
# one directory, 4 KiB files, mkdir and rmdir trees) and 4 KiB random IOPS
# (fio).  The mortar and gluster
# columns are volumes of the same type on the same disk; passthrough_ll is
# the ceiling any FUSE file system has.  See README.md in this folder.
#
# The parts: lib.sh (logging, timing, the trap), columns.sh (raw,
# passthrough, mortar), gluster.sh (a private glusterd and its volume),
# workload.sh (the phases).  Every column is set up first and stays
# mounted; then each phase runs RUNS times over the columns in turn
# (mortar, gluster, passthrough, mortar, gluster, passthrough), so slow
# drifts of a shared machine hit every column alike.
#
# Everything it starts and every mount and temp dir it makes is undone by
# the EXIT trap, also on failure or ^C.
# shellcheck source-path=SCRIPTDIR # (.shellcheckrc here: follow the parts)

set -u

SIZE_MB=1024
FILES=10000
TREE=10
WRITERS=4
STAT_PROCS=8
FIO_MB=256
FIO_RUNTIME=20
RUNS=2
BASE_DIR=${TMPDIR:-/tmp}
BUILD_DIR=
THREADS=8
ONLY="mortar gluster passthrough"
PHASES="seq par meta pstat small tree fio"
STEP_TIMEOUT=900 # seconds any one step may take
KEEP=0
INSTALL=0
LOG_LEVEL=warning
VOL_TYPE=
NBRICKS=1
REPLICA=
TLS=0
VOLGEN_OPTS=()
GL_SET_ARGS=()
MORTAR_OPTS=

usage() {
	cat <<EOF
usage: bench.sh [options]
  --size-mb N     sequential file size in MiB; the parallel writers share
                  it (default $SIZE_MB)
  --files N       files for create/stat/readdir/unlink and 4 KiB writes
                  (default $FILES)
  --tree N        mkdir/rmdir tree N wide, 3 deep (default $TREE: 1110 dirs)
  --writers N     parallel writers (default $WRITERS)
  --stat-procs N  parallel stat-ers of one directory (pstat; default
                  $STAT_PROCS)
  --fio-size-mb N fio file size in MiB (default $FIO_MB)
  --fio-runtime S seconds per fio job (default $FIO_RUNTIME)
  --runs N        runs of each phase per column, alternating (default $RUNS);
                  the table shows the median (of 2: their mean)
  --dir DIR       where to make bricks and mount points (default $BASE_DIR)
  --build DIR     Mortar build tree (binaries in DIR/brickd, DIR/client,
                  translators in DIR/translators); default: brickd and
                  mortar from PATH
  --threads N     FUSE worker threads for passthrough_ll and mortar
                  (default $THREADS)
  --only LIST     columns, comma list of mortar,gluster,passthrough,raw
                  (default mortar,gluster,passthrough)
  --phases LIST   comma list of seq,par,meta,pstat,small,tree,fio
                  (default all)
  --smoke         quick run: --size-mb 32 --files 500 --tree 5
                  --fio-size-mb 16 --fio-runtime 2
  --keep          keep the work dir (logs) after the run
  --log-level L   brickd, mortar and GlusterFS log level (default $LOG_LEVEL)
  --volume-type T mortar and gluster on a volume over local bricks: mortar
                  made by mortar-volgen (unify, distribute, replicate,
                  distributed-replicate, unify-replicate), gluster by
                  gluster volume create (distribute, replicate,
                  distributed-replicate); default: one brick
  --bricks N      bricks of that volume (default $NBRICKS)
  --replica N     copies of each file (replicate types)
  --volgen-opt O  pass O to mortar-volgen (e.g. --no-md-cache); repeatable
  --gluster-set K=V  gluster volume set K V before the start; repeatable
  --mortar-opt O  one more -o option for the mortar client (e.g.
                  parallel-dirops=off); repeatable
  --tls           mortar over TLS: certificates made with openssl in the
                  work dir, the volume made with mortar-volgen --tls-dir
                  (without --volume-type: distribute over 1 brick; run
                  that without --tls for the plain figures)
  --install       apt-get install glusterfs-server and fio if missing
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--size-mb) SIZE_MB=$2; shift 2 ;;
	--files) FILES=$2; shift 2 ;;
	--tree) TREE=$2; shift 2 ;;
	--writers) WRITERS=$2; shift 2 ;;
	--stat-procs) STAT_PROCS=$2; shift 2 ;;
	--fio-size-mb) FIO_MB=$2; shift 2 ;;
	--fio-runtime) FIO_RUNTIME=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--dir) BASE_DIR=$2; shift 2 ;;
	--build) BUILD_DIR=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--only) ONLY=${2//,/ }; shift 2 ;;
	--phases) PHASES=${2//,/ }; shift 2 ;;
	--smoke) SIZE_MB=32 FILES=500 TREE=5 FIO_MB=16 FIO_RUNTIME=2; shift ;;
	--keep) KEEP=1; shift ;;
	--log-level) LOG_LEVEL=$2; shift 2 ;;
	--volume-type) VOL_TYPE=$2; shift 2 ;;
	--bricks) NBRICKS=$2; shift 2 ;;
	--replica) REPLICA=$2; shift 2 ;;
	--volgen-opt) VOLGEN_OPTS+=("$2"); shift 2 ;;
	--gluster-set) GL_SET_ARGS+=("$2"); shift 2 ;;
	--mortar-opt) MORTAR_OPTS="$MORTAR_OPTS,$2"; shift 2 ;;
	--tls) TLS=1; shift ;;
	--install) INSTALL=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done
# TLS needs a volfile with tls options: a volume, one brick unless asked.
[ "$TLS" = 0 ] || [ -n "$VOL_TYPE" ] || VOL_TYPE=distribute
if [ "${CI:-}" = true ] && [ "$SIZE_MB" -gt 32 ]; then
	SIZE_MB=32 FILES=500 TREE=5 FIO_MB=16 FIO_RUNTIME=2
fi
for kind in $ONLY; do
	case $kind in
	raw | passthrough | mortar | gluster) ;;
	*) echo "bench.sh: unknown column $kind" >&2; exit 2 ;;
	esac
done
for phase in $PHASES; do
	case $phase in
	seq | par | meta | pstat | small | tree | fio) ;;
	*) echo "bench.sh: unknown phase $phase" >&2; exit 2 ;;
	esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=columns.sh
. "$HERE/columns.sh"
# shellcheck source=gluster.sh
. "$HERE/gluster.sh"
# shellcheck source=workload.sh
. "$HERE/workload.sh"
GL_SET=("${GL_SET_ARGS[@]}")

if [ "$INSTALL" = 1 ]; then
	pkgs=()
	command -v glusterd >/dev/null || pkgs+=(glusterfs-server)
	command -v fio >/dev/null || pkgs+=(fio)
	[ ${#pkgs[@]} = 0 ] || { apt-get update && apt-get install -y "${pkgs[@]}"; } ||
		die "apt-get install ${pkgs[*]} failed"
fi

WORK=$(mktemp -d "$BASE_DIR/mortar-bench.XXXXXX") || exit 2
trap cleanup EXIT
trap 'exit 130' INT TERM

FILEOPS=$WORK/fileops
if [ -n "$BUILD_DIR" ] && [ -x "$BUILD_DIR/extras/bench/fileops" ]; then
	FILEOPS=$BUILD_DIR/extras/bench/fileops
else
	cc -O2 -Wall -o "$FILEOPS" "$HERE/fileops.c" || die "cannot build fileops"
fi
case " $PHASES " in
*" fio "*) command -v fio >/dev/null ||
	die "no fio (Debian: apt-get install fio), or leave fio out of --phases" ;;
esac

# ---- set up every column; a column that cannot run shows "-" ----------

COLS=()
for kind in $ONLY; do
	"${kind}_check" || { log "$kind: skipped"; continue; }
	log "== $kind: setting up"
	if "${kind}_setup"; then
		COLS+=("$kind")
	else
		log "$kind: setup failed; its column stays empty"
	fi
done
[ ${#COLS[@]} -gt 0 ] || die "no column to measure"

# ---- the phases, RUNS times, alternating the columns -------------------

declare -A FAILED
for phase in $PHASES; do
	for ((run = 1; run <= RUNS; run++)); do
		for kind in "${COLS[@]}"; do
			[ -z "${FAILED[$kind]:-}" ] || continue
			log "== $phase, run $run: $kind"
			"phase_$phase" "$kind" "$run" || {
				log "$kind: $phase failed; no more runs on it"
				FAILED[$kind]=1
			}
		done
	done
done
for kind in "${COLS[@]}"; do
	"${kind}_teardown"
done

# shellcheck source=report.sh
. "$HERE/report.sh"
exit 0
