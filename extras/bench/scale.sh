#!/bin/bash
# scale.sh - aggregate throughput of a Mortar volume as bricks are added,
# every brick behind a network link of its own whose rate tc caps, so the
# ceiling to compare with is the sum of the links, not loopback.  See
# README.md in this folder ("Aggregate scaling").
#
# The network lives in namespaces only; the root namespace gets no
# interface, address or route, and traffic goes only to hosts made here:
#
#   PFXsw    the switch: bridge br0 and the switch end of every veth
#   PFXb<i>  brick i: eth0 10.200.1.<i+1>/16, brickd listens there
#   PFXc<k>  client k: eth0 10.200.2.<k+1>/16, one mortar mount
#
# PFX is msc<pid of this script>, so two runs never share a name.  A
# brick's link is capped at --link-mbit both ways: an htb class on the
# switch end (egress toward the brick: what clients write) and one on the
# brick's eth0 (toward the switch: what clients read), each over a byte
# fifo holding 20 ms at the rate, a switch port's buffer (htb's default
# pfifo holds 1000 packets, seconds of queue with 64 KiB GSO packets).
# Client links are not capped unless --client-mbit says so: the bricks'
# links are what is measured.  Processes enter a namespace with
# `nsenter --net` (never `ip netns exec`, which remounts /sys and would
# not see our mounts): only the network changes, so a client's FUSE mount
# is in the root mount namespace, dd runs there on it, and mortar's TCP
# goes over the client's link.
#
# Phases (--phases), for each brick count B of --bricks-list:
#   write   a fresh unify rr volume (or --volume-type distribute) over B
#           bricks, C clients (--clients; default C = B) mounted one after
#           another (so rr's tickets put client k's file on brick k mod
#           B); all at once, each client dd's --size-mb MiB of its own
#           random data into its own file, bs=1M conv=fsync; aggregate =
#           all bytes over the time to the last fsync
#   read    every client unmounted, the page cache dropped, mounted
#           again; client k reads the file of client k+1 (another
#           client's) to /dev/null, all at once; then, untimed, each file
#           is compared (cmp) through the reader's mount with what its
#           writer wrote
# and once, after them:
#   shared  the batch-job pattern: --shared-clients clients read one
#           --shared-mb file at once, on each volume of --shared-types
#           over --shared-bricks bricks: unify (the file is on one brick,
#           so one link is the ceiling) and replicate with a copy on each
#           brick (each client reads from one copy, picked by client and
#           file: the copies' links are the ceiling).  Each reader's bytes
#           go straight into cmp; the bytes each brick sent are printed.
#
# Before each run the same pattern goes over the same links as plain TCP
# (perl, TCP_MB MiB a stream, client k with brick k mod B): what the
# links carry without Mortar on the machine as loaded as it is then.
#
# MB are 10^6 bytes, for rates and caps alike (a cap is Mbit/8); TCP/IP
# headers at MTU 1500 and the RPC headers take ~4%, so ~0.95 of the cap
# is the most a link carries.  CPU: busy % of all cores over the timed
# part, from /proc/stat (the whole machine: other users' jobs count);
# "bg" is the same over 2 s just before, our processes idle; "ours" is
# the share of the machine our brickd and mortar processes used.  A row
# says "cpu-bound" when the machine was busy over 90%.
#
# Everything it starts, mounts and makes (processes by PID, mounts,
# namespaces, with them the veths and the bridge, the work dir) is undone
# by the EXIT trap, also on failure or ^C.
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions reached through the trap, parallel, wait_until

set -u
export LC_ALL=C # awk and printf: a dot in 1.5

BRICKS_LIST="1 2 4 8 16"
CLIENTS=
LINK_MBIT=200
CLIENT_MBIT=0
SIZE_MB=256
VOL_TYPE=unify
SHARED_TYPES="unify replicate"
SHARED_BRICKS=2
SHARED_CLIENTS=8
SHARED_MB=1024
TCP_MB=64
PHASES="write read shared"
BASE_DIR=${TMPDIR:-/tmp}
BUILD_DIR=
KEEP=0
LOG_LEVEL=warning
VOLGEN_OPTS=()
MORTAR_OPTS=
STEP_TIMEOUT=900 # seconds any one dd or cmp may take
BUSY_LIMIT=90    # machine busy % from which a row says cpu-bound

usage() {
	cat <<EOF
usage: scale.sh [options]   (as root)
  --bricks-list L   brick counts, one volume each (default "$BRICKS_LIST")
  --clients N       clients of every volume (default: as many as bricks)
  --link-mbit N     each brick's link, both ways, Mbit/s (default $LINK_MBIT)
  --client-mbit N   cap each client's link too (default: uncapped)
  --size-mb N       MiB each client writes and reads (default $SIZE_MB)
  --volume-type T   unify (rr scheduler) or distribute (default $VOL_TYPE)
  --phases LIST     comma list of write,read,shared (default all; read
                    needs write)
  --shared-types L  volumes of the shared phase, comma list of unify,
                    distribute, replicate (default unify,replicate)
  --shared-bricks N bricks of each shared volume; replicate keeps a copy
                    on each (default $SHARED_BRICKS)
  --shared-clients N  clients reading the one file (default $SHARED_CLIENTS)
  --shared-mb N     size of that file in MiB (default $SHARED_MB)
  --tcp-mb N        MiB each plain TCP stream carries, the links measured
                    without Mortar before each run (default $TCP_MB; 0: not)
  --smoke           quick run: --bricks-list "1 2 4" --size-mb 64
                    --shared-clients 4 --shared-mb 128
  --dir DIR         where the work dir (bricks, mount points) goes
                    (default $BASE_DIR)
  --build DIR       Mortar build tree (DIR/brickd/brickd,
                    DIR/client/mortar, DIR/extras/tools/mortar-volgen,
                    DIR/translators); default: binaries in PATH
  --volgen-opt O    pass O to mortar-volgen; repeatable
  --mortar-opt O    one more -o option for every mortar client; repeatable
  --log-level L     brickd and mortar log level (default $LOG_LEVEL)
  --keep            keep the work dir (logs) after the run
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--bricks-list) BRICKS_LIST=${2//,/ }; shift 2 ;;
	--clients) CLIENTS=$2; shift 2 ;;
	--link-mbit) LINK_MBIT=$2; shift 2 ;;
	--client-mbit) CLIENT_MBIT=$2; shift 2 ;;
	--size-mb) SIZE_MB=$2; shift 2 ;;
	--volume-type) VOL_TYPE=$2; shift 2 ;;
	--phases) PHASES=${2//,/ }; shift 2 ;;
	--shared-types) SHARED_TYPES=${2//,/ }; shift 2 ;;
	--shared-bricks) SHARED_BRICKS=$2; shift 2 ;;
	--shared-clients) SHARED_CLIENTS=$2; shift 2 ;;
	--shared-mb) SHARED_MB=$2; shift 2 ;;
	--tcp-mb) TCP_MB=$2; shift 2 ;;
	--smoke) BRICKS_LIST="1 2 4" SIZE_MB=64 SHARED_CLIENTS=4 SHARED_MB=128; shift ;;
	--dir) BASE_DIR=$2; shift 2 ;;
	--build) BUILD_DIR=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--volgen-opt) VOLGEN_OPTS+=("$2"); shift 2 ;;
	--mortar-opt) MORTAR_OPTS="$MORTAR_OPTS,$2"; shift 2 ;;
	--log-level) LOG_LEVEL=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "scale.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done
MORTAR_OPTS=${MORTAR_OPTS#,}

bad() {
	echo "scale.sh: $*" >&2
	exit 2
}
# count N LO HI: N is a whole number in [LO, HI]
count() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
[ -n "$BRICKS_LIST" ] || bad "--bricks-list is empty"
for b in $BRICKS_LIST; do
	count "$b" 1 254 || bad "brick count $b: not in 1..254"
done
[ -z "$CLIENTS" ] || count "$CLIENTS" 1 254 || bad "--clients $CLIENTS: not in 1..254"
count "$LINK_MBIT" 1 100000 || bad "--link-mbit $LINK_MBIT: not in 1..100000"
count "$CLIENT_MBIT" 0 100000 || bad "--client-mbit $CLIENT_MBIT: not in 0..100000"
count "$SIZE_MB" 1 1048576 || bad "--size-mb $SIZE_MB: not a size"
count "$SHARED_MB" 1 1048576 || bad "--shared-mb $SHARED_MB: not a size"
count "$TCP_MB" 0 1048576 || bad "--tcp-mb $TCP_MB: not a size"
count "$SHARED_BRICKS" 1 16 || bad "--shared-bricks $SHARED_BRICKS: not in 1..16"
count "$SHARED_CLIENTS" 1 254 || bad "--shared-clients $SHARED_CLIENTS: not in 1..254"
case $VOL_TYPE in
unify | distribute) ;;
*) bad "--volume-type $VOL_TYPE: unify or distribute" ;;
esac
for phase in $PHASES; do
	case $phase in
	write | read | shared) ;;
	*) bad "unknown phase $phase" ;;
	esac
done
case " $PHASES " in
*" read "*) case " $PHASES " in *" write "*) ;; *) bad "read needs write" ;; esac ;;
esac
for t in $SHARED_TYPES; do
	case $t in
	unify | distribute | replicate) ;;
	*) bad "--shared-types: unknown volume type $t" ;;
	esac
done
case " $SHARED_TYPES " in
*" replicate "*) [ "$SHARED_BRICKS" -ge 2 ] || bad "replicate needs --shared-bricks 2 or more" ;;
esac

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || bad "needs root (network namespaces, tc, FUSE mounts, drop_caches)"

mortar_binaries
for prog in "$BRICKD" "$MORTAR" "$VOLGEN" ip tc nsenter cmp; do
	command -v "$prog" >/dev/null || bad "no $prog"
done
[ "$TCP_MB" = 0 ] || command -v perl >/dev/null || bad "no perl (or --tcp-mb 0)"

WORK=$(mktemp -d "$BASE_DIR/mortar-scale.XXXXXX") || exit 2
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- processes ----------------------------------------------------------

# forget_pid PID: PID is stopped and reaped; the trap must not signal
# whatever gets the number next.
forget_pid() {
	local p
	local -a keep=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}
gone() { ! kill -0 "$1" 2>/dev/null; }

# ---- the network ----------------------------------------------------------

PFX=msc$$
SWITCH=${PFX}sw
NETNS=() # namespaces made here; deleting one deletes its veths
net_cleanup() {
	local ns
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
}
CLEANUP_HOOKS+=(net_cleanup)

# in_ns NS CMD...: CMD on NS's network, in our mount namespace.  A
# process to be stopped by its PID is started with nsenter itself: a
# function in the background is a subshell whose PID is not the process.
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

mkns() {
	ip netns add "$1" || return 1
	NETNS+=("$1")
	ip -n "$1" link set lo up
}

# cap NS DEV MBIT: DEV's egress at MBIT, bursts of 10 ms, 20 ms of queue
cap() {
	local ns=$1 dev=$2 mbit=$3 rate burst limit
	rate=$((mbit * 125000)) # bytes/s
	burst=$((rate / 100 > 131072 ? rate / 100 : 131072))
	limit=$((rate / 50 > 262144 ? rate / 50 : 262144))
	tc -n "$ns" qdisc add dev "$dev" root handle 1: htb default 10 &&
		tc -n "$ns" class add dev "$dev" parent 1: classid 1:10 htb \
			rate "${mbit}mbit" ceil "${mbit}mbit" \
			burst "$burst" cburst "$burst" quantum 65536 &&
		tc -n "$ns" qdisc add dev "$dev" parent 1:10 handle 10: bfifo limit "$limit"
}

# plug NS PORT ADDR [MBIT]: a veth from switch port PORT to eth0 of NS,
# which gets ADDR/16; both ends capped at MBIT unless it is 0
plug() {
	local ns=$1 port=$2 addr=$3 mbit=${4:-0}
	# "name": a bare b<i> must never be read as a keyword (ip takes "b" for "broadcast")
	ip link add name "$port" netns "$SWITCH" type veth peer name eth0 netns "$ns" &&
		ip -n "$SWITCH" link set "$port" master br0 up &&
		ip -n "$ns" addr add "$addr/16" dev eth0 &&
		ip -n "$ns" link set eth0 up || return 1
	[ "$mbit" = 0 ] && return 0
	cap "$SWITCH" "$port" "$mbit" && cap "$ns" eth0 "$mbit"
}

brick_ns() { echo "${PFX}b$1"; }
brick_addr() { echo "10.200.1.$(($1 + 1))"; }
client_ns() { echo "${PFX}c$1"; }
client_addr() { echo "10.200.2.$(($1 + 1))"; }

# net_setup NBRICKS NCLIENTS
net_setup() {
	local i
	mkns "$SWITCH" &&
		ip -n "$SWITCH" link add br0 type bridge &&
		ip -n "$SWITCH" link set br0 up || return 1
	for ((i = 0; i < $1; i++)); do
		if ! mkns "$(brick_ns "$i")" ||
			! plug "$(brick_ns "$i")" "b$i" "$(brick_addr "$i")" "$LINK_MBIT"; then
			log "cannot set up the link of brick $i"
			return 1
		fi
	done
	for ((i = 0; i < $2; i++)); do
		if ! mkns "$(client_ns "$i")" ||
			! plug "$(client_ns "$i")" "c$i" "$(client_addr "$i")" "$CLIENT_MBIT"; then
			log "cannot set up the link of client $i"
			return 1
		fi
		mkdir -p "$WORK/mnt/c$i"
		MOUNTS+=("$WORK/mnt/c$i")
	done
}

# link_bytes NS: "received sent" bytes of eth0 in NS
link_bytes() {
	# shellcheck disable=SC2016 # awk's fields
	in_ns "$1" awk '{ sub(/:/, " ") } $1 == "eth0" { print $2, $10 }' /proc/net/dev
}

# ---- volumes and clients ------------------------------------------------

VOL=
VOL_SERVER=
VOL_BRICKS=0
BRICK_PIDS=()
CLIENT_PIDS=()

# vol_start NAME TYPE NBRICKS [VOLGEN-ARGS...]: bricks 0..NBRICKS-1 of a
# fresh volume NAME, each brickd on its namespace's address, on a port
# the kernel picks; then the volfiles again with those ports.
vol_start() {
	local name=$1 type=$2 nb=$3 i pid dir=$WORK/$1
	local -a bricks=()
	shift 3
	mkdir -p "$dir/vols" "$dir/data"
	for ((i = 0; i < nb; i++)); do
		mkdir -p "$dir/data/b$i"
		bricks+=("$(brick_addr "$i"):$dir/data/b$i")
	done
	"$VOLGEN" -q --force --out "$dir/vols" "$@" "${VOLGEN_OPTS[@]}" \
		"$name" "$type" "${bricks[@]}" || { log "mortar-volgen $name failed"; return 1; }
	BRICK_PIDS=()
	for ((i = 0; i < nb; i++)); do
		# -N keeps it in the foreground, so its PID is ours to stop
		# (nsenter itself, not a function: no shell in between).
		nsenter --net="/run/netns/$(brick_ns "$i")" "$BRICKD" -N -f "$dir/vols/$name-brick-$i.vol" \
			--volfile-dir "$dir/vols" --host "$(brick_addr "$i")" \
			--port 0 --port-file "$dir/brick$i.port" --dump-dir "$dir" \
			--log-file "$dir/brickd$i.log" --log-level "$LOG_LEVEL" \
			</dev/null >>"$dir/brickd$i.out" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		BRICK_PIDS+=("$pid")
	done
	for ((i = 0; i < nb; i++)); do
		wait_until 20 test -s "$dir/brick$i.port" ||
			{ log "brick $i of $name did not start (see $dir/brickd$i.log, .out)"; return 1; }
		bricks[i]="$(brick_addr "$i"):$(cat "$dir/brick$i.port"):$dir/data/b$i"
	done
	"$VOLGEN" -q --force --out "$dir/vols" "$@" "${VOLGEN_OPTS[@]}" \
		"$name" "$type" "${bricks[@]}" || { log "mortar-volgen $name failed"; return 1; }
	VOL=$name
	VOL_BRICKS=$nb
	VOL_SERVER=$(brick_addr 0):$(cat "$dir/brick0.port")
}

# vol_stop: stop the bricks (the clients are unmounted) and remove their
# data; the logs stay for --keep.
vol_stop() {
	local p
	for p in "${BRICK_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${BRICK_PIDS[@]}"; do
		stop_pid "$p"
		wait "$p" 2>/dev/null
		forget_pid "$p"
	done
	BRICK_PIDS=()
	rm -rf "${WORK:?}/$VOL/data"
}

mount_ready() { mountpoint -q "$1" || gone "$2"; }

# mount_client K: client K mounts VOL on $WORK/mnt/cK from its namespace
mount_client() {
	local k=$1 mnt=$WORK/mnt/c$1 log=$WORK/$VOL/mortar$1 pid
	local -a opts=()
	[ -z "$MORTAR_OPTS" ] || opts=(-o "$MORTAR_OPTS")
	nsenter --net="/run/netns/$(client_ns "$k")" "$MORTAR" -N --volfile-server "$VOL_SERVER" \
		--volume "$VOL" --log-file "$log.log" --log-level "$LOG_LEVEL" \
		--dump-dir "$WORK/$VOL" "${opts[@]}" "$mnt" </dev/null >>"$log.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	CLIENT_PIDS[k]=$pid
	if ! wait_until 30 mount_ready "$mnt" "$pid" || ! mountpoint -q "$mnt"; then
		log "client $k did not mount $VOL from $VOL_SERVER (see $log.log, .out)"
		return 1
	fi
}

# unmount_client K: umount, and its mortar must exit within 20 s
unmount_client() {
	local k=$1 mnt=$WORK/mnt/c$1 pid=${CLIENT_PIDS[$1]}
	timeout 20 umount "$mnt" ||
		{ log "umount $mnt (client $k, mortar pid $pid) failed"; return 1; }
	wait_until 20 gone "$pid" ||
		{ log "mortar of client $k (pid $pid) still runs 20 s after its umount"; return 1; }
	wait "$pid" 2>/dev/null
	forget_pid "$pid"
	unset "CLIENT_PIDS[k]"
}

# mount_all N / unmount_all: clients 0..N-1, one after another
mount_all() {
	local k
	for ((k = 0; k < $1; k++)); do
		mount_client "$k" || return 1
	done
}
unmount_all() {
	local k rc=0
	for k in "${!CLIENT_PIDS[@]}"; do
		unmount_client "$k" || rc=1
	done
	return $rc
}

# ---- measuring ------------------------------------------------------------

# cpu_snap: "busy total" jiffies of all cores (/proc/stat; idle and
# iowait are not busy)
cpu_snap() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}
# ours_snap: jiffies our bricks and clients used (all their threads)
ours_snap() {
	local p
	local -a files=()
	for p in "${BRICK_PIDS[@]}" "${CLIENT_PIDS[@]}"; do
		[ -r "/proc/$p/stat" ] && files+=("/proc/$p/stat")
	done
	[ ${#files[@]} -gt 0 ] || { echo 0; return; }
	# the command name is "(brickd)" or "(mortar)": no blank in it
	awk '{ s += $14 + $15 } END { print s + 0 }' "${files[@]}" 2>/dev/null
}
# pct A B: 100 * A / B, one decimal
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print "-" }'; }

# idle_busy: machine busy % over 2 s with our processes idle
idle_busy() {
	local b0 t0 b1 t1
	read -r b0 t0 < <(cpu_snap)
	sleep 2
	read -r b1 t1 < <(cpu_snap)
	pct $((b1 - b0)) $((t1 - t0))
}

# bricks_bytes: "received sent" of every brick of VOL, one line each
bricks_bytes() {
	local i
	for ((i = 0; i < VOL_BRICKS; i++)); do
		link_bytes "$(brick_ns "$i")"
	done
}

# parallel FUNC N: FUNC 0 .. FUNC N-1 at once in the background; sets
# ELAPSED (s), BUSY (machine %), OURS (brickd + mortar, % of the
# machine); 1 if any of them failed
ELAPSED=0 BUSY=0 OURS=0
parallel() {
	local fn=$1 n=$2 k rc=0 t0 t1 b0 c0 b1 c1 o0 o1
	local -a jobs=()
	read -r b0 c0 < <(cpu_snap)
	o0=$(ours_snap)
	t0=$(now)
	for ((k = 0; k < n; k++)); do
		"$fn" "$k" &
		jobs+=($!)
		PIDS+=($!)
	done
	# each job runs under timeout: these waits end
	for k in "${!jobs[@]}"; do
		wait "${jobs[k]}" || { log "$fn $k failed"; rc=1; }
		forget_pid "${jobs[k]}"
	done
	t1=$(now)
	o1=$(ours_snap)
	read -r b1 c1 < <(cpu_snap)
	ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	BUSY=$(pct $((b1 - b0)) $((c1 - c0)))
	OURS=$(pct $((o1 - o0)) $((c1 - c0)))
	return $rc
}

# The jobs: each is a subshell that becomes timeout, which passes a
# signal on to its command (the trap stops them by PID).
NCLIENTS=0
write_one() {
	exec timeout "$STEP_TIMEOUT" dd if="$WORK/src/c$1" of="$WORK/mnt/c$1/f$1" \
		bs=1M conv=fsync status=none
}
read_one() {
	exec timeout "$STEP_TIMEOUT" dd if="$WORK/mnt/c$1/f$((($1 + 1) % NCLIENTS))" \
		of=/dev/null bs=1M status=none
}
check_one() {
	local w=$((($1 + 1) % NCLIENTS))
	exec timeout "$STEP_TIMEOUT" cmp "$WORK/mnt/c$1/f$w" "$WORK/src/c$w"
}
shared_one() {
	# shellcheck disable=SC2016 # $1 and $2 are sh's
	exec timeout "$STEP_TIMEOUT" sh -c 'dd if="$1" bs=1M status=none | cmp - "$2"' \
		sh "$WORK/mnt/c$1/shared" "$WORK/src/shared"
}

# mbs BYTES SECONDS -> MB/s (10^6), one decimal
mbs() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / s / 1e6; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
bound() { awk -v b="$1" -v l="$BUSY_LIMIT" 'BEGIN { if (b + 0 > l) print "cpu-bound" }'; }

# spread BEFORE AFTER FIELD: per-brick MB of FIELD (1 received, 2 sent)
# between two bricks_bytes outputs, "min-max" and the list
spread() {
	paste -d ' ' <(echo "$1") <(echo "$2") | awk -v f="$3" '
		{ v = ($(f + 2) - $f) / 1e6; list = list sprintf(" %.0f", v)
		  if (NR == 1 || v < lo) lo = v; if (NR == 1 || v > hi) hi = v }
		END { printf "%.0f-%.0f|%s", lo, hi, substr(list, 2) }'
}

# placement: files per brick of VOL, "n0 n1 ..." (regular files with
# data: a distribute linkto is empty)
placement() {
	local i out=
	for ((i = 0; i < VOL_BRICKS; i++)); do
		out="$out $(find "$WORK/$VOL/data/b$i" -maxdepth 1 -type f -size +0 -name 'f*' | wc -l)"
	done
	echo "${out# }"
}

# ---- the links alone: plain TCP over the same links ------------------------

# The same pattern with no file system: client k streams TCP_MB MiB to
# (or from) brick k mod B over one TCP connection.  What a link carries
# with the machine as loaded as it is; perl is in every Debian.
# shellcheck disable=SC2016 # perl's variables
TCP_PL='use strict; use IO::Socket::INET;
my ($mode, $addr, $port, $arg) = @ARGV;
my $buf = "\0" x (1 << 20);
sub put {
	my ($s, $mb) = @_;
	for (1 .. $mb) {
		my $off = 0;
		while ($off < length $buf) {
			my $w = syswrite($s, $buf, length($buf) - $off, $off);
			defined $w or die "write: $!\n";
			$off += $w;
		}
	}
}
sub take {
	my ($s) = @_;
	my ($n, $k, $b) = (0);
	$n += $k while ($k = sysread($s, $b, 1 << 20));
	defined $k or die "read: $!\n";
	print "$n\n";
}
if ($mode eq "sink" || $mode eq "source") {
	my $l = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => $port,
		Listen => 1, ReuseAddr => 1) or die "listen: $!\n";
	open(my $r, ">", $arg) or die "$arg: $!\n";
	close $r;
	my $c = $l->accept or die "accept: $!\n";
	if ($mode eq "sink") { take($c) } else { put($c, $ARGV[4]) }
	close $c;
} else {
	my $s = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port)
		or die "connect: $!\n";
	# send: half-close and wait for the sink to close, so the time
	# ends when the last byte arrived, not when it left
	if ($mode eq "send") { put($s, $arg); shutdown($s, 1); 1 while sysread($s, my $x, 4096) }
	else { take($s) }
}'
TCP_B=1
TCP_MODE=send

tcp_one() {
	local i=$(($1 % TCP_B))
	exec timeout "$STEP_TIMEOUT" nsenter --net="/run/netns/$(client_ns "$1")" \
		perl -e "$TCP_PL" "$TCP_MODE" "$(brick_addr "$i")" $((6000 + $1)) "$TCP_MB" \
		>"$WORK/tcp/client$1" 2>&1
}

# tcp_pass UP|DOWN B C: C streams at once, clients to bricks (UP) or
# back; sets TCP_RATE, the aggregate MB/s, "-" when it failed.  The
# receiving end prints the bytes it got: they must be all.
TCP_RATE=-
tcp_pass() {
	local b=$2 c=$3 k i pid lmode=sink got=brick
	local -a lpids=()
	TCP_RATE=-
	[ "$TCP_MB" -gt 0 ] || return 0
	TCP_B=$b
	TCP_MODE=send
	[ "$1" = UP ] || { lmode=source TCP_MODE=recv got=client; }
	rm -rf "$WORK/tcp"
	mkdir -p "$WORK/tcp"
	for ((k = 0; k < c; k++)); do
		i=$((k % b))
		nsenter --net="/run/netns/$(brick_ns "$i")" perl -e "$TCP_PL" "$lmode" \
			"$(brick_addr "$i")" $((6000 + k)) "$WORK/tcp/ready$k" "$TCP_MB" \
			>"$WORK/tcp/brick$k" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		lpids+=("$pid")
	done
	for ((k = 0; k < c; k++)); do
		wait_until 20 test -e "$WORK/tcp/ready$k" || break
	done
	TCP_RATE=-
	if [ "$k" = "$c" ] && parallel tcp_one "$c"; then
		TCP_RATE=$(mbs $((c * (TCP_MB << 20))) "$ELAPSED")
	fi
	for pid in "${lpids[@]}"; do
		wait_until 20 gone "$pid" || stop_pid "$pid"
		wait "$pid" 2>/dev/null
		forget_pid "$pid"
	done
	for ((k = 0; k < c; k++)); do
		[ "$(cat "$WORK/tcp/$got$k")" = $((TCP_MB << 20)) ] || TCP_RATE=-
	done
	if [ "$TCP_RATE" = - ]; then
		log "plain TCP $1 over $b links failed (see $WORK/tcp)"
	else
		log "plain TCP $1, $c streams over $b links: $TCP_RATE MB/s, machine busy $BUSY%"
	fi
}

# ---- the phases -------------------------------------------------------------

LINK_MB=$(awk -v m="$LINK_MBIT" 'BEGIN { printf "%.1f", m / 8 }')
ROWS_WRITE=()
ROWS_READ=()
ROWS_SHARED=()

# row LINKS C BYTES FIELD IDLE BEFORE AFTER TCP: the last run's columns
# from "clients" on; the cap is LINKS links, FIELD of bricks_bytes (1
# received, 2 sent) gives the MB per brick, TCP the plain TCP MB/s
row() {
	local agg capmb sp
	agg=$(mbs "$3" "$ELAPSED")
	capmb=$(awk -v n="$1" -v l="$LINK_MBIT" 'BEGIN { printf "%.1f", n * l / 8 }')
	sp=$(spread "$6" "$7" "$4")
	printf '%7s %8.1f %9s %8s %6s %8s %7s %6s %6s %6s %6s  %-9s %s' "$2" "$ELAPSED" \
		"$agg" "$capmb" "$(ratio "$agg" "$capmb")" "$8" "$(ratio "$8" "$capmb")" \
		"$(ratio "$agg" "$8")" "$5" "$BUSY" "$OURS" "$(bound "$BUSY")" "${sp%%|*} (${sp#*|})"
}

make_sources() {
	local k
	mkdir -p "$WORK/src"
	for ((k = 0; k < $1; k++)); do
		[ -s "$WORK/src/c$k" ] && continue
		head -c $((SIZE_MB << 20)) /dev/urandom >"$WORK/src/c$k" ||
			die "cannot write $WORK/src/c$k"
	done
}

# warm_sources C: the writers' data in the page cache, so that the timed
# writes do not read the disk (drop_caches emptied it)
warm_sources() {
	local k
	for ((k = 0; k < $1; k++)); do
		cat "$WORK/src/c$k"
	done >/dev/null
}

# scale B: the write and read phases on B bricks
scale() {
	local b=$1 c=${CLIENTS:-$1} bytes idle before after
	local -a vopts=()
	NCLIENTS=$c
	bytes=$((c * (SIZE_MB << 20)))
	log "== $b bricks, $c clients: $VOL_TYPE volume"
	[ "$VOL_TYPE" = unify ] &&
		vopts=(--scheduler rr --option cluster/unify:child-up-timeout=20)
	vol_start "b$b" "$VOL_TYPE" "$b" "${vopts[@]}" || return 1
	tcp_pass UP "$b" "$c"
	mount_all "$c" || return 1
	warm_sources "$c"
	idle=$(idle_busy)
	before=$(bricks_bytes)
	parallel write_one "$c" || { log "a writer failed on $b bricks"; return 1; }
	after=$(bricks_bytes)
	ROWS_WRITE+=("$(printf '%6s ' "$b")$(row "$b" "$c" "$bytes" 1 "$idle" \
		"$before" "$after" "$TCP_RATE")")
	log "write: ${ROWS_WRITE[-1]}"
	log "files per brick: $(placement)"
	case " $PHASES " in
	*" read "*)
		unmount_all || return 1
		tcp_pass DOWN "$b" "$c"
		drop_caches
		mount_all "$c" || return 1
		idle=$(idle_busy)
		before=$(bricks_bytes)
		parallel read_one "$c" || { log "a reader failed on $b bricks"; return 1; }
		after=$(bricks_bytes)
		ROWS_READ+=("$(printf '%6s ' "$b")$(row "$b" "$c" "$bytes" 2 "$idle" \
			"$before" "$after" "$TCP_RATE")")
		log "read: ${ROWS_READ[-1]}"
		if ! parallel check_one "$c"; then
			log "DATA DIFFERS: a file read back on $b bricks is not what was written"
			return 1
		fi
		log "read back $c files: each is what its writer wrote"
		;;
	esac
	unmount_all || return 1
	vol_stop
}

# shared TYPE: the batch-job pattern on a TYPE volume over SHARED_BRICKS
shared() {
	local type=$1 n=$SHARED_CLIENTS copies=1 bytes idle before after t
	local -a vopts=()
	case $type in
	unify) vopts=(--scheduler rr --option cluster/unify:child-up-timeout=20) ;;
	replicate) vopts=(--replica "$SHARED_BRICKS") copies=$SHARED_BRICKS ;;
	esac
	log "== shared: $n clients read one $SHARED_MB MiB file on $type over $SHARED_BRICKS bricks"
	vol_start "sh$type" "$type" "$SHARED_BRICKS" "${vopts[@]}" && mount_client 0 || return 1
	t=$(timed dd if="$WORK/src/shared" of="$WORK/mnt/c0/shared" bs=1M \
		conv=fsync status=none) || { log "writing the shared file failed"; return 1; }
	log "shared file written by client 0 at $(mbs $((SHARED_MB << 20)) "$t") MB/s"
	unmount_all || return 1
	tcp_pass DOWN "$copies" "$n"
	drop_caches
	mount_all "$n" || return 1
	log "readers' mortar PIDs: ${CLIENT_PIDS[*]}"
	bytes=$((n * (SHARED_MB << 20)))
	idle=$(idle_busy)
	before=$(bricks_bytes)
	if ! parallel shared_one "$n"; then
		log "DATA DIFFERS or a reader failed: the shared file on $type (see above)"
		return 1
	fi
	after=$(bricks_bytes)
	ROWS_SHARED+=("$(printf '%-10s %6s %6s ' "$type" "$SHARED_BRICKS" "$copies")$(row \
		"$copies" "$n" "$bytes" 2 "$idle" "$before" "$after" "$TCP_RATE")")
	log "shared: ${ROWS_SHARED[-1]}"
	unmount_all || return 1
	vol_stop
}

# ---- the report -------------------------------------------------------------

report() {
	local rev src header link
	src=$HERE/../..
	[ -z "$BUILD_DIR" ] || src=$(sed -n 's/^abs_top_srcdir = //p' "$BUILD_DIR/Makefile" 2>/dev/null)
	rev=$(git -C "${src:-.}" rev-parse --short HEAD 2>/dev/null || echo "?")
	header='bricks clients  seconds      MB/s  cap MB/s  ratio tcp MB/s tcp/cap vs tcp    bg%   cpu%  ours%  note      MB per brick min-max (each)'
	link="clients' links uncapped"
	[ "$CLIENT_MBIT" = 0 ] || link="clients' links $CLIENT_MBIT Mbit/s"
	printf '\nMortar scale %s: %s, links %s Mbit/s each way (%s MB/s) per brick, %s\n' \
		"$START" "$VOL_TYPE$([ "$VOL_TYPE" = unify ] && echo ' rr')" "$LINK_MBIT" "$LINK_MB" "$link"
	printf 'mortar: %s (source tree at %s), %s cores, load %s at the start; MB = 10^6 bytes\n' \
		"${BUILD_DIR:-binaries in PATH}" "$rev" "$(nproc)" "$LOAD"
	if [ "$TCP_MB" = 0 ]; then
		printf 'ratio: MB/s over cap; tcp, tcp/cap, vs tcp: not measured (--tcp-mb 0); bg%%: machine busy in the 2 s\n'
	else
		printf 'ratio: MB/s over cap; tcp: plain TCP over the same links in the same pattern just before\n'
		printf '(%s MiB a stream), tcp/cap its ratio, vs tcp: MB/s over it; bg%%: machine busy in the 2 s\n' "$TCP_MB"
	fi
	printf 'before, ours idle (other users); cpu%%: machine busy during the run; ours%%: of the machine,\n'
	printf 'what brickd + mortar used; cpu-bound: cpu%% > %s\n' "$BUSY_LIMIT"
	if [ ${#ROWS_WRITE[@]} -gt 0 ]; then
		printf '\nwrite: each client dd bs=1M conv=fsync %s MiB to its own file, all at once\n' "$SIZE_MB"
		printf '%s\n' "$header" "${ROWS_WRITE[@]}"
	fi
	if [ ${#ROWS_READ[@]} -gt 0 ]; then
		printf '\nread (cold: remounted, page cache dropped): each client a file another wrote\n'
		printf '%s\n' "$header" "${ROWS_READ[@]}"
	fi
	if [ ${#ROWS_SHARED[@]} -gt 0 ]; then
		printf '\nshared: every client reads the same %s MiB file at once (cold); cap = copies x link\n' "$SHARED_MB"
		printf '%-10s %s\n' volume "${header/bricks/bricks copies}"
		printf '%s\n' "${ROWS_SHARED[@]}"
	fi
}

# ---- the run ------------------------------------------------------------

NB_MAX=0
NC_MAX=0
case " $PHASES " in *" shared "*) NB_MAX=$SHARED_BRICKS NC_MAX=$SHARED_CLIENTS ;; esac
case " $PHASES " in
*" write "*)
	for b in $BRICKS_LIST; do
		[ "$b" -le "$NB_MAX" ] || NB_MAX=$b
		c=${CLIENTS:-$b}
		[ "$c" -le "$NC_MAX" ] || NC_MAX=$c
	done
	;;
esac

START=$(date -u +%FT%TZ)
LOAD=$(cut -d ' ' -f 1-3 /proc/loadavg)
log "network: $NB_MAX bricks, $NC_MAX clients in namespaces $PFX*"
net_setup "$NB_MAX" "$NC_MAX" || die "cannot set up the network"

case " $PHASES " in
*" write "*)
	log "sources: $NC_MAX x $SIZE_MB MiB of random data"
	make_sources "$NC_MAX"
	for b in $BRICKS_LIST; do
		scale "$b" || { report; die "stopped on $b bricks (see above)"; }
	done
	;;
esac
case " $PHASES " in
*" shared "*)
	mkdir -p "$WORK/src"
	head -c $((SHARED_MB << 20)) /dev/urandom >"$WORK/src/shared" ||
		die "cannot write $WORK/src/shared"
	for t in $SHARED_TYPES; do
		shared "$t" || { report; die "stopped on the shared $t volume (see above)"; }
	done
	;;
esac

report
exit 0
