#!/bin/bash
#
# replicate-contend.t: two clients changing one directory of a replica 2
# volume at the same time.  replicate takes a transaction's locks on
# every copy at once without waiting; when the other client holds one it
# gives back what it got and waits in child order.  Both paths must leave
# the copies identical (names, data) and no counters pending, and both
# mounts must see the same names.  The state dump shows both paths ran.
#
# The churn runs twice: with eager-entry-lock off (every change a
# transaction of its own: both lock paths) and on (each client keeps the
# directory's entry lock across its changes and the other waits for it
# at the brick); the copies must agree either way.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-240}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/../lib/replica.sh
. "$top_srcdir/tests/lib/replica.sh"

require_binaries "$MORTAR_VOLGEN"
[ -e "$top_builddir/translators/cluster/replicate/.libs/replicate.so" ] ||
	skip_all "cluster/replicate is not built"
plan 23

# round MODE: the churn with eager-entry-lock MODE, on a volume of its own.
round() {
	MODE=$1 VOL=ct$1 M1=$MT_TMP/$1-m1 M2=$MT_TMP/$1-m2
	N=${MORTAR_CONTEND_FILES:-120}

	tap_require "$MODE: start a replica 2 volume" start_volume "$VOL" replicate 2 --replica 2 \
		--option "cluster/replicate:eager-entry-lock=$MODE"
	tap_require "mount 1" mount_volume_of "$VOL" "$M1"
	P1=$MOUNT_PID
	tap_require "mount 2" mount_volume_of "$VOL" "$M2"
	mkdir "$M1/d"

	# churn MNT TAG: create N files in d, write each, rename every third,
	# remove every second, make and remove a directory now and then.
	churn() {
		local m=$1 tag=$2 i
		for i in $(seq 1 "$N"); do
			echo "$tag $i" >"$m/d/$tag.$i" || return 1
			if [ $((i % 3)) = 0 ]; then
				mv "$m/d/$tag.$i" "$m/d/$tag.r$i" || return 1
			fi
			if [ $((i % 2)) = 0 ] && [ -e "$m/d/$tag.$i" ]; then
				rm "$m/d/$tag.$i" || return 1
			fi
			if [ $((i % 10)) = 0 ]; then
				mkdir "$m/d/$tag.dir$i" && rmdir "$m/d/$tag.dir$i" ||
					return 1
			fi
		done
	}

	# The names churn TAG leaves, sorted.
	expected() {
		local tag=$1 i
		for i in $(seq 1 "$N"); do
			if [ $((i % 3)) = 0 ]; then
				echo "$tag.r$i"
			elif [ $((i % 2)) != 0 ]; then
				echo "$tag.$i"
			fi
		done
	}

	pids=()
	for tag in a b; do
		churn "$M1" "1$tag" &
		pids+=($!)
		churn "$M2" "2$tag" &
		pids+=($!)
	done
	rc=0
	for p in "${pids[@]}"; do
		wait "$p" || rc=1
	done
	tap_check "$MODE: four writers on two mounts, one directory: no error" test $rc = 0

	for tag in 1a 1b 2a 2b; do expected $tag; done | sort >"$MT_TMP/want"
	ls "$M1/d" | sort >"$MT_TMP/got1"
	ls "$M2/d" | sort >"$MT_TMP/got2"
	tap_check "mount 1 lists exactly the names left" diff "$MT_TMP/want" "$MT_TMP/got1"
	tap_check "mount 2 lists the same" diff "$MT_TMP/want" "$MT_TMP/got2"

	content_ok() {
		local f tag i
		while read -r f; do
			tag=${f%%.*}
			i=${f#*.}
			i=${i#r}
			[ "$(cat "$M2/d/$f")" = "$tag $i" ] || { echo "$f: bad content"; return 1; }
		done <"$MT_TMP/want"
	}
	tap_check "every file holds what its writer wrote" content_ok

	for b in ${MT_VOL_BRICKS[$VOL]}; do
		ls "$(brick_dir "$b")/d" | sort >"$MT_TMP/brick.$b"
	done
	# shellcheck disable=SC2086 # two brick names
	tap_check "both bricks hold exactly those names" sh -c \
		"$(for b in ${MT_VOL_BRICKS[$VOL]}; do printf 'diff %s %s && ' "$MT_TMP/want" "$MT_TMP/brick.$b"; done) true"
	# shellcheck disable=SC2046 # the names, relative to the brick root
	tap_check "copies identical" same_copies "$VOL" d $(sed 's|^|d/|' "$MT_TMP/want")
	# shellcheck disable=SC2046
	tap_check "no pending counters on the directory or the files" \
		wait_for 10 clean_counters "$VOL" d $(sed 's|^|d/|' "$MT_TMP/want")

	# Both lock paths ran on mount 1: at once, and contended (with two busy
	# clients on one directory, most are).
	dump_counts() {
		local f
		f=$(mt_state_dump "$P1") || return 1
		grep '^txn-locks-at-once=' "$f" | tee "$MT_TMP/counts"
	}
	tap_check "state dump counts the transactions' lock paths" dump_counts
	diag "$(cat "$MT_TMP/counts" 2>/dev/null)"
}

round off
tap_check "both paths ran" sh -c \
	"grep -Eq '^txn-locks-at-once=[1-9][0-9]* txn-locks-contended=[1-9]' '$MT_TMP/counts'"
round on
