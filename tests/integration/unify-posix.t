#!/bin/bash
#
# unify-posix.t: the POSIX conformance checker (tests/tools/posix_check
# --mortar) and the data checker (tests/tools/datacheck) on a 4-brick
# cluster/unify mount; afterwards each checked file equals its copy on
# the one brick that holds it.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-600}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries "$MORTAR_VOLGEN" "$MT_TOOLS/posix_check" "$MT_TOOLS/datacheck"
plan 8

M=$MT_TMP/mnt
OPS=${MORTAR_TEST_DATACHECK_OPS:-6000}
SEED2=${MORTAR_TEST_SEED:-$RANDOM$RANDOM}

tap_require "start a 4-brick unify volume" start_volume p unify 4 \
	--option p-unify:child-up-timeout=10
tap_require "mount it" mount_volume_of p "$M"

tap_run_tool "posix_check --mortar on unify" \
	"$MT_TOOLS/posix_check" --mortar "$M"

MT_VERBOSE=1 tap_check "datacheck $OPS ops, seed 20261122" \
	"$MT_TOOLS/datacheck" -s 20261122 -n "$OPS" "$M/dc1"
diag "second seed: $SEED2 (replay: MORTAR_TEST_SEED=$SEED2)"
MT_VERBOSE=1 tap_check "datacheck $OPS ops, seed $SEED2" \
	"$MT_TOOLS/datacheck" -s "$SEED2" -n "$OPS" "$M/dc2"

# same_as_brick NAME: exactly one brick holds NAME and it equals the mount.
same_as_brick() {
	local i n=0
	for i in 0 1 2 3; do
		[ -f "$MT_TMP/p/b$i/$1" ] || continue
		n=$((n + 1))
		cmp "$M/$1" "$MT_TMP/p/b$i/$1" || return 1
	done
	[ "$n" -eq 1 ]
}
tap_check "dc1 is on one brick and equals it" same_as_brick dc1
tap_check "dc2 is on one brick and equals it" same_as_brick dc2
tap_check "unmount cleanly" unmount_volume "$M"
