#!/bin/bash
# replicate-partition.t - a replica brick cut off by a network partition
# during a large dd and a create run, then reconnected.  Brick 1 runs in a
# network namespace of its own, reached over a veth pair (tests/lib/netns.sh);
# taking the root side of the veth down is the partition (no RST, no FIN:
# the client notices by its ping timeout).  The application sees no error,
# reads back what it wrote, and after the link comes back the heal
# completes and both brick copies are identical.
#
# Skipped when `ip netns` is not available.
# Knobs: MORTAR_TEST_BIG_MB (dd size, default 1024; this test writes half
# of it), MORTAR_TEST_FILES (default 2000; this test makes half of them).
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/../lib/replica.sh
. "$top_srcdir/tests/lib/replica.sh"
# shellcheck source=SCRIPTDIR/../lib/netns.sh
. "$top_srcdir/tests/lib/netns.sh"

netns_available || skip_all "ip netns or nsenter is not available here"
require_binaries "$MT_HEAL"
plan 16

BIG_MB=$((${MORTAR_TEST_BIG_MB:-1024} / 2))
FILES=$((${MORTAR_TEST_FILES:-2000} / 2))
PING=3

tap_require "network namespace with a veth pair" netns_create b1
diag "brick 1 lives in ${NETNS_NAME[b1]} at ${NETNS_ADDR[b1]}"
tap_require "brick 0 (root namespace)" start_brick pv-b0 "$MT_TMP/b0"
P0=$BRICK_PORT
REAL_BRICKD=$BRICKD
netns_exec_wrapper b1 "$MT_TMP/brickd-ns" "$REAL_BRICKD"
BRICKD=$MT_TMP/brickd-ns
tap_require "brick 1 (in the namespace)" start_brick pv-b1 "$MT_TMP/b1" \
	--host "${NETNS_ADDR[b1]}"
P1=$BRICK_PORT
BRICKD=$REAL_BRICKD
# Its network is its own, its mounts are ours: a mount namespace of its
# own would keep every FUSE mount of the moment (other tests' too) alive
# after their umount.
same_mnt_ns_other_net() {
	local pid=${MT_BRICK_PID[pv-b1]}
	[ "$(readlink "/proc/$pid/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ] &&
		[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ]
}
tap_check "brick 1 is in the network namespace, not in a mount namespace" \
	same_mnt_ns_other_net
B0=$MT_TMP/b0
B1=$MT_TMP/b1

VOL=$MT_TMP/pv.vol
cat >"$VOL" <<EOV
volume pv-client-0
    type protocol/client
    option remote-host 127.0.0.1
    option remote-port $P0
    option remote-subvolume pv-b0
    option ping-timeout $PING
end-volume

volume pv-client-1
    type protocol/client
    option remote-host ${NETNS_ADDR[b1]}
    option remote-port $P1
    option remote-subvolume pv-b1
    option ping-timeout $PING
end-volume

volume pv
    type cluster/replicate
    subvolumes pv-client-0 pv-client-1
end-volume
EOV

# mount_volfile MNT VOLFILE: mortar -f, tracked for cleanup.
mount_volfile() {
	local mnt=$1 log pid
	log="$MT_TMP/logs/mount-$(basename "$1").log"
	mkdir -p "$mnt"
	"$MORTAR" -N -f "$2" --log-file "$log" --dump-dir "$MT_TMP/dump" \
		"$mnt" </dev/null >>"$log.out" 2>&1 &
	pid=$!
	mt_track .pids "$pid"
	mt_track .mounts "$mnt"
	MT_MOUNT_PID["$mnt"]=$pid
	wait_for 20 mt_mount_ready "$mnt" "$pid" && mountpoint -q "$mnt"
}
pv_heal() {
	"$MT_HEAL" -f "$VOL" --timeout 10 "$@"
}
pv_healed() {
	pv_heal info 2>/dev/null | grep -qx 'entries: 0'
}

M=$MT_TMP/mnt
tap_require "mount" mount_volfile "$M" "$VOL"

size_at_least() { # FILE BYTES
	[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]
}

# ---- partition during a dd -------------------------------------------------
head -c $((BIG_MB * 1048576)) /dev/urandom >"$MT_TMP/big.ref"
(
	wait_for 120 size_at_least "$B1/big" $((BIG_MB * 1048576 / 4))
	netns_cut b1
) &
cutter=$!
tap_check "dd of $BIG_MB MiB sees no error across the partition" \
	dd if="$MT_TMP/big.ref" of="$M/big" bs=1M conv=fsync
wait "$cutter"
tap_check "brick 1 missed part of it" \
	sh -c "[ \$(stat -c %s '$B1/big') -lt $((BIG_MB * 1048576)) ] || ! cmp -s '$MT_TMP/big.ref' '$B1/big'"
drop_caches
tap_check "the data reads back identical" cmp "$MT_TMP/big.ref" "$M/big"

# ---- and during creates -------------------------------------------------------
creates() {
	local i
	mkdir -p "$M/many" || return 1
	for ((i = 0; i < FILES; i++)); do
		echo "file $i" >"$M/many/f$i" || return 1
		((i % 10 == 0)) && { chmod 0600 "$M/many/f$i" || return 1; }
	done
	return 0
}
tap_check "$FILES creates see no error while brick 1 is cut off" creates
tap_check "brick 1 has none of them" sh -c "[ ! -e '$B1/many' ]"

tap_check "link back up" netns_heal b1
t0=$(now_ns)
tap_check "heal completes (mortar-heal info empty)" wait_for 120 pv_healed
t1=$(now_ns)
diag "heal after the partition: $(awk -v a="$t0" -v b="$t1" \
	'BEGIN { printf "%.1f", b - a }') s"
tap_check "both copies of the big file are identical" cmp "$B0/big" "$B1/big"
listing() {
	(cd "$1" && find . -path ./.mortar -prune -o -printf '%p %y %m %u %g\n' |
		sort && find . -path ./.mortar -prune -o -type f -print0 |
		sort -z | xargs -0 md5sum &&
		getfattr -R -h -n trusted.mortar.gfid -e hex . 2>/dev/null |
		awk '/^# file:/ { f = $3 } /^trusted/ { print f, $0 }' | sort)
}
tap_check "both bricks hold the same created files, gfids, modes, owners" \
	diff <(listing "$B0/many") <(listing "$B1/many")
tap_check "no pending counters left on the big file" sh -c \
	"! getfattr -d -m trusted.mortar.afr -e hex '$B0/big' '$B1/big' 2>/dev/null | grep '^trusted' | grep -v '=0x0*$'"
rm -f "$MT_TMP/big.ref"
tap_check "unmount" unmount_volume "$M"
