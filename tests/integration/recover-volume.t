#!/bin/bash
#
# recover-volume.t: the admin's last resort on a real volume.  A 2 x 2
# distributed-replicate volume is written through a mount (a tree copied
# with cp -a, renames, then, with one brick crashed, changes that only its
# sibling gets), every daemon is stopped, and mortar-recover rebuilds the
# tree from the brick directories: it must equal what was written, byte
# for byte, with modes, owners, times, symlinks, hard links and user
# xattrs.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-300}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

RC=$top_builddir/extras/tools/mortar-recover
require_binaries "$MORTAR_VOLGEN" "$RC"
command -v setfattr >/dev/null || skip_all "setfattr (package attr) missing"
for x in distribute replicate; do
	[ -e "$top_builddir/translators/cluster/$x/.libs/$x.so" ] ||
		skip_all "cluster/$x is not built"
done
plan 12

M=$MT_TMP/mnt
REF=$MT_TMP/ref # the same operations on a local directory
T=$MT_TMP/recovered

make_ref() {
	local i
	mkdir -p "$REF/a/b/c" "$REF/ren" "$REF/mod" "$REF/empty" || return 1
	: >"$REF/a/zero"
	printf x >"$REF/a/one"
	head -c 4097 /dev/urandom >"$REF/a/b/page-plus-one"
	head -c $((1024 * 1024 + 3)) /dev/urandom >"$REF/a/b/c/mib-plus-three"
	head -c $((3 * 1024 * 1024)) /dev/urandom >"$REF/big"
	ln -s b/page-plus-one "$REF/a/link-to-page"
	ln "$REF/a/one" "$REF/a/one-hardlink"
	chmod 0600 "$REF/a/b/page-plus-one"
	chown 1234:5678 "$REF/a/b/c/mib-plus-three"
	chmod 2750 "$REF/a/b"
	setfattr -n user.origin -v ref "$REF/a/one"
	touch -h -d "2021-05-06 07:08:09" "$REF/a/link-to-page"
	for i in $(seq 1 30); do
		echo "rename me $i" >"$REF/ren/f$i"
		echo "modify me $i" >"$REF/mod/f$i"
	done
	touch -d "2019-12-31 23:59:59" "$REF/a/zero" "$REF/a/b/c/mib-plus-three"
}
tap_require "make the reference tree" make_ref
tap_require "start a 2 x 2 distributed-replicate volume" \
	start_volume rdr distributed-replicate 4 --replica 2
tap_require "mount it" mount_volume_of rdr "$M"
tap_check "cp -a the tree into the volume; it reads back the same" \
	sh -c "cp -a '$REF/.' '$M/' && diff -r --no-dereference '$REF' '$M'"

# Renames: a new name hashes elsewhere, so distribute leaves linkto files.
renames() {
	local i
	for i in $(seq 1 30); do
		mv "$M/ren/f$i" "$M/ren/g$i" && mv "$REF/ren/f$i" "$REF/ren/g$i" || return 1
	done
}
tap_check "rename 30 files" renames

# Brick 1 crashes: replica set 0 goes on with brick 0 alone, which blames
# brick 1 for what it missed.  Brick 1 never comes back before recovery.
changes() {
	local i
	for i in $(seq 1 30); do
		echo "appended $i" >>"$M/mod/f$i" && echo "appended $i" >>"$REF/mod/f$i" || return 1
	done
	for i in $(seq 1 10); do
		echo "new $i" >"$M/mod/new$i" && echo "new $i" >"$REF/mod/new$i" || return 1
	done
	dd if=/dev/urandom of="$MT_TMP/patch" bs=4096 count=8 status=none
	dd if="$MT_TMP/patch" of="$M/big" bs=4096 seek=100 conv=notrunc status=none &&
		dd if="$MT_TMP/patch" of="$REF/big" bs=4096 seek=100 conv=notrunc status=none &&
		rm "$M/mod/f30" && rm "$REF/mod/f30" &&
		mkdir "$M/mod/sub" && mkdir "$REF/mod/sub" &&
		sync "$M/big"
}
kill_brick rdr-b1
tap_check "with brick 1 crashed: appends, creates, an overwrite, a delete" changes
tap_check "the volume still reads back what was written" \
	diff -r --no-dereference "$REF" "$M"
tap_check "unmount cleanly" unmount_volume "$M"
tap_check "stop the remaining bricks" stop_volume rdr

# What the bricks hold now (diagnostics: the paths recovery must take).
linktos=$(find "$MT_TMP/rdr" -path '*/.mortar' -prune -o -type f -perm 1000 -size 0 -print | wc -l)
blamed=0
while IFS= read -r f; do
	v=$(getfattr --absolute-names -e hex -n trusted.mortar.afr.rdr-client-1 "$f" 2>/dev/null |
		sed -n 's/^trusted.mortar.afr.rdr-client-1=0x//p')
	[ -n "${v//0/}" ] && blamed=$((blamed + 1))
done < <(find "$(brick_dir rdr-b0)" -path '*/.mortar' -prune -o -print)
diag "on the bricks: $linktos linkto files; $blamed files on brick 0 blaming brick 1"

recover_all() {
	"$RC" "${MT_VOL_DIR[rdr]}/rdr.vol" "$T" >"$MT_TMP/rc.out" 2>&1
	local rc=$?
	cat "$MT_TMP/rc.out"
	# (the cleanup fails the script on a sanitizer report in logs/)
	cp "$MT_TMP/rc.out" "$MT_TMP/logs/mortar-recover.out"
	[ $rc = 0 ]
}
tap_check "mortar-recover with every daemon stopped: exit 0, no split-brain" recover_all
tap_check "the recovered tree equals what was written, byte for byte" \
	diff -r --no-dereference "$REF" "$T"

# stat of every name: type, mode, owner, size; mtime for what was not
# touched after cp -a.
meta_same() {
	local f want got
	while IFS= read -r f; do
		want=$(stat -c '%F %a %u:%g %s' "$REF/$f")
		got=$(stat -c '%F %a %u:%g %s' "$T/$f") || return 1
		[ "$want" = "$got" ] || { echo "$f: want $want, got $got"; return 1; }
	done < <(cd "$REF" && find . -mindepth 1)
	for f in a/zero a/b/c/mib-plus-three a/link-to-page a/one; do
		[ "$(stat -c %Y "$REF/$f")" = "$(stat -c %Y "$T/$f")" ] ||
			{ echo "$f: mtime differs"; return 1; }
	done
	[ "$(stat -c %i "$T/a/one")" = "$(stat -c %i "$T/a/one-hardlink")" ] ||
		{ echo "hard link lost"; return 1; }
	[ "$(getfattr --only-values -n user.origin "$T/a/one")" = ref ] ||
		{ echo "user xattr lost"; return 1; }
}
tap_check "modes, owners, sizes, times, hard link and user xattr kept" meta_same
