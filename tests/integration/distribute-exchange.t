#!/bin/bash
#
# distribute-exchange.t: rename(RENAME_EXCHANGE) of two names whose files
# are on different bricks of a 3-brick distribute volume.
#  - While one client swaps them 200 times, a second client opens and
#    reads both names in a loop: never ENOENT, always one of the two
#    contents; they end where they started.
#  - A client that stops between two steps of an exchange (testing option
#    exchange-debug-stop on distribute; before each step in turn, and
#    in a file <-> directory exchange) and is killed there leaves nothing
#    lost: the other client's next lookup of either name finishes the
#    exchange (the names swapped, each file once, no intent left).
#  - The same with a brick killed while the client is stopped: until it
#    is back lookups answer without waiting; once it is back the exchange
#    is finished.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-180}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/distribute-lib.sh
. "$top_srcdir/tests/integration/distribute-lib.sh"

require_binaries
command -v python3 >/dev/null || skip_all "python3 missing"
command -v getfattr >/dev/null || skip_all "getfattr missing"
STEPS=5 # of the file <-> file exchange below: link, rename, unlink, 2 linkto
plan $((11 + STEPS))

MA=$MT_TMP/ma # the renaming client
MB=$MT_TMP/mb # the observer: no entry or attribute cache
MC=$MT_TMP/mc # the client that stops in the middle
B=$MT_TMP/xc/b

tap_require "start 3 bricks" dht_volume xc 3 min-free-disk=0
mount_ab() {
	mount_volume_of xc "$MA" &&
		mount_volume_of xc "$MB" entry-timeout=0,attribute-timeout=0
}
tap_require "mount two clients" mount_ab

cat >"$MT_TMP/xchg.py" <<'EOP'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                           ctypes.c_char_p, ctypes.c_uint]
a, b, n = sys.argv[1].encode(), sys.argv[2].encode(), int(sys.argv[3])
for i in range(n):
    if libc.renameat2(-100, a, -100, b, 2) != 0:  # AT_FDCWD, EXCHANGE
        e = ctypes.get_errno()
        print(f"exchange {i}: {os.strerror(e)}", flush=True)
        sys.exit(1)
EOP

# ---- two files on different bricks
mkdir "$MA/e"
printf 'content A\n' >"$MA/e/a"
AT=$(dht_brick_of xc e/a)
read -r BN BT < <(dht_name_off_brick xc "$MA" e "$AT" b)
printf 'content B\n' >"$MA/e/$BN"
diag "e/a on brick $AT, e/$BN on brick $BT"

# ---- a concurrent reader
cat >"$MT_TMP/observe.py" <<'EOP'
import os, sys
names, stop = sys.argv[1:3], sys.argv[3]
good = {b"content A\n", b"content B\n"}
reads = bad = 0
while not os.path.exists(stop):
    for n in names:
        try:
            with open(n, "rb") as f:
                data = f.read()
        except OSError as e:
            print(f"{n}: {e}", flush=True)
            bad += 1
            continue
        reads += 1
        if data not in good:
            print(f"{n}: read {data!r}", flush=True)
            bad += 1
print(f"{reads} reads, {bad} bad", flush=True)
sys.exit(1 if bad or not reads else 0)
EOP
python3 "$MT_TMP/observe.py" "$MB/e/a" "$MB/e/$BN" "$MT_TMP/stop" \
	>"$MT_TMP/observe.out" 2>&1 &
OBS=$!
mt_track .pids "$OBS"
tap_check "200 exchanges of two files on different bricks" \
	python3 "$MT_TMP/xchg.py" "$MA/e/a" "$MA/e/$BN" 200
touch "$MT_TMP/stop"
wait "$OBS"
ORC=$?
mt_untrack .pids "$OBS"
diag_file "$MT_TMP/observe.out"
tap_check "the other client never got ENOENT nor a third content" \
	test "$ORC" -eq 0
back() {
	[ "$(cat "$MB/e/a")" = "content A" ] &&
		[ "$(cat "$MB/e/$BN")" = "content B" ]
}
tap_check "after an even number both names are where they started" back

# ---- a client that stops between two steps and is killed there

# The client volfile with the testing option on distribute.
VF=$(volume_volfile xc)
stop_volfile() {
	sed "/type cluster\/distribute/a\\    option exchange-debug-stop $1" \
		"$VF" >"$MT_TMP/stop-$1.vol"
}
# Mount MC stopping before step $1, start an exchange of $2 and $3 on it,
# wait until it stops, kill the client.
stopped_exchange() {
	local k=$1 x=$2 y=$3 pid
	stop_volfile "$k" && mount_volfile "$MT_TMP/stop-$k.vol" "$MC" ||
		return 1
	pid=${MT_MOUNT_PID[$MC]}
	python3 "$MT_TMP/xchg.py" "$MC/$x" "$MC/$y" 1 >/dev/null 2>&1 &
	mt_track .pids $!
	wait_for 20 grep -q "stopped before step $((k + 1)) " \
		"$MT_TMP/logs/mount-mc.log" || return 1
	kill -9 "$pid"
	wait_for 10 mt_pid_gone "$pid"
	umount -l "$MC"
	mt_untrack .mounts "$MC"
	mt_untrack .pids "$pid"
	: >"$MT_TMP/logs/mount-mc.log"
}
# No intent xattr left on any brick's copy of the names.
no_intent() {
	local f
	for f in "$B"*/"$1" "$B"*/"$2"; do
		[ -e "$f" ] || continue
		if getfattr -n trusted.mortar.dht.exchange "$f" >/dev/null 2>&1; then
			echo "intent left on $f"
			return 1
		fi
	done
}
# Each of the two names on exactly one brick as data.
one_copy() {
	local n
	for n in "$1" "$2"; do
		[ "$(for f in "$B"*/"$n"; do [ -f "$f" ] && ! dht_is_linkto "$f" && echo "$f"; done | wc -l)" -eq 1 ] ||
			{ echo "$n: not one data copy"; return 1; }
	done
}
swapped() { # expected content of e/a, then of e/$BN
	local got
	got="$(cat "$MB/e/a") / $(cat "$MB/e/$BN")"
	echo "e/a, e/$BN: $got"
	[ "$got" = "$1 / $2" ] && no_intent e/a "e/$BN" && one_copy e/a "e/$BN"
}
# Each time from the names' first places (e/a's file on its hashed
# brick, e/$BN's on its own: five steps).
for ((k = 0; k < STEPS; k++)); do
	finish_after_stop() {
		if [ "$(cat "$MB/e/a")" != "content A" ]; then
			python3 "$MT_TMP/xchg.py" "$MB/e/a" "$MB/e/$BN" 1 ||
				return 1
		fi
		stopped_exchange "$k" e/a "e/$BN" || return 1
		swapped "content B" "content A"
	}
	tap_check "killed before step $((k + 1)): the next lookup finishes it" \
		finish_after_stop
done

# ---- a file and a directory
file_dir() {
	mkdir "$MB/e/d" && printf 'inside\n' >"$MB/e/d/in" || return 1
	stopped_exchange 1 e/a e/d || return 1
	[ -d "$MB/e/a" ] && [ "$(cat "$MB/e/a/in")" = inside ] &&
		[ "$(cat "$MB/e/d")" = "content B" ] && no_intent e/a e/d
}
tap_check "file <-> directory killed after its first step: finished" file_dir
rm -rf "$MB/e/a" && mv "$MB/e/d" "$MB/e/a"

# ---- a brick killed while the client is stopped
DOWN=$BT
brick_dies() {
	stopped_exchange 2 e/a "e/$BN" || return 1
	kill_brick "xc-b$DOWN"
	# lookups answer (the exchange cannot be finished now), none hangs
	timeout 20 cat "$MB/e/a" "$MB/e/$BN" >/dev/null 2>&1
	[ $? -ne 124 ]
}
tap_check "a brick killed mid-way: lookups answer without waiting" brick_dies
tap_check "the brick restarts" restart_brick "xc-b$DOWN"
finished_later() {
	local a b
	a=$(cat "$MB/e/a" 2>/dev/null) && b=$(cat "$MB/e/$BN" 2>/dev/null) &&
		[ "$a" != "$b" ] && no_intent e/a "e/$BN" &&
		one_copy e/a "e/$BN" && echo "e/a: $a, e/$BN: $b"
}
tap_check "once it is back the exchange is finished" wait_for 30 finished_later
tap_check "no intent on either name on any brick" no_intent e/a "e/$BN"

unmount_ab() { unmount_volume "$MA" && unmount_volume "$MB"; }
tap_check "unmount" unmount_ab
