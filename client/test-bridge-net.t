#!/bin/bash
# test-bridge-net.t - the mount program against a real brickd on a free
# loopback port: volfile fetch by volume name, clear errors for an unknown
# volume, I/O through protocol/client, a killed brick failing fops with
# ENOTCONN instead of hanging, and a mount made while the brick is down.
# TAP output, on tests/lib/mortar-test.sh (skips without root or
# /dev/fuse; private temp dir, watchdog, cleanup of what it started).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=SCRIPTDIR/../tests/lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/mortar-test.sh"
require_binaries "$top_builddir/translators/protocol/client/.libs/client.so"

MNT=$MT_TMP/mnt
mkdir -p "$MNT"
mounted() { grep -qs " $MNT fuse" /proc/mounts; }
export MNT
export -f mounted

# mortar as a daemon (returns once mounted, within 30 s), tracked for the
# cleanup.
daemon_mount() { # mortar arguments before the mount point...
	local rc
	rm -f "$MT_TMP/mpid"
	timeout 30 "$MORTAR" "$@" --pid-file "$MT_TMP/mpid" "$MNT"
	rc=$?
	track_mount "$MNT" "$MT_TMP/mpid"
	return $rc
}

plan 8
tap_check "brickd starts on a free port" start_brick vol1 "$MT_TMP/brick"
PORT=$BRICK_PORT

tap_check "unknown volume: non-zero exit naming the volume" bash -c \
	"! '$MORTAR' --volfile-server 127.0.0.1:$PORT --volume nosuch --log-file '$MT_TMP/logs/bad.log' '$MNT' 2>'$MT_TMP/err' && grep -q nosuch '$MT_TMP/err' && ! mounted"
mount_by_name() {
	daemon_mount --volfile-server "127.0.0.1:$PORT" --volume vol1 \
		--log-file "$MT_TMP/logs/m.log" && mounted
}
tap_check "mount by volume name (volfile fetched)" mount_by_name
tap_check "I/O through protocol/client" bash -c \
	"echo net >'$MNT/f' && [ \"\$(cat '$MNT/f')\" = net ] && [ \"\$(cat '$MT_TMP/brick/f')\" = net ]"

stop_brick vol1 >/dev/null
tap_check "killed brick: fops fail with ENOTCONN, no hang" bash -c \
	"! timeout 20 stat '$MNT/f' 2>'$MT_TMP/err' && grep -q 'not connected' '$MT_TMP/err'"
tap_check "umount with the brick down ends the client" unmount_daemon "$MNT"

# A client volfile pointing at a brick that is down: mount after the
# wait, answer ENOTCONN, work once the brick is back.
cat >"$MT_TMP/c.vol" <<EOF
volume c
    type protocol/client
    option remote-host 127.0.0.1
    option remote-port $PORT
    option remote-subvolume vol1
end-volume
EOF
mount_while_down() {
	daemon_mount -f "$MT_TMP/c.vol" --log-file "$MT_TMP/logs/m2.log" &&
		mounted && ! stat "$MNT/f"
}
tap_check "mount while the brick is down (after the wait)" mount_while_down
restart_brick vol1 >/dev/null 2>&1
tap_check "the mount works once the brick is back" wait_for 15 sh -c \
	"[ \"\$(cat '$MNT/f' 2>/dev/null)\" = net ]"
