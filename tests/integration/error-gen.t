#!/bin/bash
#
# error-gen.t: disks that fail under a brick (debug/error-gen between
# storage/posix and the rest of the brick graph) never lose data quietly.
#  - one brick whose disk fills mid-write (ENOSPC after N writes): the
#    writer gets ENOSPC, and every byte the brick kept is what was
#    written (where a write failed the file has a hole, never other bytes);
#  - replicate 2, the disk of one copy fills: the writer goes on, the
#    other copy has every byte, and once the disk has room again heal
#    makes both copies identical;
#  - distribute 4, one brick's disk is full: exactly the files hashed to
#    it fail with ENOSPC, the others are written and read back;
#  - replicate 2, one copy's reads fail with EIO: readers get the data
#    from the other copy;
#  - random delays of a brick's fops under the data checker: identical
#    data.
#
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/../lib/replica.sh
. "$top_srcdir/tests/lib/replica.sh"
# shellcheck source=SCRIPTDIR/distribute-lib.sh
. "$top_srcdir/tests/integration/distribute-lib.sh"

require_binaries "$MT_TOOLS/datacheck" "$MT_HEAL"
plan 30

MB=${MORTAR_TEST_ERRGEN_MB:-24}
OPS=${MORTAR_TEST_DATACHECK_OPS:-2000}
SEED=${MORTAR_TEST_SEED:-$RANDOM$RANDOM}

# with_error_gen BRICK OPTION=VALUE...: restart BRICK with debug/error-gen
# between its storage/posix and the translator above, configured by the
# options.  without_error_gen BRICK: back to its own volfile.
declare -A EG_ORIG
with_error_gen() {
	local b=$1 f
	shift
	EG_ORIG[$b]=${EG_ORIG[$b]:-${MT_BRICK_VOLFILE[$b]}}
	# beside the volume's volfiles: the brick serves those to clients
	f=$(dirname "${EG_ORIG[$b]}")/errgen-$b.vol
	awk -v opts="$*" '
		NR == FNR {
			if ($1 == "volume") v = $2
			if ($1 == "type" && $2 == "storage/posix") posix = v
			next
		}
		$1 == "subvolumes" && $2 == posix && posix != "" {
			print "    subvolumes " posix "-errgen"; next
		}
		{ print }
		$1 == "end-volume" && v == posix && !done {
			print ""
			print "volume " posix "-errgen"
			print "    type debug/error-gen"
			n = split(opts, o, " ")
			for (i = 1; i <= n; i++) {
				split(o[i], kv, "=")
				print "    option " kv[1] " " kv[2]
			}
			print "    subvolumes " posix
			print "end-volume"
			done = 1
		}
		$1 == "volume" { v = $2 }
	' "${EG_ORIG[$b]}" "${EG_ORIG[$b]}" >"$f" || return 1
	grep -q "type debug/error-gen" "$f" || return 1
	stop_brick "$b" || return 1
	MT_BRICK_VOLFILE[$b]=$f
	restart_brick "$b"
}
without_error_gen() {
	stop_brick "$1" || return 1
	MT_BRICK_VOLFILE[$1]=${EG_ORIG[$1]}
	restart_brick "$1"
}
# a client notices the restarted brick: wait until a stat goes through
volume_answers() { stat "$1" >/dev/null 2>&1; }

# dd_fails_enospc SRC DST: dd copies SRC to DST with fsync and fails,
# saying ENOSPC.
dd_fails_enospc() {
	local out=$MT_TMP/dd.err
	if dd if="$1" of="$2" bs=1M conv=fsync 2>"$out"; then
		diag "dd did not fail"
		return 1
	fi
	grep -q "No space left on device" "$out" || {
		diag_file "$out"
		return 1
	}
}
# blocks_intact REF FILE: each MiB of FILE is REF's same MiB, or zeros
# (a write that failed: with writes in flight at once, ones after it in
# the file may have landed), and FILE is not empty.
blocks_intact() {
	local n i kept=0 holes=0
	n=$(stat -c %s "$2") || return 1
	[ "$n" -gt 0 ] || return 1
	for ((i = 0; i * 1048576 < n; i++)); do
		dd if="$2" bs=1M skip=$i count=1 status=none >"$MT_TMP/blk"
		if dd if="$1" bs=1M skip=$i count=1 status=none |
			head -c "$(stat -c %s "$MT_TMP/blk")" | cmp -s - "$MT_TMP/blk"; then
			kept=$((kept + 1))
		elif ! tr -d '\0' <"$MT_TMP/blk" | grep -q .; then
			holes=$((holes + 1))
		else
			diag "MiB $i of $2 is neither the data nor a hole"
			return 1
		fi
	done
	diag "$2: $n bytes, $kept MiB of data, $holes MiB never written"
	[ "$kept" -gt 0 ]
}

head -c $((MB * 1048576)) /dev/urandom >"$MT_TMP/ref"

# ---- one brick: the disk fills mid-write ----------------------------------
tap_require "one brick" start_volume one distribute 1
tap_require "its disk fills after 8 writes" \
	with_error_gen one-b0 enable=write error-no=ENOSPC fail-after=8
M=$MT_TMP/m1
tap_require "mount" mount_volume_of one "$M"
tap_check "one brick: the writer gets ENOSPC" \
	dd_fails_enospc "$MT_TMP/ref" "$M/big"
tap_check "one brick: what the brick kept is the data, unchanged" \
	blocks_intact "$MT_TMP/ref" "$(brick_dir one-b0)/big"
tap_check "one brick: the mount says the same size as the brick" \
	test "$(stat -c %s "$M/big")" = "$(stat -c %s "$(brick_dir one-b0)/big")"
tap_check "unmount" unmount_volume "$M"
stop_volume one

# ---- replicate 2: one copy's disk fills, heal repairs it --------------------
tap_require "replicate 2" start_volume rep replicate 2
tap_require "brick 1's disk fills after 8 writes" \
	with_error_gen rep-b1 enable=write error-no=ENOSPC fail-after=8
M=$MT_TMP/m2
tap_require "mount" mount_volume_of rep "$M"
tap_check "replicate 2: the write goes on with one copy full" \
	dd if="$MT_TMP/ref" of="$M/big" bs=1M conv=fsync status=none
tap_check "replicate 2: the other copy has every byte" \
	cmp "$MT_TMP/ref" "$(brick_dir rep-b0)/big"
big_needs_heal() { heal_cmd rep info 2>/dev/null | grep -q ' /big '; }
tap_check "replicate 2: the full copy is listed for heal" big_needs_heal
tap_check "brick 1 has room again" without_error_gen rep-b1
tap_check "replicate 2: heal makes the copies identical" \
	wait_for 60 heal_done rep
tap_check "replicate 2: and both equal what was written" \
	sh -c "cmp '$MT_TMP/ref' '$(brick_dir rep-b0)/big' &&
		cmp '$MT_TMP/ref' '$(brick_dir rep-b1)/big'"

# ---- replicate 2: one copy's reads fail with EIO ----------------------------
# Eight files, so some are read from brick 0 (each file's read copy is
# picked by a hash): the dump must show reads it failed.
for i in $(seq 1 8); do
	dd if="$MT_TMP/ref" of="$M/r$i" bs=1M count=1 skip="$i" conv=fsync \
		status=none
done
tap_check "brick 0's reads fail with EIO" \
	with_error_gen rep-b0 enable=read error-no=EIO failure=100
wait_for 15 volume_answers "$M/big"
drop_caches
all_read_back() {
	local i
	cmp "$MT_TMP/ref" "$M/big" || return 1
	for i in $(seq 1 8); do
		cmp <(dd if="$MT_TMP/ref" bs=1M count=1 skip="$i" status=none) \
			"$M/r$i" || return 1
	done
}
tap_check "replicate 2: readers get the data from the other copy" \
	all_read_back
failed_reads=$(mt_dump_value "${MT_BRICK_PID[rep-b0]}" failed.read)
diag "replicate 2: brick 0 failed ${failed_reads:-0} reads with EIO"
tap_check "replicate 2: brick 0 did fail reads" test "${failed_reads:-0}" -gt 0
tap_check "unmount" unmount_volume "$M"
stop_volume rep

# ---- distribute 4: one brick's disk is full ---------------------------------
tap_require "distribute 4" start_volume dis distribute 4
tap_require "brick 2's disk is full" \
	with_error_gen dis-b2 enable=write error-no=ENOSPC fail-after=0
M=$MT_TMP/m3
tap_require "mount" mount_volume_of dis "$M"
mkdir "$M/d"
failed=0
for i in $(seq 1 24); do
	if ! dd if="$MT_TMP/ref" of="$M/d/f$i" bs=64k count=4 conv=fsync \
		status=none 2>/dev/null; then
		failed=$((failed + 1))
		echo "f$i" >>"$MT_TMP/failed"
	fi
done
on_b2=0
for i in $(seq 1 24); do
	[ "$(dht_brick_of dis "d/f$i")" = 2 ] && on_b2=$((on_b2 + 1))
done
diag "distribute 4: $failed of 24 writes failed, $on_b2 files hashed to brick 2"
tap_check "distribute 4: exactly the files on the full brick fail" \
	test "$failed" = "$on_b2" -a "$failed" -gt 0
good_read_back() {
	local i
	for i in $(seq 1 24); do
		grep -qx "f$i" "$MT_TMP/failed" && continue
		cmp -n 262144 "$MT_TMP/ref" "$M/d/f$i" || return 1
	done
}
tap_check "distribute 4: every other file reads back" good_read_back
tap_check "unmount" unmount_volume "$M"
stop_volume dis

# ---- random delays under the data checker ------------------------------------
tap_require "one brick again" start_volume slow distribute 1
tap_require "a third of its fops wait up to 3 ms" \
	with_error_gen slow-b0 enable=all delay-usec=3000 delay-percent=33
M=$MT_TMP/m4
tap_require "mount" mount_volume_of slow "$M"
diag "datacheck seed $SEED (replay: MORTAR_TEST_SEED=$SEED)"
MT_VERBOSE=1 tap_check "delays: datacheck $OPS ops reads back what it wrote" \
	"$MT_TOOLS/datacheck" -s "$SEED" -n "$OPS" "$M/dc"
unmount_volume "$M" || diag "unmount failed"
stop_volume slow
