#!/bin/bash
#
# graph-switch.t: a mounted client switches to a newer client volfile
# live.  Written step by step; see the checks below.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-240}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

plan 4
V=gs
M=$MT_TMP/m
LOG=$MT_TMP/logs/mount-m.log

tap_require "start a distribute volume of 2 bricks" \
	start_volume $V distribute 2
tap_require "mount it, asking for a newer volfile every second" \
	mount_volume_of $V "$M" volfile-check-interval=1
tap_require "add a brick (volfiles regenerated, version bumped)" add_brick $V
tap_check "the client learns of the newer volfile" \
	wait_for 20 grep -q "a newer volfile is served" "$LOG"
mt_summary
