#!/bin/bash
# test-bridge-net.t - the mount program against a real brickd on a free
# loopback port: volfile fetch by volume name, clear errors for an unknown
# volume, I/O through protocol/client, a killed brick failing fops with
# ENOTCONN instead of hanging, and a mount made while the brick is down.
# TAP output.  Needs root, /dev/fuse, brickd and the protocol translators.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
MORTAR=$top_builddir/client/mortar
BRICKD=$top_builddir/brickd/brickd
export MORTAR_XLATOR_PATH=$top_builddir/translators

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || [ ! -x "$BRICKD" ] ||
	[ ! -x "$MORTAR" ] ||
	[ ! -e "$top_builddir/translators/protocol/client/.libs/client.so" ]; then
	echo "1..0 # SKIP needs root, /dev/fuse, brickd and protocol/client"
	exit 0
fi

T=$(mktemp -d /tmp/mortar-bridge-net.XXXXXX)
MNT=$T/mnt
BPID=
MPID=
mkdir -p "$MNT" "$T/brick"

stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
}
cleanup() {
	grep -qs " $MNT " /proc/mounts && { umount "$MNT" 2>/dev/null || umount -l "$MNT"; }
	stop_pid "$MPID"
	stop_pid "$BPID"
	rm -rf "$T"
}
trap cleanup EXIT

n=0
fails=0
check() {
	local d=$1; shift
	n=$((n + 1))
	if "$@" >"$T/cmd.log" 2>&1; then
		echo "ok $n - $d"
	else
		fails=$((fails + 1))
		echo "not ok $n - $d"
		tail -5 "$T/cmd.log" | sed 's/^/# /'
	fi
}
mounted() { grep -qs " $MNT fuse" /proc/mounts; }
export MNT
export -f mounted

start_brick() { # PORT (0 = any)
	rm -f "$T/port"
	"$BRICKD" --export "$T/brick" --volume vol1 --host 127.0.0.1 \
		--port "$1" --port-file "$T/port" -N --log-file "$T/brick.log" &
	BPID=$!
	for _ in $(seq 100); do [ -s "$T/port" ] && return 0; sleep 0.1; done
	return 1
}

echo "1..8"
check "brickd starts on a free port" start_brick 0
PORT=$(cat "$T/port")

check "unknown volume: non-zero exit naming the volume" bash -c \
	"! '$MORTAR' --volfile-server 127.0.0.1:$PORT --volume nosuch --log-file '$T/bad.log' '$MNT' 2>'$T/err' && grep -q nosuch '$T/err' && ! mounted"
check "mount by volume name (volfile fetched)" bash -c \
	"'$MORTAR' --volfile-server 127.0.0.1:$PORT --volume vol1 --pid-file '$T/mpid' --log-file '$T/m.log' '$MNT' && mounted"
MPID=$(cat "$T/mpid" 2>/dev/null)
check "I/O through protocol/client" bash -c \
	"echo net >'$MNT/f' && [ \"\$(cat '$MNT/f')\" = net ] && [ \"\$(cat '$T/brick/f')\" = net ]"

stop_pid "$BPID"
BPID=
check "killed brick: fops fail with ENOTCONN, no hang" bash -c \
	"! timeout 20 stat '$MNT/f' 2>'$T/err' && grep -q 'not connected' '$T/err'"
check "umount with the brick down ends the client" bash -c \
	"umount '$MNT' && for i in \$(seq 100); do kill -0 $MPID 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
MPID=

# A client volfile pointing at a brick that is down: mount after the
# wait, answer ENOTCONN, work once the brick is back.
cat >"$T/c.vol" <<EOF
volume c
    type protocol/client
    option remote-host 127.0.0.1
    option remote-port $PORT
    option remote-subvolume vol1
end-volume
EOF
check "mount while the brick is down (after the wait)" bash -c \
	"timeout 30 '$MORTAR' -f '$T/c.vol' --pid-file '$T/mpid' --log-file '$T/m2.log' '$MNT' && mounted && ! stat '$MNT/f'"
MPID=$(cat "$T/mpid" 2>/dev/null)
start_brick "$PORT" >/dev/null 2>&1
check "the mount works once the brick is back" bash -c \
	"for i in \$(seq 150); do [ \"\$(cat '$MNT/f' 2>/dev/null)\" = net ] && exit 0; sleep 0.1; done; exit 1"

[ "$fails" = 0 ]
