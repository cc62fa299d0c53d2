#!/usr/bin/env bash
# Build and install Mortar, then bring up a volume on this machine, mounted
# and ready to use.  Run as root on Debian 12.
#
#   ./extras/quickstart.sh                 one brick (/srv/mortar/brick0)
#   ./extras/quickstart.sh --type distributed-replicate --bricks 4 --replica 2
#                                          local bricks /srv/mortar/brick0..3
#                                          on ports 24010.., volfiles made by
#                                          mortar-volgen in /etc/mortar/vols
#   --type TYPE      unify, distribute, replicate, distributed-replicate,
#                    unify-replicate (needs --bricks)
#   --bricks N       number of local bricks
#   --replica N      copies of each file (replicate types)
#   --arbiter 1      with --replica 3: the last brick of each set is an
#                    arbiter (names and metadata, no file data)
#   --no-build       use what is installed already
#
# Run again, it first stops what it started before for the same VOLUME
# (unmounts MNT, stops the bricks it recorded); brick data stays.
#
#   VOLUME   volume name            (default: mortar)
#   BRICK    brick directory        (default: /srv/mortar/brick0; one brick)
#   BRICKS_DIR  where brick<i> go   (default: /srv/mortar; --bricks)
#   VOLDIR   volfile directory      (default: /etc/mortar/vols; --bricks)
#   MNT      mount point            (default: /mnt/mortar)
#   PORT     (first) brick port     (default: 24010)
#   PREFIX   install prefix         (default: /usr/local)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
VOLUME=${VOLUME:-mortar}
BRICK=${BRICK:-/srv/mortar/brick0}
BRICKS_DIR=${BRICKS_DIR:-/srv/mortar}
VOLDIR=${VOLDIR:-/etc/mortar/vols}
MNT=${MNT:-/mnt/mortar}
PORT=${PORT:-24010}
PREFIX=${PREFIX:-/usr/local}
RUN=${RUN:-/run/mortar}
LOGS=${LOGS:-/var/log/mortar}

type='' nbricks='' replica='' arbiter='' build=1
die() {
	echo "quickstart: $*" >&2
	exit 1
}
while [ $# -gt 0 ]; do
	case $1 in
	--type) type=${2:-} && shift ;;
	--bricks) nbricks=${2:-} && shift ;;
	--replica) replica=${2:-} && shift ;;
	--arbiter) arbiter=${2:-} && shift ;;
	--no-build) build= ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
	shift
done
if [ -n "$type$nbricks$replica$arbiter" ]; then
	if [ -z "$type" ] || [ -z "$nbricks" ]; then
		die "--type and --bricks go together (see --help)"
	fi
	[[ $nbricks =~ ^[1-9][0-9]*$ ]] || die "bad --bricks '$nbricks'"
	[ -z "$replica" ] || [[ $replica =~ ^[1-9][0-9]*$ ]] ||
		die "bad --replica '$replica'"
	[ -z "$arbiter" ] || [[ $arbiter =~ ^[01]$ ]] ||
		die "bad --arbiter '$arbiter' (0 or 1)"
fi

[ "$(id -u)" -eq 0 ] || die "run as root"
cd "$src"
if [ -n "$build" ]; then
	bash extras/install-deps.sh
	./autogen.sh >/dev/null
	mkdir -p build && cd build
	../configure -q --prefix="$PREFIX" --sysconfdir=/etc --localstatedir=/var
	make -j"$(nproc)" >/dev/null
	make install >/dev/null
	ldconfig
	# mount(8) looks for helpers in /sbin: `mount -t mortar HOST:/VOLUME
	# DIR` and fstab lines need mount.mortar there.
	[ -e /sbin/mount.mortar ] ||
		ln -s "$PREFIX/sbin/mount.mortar" /sbin/mount.mortar
	cd "$src"
fi
BRICKD=$PREFIX/sbin/brickd
MORTAR=$PREFIX/sbin/mortar
VOLGEN=$PREFIX/bin/mortar-volgen
mkdir -p "$MNT" "$LOGS" "$RUN"

# A multi-brick volume: the brick list, checked by volgen before anything
# that runs is stopped.
bricks=()
if [ -n "$type" ]; then
	for ((i = 0; i < nbricks; i++)); do
		bricks+=("127.0.0.1:$((PORT + i)):$BRICKS_DIR/brick$i")
	done
	check=$(mktemp -d)
	"$VOLGEN" -q --out "$check" ${replica:+--replica "$replica"} ${arbiter:+--arbiter "$arbiter"} \
		"$VOLUME" "$type" "${bricks[@]}" || { rm -rf "$check"; exit 1; }
	rm -rf "$check"
fi

# Stop one daemon from its pid file, if it is still the one we started
# (its command line names the pid file).
stop_pidfile() {
	local f=$1 pid i
	# (a daemon removes its own pid file when it exits)
	pid=$(cat "$f" 2>/dev/null) || return 0
	if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
		grep -qF -- "--pid-file $f"; then
		kill -TERM "$pid"
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && die "pid $pid ($f) did not stop"
	fi
	rm -f "$f"
}

# What a previous run started for this volume: the mount, then bricks.
client_pid=$RUN/mortar-$VOLUME.pid
if [ -f "$client_pid" ]; then
	if mountpoint -q "$MNT"; then
		umount "$MNT" || die "cannot unmount $MNT (busy?)"
	fi
	stop_pidfile "$client_pid"
fi
for f in "$RUN/brickd-$VOLUME.pid" "$RUN/brickd-$VOLUME"-b*.pid; do
	stop_pidfile "$f"
done
mountpoint -q "$MNT" && die "$MNT is mounted by something else"

if [ -z "$type" ]; then
	# One brick: brickd builds its own graph from the directory.
	mkdir -p "$BRICK"
	"$BRICKD" --export "$BRICK" --volume "$VOLUME" --port "$PORT" \
		--pid-file "$RUN/brickd-$VOLUME.pid" \
		--log-file "$LOGS/brickd-$VOLUME.log"
	where="brick: $BRICK, port $PORT"
	stop="kill \$(cat $RUN/brickd-$VOLUME.pid)"
else
	for ((i = 0; i < nbricks; i++)); do
		mkdir -p "$BRICKS_DIR/brick$i"
	done
	mkdir -p "$VOLDIR"
	"$VOLGEN" -q --force --out "$VOLDIR" ${replica:+--replica "$replica"} ${arbiter:+--arbiter "$arbiter"} \
		"$VOLUME" "$type" "${bricks[@]}"
	for ((i = 0; i < nbricks; i++)); do
		"$BRICKD" -f "$VOLDIR/$VOLUME-brick-$i.vol" \
			--pid-file "$RUN/brickd-$VOLUME-b$i.pid" \
			--log-file "$LOGS/brickd-$VOLUME-b$i.log"
	done
	where="$type, $nbricks bricks in $BRICKS_DIR/brick0..$((nbricks - 1)), ports $PORT..$((PORT + nbricks - 1)), volfiles in $VOLDIR"
	stop="for f in $RUN/brickd-$VOLUME-b*.pid; do kill \$(cat \$f); done"
fi
"$MORTAR" --volfile-server "127.0.0.1:$PORT" --volume "$VOLUME" \
	--pid-file "$client_pid" --log-file "$LOGS/mortar-$VOLUME.log" "$MNT"
df -h "$MNT"
echo "Mortar volume '$VOLUME' is mounted at $MNT ($where)."
echo "Unmount: umount $MNT    Stop the bricks: $stop"
