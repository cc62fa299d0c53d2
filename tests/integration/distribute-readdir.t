#!/bin/bash
#
# distribute-readdir.t: cluster/distribute lists a directory from its 4
# subvolumes with every child's next batch read ahead (dht-readdir.c);
# the listing must be the plain walk's:
#  - 600 files and 20 subdirectories: ls -f and find list every name
#    exactly once, and no linkto file (renames leave some on the bricks);
#  - two listers of the same directory at once, while a third process
#    creates and removes other names: every listing has each stable name
#    once, none missing;
#  - a directory with no file and one with one file list right;
#  - the client's state dump counts readdirs answered from a prefetch;
#  - with a brick killed, ls lists the other bricks' names and does not
#    hang.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-300}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/distribute-lib.sh
. "$top_srcdir/tests/integration/distribute-lib.sh"

require_binaries
command -v getfattr >/dev/null || skip_all "getfattr missing"
plan 17

M=$MT_TMP/mnt
B=$MT_TMP/rd/b
EXP=$MT_TMP/expected
NFILES=600
NDIRS=20

tap_require "start 4 bricks" dht_volume rd 4
tap_require "mount" mount_volume_of rd "$M"

# names DIR: what ls -f lists, without . and .., sorted (duplicates kept).
names() {
	timeout 60 ls -f "$1" | grep -vx '\.\.\?' | LC_ALL=C sort
}
# same_list FILE EXPECTED: equal, or say how they differ.
same_list() {
	if ! cmp -s "$1" "$2"; then
		echo "listing $1 differs from $2:"
		diff "$2" "$1" | head -n 20
		return 1
	fi
}

make_tree() {
	local i
	mkdir "$M/big" || return 1
	(cd "$M/big" && seq -f 'file-%04g' 1 "$NFILES" | xargs touch) ||
		return 1
	for ((i = 1; i <= NDIRS; i++)); do
		mkdir "$M/big/dir-$i" || return 1
	done
	# Renames to names that hash elsewhere leave linkto files.
	for ((i = 1; i <= 40; i++)); do
		mv "$M/big/file-$(printf %04d "$i")" "$M/big/moved-$i" ||
			return 1
	done
	{
		seq -f 'file-%04g' 41 "$NFILES"
		seq -f 'moved-%g' 1 40
		seq -f 'dir-%g' 1 "$NDIRS"
	} | LC_ALL=C sort >"$EXP"
}
tap_require "600 files, 20 directories, 40 renamed" make_tree
linkto_there() {
	local n
	n=$(for b in 0 1 2 3; do dht_linkto_files "$B$b/big"; done | wc -l)
	echo "linkto files on the bricks: $n"
	[ "$n" -gt 0 ]
}
tap_check "the renames left linkto files on the bricks" linkto_there

ls_once() {
	names "$M/big" >"$MT_TMP/ls.out" && same_list "$MT_TMP/ls.out" "$EXP"
}
tap_check "ls -f lists every name once, no linkto" ls_once
find_once() {
	timeout 60 find "$M/big" -mindepth 1 -maxdepth 1 -printf '%f\n' |
		LC_ALL=C sort >"$MT_TMP/find.out" &&
		same_list "$MT_TMP/find.out" "$EXP"
}
tap_check "find lists every name once, no linkto" find_once
tap_check "a listing resumed at any returned offset goes on where it was" \
	readdir_resumes "$M/big"

# ---- two listers and a writer at once
churn() { # until the stop file: create and remove churn-N names
	local i=0
	while [ ! -e "$MT_TMP/stop-churn" ]; do
		i=$((i + 1))
		echo "$i" >"$M/big/churn-$((i % 50))" 2>/dev/null
		[ $((i % 3)) = 0 ] && rm -f "$M/big/churn-$(((i * 7) % 50))"
	done
	rm -f "$M"/big/churn-*
}
lister() { # OUT-PREFIX: 8 listings
	local k
	for ((k = 0; k < 8; k++)); do
		names "$M/big" >"$1.$k" || return 1
	done
}
concurrent() {
	local p1 p2 pc rc=0 f
	rm -f "$MT_TMP/stop-churn"
	churn &
	pc=$!
	mt_track .pids "$pc"
	lister "$MT_TMP/l1" &
	p1=$!
	mt_track .pids "$p1"
	lister "$MT_TMP/l2" &
	p2=$!
	mt_track .pids "$p2"
	wait "$p1" || rc=1
	wait "$p2" || rc=1
	touch "$MT_TMP/stop-churn"
	wait "$pc"
	mt_untrack .pids "$p1"
	mt_untrack .pids "$p2"
	mt_untrack .pids "$pc"
	[ $rc = 0 ] || {
		echo "a lister failed"
		return 1
	}
	for f in "$MT_TMP"/l1.* "$MT_TMP"/l2.*; do
		grep -v '^churn-' "$f" >"$f.stable"
		same_list "$f.stable" "$EXP" || rc=1
		if [ -n "$(uniq -d "$f")" ]; then
			echo "duplicates in $f: $(uniq -d "$f" | head -n 5)"
			rc=1
		fi
	done
	return $rc
}
tap_check "two listers while names come and go: stable names once each" \
	concurrent

# ---- small directories
small() {
	mkdir "$M/empty" "$M/one" && touch "$M/one/only" || return 1
	[ -z "$(names "$M/empty")" ] || {
		echo "empty lists: $(names "$M/empty")"
		return 1
	}
	[ "$(names "$M/one")" = only ] || {
		echo "one lists: $(names "$M/one")"
		return 1
	}
	[ "$(timeout 20 ls -a "$M/empty" | tr '\n' ' ')" = ". .. " ]
}
tap_check "a directory with no file and one with one file" small

# ---- the state dump
prefetch_hits() {
	local path line
	path=$(mt_state_dump "$MOUNT_PID") || return 1
	line=$(grep -m 1 '^readdir_prefetch_hits=' "$path")
	echo "$line"
	[ -n "$line" ] && [ "$(echo "$line" | sed 's/^[^=]*=\([0-9]*\).*/\1/')" -gt 0 ]
}
MT_VERBOSE=1 tap_check "the state dump counts readdirs answered by a prefetch" \
	prefetch_hits

# ---- a brick down
# What bricks 0, 1 and 3 hold: their data files' names, and the
# directories (listed from the first child holding the directory open).
others_list() {
	{
		for b in 0 1 3; do
			dht_data_files "$B$b/big" | sed 's|.*/||'
		done
		seq -f 'dir-%g' 1 "$NDIRS"
	} | LC_ALL=C sort >"$MT_TMP/others"
}
tap_require "what the other bricks hold" others_list
tap_check "kill brick 2" kill_brick rd-b2
on2() {
	dht_data_files "$B"2/big | sed 's|.*/||' | LC_ALL=C sort >"$MT_TMP/on2"
	[ -s "$MT_TMP/on2" ]
}
tap_require "brick 2 holds some of the files" on2
down_ls() {
	local t0 t1
	t0=$(date +%s)
	names "$M/big" >"$MT_TMP/down.out" || return 1
	t1=$(date +%s)
	echo "listed $(wc -l <"$MT_TMP/down.out") names in $((t1 - t0)) s"
	same_list "$MT_TMP/down.out" "$MT_TMP/others"
}
MT_VERBOSE=1 tap_check "ls with brick 2 down lists the other bricks' names" \
	wait_for 30 down_ls
tap_check "restart brick 2" restart_brick rd-b2
back() { names "$M/big" >"$MT_TMP/back.out" && cmp -s "$MT_TMP/back.out" "$EXP"; }
tap_check "all names are listed again once it is back" wait_for 30 back
tap_check "unmount" unmount_volume "$M"
