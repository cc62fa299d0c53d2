#!/bin/bash
#
# distribute-minfree.t: min-free-disk.  Brick 1 of 4 is a small tmpfs
# (12 MiB) and the volume keeps 8 MiB free per brick: once brick 1 is
# below that, new files hashed to it are made on another brick with a
# linkto file on brick 1, so filling the volume with 60 files of 512 KiB
# (30 MiB, brick 1's share alone would not fit) loses no write, every
# file reads back, and brick 1 is never full.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-300}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/distribute-lib.sh
. "$top_srcdir/tests/integration/distribute-lib.sh"

require_binaries
plan 8

M=$MT_TMP/mnt
T=$MT_TMP/mf/b1

mkdir -p "$T"
tap_require "a 12 MiB tmpfs for brick 1" mount -t tmpfs -o size=12m tmpfs "$T"
mt_track .mounts "$T"
tap_require "start 4 bricks, min-free-disk 8M" dht_volume mf 4 min-free-disk=8M
tap_require "mount" mount_volume_of mf "$M"

head -c $((512 << 10)) /dev/urandom >"$MT_TMP/blob"
fill() {
	local i
	mkdir "$M/fill" || return 1
	for i in $(seq 1 60); do
		cp "$MT_TMP/blob" "$M/fill/f$i" || {
			echo "write of f$i failed"
			return 1
		}
	done
}
tap_check "60 x 512 KiB written, no write fails" fill
readback() {
	local i
	for i in $(seq 1 60); do
		cmp "$MT_TMP/blob" "$M/fill/f$i" || return 1
	done
}
tap_check "every file reads back" readback
linktos() {
	local n m
	n=$(dht_linkto_files "$T/fill" | wc -l)
	m=$(dht_data_files "$T/fill" | wc -l)
	echo "brick 1: $m data files, $n linkto files; $(df -k "$T" | tail -n 1)"
	[ "$n" -gt 0 ]
}
tap_check "creates hashed to the full brick went elsewhere, with a linkto" \
	linktos
tap_check "brick 1 kept free space (never filled)" \
	test "$(df -k --output=avail "$T" | tail -n 1)" -gt 4096
tap_check "unmount" unmount_volume "$M"
