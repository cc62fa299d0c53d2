#!/bin/bash
#
# unify-place.t: where cluster/unify's schedulers put new files, counted
# in the brick directories.
#   rr:   4*k files land exactly k on each of 4 bricks.
#   nufa: files go to the local brick (a small tmpfs) until its free space
#         drops below min-free-disk, then to the others; no write fails.
#   alu:  with one brick pre-filled on disk, new files go to the emptier.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-180}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/unify-lib.sh
. "$top_srcdir/tests/integration/unify-lib.sh"

require_binaries
plan 18

K=25

# small_fs DIR SIZE: a tmpfs of SIZE at DIR, unmounted by the cleanup.
small_fs() {
	mkdir -p "$1" && mount -t tmpfs -o "size=$2" tmpfs "$1" &&
		mt_track .mounts "$1"
}

# ---- rr
tap_require "start 4 bricks (rr)" unify_bricks r 4
unify_volfile r 4 "$MT_TMP/r.vol" "scheduler rr"
tap_require "mount rr volume" mount_volfile "$MT_TMP/r.vol" "$MT_TMP/mr"
rr_even() {
	for ((i = 0; i < 4 * K; i++)); do
		echo "$i" >"$MT_TMP/mr/f$i" || return 1
	done
	for i in 0 1 2 3; do
		echo "brick $i: $(unify_count "$MT_TMP/r$i")"
		[ "$(unify_count "$MT_TMP/r$i")" -eq "$K" ] || return 1
	done
}
tap_check "rr: $((4 * K)) files, exactly $K on each brick" rr_even
tap_check "unmount rr volume" unmount_volume "$MT_TMP/mr"

# ---- nufa: local brick n0 on a 16 MiB tmpfs, min-free-disk 50%; the
# others on 64 MiB ones (so their free share does not depend on /tmp)
tap_require "tmpfs for the bricks" eval 'small_fs "$MT_TMP/n0" 16m &&
	small_fs "$MT_TMP/n1" 64m && small_fs "$MT_TMP/n2" 64m'
tap_require "start 3 bricks (nufa)" unify_bricks n 3
unify_volfile n 3 "$MT_TMP/n.vol" "scheduler nufa" \
	"local-volume-name n-client-0" "min-free-disk 50" "refresh-interval 0"
tap_require "mount nufa volume" mount_volfile "$MT_TMP/n.vol" "$MT_TMP/mn"
nufa_fill() {
	local i where
	df "$MT_TMP/mn" >/dev/null # free space known before the first file
	for ((i = 0; i < 20; i++)); do
		dd if=/dev/urandom of="$MT_TMP/mn/f$i" bs=1M count=1 \
			status=none conv=fsync || { echo "write f$i failed"; return 1; }
	done
	for ((i = 0; i < 20; i++)); do
		where=x
		for b in 0 1 2; do [ -f "$MT_TMP/n$b/f$i" ] && where=$b; done
		NUFA_PLACES+="$where"
	done
	echo "placement of f0..f19: $NUFA_PLACES"
}
NUFA_PLACES=
tap_check "nufa: 20 files of 1 MiB written, no write fails" nufa_fill
nufa_local_first() {
	# The first files (16 MiB fs, half must stay free) go local.
	[[ ${NUFA_PLACES:0:6} == 000000 ]]
}
tap_check "nufa: the first files land on the local brick" nufa_local_first
nufa_then_elsewhere() {
	local tail=${NUFA_PLACES:12}
	echo "last 8: $tail"
	[[ $tail != *0* ]] && [[ $tail == *1* ]] && [[ $tail == *2* ]] &&
		[ "$(unify_count "$MT_TMP/n0")" -le 10 ]
}
tap_check "nufa: past min-free-disk new files go to the other bricks" nufa_then_elsewhere
nufa_data() {
	for ((i = 0; i < 20; i++)); do
		for b in 0 1 2; do
			[ -f "$MT_TMP/n$b/f$i" ] || continue
			cmp "$MT_TMP/mn/f$i" "$MT_TMP/n$b/f$i" || return 1
		done
	done
}
tap_check "nufa: every file reads back as its brick copy" nufa_data
tap_check "unmount nufa volume" unmount_volume "$MT_TMP/mn"

# ---- alu: two 32 MiB tmpfs bricks, a0 pre-filled with 20 MiB
tap_require "tmpfs for two alu bricks" eval 'small_fs "$MT_TMP/a0" 32m && small_fs "$MT_TMP/a1" 32m'
tap_require "pre-fill brick a0 on disk" \
	dd if=/dev/zero of="$MT_TMP/a0/filler" bs=1M count=20 status=none
tap_require "start 2 bricks (alu)" unify_bricks a 2
unify_volfile a 2 "$MT_TMP/a.vol" "scheduler alu" "min-free-disk 5" \
	"alu.disk-usage.entry-threshold 4M" "refresh-interval 0"
tap_require "mount alu volume" mount_volfile "$MT_TMP/a.vol" "$MT_TMP/ma"
alu_prefers_empty() {
	df "$MT_TMP/ma" >/dev/null
	for ((i = 0; i < 12; i++)); do
		echo "$i" >"$MT_TMP/ma/s$i" || return 1
	done
	echo "a0: $(unify_count "$MT_TMP/a0") a1: $(unify_count "$MT_TMP/a1")"
	[ "$(unify_count "$MT_TMP/a1")" -eq 12 ]
}
tap_check "alu: new files go to the emptier brick" alu_prefers_empty
tap_check "unmount alu volume" unmount_volume "$MT_TMP/ma"
