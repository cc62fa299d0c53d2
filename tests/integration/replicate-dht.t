#!/bin/bash
#
# replicate-dht.t: distribute over replicate (2 x 2), the paths where the
# two translators meet.
#
#  - a renamed file whose linkto file sits on a replica set that lost a
#    brick reads back its content through a fresh mount (replicate must
#    pass distribute's mortar.xattr-req through, or distribute takes the
#    empty linkto file for the file);
#  - hard links and renames across directories (posix_check's links and
#    rename groups);
#  - a directory renamed over a directory that is not empty on one replica
#    set only fails with ENOTEMPTY and changes nothing on any brick.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-180}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries "$MORTAR_VOLGEN" "$MT_TOOLS/posix_check"
for x in distribute replicate; do
	[ -e "$top_builddir/translators/cluster/$x/.libs/$x.so" ] ||
		skip_all "cluster/$x is not built"
done
plan 9

M=$MT_TMP/mnt
M2=$MT_TMP/mnt2
tap_require "start a 2 x 2 distributed-replicate volume" \
	start_volume rd distributed-replicate 4 --replica 2
tap_require "mount it" mount_volume_of rd "$M"

tap_run_tool "posix_check: hard links" \
	"$MT_TOOLS/posix_check" --mortar --only links "$M"
tap_run_tool "posix_check: renames" \
	"$MT_TOOLS/posix_check" --mortar --only rename "$M"

# Directory d2 gets a file on one replica set only; renaming d1 over it
# must fail everywhere.  gfids NAME: the gfid of NAME on each brick.
gfids() {
	local b
	for b in 0 1 2 3; do
		getfattr --absolute-names -e hex -n trusted.mortar.gfid \
			"$(brick_dir "rd-b$b")/$1" 2>/dev/null | sed -n 's/^trusted.*=//p'
	done | sort | uniq -c
}
rename_nonempty() {
	local before after
	mkdir "$M/d1" "$M/d2" && echo x >"$M/d2/only" || return 1
	before="$(gfids d1)|$(gfids d2)"
	if (cd "$M" && python3 -c 'import os; os.rename("d1", "d2")') 2>"$MT_TMP/ren.err"; then
		echo "rename over a non-empty directory worked"
		return 1
	fi
	grep -q 'Errno 39' "$MT_TMP/ren.err" || { cat "$MT_TMP/ren.err"; return 1; }
	after="$(gfids d1)|$(gfids d2)"
	[ "$before" = "$after" ] || { echo "bricks changed: $before -> $after"; return 1; }
	[ "$(cat "$M/d2/only")" = x ] && [ -d "$M/d1" ] &&
		mv "$M/d1" "$M/d2/moved" && [ -d "$M/d2/moved" ]
}
tap_check "rename a dir over a dir non-empty on one set: ENOTEMPTY, bricks unchanged" \
	rename_nonempty

# 40 renamed files: distribute leaves linkto files where the new names
# hash.  Brick 1 dies; a fresh mount (nothing looked up yet) reads all.
renames() {
	local i
	mkdir "$M/ren" || return 1
	for i in $(seq 1 40); do
		echo "content $i" >"$M/ren/f$i" && mv "$M/ren/f$i" "$M/ren/g$i" || return 1
	done
	n=$(find "$(brick_dir rd-b0)/ren" -type f -perm 1000 -size 0 | wc -l)
	diag "$n linkto files on replica set 0"
	[ "$n" -gt 0 ]
}
tap_check "rename 40 files (some linkto files land on replica set 0)" renames
kill_brick rd-b1
read_all() {
	local i got
	for i in $(seq 1 40); do
		got=$(cat "$M2/ren/g$i") || return 1
		[ "$got" = "content $i" ] || { echo "ren/g$i reads '$got'"; return 1; }
	done
}
tap_require "a second mount while brick 1 is down" mount_volume_of rd "$M2"
tap_check "every renamed file reads back its content" read_all
unmount_both() { unmount_volume "$M2" && unmount_volume "$M"; }
tap_check "both mounts unmount cleanly" unmount_both
