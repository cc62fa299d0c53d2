#!/bin/bash
#
# volfile-failover.t: `mortar --volfile-server A,B,C` mounts from the
# first server that gives the volume's client volfile.  With three bricks
# of one replicate volume (any brick serves the volfile), a list whose
# first server is down (its port refuses connections), stopped (SIGSTOP:
# it accepts connections and never answers; bounded by --volfile-timeout)
# or without the volume still mounts, and the data written reads back.
# When every server fails, mortar exits non-zero with one message naming
# each server and why.  The same list works in -o backup-volfile-servers,
# through the mount helper (SERVER,SERVER:/VOLUME) and for the admin
# tools (mortar-heal, mortar-rebalance).
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-180}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

HEAL=$top_builddir/extras/tools/mortar-heal
RB=$top_builddir/extras/tools/mortar-rebalance
require_binaries "$HEAL" "$RB"
command -v python3 >/dev/null || skip_all "python3 is missing"
[ -e "$top_builddir/translators/cluster/replicate/.libs/replicate.so" ] ||
	skip_all "cluster/replicate is not built"
plan 26

V=fo
M= # the mount of the current checks
# One attempt's bound in this test; the default (5 s) would only be slower.
T=2
ERR=$MT_TMP/err

tap_require "start a replicate volume of 3 bricks" \
	start_volume $V replicate 3 --replica 3
B0=127.0.0.1:${MT_BRICK_PORT[$V-b0]}
B1=127.0.0.1:${MT_BRICK_PORT[$V-b1]}
B2=127.0.0.1:${MT_BRICK_PORT[$V-b2]}

# A server that never heard of volume fo: a brick exporting its own.
tap_require "start a brick of another volume" \
	start_brick other "$MT_TMP/other"
OTHER=127.0.0.1:${MT_BRICK_PORT[other]}
# A server that is down: a port held bound without listening, so the
# connect is refused and no other process takes the port meanwhile.
hold_refused_port() {
	python3 "$top_srcdir/tests/tools/refused-port.py" "$MT_TMP/dead.port" &
	mt_track .pids $!
	wait_for 10 test -s "$MT_TMP/dead.port"
}
tap_require "hold a port that refuses connections" hold_refused_port
DEAD=127.0.0.1:$(cat "$MT_TMP/dead.port")

volfile_dirs_named() {
	local i
	for i in 0 1 2; do
		grep -qx "  *option volfile-dir ${MT_VOL_DIR[$V]}" \
			"${MT_VOL_DIR[$V]}/$V-brick-$i.vol" || return 1
	done
	[ -f "${MT_VOL_DIR[$V]}/$V.vol" ]
}
tap_check "mortar-volgen gives every brick the volfile dir (any brick serves $V.vol)" \
	volfile_dirs_named

# mount_list NAME SERVERS: mount volume fo from the list on
# $MT_TMP/NAME (its log: logs/mount-NAME.log); M is that mount.
mount_list() {
	M=$MT_TMP/$1
	mt_mount "$M" "$V" "" --volfile-server "$2" --volume $V \
		--volfile-timeout $T
}
reads_back() { # FILE TEXT
	[ "$(cat "$M/$1")" = "$2" ]
}
writes() { # FILE TEXT: written through the mount, and read back
	echo "$2" >"$M/$1" && reads_back "$1" "$2"
}
logged() { # NAME TEXT: the log of mount NAME has TEXT
	grep -qF -- "$2" "$MT_TMP/logs/mount-$1.log"
}

tap_check "first server down: mounts from the next" \
	mount_list down "$DEAD,$B0,$B1"
tap_check "  the log names the dead server and why" \
	logged down "failed before: $DEAD: Connection refused"
tap_check "  data written reads back" writes one one
tap_check "  unmount cleanly" unmount_volume "$M"

# Stopped: the kernel completes its connections from the backlog, the
# process never answers.  The attempt must end after T seconds.
brick_signal other STOP
stopped_mount() {
	local t0=$SECONDS
	mount_list stopped "$OTHER,$B1,$B2" || return 1
	echo "mounted after $((SECONDS - t0)) s"
	[ $((SECONDS - t0)) -le $((T + 8)) ]
}
tap_check "first server stopped: mounts from the next, within the timeout" \
	stopped_mount
tap_check "  the log says the stopped server did not answer in $T s" \
	logged stopped "$OTHER: no answer within $T s (Connection timed out)"
tap_check "  data from the first mount reads back" reads_back one one
tap_check "  new data written reads back" writes two two
tap_check "  unmount cleanly" unmount_volume "$M"
brick_signal other CONT

tap_check "first server lacks the volume: mounts from the next" \
	mount_list novol "$OTHER,$B2"
tap_check "  the log says the volume is not there" \
	logged novol "$OTHER: no volume '$V' there (No such file or directory)"
both_read_back() {
	reads_back one one && reads_back two two
}
tap_check "  data of both mounts before reads back" both_read_back
tap_check "  unmount cleanly" unmount_volume "$M"

# All fail: a dead port, a stopped server, one without the volume.
M=$MT_TMP/allfail
brick_signal other STOP
all_fail() {
	local t0=$SECONDS rc
	mkdir -p "$M"
	timeout 60 "$MORTAR" -N --volfile-server "$DEAD,$OTHER" \
		--volfile-server "$DEAD" --volume $V --volfile-timeout $T \
		--log-file "$MT_TMP/logs/allfail.log" "$M" 2>"$ERR"
	rc=$?
	cat "$ERR"
	echo "exit $rc after $((SECONDS - t0)) s"
	[ $rc -ne 0 ] && [ $rc -ne 124 ] && ! mountpoint -q "$M" &&
		[ $((SECONDS - t0)) -le $((2 * T + 10)) ] &&
		grep -q "cannot get the client volfile of volume '$V' from any volfile server: $DEAD: Connection refused; $OTHER: no answer within $T s (Connection timed out); $DEAD: Connection refused" "$ERR"
}
tap_check "every server fails: non-zero exit, each server and why named" \
	all_fail
brick_signal other CONT
wrong_volume_only() {
	! timeout 60 "$MORTAR" -N --volfile-server "$OTHER" --volume $V \
		--log-file "$MT_TMP/logs/novol.log" "$M" 2>"$ERR" &&
		cat "$ERR" &&
		grep -q "from the volfile server: $OTHER: no volume '$V' there" "$ERR"
}
tap_check "one server without the volume: the error says so" \
	wrong_volume_only

M=$MT_TMP/backup
tap_check "-o backup-volfile-servers: mounts from a backup" \
	mt_mount "$M" $V "backup-volfile-servers=$DEAD:$B1" \
	--volfile-server "$DEAD" --volume $V
tap_check "  data reads back" reads_back two two
tap_check "  unmount cleanly" unmount_volume "$M"

# The mount helper, as mount(8) runs it for an fstab line
# `DEAD,B2:/fo MNT mortar defaults,_netdev 0 0`: mortar daemonizes, and
# a wrapper adds the pid file and log file the cleanup needs.
printf '#!/bin/sh\nexec "%s" --pid-file "%s" --log-file "%s" --volfile-timeout %s "$@"\n' \
	"$MORTAR" "$MT_TMP/helper.pid" "$MT_TMP/logs/helper.log" $T \
	>"$MT_TMP/mortar-wrap"
chmod +x "$MT_TMP/mortar-wrap"
M=$MT_TMP/helper
helper_mount() {
	mkdir -p "$M"
	MORTAR=$MT_TMP/mortar-wrap timeout 60 sh "$top_srcdir/client/mount.mortar" \
		"$DEAD,$B2:/$V" "$M" -o defaults,_netdev
	local rc=$?
	track_mount "$M" "$MT_TMP/helper.pid"
	[ $rc -eq 0 ] && mountpoint -q "$M" && reads_back one one
}
tap_check "mount helper with SERVER,SERVER:/VOLUME: mounted, data reads back" \
	helper_mount
tap_check "  unmount cleanly" unmount_daemon "$M"

heal_from_list() {
	timeout 60 "$HEAL" --volfile-server "$DEAD,$B0" --volume $V --timeout 10 \
		info >"$MT_TMP/heal.out" 2>"$ERR"
	local rc=$?
	cat "$MT_TMP/heal.out" "$ERR"
	[ $rc -eq 0 ] && grep -qx 'entries: 0' "$MT_TMP/heal.out" &&
		grep -q "warning: .*$DEAD: Connection refused" "$ERR"
}
tap_check "mortar-heal takes the same list (first server down)" \
	heal_from_list

# A replicate volume has nothing to rebalance: the refusal shows that the
# volfile came through the list (the graph was built from it).
rebalance_from_list() {
	timeout 60 "$RB" --volfile-server "$DEAD" --volfile-server "$B1" \
		--volume $V --timeout 10 fix-layout >"$ERR" 2>&1
	local rc=$?
	cat "$ERR"
	[ $rc -ne 0 ] && grep -q "warning: .*$DEAD: Connection refused" "$ERR" &&
		grep -q "has no cluster/distribute translator" "$ERR"
}
tap_check "mortar-rebalance takes the same list (repeated option)" \
	rebalance_from_list
