#!/bin/bash
# replicate-kill-create.t - a replica brick killed (SIGKILL) in the middle
# of a create-heavy run (files with data, modes, owners, subdirectories):
# the application sees no error and reads every file back; after the brick
# returns, mortar-heal (index) and the automatic heal complete, and both
# bricks hold the same names, gfids, data, modes and owners (names removed
# while it was away are gone from it too).
#
# Knob: MORTAR_TEST_FILES (files in the create run, default 2000).
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/../lib/replica.sh
. "$top_srcdir/tests/lib/replica.sh"

FILES=${MORTAR_TEST_FILES:-2000}

require_binaries "$MT_HEAL"
plan 12

tap_require "start a replica 2 volume" start_volume kc replicate 2 --replica 2
M=$MT_TMP/mnt
tap_require "mount" mount_volume_of kc "$M"
B0=$(brick_dir kc-b0)
B1=$(brick_dir kc-b1)

# ---- create-heavy -------------------------------------------------------
creates() {
	local i
	mkdir -p "$M/many" || return 1
	for ((i = 0; i < FILES; i++)); do
		echo "file $i" >"$M/many/f$i" || return 1
		if ((i % 10 == 0)); then
			chmod 0600 "$M/many/f$i" && chown $((1000 + i)):77 "$M/many/f$i" ||
				return 1
		fi
		if ((i % 100 == 0)); then
			mkdir "$M/many/d$i" && echo "sub $i" >"$M/many/d$i/s" ||
				return 1
		fi
	done
}
count_at_least() { # DIR N
	[ "$(find "$1" -maxdepth 1 -name 'f*' 2>/dev/null | wc -l)" -ge "$2" ]
}
(
	wait_for 120 count_at_least "$B1/many" $((FILES / 4))
	kill -KILL "${MT_BRICK_PID[kc-b1]}"
) &
killer=$!
tap_check "$FILES creates see no error while brick 1 is killed" creates
wait "$killer"
stop_brick kc-b1 KILL >/dev/null 2>&1
check_files() {
	local i line
	for ((i = 0; i < FILES; i++)); do
		read -r line <"$M/many/f$i"
		[ "$line" = "file $i" ] || {
			echo "f$i: wrong content"
			return 1
		}
	done
}
tap_check "every file reads back" check_files
# Names removed while brick 1 is away must go from it too.
tap_check "remove a file and a tree made before the kill" \
	sh -c "[ -e '$B1/many/f0' ] && [ -e '$B1/many/d0/s' ] && rm '$M/many/f0' && rm -r '$M/many/d0'"
tap_check "brick 1 missed some of them" \
	sh -c "[ \$(ls '$B1/many' | wc -l) -lt \$(ls '$B0/many' | wc -l) ]"
tap_require "brick 1 restarts" restart_brick kc-b1
t0=$(now_ns)
tap_check "mortar-heal (index) heals" wait_for 60 heal_cmd kc index
tap_check "mortar-heal info becomes empty" wait_for 60 heal_done kc
t1=$(now_ns)
diag "heal of the create run: $(awk -v a="$t0" -v b="$t1" \
	'BEGIN { printf "%.1f", b - a }') s"
# listing DIR: name, type, mode, owner and gfid of everything in a tree,
# and the content hash of its files (directory sizes differ between file systems'
# histories, so they are left out).
listing() {
	(cd "$1" && find . -path ./.mortar -prune -o -printf '%p %y %m %u %g\n' |
		sort && find . -path ./.mortar -prune -o -type f -print0 |
		sort -z | xargs -0 md5sum &&
		getfattr -R -h -n trusted.mortar.gfid -e hex . 2>/dev/null |
		awk '/^# file:/ { f = $3 } /^trusted/ { print f, $0 }' | sort)
}
tap_check "both bricks hold the same names, gfids, data, modes and owners" \
	diff <(listing "$B0/many") <(listing "$B1/many")
tap_check "the names are all there, the removed ones gone" \
	sh -c "[ \$(ls '$B1/many' | grep -c '^f') -eq $((FILES - 1)) ] &&
	       [ ! -e '$B1/many/f0' ] && [ ! -e '$B1/many/d0' ]"
tap_check "unmount" unmount_volume "$M"
