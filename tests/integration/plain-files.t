#!/bin/bash
#
# plain-files.t: a brick keeps plain files.  Files, directories and a
# symlink created through a mount appear inside the brick's export
# directory with the same names, bytes, mode, owner and mtime, and the
# only extra entry there is the hidden .mortar folder.
#
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries
command -v getfattr >/dev/null || skip_all "getfattr (attr) missing"
plan 11

B=$MT_TMP/brick
M=$MT_TMP/mnt

tap_require "start brick" start_brick plain "$B"
tap_require "mount the volume" mount_volume "$M" plain "$BRICK_PORT"

populate() {
	head -c 100000 /dev/urandom >"$M/file1" &&
		chmod 0640 "$M/file1" &&
		chown 1234:5678 "$M/file1" &&
		touch -m -d '2020-01-02 03:04:05.123456789' "$M/file1" &&
		: >"$M/empty" &&
		mkdir "$M/dir1" &&
		echo hello >"$M/dir1/file2" &&
		mkdir "$M/dir1/sub" &&
		head -c 3000 /dev/urandom >"$M/dir1/sub/file3" &&
		chmod 0750 "$M/dir1" &&
		chmod 4711 "$M/dir1/sub/file3" &&
		ln -s file1 "$M/link1" &&
		ln -s ../missing "$M/dir1/dangling" &&
		chown -h 42:43 "$M/link1" &&
		setfattr -n user.color -v blue "$M/file1"
}
tap_require "create files, dirs, symlinks through the mount" populate

# Entries below a root, in order, without the brick's hidden folder.
entries() {
	(cd "$1" && find . -mindepth 1 -path ./.mortar -prune -o -print |
		LC_ALL=C sort)
}
tap_check "the brick has the same entries as the mount" \
	diff <(entries "$M") <(entries "$B")

# Type, mode, owner, mtime in ns; size for non-directories.
attrs() {
	local p
	(cd "$1" && entries . | while read -r p; do
		if [ -d "$p" ] && [ ! -L "$p" ]; then
			stat -c '%n %F %a %u %g %.9Y' "$p"
		else
			stat -c '%n %F %a %u %g %.9Y %s' "$p"
		fi
	done)
}
tap_check "same type, mode, owner, mtime and size in the brick" \
	diff <(attrs "$M") <(attrs "$B")
diag "$(attrs "$B")"

same_bytes() {
	cmp "$M/file1" "$B/file1" && cmp "$M/dir1/file2" "$B/dir1/file2" &&
		cmp "$M/dir1/sub/file3" "$B/dir1/sub/file3" &&
		cmp "$M/empty" "$B/empty"
}
tap_check "same bytes in the brick" same_bytes

same_links() {
	[ "$(readlink "$B/link1")" = file1 ] &&
		[ "$(readlink "$B/dir1/dangling")" = ../missing ] &&
		[ -L "$B/link1" ]
}
tap_check "symlinks are symlinks in the brick, same targets" same_links

# shellcheck disable=SC2016 # expanded by the inner shell
tap_check "user xattr stored on the brick file" \
	sh -c '[ "$(getfattr --only-values -n user.color "$1")" = blue ]' \
	sh "$B/file1"

hidden_folder() {
	[ -d "$B/.mortar" ] && [ ! -e "$M/.mortar" ] &&
		[ -z "$(find "$M" -mindepth 1 -maxdepth 1 -name .mortar)" ]
}
tap_check "brick has .mortar, the mount does not show it" hidden_folder

only_mortar_extra() {
	[ "$(find "$B" -mindepth 1 -maxdepth 1 -printf '%P\n' |
		LC_ALL=C sort | tr '\n' ' ')" = \
		".mortar dir1 empty file1 link1 " ]
}
tap_check "brick root holds only our entries and .mortar" only_mortar_extra

tap_check "unmount cleanly" unmount_volume "$M"
