#!/bin/bash
#
# datacheck.t: random pwrite/pread/ftruncate/reopen/fsync operations on a
# one-brick mount, checked against an in-memory reference
# (tests/tools/datacheck): one fixed seed and one random seed (printed, so
# a failure can be replayed with datacheck -s SEED).  Afterwards the file
# seen through the mount must equal the file inside the brick.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-900}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries "$MT_TOOLS/datacheck"
plan 7

B=$MT_TMP/brick
M=$MT_TMP/mnt
OPS=${MORTAR_TEST_DATACHECK_OPS:-20000}
SEED2=${MORTAR_TEST_SEED:-$RANDOM$RANDOM}

tap_require "start brick" start_brick dc "$B"
tap_require "mount the volume" mount_volume "$M" dc "$BRICK_PORT"

MT_VERBOSE=1 tap_check "datacheck $OPS ops, seed 20261122" \
	"$MT_TOOLS/datacheck" -s 20261122 -n "$OPS" "$M/dc1"
diag "second seed: $SEED2 (replay: MORTAR_TEST_SEED=$SEED2)"
MT_VERBOSE=1 tap_check "datacheck $OPS ops, seed $SEED2" \
	"$MT_TOOLS/datacheck" -s "$SEED2" -n "$OPS" "$M/dc2"

tap_check "file on the mount equals the brick's copy (seed 20261122)" \
	cmp "$M/dc1" "$B/dc1"
tap_check "file on the mount equals the brick's copy (seed $SEED2)" \
	cmp "$M/dc2" "$B/dc2"

tap_check "unmount cleanly" unmount_volume "$M"
