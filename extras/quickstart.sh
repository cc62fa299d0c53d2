#!/usr/bin/env bash
# Build and install Mortar, then bring up a one-brick volume on this
# machine, mounted and ready to use.  Run as root on Debian 12.
#
#   VOLUME   volume name            (default: mortar)
#   BRICK    brick directory        (default: /srv/mortar/brick0)
#   MNT      mount point            (default: /mnt/mortar)
#   PORT     brick port             (default: 24010)
#   PREFIX   install prefix         (default: /usr/local)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
VOLUME=${VOLUME:-mortar}
BRICK=${BRICK:-/srv/mortar/brick0}
MNT=${MNT:-/mnt/mortar}
PORT=${PORT:-24010}
PREFIX=${PREFIX:-/usr/local}

[ "$(id -u)" -eq 0 ] || { echo "quickstart: run as root" >&2; exit 1; }
cd "$src"
bash extras/install-deps.sh
./autogen.sh >/dev/null
mkdir -p build && cd build
../configure -q --prefix="$PREFIX" --sysconfdir=/etc --localstatedir=/var
make -j"$(nproc)" >/dev/null
make install >/dev/null
ldconfig
# mount(8) looks for helpers in /sbin: `mount -t mortar HOST:/VOLUME DIR`
# and fstab lines need mount.mortar there.
[ -e /sbin/mount.mortar ] || ln -s "$PREFIX/sbin/mount.mortar" /sbin/mount.mortar
cd "$src"

mkdir -p "$BRICK" "$MNT" /var/log/mortar /run/mortar
pidfile=/run/mortar/brickd-$VOLUME.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
	echo "brickd for $VOLUME already running (pid $(cat "$pidfile"))"
else
	"$PREFIX/sbin/brickd" --export "$BRICK" --volume "$VOLUME" \
		--port "$PORT" --pid-file "$pidfile" \
		--log-file "/var/log/mortar/brickd-$VOLUME.log"
fi
if mountpoint -q "$MNT"; then
	echo "$MNT is already mounted"
else
	"$PREFIX/sbin/mortar" --volfile-server "127.0.0.1:$PORT" \
		--volume "$VOLUME" --pid-file "/run/mortar/mortar-$VOLUME.pid" \
		--log-file "/var/log/mortar/mortar-$VOLUME.log" "$MNT"
fi
df -h "$MNT"
echo "Mortar volume '$VOLUME' is mounted at $MNT (brick: $BRICK, port $PORT)."
echo "Unmount: umount $MNT    Stop the brick: kill \$(cat $pidfile)"
