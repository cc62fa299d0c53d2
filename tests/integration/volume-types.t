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
# Knobs: MORTAR_TEST_VOLUME_TYPES (a subset of "unify4 dist4 rep2 rep3
# dr22"), MORTAR_TEST_VOLUME_OPS (datacheck ops per volume, default 4000),
# MORTAR_TEST_SEED.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-600}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries "$MORTAR_VOLGEN" "$MT_TOOLS/posix_check" "$MT_TOOLS/datacheck"

VOLUMES=${MORTAR_TEST_VOLUME_TYPES:-unify4 dist4 rep2 rep3 dr22}
OPS=${MORTAR_TEST_VOLUME_OPS:-4000}
SEED=${MORTAR_TEST_SEED:-$((RANDOM + 1))}
POINTS=7
# shellcheck disable=SC2086 # a word list
set -- $VOLUMES
plan $(($# * POINTS))
diag "volumes: $VOLUMES; datacheck seed $SEED, $OPS ops"

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

xl_built() { # TYPE: is cluster/TYPE's translator in the build tree?
	[ -e "$top_builddir/translators/cluster/$1/.libs/$1.so" ]
}

# A brick's copy of REL is real when it is a regular file that is not a
# linkto file (mode 01000, empty) and holds the content written.
real_copy() { # FILE WANT
	[ -f "$1" ] && [ "$(stat -c %a "$1")" != 1000 ] && cmp -s "$1" "$2"
}

# placement VOLUME NBRICKS REPLICA: 24 files through the mount; each has
# REPLICA real copies, all in one replica set (bricks r*k .. r*k+r-1), and
# with more than one set in use, files land in more than one.
placement() {
	local vol=$1 n=$2 r=$3 i b holders sets="" set
	mkdir -p "$M/place" || return 1
	for i in $(seq 1 24); do
		printf 'file %d of %s\n' "$i" "$vol" >"$MT_TMP/want"
		cp "$MT_TMP/want" "$M/place/f$i" || return 1
	done
	for i in $(seq 1 24); do
		printf 'file %d of %s\n' "$i" "$vol" >"$MT_TMP/want"
		holders=()
		for ((b = 0; b < n; b++)); do
			real_copy "$(brick_dir "$vol-b$b")/place/f$i" "$MT_TMP/want" &&
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

M=$MT_TMP/mnt
for vol in $VOLUMES; do
	# shellcheck disable=SC2046 # the spec is a word list
	set -- $(spec "$vol") || bail_out "unknown volume $vol"
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
	if ! tap_check "$vol: start $type, $n bricks" start_volume "$vol" "$type" "$n" "$@" ||
		! tap_check "$vol: mount by name" mount_volume_of "$vol" "$M"; then
		for ((k = MT_NUM - first; k < POINTS; k++)); do
			tap_skip "$vol: remaining tests" "no volume"
		done
		stop_volume "$vol"
		continue
	fi
	# The root, as in posix.t: the checks of .mortar are about the root.
	tap_run_tool "$vol: posix_check --mortar" "$MT_TOOLS/posix_check" --mortar "$M"
	tap_run_tool "$vol: datacheck ($OPS ops, seed $SEED)" \
		"$MT_TOOLS/datacheck" -s "$SEED" -n "$OPS" "$M/datacheck.file"
	tap_check "$vol: files are plain files on the bricks the type says" \
		placement "$vol" "$n" "$r"
	tap_check "$vol: unmount cleanly" unmount_volume "$M"
	tap_check "$vol: bricks stop cleanly" stop_volume "$vol"
done
