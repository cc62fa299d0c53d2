#!/bin/bash
#
# distribute-linkto.t: a linkto file is told by its xattr, not by its mode.
# On a 4-brick distribute volume, users' files of mode exactly 1000 (one
# empty, one with data) are listed, stat'ed, read, renamed (also to a name
# that hashes to another brick, which leaves a real linkto file of the
# same mode and name beside the user's file) and removed like any file,
# while linkto files stay hidden; rmdir of a directory holding only such a
# file says ENOTEMPTY and keeps it; mortar-rebalance moves such a file to
# its hashed brick.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-120}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/distribute-lib.sh
. "$top_srcdir/tests/integration/distribute-lib.sh"

RB=$top_builddir/extras/tools/mortar-rebalance
require_binaries "$RB"
command -v getfattr >/dev/null || skip_all "getfattr missing"
plan 14

M=$MT_TMP/mnt
B=$MT_TMP/lt/b

tap_require "start 4 bricks" dht_volume lt 4 min-free-disk=0
tap_require "mount" mount_volume_of lt "$M"

listing() { (cd "$M/$1" && find . -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort | tr '\n' ' '); }

make_files() {
	mkdir "$M/t" || return 1
	: >"$M/t/empty" && chmod 1000 "$M/t/empty" || return 1
	printf 'user data\n' >"$M/t/full" && chmod 1000 "$M/t/full" || return 1
	echo plain >"$M/t/plain"
}
tap_require "make two files of mode 1000 (empty, 10 bytes) and a plain one" \
	make_files

modes() {
	local got
	got=$(stat -c '%a %s' "$M/t/empty" "$M/t/full" | tr '\n' ' ')
	echo "mode, size: $got"
	[ "$got" = "1000 0 1000 10 " ]
}
tap_check "stat: mode 1000, sizes 0 and 10" modes
tap_check "the one with data reads back" \
	test "$(cat "$M/t/full")" = "user data"
tap_check "readdir lists them" test "$(listing t)" = "empty full plain "

# Rename the 10-byte file to a name that hashes to another brick: its
# data stays where it is (mode 1000, no xattr), a linkto file of the same
# mode and name goes to the new name's brick.
FULL_AT=$(dht_brick_of lt t/full)
read -r NEW _ < <(dht_name_off_brick lt "$M" t "$FULL_AT")
renamed() {
	local at lb
	[ -n "$NEW" ] && mv "$M/t/full" "$M/t/$NEW" || return 1
	at=$(dht_brick_of lt "t/$NEW")
	lb=$(dht_linkto_brick_of lt "t/$NEW")
	echo "data on brick $at (was $FULL_AT), linkto on brick ${lb:-none}"
	[ "$at" = "$FULL_AT" ] && [ -n "$lb" ] && [ "$lb" != "$at" ] &&
		[ "$(stat -c %a "$B$at/t/$NEW")" = 1000 ] &&
		[ "$(cat "$M/t/$NEW")" = "user data" ]
}
tap_check "renamed to a name on another brick: reads back, a linkto left" renamed
tap_check "readdir lists each name once and hides the linkto" \
	test "$(listing t)" = "empty plain $NEW "
tap_check "stat by the new name: mode 1000, 10 bytes" \
	test "$(stat -c '%a %s' "$M/t/$NEW")" = "1000 10"

removed() {
	mv "$M/t/empty" "$M/t/empty2" && rm "$M/t/empty2" "$M/t/$NEW" ||
		return 1
	! find "$B"*/t -name empty2 -o -name "$NEW" | grep . &&
		[ "$(listing t)" = "plain " ]
}
tap_check "rename and unlink remove them everywhere (data and linkto)" removed

# rmdir must not take a user's file of mode 1000 for a linkto leftover.
rmdir_keeps() {
	local out
	mkdir "$M/t2" && : >"$M/t2/z" && chmod 1000 "$M/t2/z" || return 1
	out=$(rmdir "$M/t2" 2>&1)
	echo "rmdir: $out"
	echo "$out" | grep -q "not empty" && [ -f "$M/t2/z" ] &&
		[ "$(listing t2)" = "z " ]
}
tap_check "rmdir of a directory with only a mode 1000 file: ENOTEMPTY, kept" \
	rmdir_keeps

# A file of mode 1000 off its hashed brick (renamed, as above) is moved to
# it by the rebalance like any file.
mkdir "$M/r"
head -c 100000 /dev/urandom >"$MT_TMP/rdata"
cp "$MT_TMP/rdata" "$M/r/src"
SRC_AT=$(dht_brick_of lt r/src)
read -r RNEW _ < <(dht_name_off_brick lt "$M" r "$SRC_AT")
mv "$M/r/src" "$M/r/$RNEW" && chmod 1000 "$M/r/$RNEW"
HASHED=$(dht_linkto_brick_of lt "r/$RNEW")
MT_VERBOSE=1 tap_check "rebalance start" "$RB" -f "$(volume_volfile lt)" \
	--progress 60 start
moved() {
	local at
	at=$(dht_brick_of lt "r/$RNEW")
	echo "data was on brick $SRC_AT, hashed brick ${HASHED:-?}, now on ${at:-none}"
	[ -n "$HASHED" ] && [ "$at" = "$HASHED" ] &&
		[ "$(stat -c %a "$B$at/r/$RNEW")" = 1000 ] &&
		[ ! -e "$B$SRC_AT/r/$RNEW" ] &&
		[ "$(stat -c '%a %s' "$M/r/$RNEW")" = "1000 100000" ] &&
		cmp "$MT_TMP/rdata" "$M/r/$RNEW" &&
		[ "$(listing r)" = "$RNEW " ]
}
tap_check "a mode 1000 file is moved to its hashed brick, reads back" moved
tap_check "unmount" unmount_volume "$M"
