#!/bin/bash
#
# distribute-rebalance.t: grow a 3-brick distribute volume to 4 bricks.
# After the brick is added (volfile regenerated, client remounted) every
# file still reads back; fix-layout gives the new brick a share of every
# directory so new files land there; `mortar-rebalance start` moves files
# to their hashed brick while a writer keeps overwriting and appending to
# files being moved (each write also applied to a shadow copy outside the
# volume): afterwards every file equals its recorded checksum or its
# shadow (a second writer keeps four of them open through the whole
# run), no data file has two copies, and the new brick holds its share.
# A throttled run is stopped with SIGINT (exit 2, state "stopped") and
# resumed with the same state file; the throttled rate is printed and
# checked against a generous bound.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-300}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/distribute-lib.sh
. "$top_srcdir/tests/integration/distribute-lib.sh"

RB=$top_builddir/extras/tools/mortar-rebalance
require_binaries "$RB"
command -v python3 >/dev/null || skip_all "python3 missing"
plan 19

M=$MT_TMP/mnt
SHADOW=$MT_TMP/shadow
STATE=$MT_TMP/rb.state
MB=${MORTAR_TEST_REBALANCE_MB:-2} # size of each file the writer touches
mkdir -p "$SHADOW"

tap_require "start 3 bricks" dht_volume rb 3 min-free-disk=0
VF=$(volume_volfile rb)
tap_require "mount" mount_volume_of rb "$M"

# Files to keep: d1 (60 small files), d2/sub (40), the writers' 8 files,
# and 16 files the second writer holds open but writes only after the
# rebalance (idle/).
NIDLE=16
populate() {
	local i
	mkdir -p "$M/d1" "$M/d2/sub" "$M/w" "$M/idle" "$SHADOW/idle" ||
		return 1
	for i in $(seq 1 60); do
		head -c $((RANDOM * 4 + 1)) /dev/urandom >"$M/d1/f$i" || return 1
	done
	for i in $(seq 1 40); do
		head -c $((RANDOM + 1)) /dev/urandom >"$M/d2/sub/g$i" || return 1
	done
	for i in $(seq 0 7); do
		head -c $((MB << 20)) /dev/urandom >"$SHADOW/w$i" &&
			cp "$SHADOW/w$i" "$M/w/w$i" || return 1
	done
	for ((i = 0; i < NIDLE; i++)); do
		head -c 65536 /dev/urandom >"$SHADOW/idle/i$i" &&
			cp "$SHADOW/idle/i$i" "$M/idle/i$i" || return 1
	done
	(cd "$M" && find d1 d2 -type f -print0 | sort -z |
		xargs -0 md5sum) >"$MT_TMP/sums"
}
tap_require "write $((108 + NIDLE)) files" populate
declare -a IDLE_AT
for ((i = 0; i < NIDLE; i++)); do IDLE_AT[i]=$(dht_brick_of rb "idle/i$i"); done

tap_check "unmount" unmount_volume "$M"
tap_require "add a fourth brick (volfile regenerated)" add_brick rb
tap_require "mount the grown volume" mount_volume_of rb "$M"

check_all() {
	(cd "$M" && md5sum --quiet -c "$MT_TMP/sums") || return 1
	local i
	for i in $(seq 0 7); do
		cmp "$SHADOW/w$i" "$M/w/w$i" || return 1
	done
	for ((i = 0; i < NIDLE; i++)); do
		cmp "$SHADOW/idle/i$i" "$M/idle/i$i" || return 1
	done
}
tap_check "every file reads back on the grown volume" check_all

MT_VERBOSE=1 tap_check "fix-layout" "$RB" -f "$VF" --state "$MT_TMP/fl.state" \
	fix-layout
new_has_range() {
	# 16 bytes: format 1, commit, start, stop; start <= stop
	local hex
	hex=$(getfattr -n trusted.mortar.dht.layout -e hex --only-values \
		"$MT_TMP/rb/b3/d2/sub" 2>/dev/null) || return 1
	hex=${hex#0x}
	echo "new brick's d2/sub layout: $hex"
	[ $((16#${hex:16:8})) -le $((16#${hex:24:8})) ]
}
tap_check "the new brick has d2/sub with a share of the hash space" \
	new_has_range

# A client sees the new layout once it reads the directory again (its
# next lookup of it, at most layout-refresh-timeout later): create files
# until some land on the new brick.
new_files_land() {
	local i n
	n=$(find "$M/d1" -maxdepth 1 -name 'new*' | wc -l)
	for i in 1 2 3 4 5; do
		n=$((n + 1))
		echo "new $n" >"$M/d1/new$n" || return 1
	done
	[ "$(find "$MT_TMP/rb/b3/d1" -maxdepth 1 -name 'new*' | wc -l)" -gt 0 ]
}
tap_check "new files land on the new brick after fix-layout" \
	wait_for 20 new_files_land
NEWN=$(find "$M/d1" -maxdepth 1 -name 'new*' | wc -l)
diag "new files: $NEWN, on the new brick: $(find "$MT_TMP/rb/b3/d1" -maxdepth 1 -name 'new*' | wc -l)"
(cd "$M" && md5sum d1/new*) >>"$MT_TMP/sums"

# The writer (files w0..w3): overwrite a 4 KiB block at a random offset,
# append one, or
# now and then rewrite a whole file through a truncating open (half its
# size, so the old tail must go), to the volume and to the shadow alike,
# until told to stop.
writer() {
	local n=0 i off blk=$MT_TMP/blk
	while [ ! -e "$MT_TMP/stop-writer" ]; do
		i=$((RANDOM % 4))
		head -c 4096 /dev/urandom >"$blk"
		if [ $((n % 40)) -eq 39 ]; then
			# a whole new content through a truncating open
			head -c $((MB << 19)) /dev/urandom >"$blk.big"
			cp "$blk.big" "$M/w/w$i" || exit 1
			cp "$blk.big" "$SHADOW/w$i"
		elif [ $((n % 5)) -eq 4 ]; then
			cat "$blk" >>"$M/w/w$i" || exit 1
			cat "$blk" >>"$SHADOW/w$i"
		else
			off=$((RANDOM % (MB * 256)))
			dd if="$blk" of="$M/w/w$i" bs=4096 seek=$off \
				conv=notrunc status=none || exit 1
			dd if="$blk" of="$SHADOW/w$i" bs=4096 seek=$off \
				conv=notrunc status=none
		fi
		n=$((n + 1))
	done
	echo "$n" >"$MT_TMP/writer-ops"
}
writer &
WRITER=$!
mt_track .pids "$WRITER"

# A second writer keeps w4..w7 open for the whole run and writes through
# the same descriptors before, during and after their migration; it also
# holds idle/* open from before the rebalance and writes to them through
# those descriptors only when told to stop (after it: a file that moved
# meanwhile gets the write on its new brick).
cat >"$MT_TMP/longwriter.py" <<'EOP'
import os, random, sys
mnt, shadow, stop, mb = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
nidle = int(sys.argv[5])
fds = [(os.open(f"{mnt}/w/w{i}", os.O_RDWR), os.open(f"{shadow}/w{i}", os.O_RDWR))
       for i in range(4, 8)]
idle = [(os.open(f"{mnt}/idle/i{i}", os.O_RDWR),
         os.open(f"{shadow}/idle/i{i}", os.O_RDWR)) for i in range(nidle)]
n = 0
while not os.path.exists(stop):
    m, s = random.choice(fds)
    blk = os.urandom(4096)
    off = random.randrange(mb * 256) * 4096
    if os.pwrite(m, blk, off) != 4096:
        sys.exit(1)
    os.pwrite(s, blk, off)
    n += 1
for m, s in idle:
    blk = os.urandom(4096)
    if os.pwrite(m, blk, 4096) != 4096:
        sys.exit(1)
    os.pwrite(s, blk, 4096)
for m, s in fds + idle:
    os.fsync(m)
    os.close(m)
    os.close(s)
print(n)
EOP
python3 "$MT_TMP/longwriter.py" "$M" "$SHADOW" "$MT_TMP/stop-writer" "$MB" \
	"$NIDLE" \
	>"$MT_TMP/longwriter.out" 2>&1 &
LONGW=$!
mt_track .pids "$LONGW"

# A throttled run, stopped after it has moved something.
"$RB" -f "$VF" --state "$STATE" --threads 2 --throttle 1 --progress 1 \
	start >"$MT_TMP/rb1.out" 2>&1 &
RBPID=$!
mt_track .pids "$RBPID"
moved_some() { grep -q 'progress:.*MiB' "$MT_TMP/rb1.out" && \
	! grep -q 'progress:.* 0.0 MiB' <(tail -n 1 "$MT_TMP/rb1.out"); }
wait_for 60 moved_some
kill -INT "$RBPID"
wait "$RBPID"
RC=$?
mt_untrack .pids "$RBPID"
diag_file "$MT_TMP/rb1.out"
tap_check "SIGINT stops the run (exit status 2)" test "$RC" -eq 2
tap_check "the state file says stopped" grep -qx 'status stopped' "$STATE"
RATE=$(tail -n 1 "$MT_TMP/rb1.out" | grep -o '[0-9.]* MiB/s' | cut -d' ' -f1)
diag "throttled at 1 MiB/s: measured ${RATE:-?} MiB/s"
tap_check "throttle holds the rate near 1 MiB/s (< 2)" \
	awk -v r="${RATE:-99}" 'BEGIN { exit !(r < 2) }'

T0=$(date +%s.%N)
# Throttled too, so the writer keeps writing to files while they move.
MT_VERBOSE=1 tap_check "resume: the run completes" "$RB" -f "$VF" \
	--state "$STATE" --threads 4 --throttle 4 --progress 2 start
T1=$(date +%s.%N)
tap_check "status says completed" sh -c \
	"'$RB' status --state '$STATE' | grep -qx 'status: completed'"

touch "$MT_TMP/stop-writer"
wait "$WRITER"
WRC=$?
mt_untrack .pids "$WRITER"
wait "$LONGW"
LRC=$?
mt_untrack .pids "$LONGW"
diag "writer with open files: $(cat "$MT_TMP/longwriter.out") writes, exit $LRC"
[ "$LRC" -eq 0 ] || WRC=$LRC
diag "writer: $(cat "$MT_TMP/writer-ops" 2>/dev/null) writes, exit $WRC; rebalance took $(echo "$T1 - $T0" | bc) s"
tap_check "no write failed during the rebalance" test "$WRC" -eq 0
kill -USR1 "${MT_MOUNT_PID[$M]}"
dumped() { grep -qs 'migrate_repeats=' "$MT_TMP"/dump/*; }
wait_for 5 dumped
diag "client: $(grep -hos 'migrate_repeats=[0-9]*' "$MT_TMP"/dump/* | tail -n 1) (writes repeated on a migration target)"
tap_check "every file reads back, including the writer's last writes" \
	check_all
idle_moved() {
	local i n=0
	for ((i = 0; i < NIDLE; i++)); do
		[ "$(dht_brick_of rb "idle/i$i")" != "${IDLE_AT[i]}" ] &&
			n=$((n + 1))
	done
	echo "$n of $NIDLE idle files moved while held open"
	[ "$n" -gt 0 ]
}
MT_VERBOSE=1 tap_check "some files held open moved (their later writes are checked)" \
	idle_moved

one_copy_hashed() {
	local total=0 b n
	for b in 0 1 2 3; do
		n=$(dht_data_files "$MT_TMP/rb/b$b" | wc -l)
		echo "brick $b: $n data files, $(dht_linkto_files \
			"$MT_TMP/rb/b$b" | wc -l) linkto files"
		total=$((total + n))
	done
	# 60 + 40 + 8 + the idle ones + the new ones, each exactly once
	[ "$total" -eq $((108 + NIDLE + NEWN)) ] && [ "$(dht_data_files "$MT_TMP/rb/b3" | wc -l)" -gt 20 ]
}
tap_check "each file has one data copy; the new brick holds its share" \
	one_copy_hashed
tap_check "unmount" unmount_volume "$M"
