#!/bin/bash
#
# open-unlinked.t: a file stays usable through an fd opened before its
# last name went away, on every volume type (one brick, replicate 2,
# distribute 4, unify 4, distributed-replicate 2 x 2), with the unlink
# and the rename done by a second client.  Client A holds the file open
# (tests/tools/fdhold.py); client B removes it or renames a new file over
# it; A must go on reading and writing the file it opened, fstat must say
# nlink 0, and B's new file of the same name must be untouched.
#
# On the bricks the file lives in .mortar/unlink/<gfid> while it is open
# (replicated volumes: every copy, the same bytes), and goes with the last
# close; a brick that restarts removes what a crash left there.  A brick
# that dies takes its copy of such a file with it: replicate reads and
# writes on through the other copy, a single-copy volume answers an error
# (never other bytes).
#
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/../lib/replica.sh
. "$top_srcdir/tests/lib/replica.sh"

require_binaries
command -v python3 >/dev/null || skip_all "python3 missing"
plan 127

FDHOLD=$top_srcdir/tests/tools/fdhold.py
# The kernel may serve cached attributes this long (default 1 s).
CACHE_WAIT=${MORTAR_TEST_CACHE_WAIT:-3}

# ---- the fd holder: one python process answering one line per command

hold_start() {
	coproc HOLD { exec python3 "$FDHOLD"; }
	mt_track .pids "$HOLD_PID"
}
hold_stop() {
	local pid=$HOLD_PID
	eval "exec ${HOLD[1]}>&-"
	wait_for 10 mt_pid_gone "$pid"
	wait "$pid" 2>/dev/null
	mt_untrack .pids "$pid"
}
# hold CMD...: send one command; HOLD_REPLY is the answer; 0 on "ok".
hold() {
	echo "$*" >&"${HOLD[1]}" || return 1
	if ! read -r -t 60 -u "${HOLD[0]}" HOLD_REPLY; then
		HOLD_REPLY="(no answer)"
		return 1
	fi
	[[ $HOLD_REPLY == ok* ]] || {
		echo "$* -> $HOLD_REPLY"
		return 1
	}
}
# hold_is WANT CMD...: the command answers exactly "ok WANT".
hold_is() {
	local want=$1
	shift
	hold "$@" && [ "$HOLD_REPLY" = "ok $want" ] || {
		echo "$* -> $HOLD_REPLY, want ok $want"
		return 1
	}
}

hold_fails() { ! hold "$@"; }

sha_of() { sha256sum "$@" | cut -d' ' -f1; }

# ---- the unlink area on the bricks

# parked VOL: every file of the bricks' unlink areas, one per line.
parked() {
	local b
	for b in ${MT_VOL_BRICKS[$1]}; do
		find "$(brick_dir "$b")/.mortar/unlink" -type f 2>/dev/null
	done
}
parked_count_is() { [ "$(parked "$1" | wc -l)" -eq "$2" ]; }
# parked_copies_are VOL N SHA: N parked files, each with content SHA.
parked_copies_are() {
	local f n=0
	for f in $(parked "$1"); do
		[ "$(sha_of "$f")" = "$3" ] || {
			echo "$f: other bytes"
			return 1
		}
		n=$((n + 1))
	done
	[ "$n" -eq "$2" ] || {
		echo "$n parked copies, want $2"
		return 1
	}
}

head -c $((2 << 20)) /dev/urandom >"$MT_TMP/src"
head -c $((1 << 20)) /dev/urandom >"$MT_TMP/more"
cat "$MT_TMP/src" "$MT_TMP/more" >"$MT_TMP/grown"
SRC_SHA=$(sha_of "$MT_TMP/src")
GROWN_SHA=$(sha_of "$MT_TMP/grown")
SRC_LEN=$((2 << 20))
GROWN_LEN=$((3 << 20))

# check_volume VOL COPIES: 24 test points on a started volume whose files
# have COPIES copies.
check_volume() {
	local vol=$1 copies=$2 a=$MT_TMP/$1-a b=$MT_TMP/$1-b brick
	tap_require "$vol: mount A" mount_volume_of "$vol" "$a"
	tap_require "$vol: mount B" mount_volume_of "$vol" "$b"
	mkdir -p "$a/d"
	cp "$MT_TMP/src" "$a/d/f"
	hold_start
	tap_check "$vol: A holds d/f open" hold open f "$a/d/f" rw
	rm -f "$b/d/f"
	tap_check "$vol: B removed it; A's fstat says nlink 0, the size" \
		wait_for "$CACHE_WAIT" hold_is "0 $SRC_LEN 644" stat f
	tap_check "$vol: A reads the bytes it wrote" \
		hold_is "$SRC_SHA $SRC_LEN" read f 0 $((4 << 20))
	tap_check "$vol: A writes on" hold_is $((1 << 20)) write f "$SRC_LEN" \
		"$MT_TMP/more"
	tap_check "$vol: and reads it all back" \
		hold_is "$GROWN_SHA $GROWN_LEN" read f 0 $((4 << 20))
	tap_check "$vol: $copies parked cop(ies) on the bricks, same bytes" \
		wait_for 10 parked_copies_are "$vol" "$copies" "$GROWN_SHA"
	echo "new file" >"$b/d/f"
	tap_check "$vol: B's new d/f is another file; A's fd keeps the old" \
		hold_is "$GROWN_SHA $GROWN_LEN" read f 0 $((4 << 20))
	tap_check "$vol: fchmod through A's fd" hold chmod f 600
	tap_check "$vol: ftruncate through A's fd" hold truncate f "$SRC_LEN"
	tap_check "$vol: fstat: nlink 0, truncated size, new mode" \
		wait_for "$CACHE_WAIT" hold_is "0 $SRC_LEN 600" stat f
	hold close f
	tap_check "$vol: the last close removes the parked copies" \
		wait_for 10 parked_count_is "$vol" 0
	tap_check "$vol: B's d/f was never touched" \
		sh -c '[ "$(cat "$1")" = "new file" ]' sh "$a/d/f"

	# the atomic save: B renames a new file over the one A reads
	cp "$MT_TMP/src" "$a/d/doc"
	hold open r "$a/d/doc" ro
	cp "$MT_TMP/more" "$b/d/doc.tmp" && mv -f "$b/d/doc.tmp" "$b/d/doc"
	tap_check "$vol: a reader of a file renamed over reads the old bytes" \
		hold_is "$SRC_SHA $SRC_LEN" read r 0 $((4 << 20))
	tap_check "$vol: a new open reads the new file" \
		cmp "$MT_TMP/more" "$a/d/doc"
	hold close r
	tap_check "$vol: nothing parked after the reader closed" \
		wait_for 10 parked_count_is "$vol" 0

	# a brick holding a parked copy dies and comes back
	cp "$MT_TMP/src" "$a/d/g"
	hold open g "$a/d/g" rw
	rm -f "$b/d/g"
	wait_for 10 parked_count_is "$vol" "$copies"
	brick=
	for brick in ${MT_VOL_BRICKS[$vol]}; do
		[ -n "$(find "$(brick_dir "$brick")/.mortar/unlink" -type f)" ] &&
			break
	done
	kill_brick "$brick"
	tap_check "$vol: a killed brick leaves its parked copy on disk" \
		test -n "$(find "$(brick_dir "$brick")/.mortar/unlink" -type f)"
	tap_require "$vol: restart $brick" restart_brick "$brick"
	tap_check "$vol: the restarted brick removed it at start" \
		test -z "$(find "$(brick_dir "$brick")/.mortar/unlink" -type f)"
	if [ "$copies" -gt 1 ]; then
		tap_check "$vol: the other copy still serves A's reads" \
			hold_is "$SRC_SHA $SRC_LEN" read g 0 $((4 << 20))
	else
		tap_check "$vol: the only copy is gone: A's read fails, no other bytes" \
			hold_fails read g 0 $((4 << 20))
	fi
	hold close g
	hold_stop
	tap_check "$vol: nothing parked after the close" \
		wait_for 10 parked_count_is "$vol" 0
	tap_check "$vol: unmount A" unmount_volume "$a"
	tap_check "$vol: unmount B" unmount_volume "$b"
}

# one brick, no cluster translator
tap_require "one: start brick" start_brick one-b0 "$MT_TMP/one/b0"
MT_VOL_BRICKS[one-b0]=one-b0
check_volume one-b0 1

tap_require "replicate 2: start" start_volume rep replicate 2
check_volume rep 2
tap_check "rep: heal has nothing left to do" wait_for 30 heal_done rep

tap_require "distribute 4: start" start_volume dis distribute 4
check_volume dis 1

tap_require "unify 4: start" start_volume uni unify 4
check_volume uni 1

tap_require "distributed-replicate 2 x 2: start" start_volume dr \
	distributed-replicate 4 --replica 2
check_volume dr 2
tap_check "dr: heal has nothing left to do" wait_for 30 heal_done dr
