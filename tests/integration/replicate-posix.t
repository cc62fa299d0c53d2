#!/bin/bash
# replicate-posix.t - POSIX conformance (posix_check --mortar) and the data
# checker (random pwrite/pread/truncate/reopen) through a replica 2
# volume; afterwards both brick copies are identical.
#
# The bricks live on a tmpfs: ext4 keeps all xattrs of an inode in one
# 4 KiB block, and while a change is in flight the replica counters
# (trusted.mortar.afr.*, ~150 bytes) share it with the user's, so
# posix_check's 4000-byte user xattr would not fit on ext4 (it does not on
# a local ext4 either once another xattr is there).
#
# Knobs: MORTAR_TEST_DATACHECK_OPS (default 3000 here), MORTAR_TEST_SEED.
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/../lib/replica.sh
. "$top_srcdir/tests/lib/replica.sh"

require_binaries "$MT_TOOLS/posix_check" "$MT_TOOLS/datacheck"
plan 9

OPS=${MORTAR_TEST_DATACHECK_OPS:-3000}
SEED=${MORTAR_TEST_SEED:-$RANDOM$RANDOM}

mkdir -p "$MT_TMP/px"
tap_require "tmpfs for the bricks" mount -t tmpfs -o size=512m tmpfs "$MT_TMP/px"
mt_track .mounts "$MT_TMP/px"
tap_require "start a replica 2 volume" start_volume px replicate 2 --replica 2
M=$MT_TMP/mnt
tap_require "mount" mount_volume_of px "$M"
mkdir -p "$M/posix"
tap_run_tool "posix_check --mortar on replica 2" \
	"$MT_TOOLS/posix_check" --mortar "$M/posix"
diag "datacheck seed $SEED (replay: MORTAR_TEST_SEED=$SEED)"
MT_VERBOSE=1 tap_check "datacheck $OPS ops on replica 2" \
	"$MT_TOOLS/datacheck" -s "$SEED" -n "$OPS" "$M/dc"
tap_check "datacheck file identical on both bricks" \
	wait_for 10 same_copies px dc
tap_check "no pending counters left" wait_for 10 clean_counters px dc
tap_check "unmount" unmount_volume "$M"
stop_volume px
tap_check "tmpfs unmounted" umount "$MT_TMP/px"
mt_untrack .mounts "$MT_TMP/px"
