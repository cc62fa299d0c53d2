#!/bin/bash
#
# volume-types.t: every volume type mortar-volgen makes, as a user gets
# it: a real multi-brick volume on loopback, mounted, then the POSIX
# checker (posix_check --mortar), the random-operations data checker
# (datacheck), and a look at the bricks: each file is a plain file where
# the type says (one brick for unify/distribute, every copy of its replica
# set for the replicated types, byte for byte).
#
#   4-brick unify, 4-brick distribute, replica 2, replica 3,
#   2 x 2 distributed-replicate
#
# The volumes are checked at the same time.  posix_check's bigdir group
# (10000 creates in one directory, most of this script's time) runs on the
# volumes whose readdir merges bricks, unify4 and dist4; its other groups
# run everywhere.
#
# The replicated volumes keep their bricks on a tmpfs the script mounts:
# posix_check sets a 4000-byte user xattr, and on ext4 (one 4 KiB block
# for all of a file's xattrs) that does not fit next to replicate's
# pending counters while the setxattr's transaction holds them (the limit
# is in doc/replicate.md).  The other volumes stay where $MT_TMP is.
#
# Knobs: MORTAR_TEST_VOLUME_TYPES (a subset of "unify4 dist4 rep2 rep3
# dr22"), MORTAR_TEST_VOLUME_BIGDIR (volumes that get bigdir, default
# "unify4 dist4"), MORTAR_TEST_VOLUME_TMPFS (volumes whose bricks go on a
# tmpfs, default "rep2 rep3 dr22"), MORTAR_TEST_VOLUME_OPS (datacheck ops
# per volume, default 4000), MORTAR_TEST_SEED.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-600}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries "$MORTAR_VOLGEN" "$MT_TOOLS/posix_check" "$MT_TOOLS/datacheck"

VOLUMES=${MORTAR_TEST_VOLUME_TYPES:-unify4 dist4 rep2 rep3 dr22}
OPS=${MORTAR_TEST_VOLUME_OPS:-4000}
BIGDIR=${MORTAR_TEST_VOLUME_BIGDIR:-unify4 dist4}
TMPFS=${MORTAR_TEST_VOLUME_TMPFS-rep2 rep3 dr22}
# posix_check's groups (xattr also runs its statfs and .mortar checks).
PC_GROUPS="open dirs rename rename2 links attrs truncate sparse fallocate io bigdir xattr"
SEED=${MORTAR_TEST_SEED:-$((RANDOM + 1))}
POINTS=7
# shellcheck disable=SC2086 # a word list
set -- $VOLUMES
plan $(($# * POINTS))
diag "volumes: $VOLUMES; bigdir on: $BIGDIR; bricks on tmpfs: ${TMPFS:-none}; datacheck seed $SEED, $OPS ops"

# spec VOLUME: "TYPE NBRICKS REPLICA [volgen options]"
spec() {
	case $1 in
	unify4) echo "unify 4 1" ;;
	dist4) echo "distribute 4 1" ;;
	rep2) echo "replicate 2 2" ;;
	rep3) echo "replicate 3 3" ;;
	dr22) echo "distributed-replicate 4 2 --replica 2" ;;
	*) return 1 ;;
	esac
}

# brick_tmpfs VOLUME: a tmpfs where start_volume puts the volume's brick
# directories ($MT_TMP/VOLUME); the cleanup unmounts it.
brick_tmpfs() {
	mkdir -p "$MT_TMP/$1" &&
		mount -t tmpfs -o size=2g,mode=0755 "mortar-test-$1" "$MT_TMP/$1" ||
		return 1
	mt_track .mounts "$MT_TMP/$1"
}

xl_built() { # TYPE: is cluster/TYPE's translator in the build tree?
	[ -e "$top_builddir/translators/cluster/$1/.libs/$1.so" ]
}

# A brick's copy of REL is real when it is a regular file that is not a
# linkto file (mode 01000, empty) and holds the content written.
real_copy() { # FILE WANT
	[ -f "$1" ] && [ "$(stat -c %a "$1")" != 1000 ] && cmp -s "$1" "$2"
}

# placement VOLUME NBRICKS REPLICA: 24 files through the mount $M; each has
# REPLICA real copies, all in one replica set (bricks r*k .. r*k+r-1), and
# with more than one set in use, files land in more than one.
placement() {
	local vol=$1 n=$2 r=$3 i b holders sets="" set
	mkdir -p "$M/place" || return 1
	for i in $(seq 1 24); do
		printf 'file %d of %s\n' "$i" "$vol" >"$MT_TMP/want-$vol"
		cp "$MT_TMP/want-$vol" "$M/place/f$i" || return 1
	done
	for i in $(seq 1 24); do
		printf 'file %d of %s\n' "$i" "$vol" >"$MT_TMP/want-$vol"
		holders=()
		for ((b = 0; b < n; b++)); do
			real_copy "$(brick_dir "$vol-b$b")/place/f$i" "$MT_TMP/want-$vol" &&
				holders+=("$b")
		done
		if [ "${#holders[@]}" -ne "$r" ]; then
			echo "place/f$i: real copies on bricks '${holders[*]}', want $r"
			return 1
		fi
		set=$((holders[0] / r))
		for b in "${holders[@]}"; do
			[ $((b / r)) -eq "$set" ] ||
				{ echo "place/f$i: copies across replica sets: ${holders[*]}"; return 1; }
		done
		[[ " $sets " == *" $set "* ]] || sets="$sets $set"
	done
	diag "$vol: files in replica set(s)/bricks:$sets"
	if [ $((n / r)) -gt 1 ] && [ "$(echo "$sets" | wc -w)" -lt 2 ]; then
		echo "all 24 files on one subvolume"
		return 1
	fi
	rm -rf "$M/place"
}

# report_tool DESC OUT STATUS: one test point for a tool run in the
# background (like tap_run_tool): its "not ok" lines become diagnostics.
report_tool() {
	grep -v '^ok ' "$2" | grep -v -e '^# [a-z0-9]*$' -e '^1\.\.[0-9]*$' | diag_file -
	diag "$(grep -c '^ok ' "$2") checks passed, $(grep -c '^not ok' "$2") failed"
	tap_result "$1" "$3"
}

# check_volume VOL N R: the slow part, run for all volumes at once (the
# checks mostly wait on round trips): posix_check on the mount's root (its
# .mortar checks are about the root), datacheck, then placement.  Each
# writes $MT_TMP/VOL.STEP.out and .rc.
check_volume() {
	local vol=$1 m=$MT_TMP/mnt-$1 o=$MT_TMP/$1 g rc=0
	for g in $PC_GROUPS; do
		[ "$g" = bigdir ] && [[ " $BIGDIR " != *" $vol "* ]] && continue
		"$MT_TOOLS/posix_check" --mortar --only "$g" "$m" >>"$o.posix.out" 2>&1 || rc=1
	done
	echo $rc >"$o.posix.rc"
	"$MT_TOOLS/datacheck" -s "$SEED" -n "$OPS" "$m/datacheck.file" \
		>"$o.data.out" 2>&1
	echo $? >"$o.data.rc"
	M=$m placement "$vol" "$2" "$3" >"$o.place.out" 2>&1
	echo $? >"$o.place.rc"
}

declare -A UP SPEC
jobs_started=()
for vol in $VOLUMES; do
	SPEC[$vol]=$(spec "$vol") || bail_out "unknown volume $vol"
	# shellcheck disable=SC2086 # the spec is a word list
	set -- ${SPEC[$vol]}
	type=$1 n=$2 r=$3
	shift 3
	top=distribute
	case $type in
	unify*) top=unify ;;
	replicate) top=replicate ;;
	esac
	missing=
	for x in $top $([ "$r" -gt 1 ] && [ "$top" != replicate ] && echo replicate); do
		xl_built "$x" || missing="$missing cluster/$x"
	done
	if [ -n "$missing" ]; then
		for ((k = 0; k < POINTS; k++)); do
			tap_skip "$vol ($type): test $((k + 1))" "not built:$missing"
		done
		continue
	fi
	first=$MT_NUM
	if [[ " $TMPFS " == *" $vol "* ]] && ! brick_tmpfs "$vol"; then
		diag "$vol: no tmpfs for the bricks; they stay in $MT_TMP"
	fi
	if tap_check "$vol: start $type, $n bricks" start_volume "$vol" "$type" "$n" "$@" &&
		tap_check "$vol: mount by name" mount_volume_of "$vol" "$MT_TMP/mnt-$vol"; then
		UP[$vol]=1
		check_volume "$vol" "$n" "$r" &
		mt_track .pids $!
		jobs_started+=($!)
	else
		for ((k = MT_NUM - first; k < POINTS; k++)); do
			tap_skip "$vol: test $((k + 1))" "the volume did not come up"
		done
		stop_volume "$vol"
	fi
done
for pid in "${jobs_started[@]}"; do
	wait "$pid"
	mt_untrack .pids "$pid"
done

for vol in $VOLUMES; do
	[ -n "${UP[$vol]:-}" ] || continue
	# shellcheck disable=SC2086 # the spec is a word list
	set -- ${SPEC[$vol]}
	o=$MT_TMP/$vol
	report_tool "$vol: posix_check --mortar" "$o.posix.out" "$(cat "$o.posix.rc")"
	diag_file "$o.data.out" # its summary line, or where it failed
	tap_result "$vol: datacheck ($OPS ops, seed $SEED)" "$(cat "$o.data.rc")"
	[ "$(cat "$o.place.rc")" = 0 ] || diag_file "$o.place.out"
	tap_result "$vol: files are plain files on the bricks the type says" "$(cat "$o.place.rc")"
	tap_check "$vol: unmount cleanly" unmount_volume "$MT_TMP/mnt-$vol"
	tap_check "$vol: bricks stop cleanly" stop_volume "$vol"
done
