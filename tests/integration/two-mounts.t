#!/bin/bash
#
# two-mounts.t: two clients of one volume.  A file written and closed on
# mount A has the same bytes when opened on mount B (close-to-open), even
# when B had read the old version; size and mtime agree once B's attribute
# cache (attribute-timeout, 1 s by default) has expired; renames, unlinks
# and new directories made on A show up on B within the entry timeout.
#
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries
plan 14

B=$MT_TMP/brick
A=$MT_TMP/mntA
C=$MT_TMP/mntB
# The kernel may serve cached attributes/entries this long (default 1 s).
CACHE_WAIT=${MORTAR_TEST_CACHE_WAIT:-3}

tap_require "start brick" start_brick two "$B"
tap_require "mount A" mount_volume "$A" two "$BRICK_PORT"
tap_require "mount B" mount_volume "$C" two "$BRICK_PORT"

head -c 5000 /dev/urandom >"$MT_TMP/old"
head -c 1234567 /dev/urandom >"$MT_TMP/new"

# B reads the old version first, so its page cache holds stale data.
prime() {
	cp "$MT_TMP/old" "$A/f" && cmp "$MT_TMP/old" "$C/f"
}
tap_check "B reads the file written on A" prime

# shellcheck disable=SC2016 # expanded by the inner shell
tap_check "after close on A, open on B reads the new bytes" \
	sh -c 'cp "$1" "$2/f" && cmp "$1" "$3/f"' sh "$MT_TMP/new" "$A" "$C"

same_attrs() {
	[ "$(stat -c '%s %.9Y %a %u %g' "$A/f")" = \
		"$(stat -c '%s %.9Y %a %u %g' "$C/f")" ]
}
tap_check "size, mtime, mode, owner agree on A and B" \
	wait_for "$CACHE_WAIT" same_attrs
diag "A: $(stat -c '%s %.9Y' "$A/f")  B: $(stat -c '%s %.9Y' "$C/f")"

missing_on_b() { [ ! -e "$C/$1" ]; }
present_on_b() { [ -e "$C/$1" ]; }

mv "$A/f" "$A/g"
tap_check "rename on A: new name visible on B" wait_for "$CACHE_WAIT" \
	present_on_b g
tap_check "rename on A: old name gone on B" wait_for "$CACHE_WAIT" \
	missing_on_b f
tap_check "renamed file has the new content on B" cmp "$MT_TMP/new" "$C/g"

rm -f "$A/g"
tap_check "unlink on A: gone on B" wait_for "$CACHE_WAIT" missing_on_b g

mkdir_and_fill() {
	mkdir "$A/dir" && touch "$A/dir/one" "$A/dir/two" && mkdir "$A/dir/sub"
}
listed_on_b() {
	[ "$(find "$C/dir" -mindepth 1 -maxdepth 1 -printf '%P\n' |
		LC_ALL=C sort | tr '\n' ' ')" = "one sub two " ]
}
tap_check "mkdir + files on A" mkdir_and_fill
tap_check "new directory on A is listable on B" wait_for "$CACHE_WAIT" \
	listed_on_b

tap_check "unmount A" unmount_volume "$A"
tap_check "unmount B" unmount_volume "$C"
