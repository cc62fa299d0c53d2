#!/bin/bash
#
# unify.t: cluster/unify semantics on a 4-brick mount: directories on
# every brick (mkdir, rmdir, ENOTEMPTY, recreated on lookup), a merged
# readdir that lists each name once and resumes from any offset, rename
# and link keep a file on its brick, statfs sums the bricks, a name put by
# hand on two bricks is served from the lowest one and logged, and a
# killed brick gives ENOTCONN for its files only.
#
# MT_TIMEOUT is read by mortar-test.sh; ls is what lists through the
# mount's readdir here, on purpose (the names are plain).
# shellcheck disable=SC2034,SC2010,SC2012
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-180}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

# unify_count DIR: regular files directly in a brick directory.
unify_count() {
	find "$1" -maxdepth 1 -type f | wc -l
}

require_binaries "$MORTAR_VOLGEN"
command -v getfattr >/dev/null || skip_all "getfattr missing"
command -v perl >/dev/null || skip_all "perl missing"
plan 43

M=$MT_TMP/mnt
B=("$MT_TMP/u/b0" "$MT_TMP/u/b1" "$MT_TMP/u/b2" "$MT_TMP/u/b3")
NFILES=${MORTAR_TEST_UNIFY_FILES:-3000}

# Every brick connected before the volume is up (child-up-timeout); a
# stopped brick's calls fail after 5 s (ping-timeout).
tap_require "start 4 bricks" start_volume u unify 4 --scheduler rr \
	--option u-unify:child-up-timeout=10 \
	--option protocol/client:ping-timeout=5
tap_require "mount the unify volume" mount_volume_of u "$M"

# brick_of NAME: the index of the brick holding regular file NAME.
brick_of() {
	local i
	for i in 0 1 2 3; do
		[ -f "${B[$i]}/$1" ] && echo "$i"
	done
}

on_all() { # on_all TEST PATH: test -TEST on every brick
	local i
	for i in 0 1 2 3; do
		test "-$1" "${B[$i]}/$2" || return 1
	done
}

gfid_of() { getfattr --absolute-names -n trusted.mortar.gfid -e hex "$1" | tail -n +2; }

# ---- directories
mkdir_everywhere() { mkdir "$M/d1" && on_all d d1; }
tap_check "mkdir creates the directory on every brick" mkdir_everywhere
same_gfid() {
	local g0
	g0=$(gfid_of "${B[0]}/d1")
	[ -n "$g0" ] || return 1
	for i in 1 2 3; do [ "$(gfid_of "${B[$i]}/d1")" = "$g0" ] || return 1; done
}
tap_check "the directory has one gfid on every brick" same_gfid
rmdir_everywhere() {
	rmdir "$M/d1" || return 1
	for i in 0 1 2 3; do [ ! -e "${B[$i]}/d1" ] || return 1; done
}
tap_check "rmdir removes it from every brick" rmdir_everywhere

not_empty() {
	local out
	mkdir "$M/ne" && echo x >"$M/ne/file" || return 1
	out=$(rmdir "$M/ne" 2>&1) && return 1
	echo "$out"
	[[ $out == *"Directory not empty"* ]] && on_all d ne
}
tap_check "rmdir with a file on one brick: ENOTEMPTY, kept on every brick" not_empty

heal_dir() {
	mkdir "$M/hd" && chmod 0750 "$M/hd" && chown 12:34 "$M/hd" || return 1
	rmdir "${B[2]}/hd" || return 1
	# The kernel keeps the entry for entry-timeout (1 s): look again until
	# a lookup reaches the volume.
	wait_for 10 sh -c "stat '$M/hd' >/dev/null && test -d '${B[2]}/hd'" ||
		return 1
	[ "$(stat -c '%a %u %g' "${B[2]}/hd")" = "750 12 34" ] &&
		[ "$(gfid_of "${B[2]}/hd")" = "$(gfid_of "${B[0]}/hd")" ]
}
tap_check "a directory missing on a brick is recreated by lookup (gfid, mode, owner)" heal_dir

# ---- readdir
make_many() {
	mkdir "$M/many" && (cd "$M/many" && for ((i = 0; i < NFILES; i++)); do
		: >"f$i"
	done)
}
tap_check "create $NFILES files" make_many
list_once() {
	local got
	got=$(ls -a "$M/many" | sort | uniq -d)
	[ -z "$got" ] || { echo "listed twice: $got"; return 1; }
	got=$(ls "$M/many" | wc -l)
	echo "listed $got"
	[ "$got" -eq "$NFILES" ] || return 1
	# Every brick holds some of them: the listing merged all four.
	for i in 0 1 2 3; do
		[ "$(unify_count "${B[$i]}/many")" -eq $((NFILES / 4)) ] || return 1
	done
}
tap_check "readdir lists each of the $NFILES names once (merged from 4 bricks)" list_once
# telldir/seekdir: resume from offsets taken along one listing (around
# each brick's part of it).
tap_check "a listing resumed at any returned offset goes on where it was" \
	readdir_resumes "$M/many"

# ---- rename, link
rename_keeps() {
	echo data1 >"$M/r1" || return 1
	local b
	b=$(brick_of r1)
	mv "$M/r1" "$M/r2" || return 1
	[ "$(brick_of r2)" = "$b" ] && [ -z "$(brick_of r1)" ] &&
		[ "$(cat "$M/r2")" = data1 ]
}
tap_check "rename keeps the file on its brick" rename_keeps
rename_over() {
	echo new >"$M/src" && echo old >"$M/dst" || return 1
	local bs bd
	bs=$(brick_of src) bd=$(brick_of dst)
	echo "src on $bs, dst on $bd"
	[ "$bs" != "$bd" ] || return 1
	mv "$M/src" "$M/dst" || return 1
	[ "$(cat "$M/dst")" = new ] && [ "$(brick_of dst)" = "$bs" ] &&
		[ ! -e "${B[$bd]}/dst" ] && [ ! -e "$M/src" ]
}
tap_check "rename over a file on another brick replaces it (old copy removed)" rename_over
hard_link() {
	echo linked >"$M/l1" && ln "$M/l1" "$M/l2" || return 1
	[ "$(brick_of l2)" = "$(brick_of l1)" ] &&
		[ "$(stat -c %i "$M/l1")" = "$(stat -c %i "$M/l2")" ] &&
		[ "$(stat -c %h "$M/l2")" = 2 ] && [ "$(cat "$M/l2")" = linked ]
}
tap_check "hard link on the file's brick, same inode, nlink 2" hard_link
symlink_node() {
	ln -s l1 "$M/sl" && mkfifo "$M/fifo" || return 1
	[ "$(readlink "$M/sl")" = l1 ] && [ "$(cat "$M/sl")" = linked ] &&
		[ -p "$M/fifo" ] && [ "$(ls -d "${B[0]}"/sl "${B[1]}"/sl "${B[2]}"/sl "${B[3]}"/sl 2>/dev/null | wc -l)" = 1 ]
}
tap_check "symlink and fifo live on one brick and work" symlink_node

statfs_sum() {
	local want=0 got b s
	for i in 0 1 2 3; do
		read -r b s < <(stat -f -c '%b %S' "${B[$i]}")
		want=$((want + b * s))
	done
	read -r b s < <(stat -f -c '%b %S' "$M")
	got=$((b * s))
	echo "mount $got bytes, bricks $want bytes"
	[ "$got" -eq "$want" ]
}
tap_check "statfs size is the sum of the bricks' sizes" statfs_sum

# ---- a name on two bricks (made by hand)
dup_name() {
	echo from-brick-2 >"${B[2]}/dup" && echo from-brick-1 >"${B[1]}/dup" || return 1
	[ "$(cat "$M/dup")" = from-brick-1 ] || return 1
	[ "$(ls "$M" | grep -c '^dup$')" = 1 ]
}
tap_check "a name on two bricks: the lower brick's data, listed once" dup_name
dup_logged() {
	local n
	for i in 1 2 3; do
		drop_caches
		[ "$(cat "$M/dup")" = from-brick-1 ] || return 1
	done
	grep "name is a file on several subvolumes" "$MT_TMP/logs/mount-mnt.log"
	n=$(grep -c "name is a file on several subvolumes" "$MT_TMP/logs/mount-mnt.log")
	[ "$n" -eq 1 ]
}
tap_check "the duplicate name is logged once, not at every lookup" dup_logged

# ---- a brick dies
kill_and_check() {
	local i n=0
	for i in 0 1 2 3 4 5 6 7; do echo "k$i" >"$M/k$i" || return 1; done
	for i in 0 1 2 3 4 5 6 7; do [ "$(brick_of "k$i")" = 3 ] && K3=k$i; done
	for i in 0 1 2 3 4 5 6 7; do [ "$(brick_of "k$i")" = 0 ] && K0=k$i; done
	[ -n "$K3" ] && [ -n "$K0" ]
}
tap_require "files on brick 0 and brick 3" kill_and_check
exec 7<"$M/$K3"
tap_require "kill brick 3" kill_brick u-b3
read_fd_enotconn() {
	local out
	out=$(head -c 10 <&7 2>&1) && { echo "read succeeded: $out"; return 1; }
	echo "$out"
	[[ $out == *"not connected"* ]]
}
tap_check "reading a file of the killed brick: ENOTCONN" wait_for 10 read_fd_enotconn
exec 7<&-
tap_check "files on other bricks still read" test "$(cat "$M/$K0")" = "$K0"
# brick 3 may hold any name: no new name while it is down
names_refused_while_down() {
	local out
	for op in "echo n >'$M/down0'" "mkfifo '$M/down0'" \
		"ln -s x '$M/down0'" "ln '$M/$K0' '$M/down0'" \
		"mv '$M/$K0' '$M/down0'"; do
		out=$(sh -c "$op" 2>&1) && {
			echo "$op: worked"
			return 1
		}
		[[ $out == *"not connected"* ]] || {
			echo "$op: $out"
			return 1
		}
	done
	! ls "${B[0]}" "${B[1]}" "${B[2]}" | grep -q '^down0$' &&
		[ "$(cat "$M/$K0")" = "$K0" ]
}
tap_check "new names while a brick is down: ENOTCONN, nothing made" \
	names_refused_while_down
# with create-while-down on, creates go to the live bricks
sed -e '/type cluster\/unify/a\    option create-while-down on' \
	-e 's/option child-up-timeout 10/option child-up-timeout 0/' \
	"$(volume_volfile u)" >"$MT_TMP/u-cwd.vol"
M2=$MT_TMP/mnt-cwd
M_PID=$MOUNT_PID
tap_require "mount with create-while-down on" \
	mount_volfile "$MT_TMP/u-cwd.vol" "$M2"
MOUNT_PID=$M_PID
create_while_down() {
	for i in 0 1 2 3 4 5; do echo "n$i" >"$M2/down$i" || return 1; done
	[ "$(ls "${B[3]}" | grep -c '^down')" = 0 ] &&
		[ "$(cat "$M2/down5")" = n5 ]
}
tap_check "create-while-down on: creates go to the live bricks only" \
	create_while_down
tap_check "unmount it" unmount_volume "$M2"
mkdir_down() {
	local out
	out=$(mkdir "$M/nodir" 2>&1) && return 1
	echo "$out"
	[[ $out == *"not connected"* ]] && [ ! -e "${B[0]}/nodir" ]
}
tap_check "mkdir with a brick down: ENOTCONN, nothing created" mkdir_down
tap_check "the volume still lists" test "$(ls "$M/many" | wc -l)" -ge $((NFILES * 3 / 4))
tap_require "restart brick 3" restart_brick u-b3
tap_check "its files read again after restart" \
	wait_for 20 sh -c "[ \"\$(cat '$M/$K3' 2>/dev/null)\" = '$K3' ]"
tap_check "mkdir works again" wait_for 20 mkdir "$M/after"

# A brick that stops answering (SIGSTOP, not a closed connection): the
# volume waits for it at most ping-timeout (5 s in the volfile), then goes
# on without it.
stopped_brick() {
	local t0=$SECONDS rc=0
	brick_signal u-b2 STOP || return 1
	drop_caches
	timeout 30 cat "$M/$K0" >/dev/null || rc=1
	echo "a file on brick 0 read after $((SECONDS - t0)) s"
	brick_signal u-b2 CONT
	[ $rc -eq 0 ] && [ $((SECONDS - t0)) -le 15 ]
}
tap_check "a brick that stops answering does not hang the volume" stopped_brick
tap_check "it serves again after SIGCONT" wait_for 30 mkdir "$M/after-stop"

dump_shows_state() {
	local f
	kill -USR1 "$MOUNT_PID" || return 1
	wait_for 10 sh -c "grep -l 'unify: scheduler=rr' '$MT_TMP'/dump/* 2>/dev/null" ||
		return 1
	f=$(grep -l 'unify: scheduler=rr' "$MT_TMP"/dump/* | head -1)
	grep 'unify:' "$f"
	grep -q 'subvolume=u-client-3 state=up' "$f" &&
		grep -q 'duplicate-names=[1-9]' "$f"
}
tap_check "state dump: subvolumes, scheduler, counters" dump_shows_state
tap_check "unmount cleanly" unmount_volume "$M"

# ---- a brick added later
tap_require "start a fifth, empty brick" add_brick u
B[4]=$MT_TMP/u/b4
tap_require "mount the volume with 5 bricks" \
	mount_volfile "$(volume_volfile u)" "$M"
dirs_of() { (cd "$1" && find . -type d ! -path './.mortar*' | sort); }
added_brick_dirs() {
	find "$M" >/dev/null || return 1 # looks every name up
	diff <(dirs_of "${B[0]}") <(dirs_of "${B[4]}") || return 1
	[ "$(gfid_of "${B[4]}/many")" = "$(gfid_of "${B[0]}/many")" ]
}
tap_check "lookups recreate every directory on the added brick (same gfid)" added_brick_dirs
added_brick_files() {
	for i in 0 1 2 3 4 5 6 7 8 9; do echo "$i" >"$M/many/new$i" || return 1; done
	[ "$(ls "${B[4]}/many" | grep -c '^new')" -eq 2 ]
}
tap_check "new files go to the added brick too" added_brick_files
tap_check "unmount the 5-brick volume" unmount_volume "$M"

# ---- up with one brick missing (child-up-timeout 0: up at the first)
tap_require "stop brick 1" stop_brick u-b1
sed 's/option child-up-timeout 10/option child-up-timeout 0/' \
	"$(volume_volfile u)" >"$MT_TMP/u0.vol"
grep -q 'option child-up-timeout 0' "$MT_TMP/u0.vol" ||
	bail_out "no child-up-timeout in $(volume_volfile u)"
tap_require "mount with brick 1 down" mount_volfile "$MT_TMP/u0.vol" "$M"
tap_check "files on live bricks read" test "$(cat "$M/$K0")" = "$K0"
tap_check "unmount cleanly (brick 1 down)" unmount_volume "$M"
