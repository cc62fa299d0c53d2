#!/bin/bash
#
# unify-place.t: where cluster/unify's schedulers put new files, counted
# in the brick directories.  Volumes come from mortar-volgen (start_volume).
#   rr:   4*k files land exactly k on each of 4 bricks.
#   nufa: files go to the local brick (local-volume-name; a small tmpfs)
#         until its free space drops below min-free-disk, then to the
#         others; no write fails.  Without local-volume-name the brick on
#         this machine (loopback: the first) is the local one.
#   alu:  with one brick pre-filled on disk, new files go to the emptier.
#   random: each file on one brick, more than one brick used.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-180}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries "$MORTAR_VOLGEN"
plan 31

K=25
# Every volume waits for all its bricks before it is up, so the first
# files are not all placed on the first brick to connect.
WAIT="child-up-timeout=10"

# small_fs DIR SIZE: a tmpfs of SIZE at DIR, unmounted by the cleanup.
small_fs() {
	mkdir -p "$1" && mount -t tmpfs -o "size=$2" tmpfs "$1" &&
		mt_track .mounts "$1"
}

# count DIR: regular files directly in a brick directory.
count() {
	find "$1" -maxdepth 1 -type f | wc -l
}

# places VOL N PREFIX: the brick index of PREFIX0..PREFIX<N-1>, one digit
# each (x: on no brick, d: on several).
places() {
	local vol=$1 n=$2 p=$3 i b where out=
	for ((i = 0; i < n; i++)); do
		where=x
		for b in 0 1 2 3; do
			[ -f "$MT_TMP/$vol/b$b/$p$i" ] || continue
			[ "$where" = x ] && where=$b || where=d
		done
		out+=$where
	done
	echo "$out"
}

# ---- rr
tap_require "start a 4-brick rr volume" start_volume r unify 4 \
	--scheduler rr --option "r-unify:$WAIT"
tap_require "mount it" mount_volume_of r "$MT_TMP/mr"
rr_even() {
	for ((i = 0; i < 4 * K; i++)); do
		echo "$i" >"$MT_TMP/mr/f$i" || return 1
	done
	for i in 0 1 2 3; do
		echo "brick $i: $(count "$MT_TMP/r/b$i")"
		[ "$(count "$MT_TMP/r/b$i")" -eq "$K" ] || return 1
	done
}
tap_check "rr: $((4 * K)) files, exactly $K on each brick" rr_even
tap_check "unmount rr volume" unmount_volume "$MT_TMP/mr"
tap_check "stop rr volume" stop_volume r

# ---- random: every file on exactly one brick, more than one brick used
tap_require "start a 4-brick random volume" start_volume x unify 4 \
	--scheduler random --option "x-unify:$WAIT"
tap_require "mount it" mount_volume_of x "$MT_TMP/mx"
random_spread() {
	local p used=0
	for ((i = 0; i < 40; i++)); do echo "$i" >"$MT_TMP/mx/f$i" || return 1; done
	p=$(places x 40 f)
	echo "placement: $p"
	[ "${p//[0123]/}" = "" ] || return 1
	for b in 0 1 2 3; do [[ $p == *$b* ]] && used=$((used + 1)); done
	[ $used -ge 2 ] # all 40 on one brick: chance 4^-39
}
tap_check "random: 40 files, each on one brick, spread over bricks" random_spread
tap_check "unmount random volume" unmount_volume "$MT_TMP/mx"
tap_check "stop random volume" stop_volume x

# ---- nufa: local brick b1 on a 16 MiB tmpfs, min-free-disk 50%; the
# others on 64 MiB ones (their free share must not depend on /tmp)
nufa_fs() {
	small_fs "$MT_TMP/n/b0" 64m && small_fs "$MT_TMP/n/b1" 16m &&
		small_fs "$MT_TMP/n/b2" 64m
}
tap_require "tmpfs for the bricks" nufa_fs
tap_require "start a 3-brick nufa volume (local n-client-1)" start_volume n \
	unify 3 --scheduler nufa --option n-unify:local-volume-name=n-client-1 \
	--option n-unify:min-free-disk=50 --option n-unify:refresh-interval=0 \
	--option "n-unify:$WAIT"
tap_require "mount it" mount_volume_of n "$MT_TMP/mn"
nufa_fill() {
	local i
	df "$MT_TMP/mn" >/dev/null # free space known before the first file
	for ((i = 0; i < 20; i++)); do
		dd if=/dev/urandom of="$MT_TMP/mn/f$i" bs=1M count=1 \
			status=none conv=fsync || { echo "write f$i failed"; return 1; }
	done
}
tap_check "nufa: 20 files of 1 MiB written, no write fails" nufa_fill
NUFA=$(places n 20 f)
diag "nufa placement of f0..f19: $NUFA"
tap_check "nufa: the first files land on the local brick" \
	test "${NUFA:0:6}" = 111111
nufa_then_elsewhere() {
	local tail=${NUFA:12}
	[[ $tail != *1* ]] && [[ $tail == *0* ]] && [[ $tail == *2* ]] &&
		[ "$(count "$MT_TMP/n/b1")" -le 10 ]
}
tap_check "nufa: past min-free-disk new files go to the other bricks" nufa_then_elsewhere
tap_check "nufa: every file is on exactly one brick" test "${NUFA//[012]/}" = ""
nufa_data() {
	for ((i = 0; i < 20; i++)); do
		cmp "$MT_TMP/mn/f$i" "$MT_TMP/n/b${NUFA:$i:1}/f$i" || return 1
	done
}
tap_check "nufa: every file reads back as its brick copy" nufa_data
tap_check "unmount nufa volume" unmount_volume "$MT_TMP/mn"
tap_check "stop nufa volume" stop_volume n

# nufa without local-volume-name: the brick on this machine.  All bricks
# are on 127.0.0.1 here, so the first one.
tap_require "start a nufa volume without local-volume-name" start_volume m \
	unify 3 --scheduler nufa --option "m-unify:$WAIT"
tap_require "mount it" mount_volume_of m "$MT_TMP/mm"
nufa_auto() {
	for ((i = 0; i < 6; i++)); do echo "$i" >"$MT_TMP/mm/g$i" || return 1; done
	[ "$(places m 6 g)" = 000000 ]
}
tap_check "nufa: files go to the brick found on this machine" nufa_auto
tap_check "unmount" unmount_volume "$MT_TMP/mm"

# ---- alu: two 32 MiB tmpfs bricks, b0 pre-filled with 20 MiB on disk
alu_fs() { small_fs "$MT_TMP/a/b0" 32m && small_fs "$MT_TMP/a/b1" 32m; }
tap_require "tmpfs for two alu bricks" alu_fs
tap_require "pre-fill brick 0 on disk" \
	dd if=/dev/zero of="$MT_TMP/a/b0/filler" bs=1M count=20 status=none
tap_require "start a 2-brick alu volume" start_volume a unify 2 \
	--scheduler alu --option a-unify:alu.disk-usage.entry-threshold=4M \
	--option a-unify:refresh-interval=0 --option "a-unify:$WAIT"
tap_require "mount it" mount_volume_of a "$MT_TMP/ma"
alu_prefers_empty() {
	df "$MT_TMP/ma" >/dev/null
	for ((i = 0; i < 12; i++)); do
		echo "$i" >"$MT_TMP/ma/s$i" || return 1
	done
	echo "b0: $(count "$MT_TMP/a/b0") b1: $(count "$MT_TMP/a/b1")"
	[ "$(count "$MT_TMP/a/b1")" -eq 12 ]
}
tap_check "alu: new files go to the emptier brick" alu_prefers_empty
tap_check "unmount alu volume" unmount_volume "$MT_TMP/ma"
tap_check "stop alu volume" stop_volume a
