#!/bin/bash
#
# mortarctl.t: the volume admin command end to end, with its state in
# this test's temp dir (MORTAR_STATE_DIR): create a distribute volume of
# two local bricks, start it (status: up), mount it by name and read back
# what was written, stop it (status: down, brick processes gone), set
# options (volfile changed, bad option refused, bricks restarted for a
# brick-side one), add bricks (refused when in use or not whole replica
# sets), delete (refused while started; brick data kept).
#
# The bricks get explicit ports (mortarctl writes them in the volfiles
# before any brick runs): free ones below the kernel's ephemeral range,
# so no other test's port 0 can be handed the same port meanwhile.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
# shellcheck disable=SC2016 # eval'd checks expand when they run
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-180}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

CTL=$top_builddir/extras/tools/mortarctl
require_binaries "$CTL" "$top_builddir/extras/tools/mortar-rebalance"
[ -e "$top_builddir/translators/cluster/distribute/.libs/distribute.so" ] ||
	skip_all "cluster/distribute is not built"
plan 26

export MORTAR_STATE_DIR=$MT_TMP/state
export MORTAR_BRICKD=$BRICKD
export MORTAR_REBALANCE=$top_builddir/extras/tools/mortar-rebalance
V=cv
MNT=$MT_TMP/mnt
B=$MT_TMP/bricks

# free_ports N: N ports below the ephemeral range that nothing listens
# on or has bound (each bound once to check), one per line.
free_ports() {
	perl -MIO::Socket::INET -e '
		my ($n, $low) = @ARGV;
		my @got;
		my $p = 20000 + int(rand($low - 20000 - 2000));
		for (; @got < $n && $p < $low; $p++) {
			my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
				LocalPort => $p, Proto => "tcp", Listen => 1)
				or next;
			close($s);
			push @got, $p;
		}
		die "no free ports\n" if @got < $n;
		print "$_\n" for @got;' "$1" "$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)"
}
mapfile -t PORTS < <(free_ports 5)
[ ${#PORTS[@]} -eq 5 ] || bail_out "no free ports"
diag "ports ${PORTS[*]}"

ctl() { "$CTL" "$@"; }

# refuses WANT CTL-ARGS...: non-zero exit and WANT in the message.
refuses() {
	local want=$1 out=$MT_TMP/ctl.out
	shift
	if ctl "$@" >"$out" 2>&1; then
		echo "accepted: mortarctl $*"
		cat "$out"
		return 1
	fi
	cat "$out"
	grep -qF -- "$want" "$out"
}

# Register the PIDs of the volume's bricks with the cleanup (they are
# daemons, not our children).
track_bricks() {
	local f
	for f in "$MORTAR_STATE_DIR/vols/$1"/run/brick-*.pid; do
		[ -s "$f" ] && mt_track .pids "$(head -n 1 "$f")"
	done
	return 0
}

brick_pid() { # VOL I
	head -n 1 "$MORTAR_STATE_DIR/vols/$1/run/brick-$2.pid" 2>/dev/null
}

# status_is VOL I STATE: brick I's row of volume status (index, then
# HOST:PORT:DIR) says STATE.
status_is() {
	ctl volume status "$1" | awk -v i="$2" -v s="$3" \
		'$1 == i && $2 ~ /:/ { found = 1; if ($3 != s) bad = 1 } END { exit !(found && !bad) }'
}

create_volume() {
	ctl volume create $V distribute "127.0.0.1:${PORTS[0]}:$B/b0" \
		"127.0.0.1:${PORTS[1]}:$B/b1" &&
		ctl volume info $V | grep -qx 'Type: distribute' &&
		ctl volume info $V | grep -qx "Brick 1: 127.0.0.1:${PORTS[1]}:$B/b1" &&
		[ "$(ctl volume list)" = $V ] &&
		[ -s "$MORTAR_STATE_DIR/vols/$V/volfiles/$V.vol" ]
}
mkdir -p "$B/b0" "$B/b1" "$B/b2"
tap_require "create a distribute volume of 2 local bricks" create_volume
tap_check "an existing name is refused" \
	refuses "volume $V exists" volume create $V distribute "127.0.0.1:$B/x"
tap_check "an unknown volume is refused" \
	refuses "no volume 'nosuch'" volume start nosuch

start_volume_ctl() {
	ctl volume start $V
	local rc=$?
	track_bricks $V
	return $rc
}
tap_require "start" start_volume_ctl
tap_check "status: both bricks up, with their pids and ports" eval \
	'status_is $V 0 up && status_is $V 1 up &&
	 ctl volume status $V | grep -q "${PORTS[1]} *$(brick_pid $V 1) " &&
	 [ "$(ctl volume info $V | sed -n "s/^Status: //p")" = started ]'

tap_require "mount by name from brick 0" mount_volume "$MNT" $V "${PORTS[0]}"
write_read() {
	head -c 3000000 /dev/urandom >"$MT_TMP/data" &&
		for i in 1 2 3 4 5 6 7 8; do
			cp "$MT_TMP/data" "$MNT/f$i" || return 1
		done &&
		drop_caches &&
		for i in 1 2 3 4 5 6 7 8; do
			cmp "$MT_TMP/data" "$MNT/f$i" || return 1
		done &&
		# plain files on the bricks, each on one of them
		[ "$(find "$B/b0" "$B/b1" -maxdepth 1 -name 'f[0-9]' | wc -l)" = 8 ]
}
tap_check "write through the mount, read back, files on the bricks" write_read
tap_check "status counts the mount as a client of each brick" eval \
	'[ "$(ctl volume status $V | awk "\$1 == 0 { print \$6 }")" -ge 1 ] &&
	 [ "$(ctl volume status $V | awk "\$1 == 1 { print \$6 }")" -ge 1 ]'
tap_check "unmount" unmount_volume "$MNT"

stop_and_check() {
	local p0 p1
	p0=$(brick_pid $V 0) p1=$(brick_pid $V 1)
	ctl volume stop $V || return 1
	ctl volume status $V
	# polled: a zombie reaped between mt_pid_gone's kill -0 and its ps
	# looks alive for a moment
	status_is $V 0 down && status_is $V 1 down &&
		wait_for 5 mt_pid_gone "$p0" && wait_for 5 mt_pid_gone "$p1" &&
		[ "$(ctl volume info $V | sed -n 's/^Status: //p')" = stopped ]
}
tap_check "stop: status down, brick processes gone" stop_and_check
tap_check "stop again says the bricks were already down" eval \
	'ctl volume stop $V | grep -q "brick 0 .*already down"'

VF=$MORTAR_STATE_DIR/vols/$V/volfiles
set_client_option() {
	ctl volume set $V cluster/distribute:min-free-disk 7 | tee "$MT_TMP/set.out" &&
		grep -q "switch to it live" "$MT_TMP/set.out" &&
		grep -q 'option min-free-disk 7' "$VF/$V.vol" &&
		ctl volume info $V | grep -qx '  cluster/distribute:min-free-disk=7'
}
tap_check "set a client option: volfile changed, definition kept" set_client_option
bad_option() {
	cp "$VF/$V.vol" "$MT_TMP/before.vol"
	refuses "has no option 'no-such-key'" volume set $V \
		cluster/distribute:no-such-key 1 &&
		refuses "layout-refresh-timeout" volume set $V \
			cluster/distribute:layout-refresh-timeout lots &&
		cmp "$VF/$V.vol" "$MT_TMP/before.vol" &&
		! ctl volume info $V | grep -q no-such-key
}
tap_check "a bad option or value is refused, volfiles unchanged" bad_option

tap_require "start again" start_volume_ctl
brick_option() {
	local p0
	p0=$(brick_pid $V 0)
	ctl volume set $V protocol/server:handshake-timeout 20 || return 1
	track_bricks $V
	ctl volume status $V
	grep -q 'option handshake-timeout 20' "$VF/$V-brick-0.vol" || return 1
	echo "brick 0: pid $p0 before, $(brick_pid $V 0) now"
	[ "$(brick_pid $V 0)" != "$p0" ] && wait_for 5 mt_pid_gone "$p0" &&
		status_is $V 0 up && status_is $V 1 up
}
tap_check "a brick option restarts the bricks of a started volume" brick_option

tap_check "add-brick: a brick of a volume is refused" \
	refuses "is already brick 1 of volume $V" volume add-brick $V \
	"127.0.0.1:$B/b1"
tap_check "add-brick: a directory inside a brick is refused" \
	refuses "inside or around brick 0" volume add-brick $V \
	"127.0.0.1:$B/b0/sub"
make_replica() {
	mkdir -p "$B/r0" "$B/r1" &&
		ctl volume create rv distributed-replicate --replica 2 \
			"127.0.0.1:$B/r0" "127.0.0.1:$B/r1"
}
tap_check "create a distributed-replicate volume (not started)" make_replica
tap_check "add-brick: 1 brick to a replica 2 volume is refused" \
	refuses "multiple of 2 (got 1)" volume add-brick rv "127.0.0.1:$B/r2"
add_one() {
	ctl volume add-brick $V "127.0.0.1:${PORTS[2]}:$B/b2" | tee "$MT_TMP/add.out" || return 1
	track_bricks $V
	grep -q 'switch to the new bricks live' "$MT_TMP/add.out" && grep -q 'rebalance' "$MT_TMP/add.out" &&
		status_is $V 2 up &&
		grep -q "remote-port ${PORTS[2]}" "$VF/$V.vol"
}
tap_check "add-brick to the started volume: the new brick runs" add_one
tap_check "rebalance fix-layout runs mortar-rebalance on the volume" \
	ctl volume rebalance $V fix-layout
tap_check "heal is refused for a volume that is not replicated" \
	refuses "only replicated volumes heal" volume heal $V info

tap_check "delete is refused while the volume is started" \
	refuses "is started" volume delete $V
delete_stopped() {
	ctl volume stop $V && ctl volume delete $V | tee "$MT_TMP/del.out" &&
		grep -q 'not touched' "$MT_TMP/del.out" &&
		[ ! -e "$MORTAR_STATE_DIR/vols/$V" ] &&
		[ "$(ctl volume list)" = rv ] &&
		refuses "no volume '$V'" volume status $V
}
tap_check "delete of the stopped volume removes its state" delete_stopped
data_kept() {
	local n
	n=$(find "$B/b0" "$B/b1" "$B/b2" -maxdepth 1 -name 'f[0-9]' | wc -l)
	[ "$n" -ge 8 ] || { echo "$n files left"; return 1; }
	for f in "$B"/b*/f[0-9]; do
		# a linkto left by fix-layout is empty; the data is whole
		[ -s "$f" ] || continue
		cmp "$MT_TMP/data" "$f" || return 1
	done
}
tap_check "the brick data is still there after delete" data_kept
tap_check "delete the replicated volume (never started)" ctl volume delete rv
