#!/bin/bash
#
# distribute-posix.t: the POSIX conformance checker (posix_check --mortar,
# as root and as an unprivileged user) and the data checker (random
# pwrite/pread/ftruncate/reopen/fsync against an in-memory reference) on a
# 4-brick distribute volume made by start_volume (mortar-volgen).  Each
# data file must be on exactly one brick, and equal to what the mount
# reads.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-600}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/distribute-lib.sh
. "$top_srcdir/tests/integration/distribute-lib.sh"

require_binaries "$MT_TOOLS/posix_check" "$MT_TOOLS/datacheck"
command -v setpriv >/dev/null || skip_all "setpriv missing"
plan 9

M=$MT_TMP/mnt
OPS=${MORTAR_TEST_DATACHECK_OPS:-3000}
SEED=${MORTAR_TEST_SEED:-$RANDOM$RANDOM}

tap_require "start a 4-brick distribute volume" \
	start_volume dp distribute 4
tap_require "mount it" mount_volume_of dp "$M"

tap_run_tool "posix_check --mortar as root" \
	"$MT_TOOLS/posix_check" --mortar "$M"

prepare_user() {
	mkdir "$M/user" && "$MT_TOOLS/posix_check" --prepare-user "$M/user"
}
tap_check "prepare fixtures for the unprivileged run" prepare_user
cp "$MT_TOOLS/posix_check" "$MT_TMP/posix_check"
tap_run_tool "posix_check --as-user (uid 65534)" \
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$MT_TMP/posix_check" --as-user "$M/user"

diag "datacheck seed: $SEED (replay: MORTAR_TEST_SEED=$SEED)"
datachecks() {
	local i
	for i in 1 2 3 4; do
		"$MT_TOOLS/datacheck" -s "$((SEED + i))" -n "$OPS" "$M/dc$i" ||
			return 1
	done
}
MT_VERBOSE=1 tap_check "datacheck, 4 files x $OPS ops" datachecks

# Where each dcN lives: exactly one brick holds its data, equal to the
# mount's view.
on_one_brick() {
	local i b n found
	for i in 1 2 3 4; do
		n=0
		for b in 0 1 2 3; do
			if [ -f "$MT_TMP/dp/b$b/dc$i" ] &&
				[ "$(stat -c %a "$MT_TMP/dp/b$b/dc$i")" != 1000 ]; then
				n=$((n + 1))
				found=$MT_TMP/dp/b$b/dc$i
			fi
		done
		[ $n -eq 1 ] || {
			echo "dc$i: $n data copies"
			return 1
		}
		cmp "$M/dc$i" "$found" || return 1
	done
}
tap_check "each file's data is on one brick, equal to the mount's" \
	on_one_brick
spread() {
	local b used=0
	for b in 0 1 2 3; do
		[ -n "$(dht_data_files "$MT_TMP/dp/b$b")" ] && used=$((used + 1))
	done
	echo "bricks holding files: $used"
	[ $used -ge 3 ]
}
tap_check "the checkers' files are spread over the bricks" spread
tap_check "unmount cleanly" unmount_volume "$M"
