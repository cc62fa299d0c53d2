#!/bin/bash
#
# volgen.t: mortar-volgen refuses bad volumes with a clear message and
# writes nothing; for good ones it writes the graphs doc/cluster.md
# promises (names, types, subvolumes, ports); bricks run from its server
# volfiles and serve its client volfile byte for byte; a client mounts
# the volume by name from any brick (when the cluster translators are
# built).
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-120}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

VG=$top_builddir/extras/tools/mortar-volgen
PC=$MT_TOOLS/protoclient
require_binaries "$VG" "$PC"
plan 33

O=$MT_TMP/out

# refuses WANT-MESSAGE volgen-args...: non-zero exit, the message on
# stderr, and no volfile written.
refuses() {
	local want=$1
	shift
	rm -rf "$O"
	mkdir -p "$O"
	if "$VG" --out "$O" "$@" >"$MT_TMP/vg.out" 2>&1; then
		echo "accepted: $*"
		return 1
	fi
	cat "$MT_TMP/vg.out"
	# (the cleanup fails the script on a sanitizer report in logs/)
	cat "$MT_TMP/vg.out" >>"$MT_TMP/logs/mortar-volgen.out"
	grep -qF -- "$want" "$MT_TMP/vg.out" || return 1
	[ -z "$(ls -A "$O")" ] || { echo "wrote: $(ls "$O")"; return 1; }
}

tap_check "brick count must be a multiple of --replica" \
	refuses "3 bricks are not a multiple of --replica 2" \
	v distributed-replicate --replica 2 h:/a h:/b h:/c
tap_check "replicate types need --replica 2 or more" \
	refuses "needs --replica 2 or more" \
	v distributed-replicate --replica 1 h:/a h:/b
tap_check "distributed-replicate without --replica is refused" \
	refuses "needs --replica N" v distributed-replicate h:/a h:/b
tap_check "replicate of 3 bricks with --replica 2 is refused" \
	refuses "use distributed-replicate" v replicate --replica 2 h:/a h:/b h:/c
tap_check "--replica on a type with one copy is refused" \
	refuses "needs distributed-replicate" v distribute --replica 2 h:/a h:/b
tap_check "the same HOST:DIR twice is refused" \
	refuses "brick 0 and brick 2 are both h:/a" v distribute h:/a h:/b h:/a/
tap_check "two bricks on one HOST:PORT are refused" \
	refuses "both listen on h port 7000" v distribute h:7000:/a h:7000:/b
names_refused() {
	local n
	for n in 'a b' 'x/y' '.hidden' 'v-brick-2' "$(printf 'v%0200d' 0)" ''; do
		refuses "bad volume name" "$n" distribute h:/a || return 1
	done
}
tap_check "bad volume names are refused" names_refused
bricks_refused() {
	refuses "expected HOST:DIR" v distribute nocolon &&
		refuses "absolute" v distribute h:rel/dir &&
		refuses "bad port" v distribute h:70000:/a &&
		refuses "other than /" v distribute h:/ &&
		refuses "'..'" v distribute h:/a/../b &&
		refuses "bad host" v distribute 'h#x:/a'
}
tap_check "malformed bricks are refused" bricks_refused
tap_check "an unknown type is refused" \
	refuses "unknown type 'stripe'" v stripe h:/a
tap_check "--scheduler only goes with unify types" \
	refuses "--scheduler is for unify" v distribute --scheduler rr h:/a
tap_check "--option for a key volgen derives is refused" \
	refuses "volgen sets remote-port itself" v distribute \
	--option protocol/client:remote-port=1 h:/a
tap_check "--option checked against the translator's table" \
	refuses "protocol/client has no option 'nosuch'" v distribute \
	--option protocol/client:nosuch=1 h:/a
tap_check "--option with a bad value is refused" \
	refuses "'soon' is not" v distribute \
	--option protocol/client:ping-timeout=soon h:/a
tap_check "--option naming nothing in the graph is refused" \
	refuses "no volume named 'v-client-9'" v distribute \
	--option v-client-9:ping-timeout=3 h:/a

tap_check "--arbiter needs --replica 3" \
	refuses "an arbiter set is --replica 3 --arbiter 1" v replicate \
	--replica 2 --arbiter 1 h:/a h:/b
tap_check "--arbiter needs a replicated type" \
	refuses "--arbiter needs a replicated type" v distribute --arbiter 1 \
	h:/a h:/b h:/c

# shape FILE: one line per volume, "name type subvolumes..." in order.
shape() {
	awk '$1 == "volume" { name = $2; type = ""; subs = "" }
	     $1 == "type" { type = $2 }
	     $1 == "subvolumes" { $1 = ""; subs = $0 }
	     $1 == "end-volume" { print name, type subs }' "$1"
}
# opt FILE VOLUME KEY: the value of one option.
opt() {
	awk -v v="$2" -v k="$3" '$1 == "volume" { in_v = ($2 == v) }
	     in_v && $1 == "option" && $2 == k { print $3 }' "$1"
}
arbiter_graphs() {
	rm -rf "$O" && mkdir -p "$O" &&
		"$VG" -q --out "$O" --replica 3 --arbiter 1 av \
			distributed-replicate h:/a h:/b h:/c h:/d h:/e h:/f &&
		[ "$(opt "$O/av.vol" av-replicate-0 arbiter-count)" = 1 ] &&
		[ "$(opt "$O/av.vol" av-replicate-1 arbiter-count)" = 1 ] &&
		shape "$O/av-brick-2.vol" | grep -qx "av-brick-2-arbiter features/arbiter av-brick-2-posix" &&
		shape "$O/av-brick-2.vol" | grep -qx "av-brick-2-locks features/locks av-brick-2-arbiter" &&
		shape "$O/av-brick-5.vol" | grep -q "features/arbiter" &&
		! shape "$O/av-brick-0.vol" | grep -q "features/arbiter" &&
		! shape "$O/av-brick-4.vol" | grep -q "features/arbiter"
}
tap_check "--replica 3 --arbiter 1: the last brick of each set is an arbiter" \
	arbiter_graphs

gen() {
	rm -rf "$O"
	"$VG" -q --out "$O" "$@" 2>>"$MT_TMP/logs/mortar-volgen.out"
}

dr_shape() {
	gen --option protocol/client:ping-timeout=7 d distributed-replicate \
		--replica 2 127.0.0.1:/x/0 127.0.0.1:/x/1 10.0.0.2:/x/2 \
		10.0.0.2:9000:/x/3 || return 1
	shape "$O/d.vol" >"$MT_TMP/got"
	cat >"$MT_TMP/want" <<-EOF
		d-client-0 protocol/client
		d-client-1 protocol/client
		d-client-2 protocol/client
		d-client-3 protocol/client
		d-replicate-0 cluster/replicate d-client-0 d-client-1
		d-replicate-1 cluster/replicate d-client-2 d-client-3
		d-dht cluster/distribute d-replicate-0 d-replicate-1
		d-write-behind performance/write-behind d-dht
		d-md-cache performance/md-cache d-write-behind
		d debug/trace d-md-cache
	EOF
	diff "$MT_TMP/want" "$MT_TMP/got" || return 1
	# Ports: 24010, 24011 on the first host; the second host counts
	# from 24010 again, skipping its explicit 9000 only if needed.
	[ "$(opt "$O/d.vol" d-client-0 remote-port)" = 24010 ] &&
		[ "$(opt "$O/d.vol" d-client-1 remote-port)" = 24011 ] &&
		[ "$(opt "$O/d.vol" d-client-2 remote-port)" = 24010 ] &&
		[ "$(opt "$O/d.vol" d-client-3 remote-port)" = 9000 ] &&
		[ "$(opt "$O/d.vol" d-client-3 remote-host)" = 10.0.0.2 ] &&
		[ "$(opt "$O/d.vol" d-client-2 remote-subvolume)" = d-brick-2 ] &&
		[ "$(opt "$O/d.vol" d-client-1 ping-timeout)" = 7 ] &&
		[ "$(cd "$O" && echo *)" = "d-brick-0.vol d-brick-1.vol d-brick-2.vol d-brick-3.vol d.vol" ]
}
tap_check "distributed-replicate 2x2: names, subvolumes, ports, --option" dr_shape

other_shapes() {
	gen u unify h:/a h:/b h:/c &&
		[ "$(shape "$O/u.vol" | tail -n 4)" = "u-unify cluster/unify u-client-0 u-client-1 u-client-2
u-write-behind performance/write-behind u-unify
u-md-cache performance/md-cache u-write-behind
u debug/trace u-md-cache" ] &&
		[ "$(opt "$O/u.vol" u-unify scheduler)" = rr ] || return 1
	gen u unify --scheduler nufa h:/a h:/b &&
		[ "$(opt "$O/u.vol" u-unify scheduler)" = nufa ] || return 1
	gen t distribute --no-write-behind --no-md-cache h:/a h:/b &&
		[ "$(shape "$O/t.vol" | tail -n 2)" = "t-dht cluster/distribute t-client-0 t-client-1
t debug/trace t-dht" ] || return 1
	gen t distribute --no-md-cache h:/a h:/b &&
		[ "$(shape "$O/t.vol" | tail -n 2)" = "t-write-behind performance/write-behind t-dht
t debug/trace t-write-behind" ] || return 1
	gen r replicate --no-md-cache h:/a h:/b h:/c &&
		[ "$(shape "$O/r.vol" | tail -n 3)" = "r-replicate-0 cluster/replicate r-client-0 r-client-1 r-client-2
r-write-behind performance/write-behind r-replicate-0
r debug/trace r-write-behind" ] || return 1
	gen ur unify-replicate --replica 3 h:/a h:/b h:/c g:/a g:/b g:/c &&
		[ "$(shape "$O/ur.vol" | tail -n 6)" = "ur-replicate-0 cluster/replicate ur-client-0 ur-client-1 ur-client-2
ur-replicate-1 cluster/replicate ur-client-3 ur-client-4 ur-client-5
ur-unify cluster/unify ur-replicate-0 ur-replicate-1
ur-write-behind performance/write-behind ur-unify
ur-md-cache performance/md-cache ur-write-behind
ur debug/trace ur-md-cache" ] || return 1
	gen k distribute --transport rdma h:/a &&
		[ "$(opt "$O/k.vol" k-client-0 transport-type)" = rdma ] &&
		[ "$(opt "$O/k-brick-0.vol" k-brick-0-server transport-type)" = rdma ]
}
tap_check "unify, distribute, replicate, unify-replicate, rdma shapes" other_shapes

# The brick graph is the one brickd --export builds, under brick names.
brick_shape() {
	gen d distribute 127.0.0.1:5000:/x/0 srv:/x/1 || return 1
	shape "$O/d-brick-1.vol" >"$MT_TMP/got"
	cat >"$MT_TMP/want" <<-EOF
		d-brick-1-posix storage/posix
		d-brick-1-locks features/locks d-brick-1-posix
		d-brick-1-upcall features/upcall d-brick-1-locks
		d-brick-1 performance/io-threads d-brick-1-upcall
		d-brick-1-server protocol/server d-brick-1
	EOF
	diff "$MT_TMP/want" "$MT_TMP/got" || return 1
	[ "$(opt "$O/d-brick-1.vol" d-brick-1-posix directory)" = /x/1 ] &&
		[ "$(opt "$O/d-brick-1.vol" d-brick-1-server listen-port)" = 24010 ] &&
		[ "$(opt "$O/d-brick-1.vol" d-brick-1-server listen-host)" = 0.0.0.0 ] &&
		[ "$(opt "$O/d-brick-0.vol" d-brick-0-server listen-host)" = 127.0.0.1 ] &&
		[ "$(opt "$O/d-brick-0.vol" d-brick-0-server listen-port)" = 5000 ] &&
		[ "$(opt "$O/d-brick-0.vol" d-brick-0-server volfile-dir)" = "$O" ]
}
tap_check "brick volfiles: posix -> locks -> upcall -> io-threads -> server" brick_shape

regen_guard() {
	gen d distribute h:/a h:/b h:/c || return 1
	cp "$O/d.vol" "$MT_TMP/before"
	if "$VG" -q --out "$O" d distribute h:/a h:/b 2>"$MT_TMP/err"; then
		echo "overwrote without --force"
		return 1
	fi
	grep -q -- "--force" "$MT_TMP/err" && cmp "$MT_TMP/before" "$O/d.vol" &&
		"$VG" -q --force --out "$O" d distribute h:/a h:/b &&
		[ ! -e "$O/d-brick-2.vol" ] && [ -e "$O/d-brick-1.vol" ] &&
		! grep -q d-client-2 "$O/d.vol"
}
tap_check "existing volfiles are kept without --force; --force drops stale bricks" \
	regen_guard

# ---- live: bricks from volgen's server volfiles ----------------------------

tap_require "start a 2-brick distribute volume from volgen volfiles" \
	start_volume gv distribute 2

getspec_matches() { # brick
	local port=${MT_BRICK_PORT[$1]}
	timeout 20 "$PC" "$port" gv getspec >"$MT_TMP/gs.out" 2>&1 || return 1
	head -n 1 "$MT_TMP/gs.out" | grep -qx "ret=0" || return 1
	tail -n +2 "$MT_TMP/gs.out" | cmp - "${MT_VOL_DIR[gv]}/gv.vol"
}
tap_check "brick 0 serves gv.vol byte for byte" getspec_matches gv-b0
tap_check "brick 1 serves gv.vol byte for byte" getspec_matches gv-b1

ports_match() {
	[ "$(opt "${MT_VOL_DIR[gv]}/gv.vol" gv-client-0 remote-port)" = "${MT_BRICK_PORT[gv-b0]}" ] &&
		[ "$(opt "${MT_VOL_DIR[gv]}/gv.vol" gv-client-1 remote-port)" = "${MT_BRICK_PORT[gv-b1]}" ]
}
tap_check "the client volfile names the ports the bricks listen on" ports_match

# protocol/client attached to gv-brick-1 (what gv-client-1 attaches to)
# runs fops on brick 1's directory.
exports_brick() {
	timeout 60 "$PC" "${MT_BRICK_PORT[gv-b1]}" gv-brick-1 basic \
		>"$MT_TMP/pc.out" 2>&1 || { cat "$MT_TMP/pc.out"; return 1; }
}
tap_check "brick 1 exports gv-brick-1 (fops through protocol/client)" exports_brick

restart_serves() {
	stop_brick gv-b0 && restart_brick gv-b0 && getspec_matches gv-b0 &&
		[ "$(volume_port gv)" = "${MT_BRICK_PORT[gv-b0]}" ]
}
tap_check "a stopped volume brick restarts on its port and serves again" \
	restart_serves
tap_check "brick_dir gives the brick's directory" \
	test "$(brick_dir gv-b1)" = "$MT_TMP/gv/b1" -a -d "$MT_TMP/gv/b1"

M=$MT_TMP/mnt
if [ -e "$top_builddir/translators/cluster/distribute/.libs/distribute.so" ]; then
	tap_require "mount gv by name from a brick" mount_volume_of gv "$M"
	spread() {
		local i
		for i in $(seq 1 40); do
			echo "file $i" >"$M/f$i" || return 1
		done
		for i in $(seq 1 40); do
			[ "$(cat "$M/f$i")" = "file $i" ] || return 1
		done
		# Every file is a plain file on exactly one brick.
		for i in $(seq 1 40); do
			[ "$(find "$MT_TMP/gv/b0" "$MT_TMP/gv/b1" -name "f$i" \
				-type f -size +0 | wc -l)" = 1 ] || return 1
		done
		[ -n "$(ls "$MT_TMP/gv/b0")" ] && [ -n "$(ls "$MT_TMP/gv/b1")" ]
	}
	tap_check "files written through the mount read back, spread on both bricks" spread
	tap_check "unmount cleanly" unmount_volume "$M"
else
	diag "cluster/distribute is not built: mounting checked by its fetch only"
	mount_fetches() {
		mkdir -p "$M"
		timeout 30 "$MORTAR" -N --volfile-server "127.0.0.1:$(volume_port gv)" \
			--volume gv "$M" >"$MT_TMP/mnt.out" 2>&1
		cat "$MT_TMP/mnt.out"
		grep -q "gv:.*cluster/distribute" "$MT_TMP/mnt.out"
	}
	tap_check "mortar fetches gv.vol (fails only on the missing translator)" \
		mount_fetches
	tap_skip "files written through the mount read back" "cluster/distribute not built"
	tap_skip "unmount cleanly" "cluster/distribute not built"
fi

tap_check "stop every brick of the volume" stop_volume gv
