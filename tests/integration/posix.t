#!/bin/bash
#
# posix.t: run the POSIX conformance checker (tests/tools/posix_check) on a
# one-brick Mortar mount, as root and, for the permission subset, as an
# unprivileged user (uid/gid 65534) in a world-writable directory.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-600}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries "$MT_TOOLS/posix_check"
command -v setpriv >/dev/null || skip_all "setpriv missing"
plan 6

B=$MT_TMP/brick
M=$MT_TMP/mnt

tap_require "start brick" start_brick posix "$B"
tap_require "mount the volume" mount_volume "$M" posix "$BRICK_PORT"

tap_run_tool "posix_check --mortar as root" \
	"$MT_TOOLS/posix_check" --mortar "$M"

prepare_user() {
	mkdir "$M/user" && "$MT_TOOLS/posix_check" --prepare-user "$M/user"
}
tap_check "prepare fixtures for the unprivileged run" prepare_user

# The build tree may not be reachable for uid 65534: run a copy from $MT_TMP.
cp "$MT_TOOLS/posix_check" "$MT_TMP/posix_check"
tap_run_tool "posix_check --as-user (uid 65534)" \
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$MT_TMP/posix_check" --as-user "$M/user"

tap_check "unmount cleanly" unmount_volume "$M"
