#!/bin/bash
# brick-kill.t - a brick that dies (SIGKILL) or hangs (SIGSTOP) under a
# live mount: fops fail with ENOTCONN or EIO within ping-timeout plus a
# margin instead of hanging, and when the brick comes back on the same
# port the same mount works again with its data intact.
#
# The client volfile is written here so ping-timeout can be 3 s (the
# generated one uses the 10 s default).  Every fop runs under timeout(1):
# a hang is a failed test point, never a stuck run.
# shellcheck source=../lib/mortar-test.sh
. "$(dirname "$0")/../lib/mortar-test.sh"

PING=3
LIMIT=$((PING + 7)) # seconds a fop on a dead brick may take
RECOVER=30          # seconds the mount may take to come back

require_binaries
plan 17

M=$MT_TMP/mnt
B=$MT_TMP/brick
start_brick kvol "$B" || bail_out "brick did not start"

cat >"$MT_TMP/client.vol" <<EOF
volume kvol-client
    type protocol/client
    option remote-host 127.0.0.1
    option remote-port $BRICK_PORT
    option remote-subvolume kvol
    option ping-timeout $PING
end-volume
EOF

# mount_volfile MNT VOLFILE: like mount_volume, from a client volfile.
# No caching, so every stat/open below really reaches the brick.
mount_volfile() {
	local mnt=$1 log pid
	log="$MT_TMP/logs/mount-$(basename "$1").log"
	mkdir -p "$mnt"
	"$MORTAR" -N -f "$2" --log-file "$log" --dump-dir "$MT_TMP/dump" \
		-o entry-timeout=0,attribute-timeout=0,negative-timeout=0 \
		"$mnt" </dev/null >>"$log.out" 2>&1 &
	pid=$!
	mt_track .pids "$pid"
	mt_track .mounts "$mnt"
	# shellcheck disable=SC2034 # read by the library's unmount_volume
	MT_MOUNT_PID["$mnt"]=$pid
	if ! wait_for 20 mt_mount_ready "$mnt" "$pid" || ! mountpoint -q "$mnt"; then
		diag_file "$log.out"
		diag_file "$log"
		return 1
	fi
}
tap_check "mount with ping-timeout $PING" mount_volfile "$M" "$MT_TMP/client.vol" ||
	bail_out "mount failed"

head -c 1048576 /dev/urandom >"$MT_TMP/data.ref"
tap_check "write 1 MiB through the mount" sh -c \
	"cp '$MT_TMP/data.ref' '$M/data' && cmp '$MT_TMP/data.ref' '$M/data'"

# expect_down DESC CMD...: CMD must fail with ENOTCONN or EIO within
# LIMIT seconds.  A timeout, a success or another error is a failure.
expect_down() {
	local desc=$1 out="$MT_TMP/down.out" rc t0 t1 took
	shift
	t0=$(now_ns)
	timeout -k 2 "$LIMIT" "$@" >"$out" 2>&1
	rc=$?
	t1=$(now_ns)
	took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		tap_not_ok "$desc fails within ${LIMIT}s" "still hanging after ${took}s: $*"
	elif [ $rc -eq 0 ]; then
		tap_not_ok "$desc fails within ${LIMIT}s" "succeeded on a dead brick: $*"
	elif grep -qE 'Transport endpoint is not connected|Input/output error' "$out"; then
		tap_ok "$desc fails with ENOTCONN/EIO in ${took}s"
	else
		tap_not_ok "$desc fails within ${LIMIT}s" "wrong error (status $rc): $*"
		diag_file "$out"
	fi
}

# down_ops WHY: the four fops on a brick that is gone or hung.
N=0
down_ops() {
	N=$((N + 1))
	expect_down "$1: stat" stat "$M/data"
	expect_down "$1: read" cat "$M/data"
	expect_down "$1: write" sh -c "echo more >> '$M/data'"
	expect_down "$1: create" touch "$M/new-$N"
}

# mount_works: the mount answers, old data is intact.
mount_works() {
	stat "$M/data" && cmp "$MT_TMP/data.ref" "$M/data"
}

# write_lands NAME: a new file written through the mount reaches the brick.
write_lands() {
	timeout "$LIMIT" sh -c "echo '$1' > '$M/$1'" &&
		wait_for 10 grep -qx "$1" "$B/$1"
}

# ---- SIGKILL --------------------------------------------------------
kill_brick kvol
down_ops "brick killed"

tap_check "brick restarts on the same port" restart_brick kvol
tap_check "mount works again within ${RECOVER}s" wait_for "$RECOVER" mount_works
tap_check "existing data readable after restart" \
	timeout "$LIMIT" cmp "$MT_TMP/data.ref" "$M/data"
tap_check "new write lands on the restarted brick" write_lands after-restart

# ---- SIGSTOP: a hung peer ----------------------------------------------
brick_signal kvol STOP
down_ops "brick stopped"
brick_signal kvol CONT
tap_check "mount works again within ${RECOVER}s of SIGCONT" \
	wait_for "$RECOVER" mount_works
tap_check "new write lands after the hang" write_lands after-hang
tap_check "nothing written while the brick was down leaked into it" \
	sh -c "! ls '$B' | grep -q '^new-'"
