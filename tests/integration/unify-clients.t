#!/bin/bash
#
# unify-clients.t: many clients of one wide unify rr volume.  Each client
# takes a round-robin ticket from the first brick when it mounts
# (unify-ticket.c), so W clients that each create one file spread over
# the B bricks with at most one file of difference between two bricks
# (every client starting at brick 0 put them all on the first).  The
# files are written at once, each read back through another client and
# compared with what was written.  Threads and RSS per client and per
# brick are printed (not asserted: the bench measures them).
#
# Width: MORTAR_TEST_WIDTH_BRICKS (16) x MORTAR_TEST_WIDTH_CLIENTS (32).
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-420}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries "$MORTAR_VOLGEN"
B=${MORTAR_TEST_WIDTH_BRICKS:-16}
W=${MORTAR_TEST_WIDTH_CLIENTS:-32}
plan 15
# Figures go to fd 3, the script's stdout: shown even when a check passes.
exec 3>&1

TICKET=trusted.mortar.unify.rr-ticket

# count DIR: regular files directly in a brick directory.
count() {
	find "$1" -maxdepth 1 -type f -name 'c*' | wc -l
}

# status_field PID FIELD: a field of /proc/PID/status (VmRSS in kB,
# Threads).
status_field() {
	awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null
}

tap_require "start a $B-brick unify rr volume" start_volume w unify "$B" \
	--scheduler rr --option "w-unify:child-up-timeout=20"

declare -a PIDS
mount_all() {
	local k t0
	t0=$(date +%s%N)
	for ((k = 0; k < W; k++)); do
		mount_volume_of w "$MT_TMP/m$k" >/dev/null || return 1
		PIDS[k]=$MOUNT_PID
	done
	diag "$W mounts in $((($(date +%s%N) - t0) / 1000000)) ms (one after another)" >&3
}
tap_require "mount $W clients one after another" mount_all

# The ticket counter on the first brick counts the mounts.
ticket_count() {
	local v
	v=$(getfattr --absolute-names -e hex -n "$TICKET" --only-values \
		"$MT_TMP/w/b0" 2>/dev/null | od -An -tx1 | tr -d ' \n')
	diag "ticket counter on brick 0: 0x$v"
	[ -n "$v" ] && [ $((16#$v)) -eq "$W" ]
}
tap_check "the first brick handed out one ticket per mount" ticket_count

# Every client's data: 256 KiB of its own bytes.
make_refs() {
	local k
	mkdir -p "$MT_TMP/ref"
	for ((k = 0; k < W; k++)); do
		head -c $((256 * 1024)) /dev/urandom >"$MT_TMP/ref/c$k" || return 1
	done
}
tap_require "reference data" make_refs

write_all() {
	local k rc=0
	local -a jobs=()
	for ((k = 0; k < W; k++)); do
		dd if="$MT_TMP/ref/c$k" of="$MT_TMP/m$k/c$k" bs=64k \
			conv=fsync status=none &
		jobs+=($!)
	done
	for k in "${jobs[@]}"; do wait "$k" || rc=1; done
	return $rc
}
tap_check "$W clients write one file each at the same time" write_all

spread() {
	local b n min=999999 max=0 line=
	for ((b = 0; b < B; b++)); do
		n=$(count "$MT_TMP/w/b$b")
		line+=" $n"
		[ "$n" -lt "$min" ] && min=$n
		[ "$n" -gt "$max" ] && max=$n
	done
	diag "files per brick:$line" >&3
	[ $((max - min)) -le 1 ]
}
tap_check "rr spreads the $W files: max - min <= 1 per brick" spread

on_one_brick() {
	local k b where
	for ((k = 0; k < W; k++)); do
		where=0
		for ((b = 0; b < B; b++)); do
			[ -f "$MT_TMP/w/b$b/c$k" ] && where=$((where + 1))
		done
		[ "$where" -eq 1 ] || { diag "c$k on $where bricks"; return 1; }
	done
}
tap_check "every file is on exactly one brick" on_one_brick

read_by_other() {
	local k o rc=0
	for ((k = 0; k < W; k++)); do
		o=$(((k + 1) % W))
		cmp -s "$MT_TMP/ref/c$k" "$MT_TMP/m$o/c$k" ||
			{ diag "c$k read through m$o differs"; rc=1; }
	done
	return $rc
}
tap_check "each file read back through another client equals its data" \
	read_by_other

listing() {
	local n
	n=$(find "$MT_TMP/m$((W - 1))" -maxdepth 1 -type f -name 'c*' | wc -l)
	[ "$n" -eq "$W" ]
}
tap_check "a client lists all $W files" listing

# A mount after the others continues the rotation: its file goes to the
# brick after the last ticket's.
late_mount() {
	local b want=$((W % B))
	mount_volume_of w "$MT_TMP/late" >/dev/null || return 1
	echo late >"$MT_TMP/late/late" || return 1
	for ((b = 0; b < B; b++)); do
		[ -f "$MT_TMP/w/b$b/late" ] && break
	done
	diag "the late client's file is on brick $b (expected $want)" >&3
	[ "$b" -eq "$want" ]
}
tap_check "a later client starts where the rotation stands" late_mount
tap_check "unmount the late client" unmount_volume "$MT_TMP/late"

# Every client loses brick 1 at once and gets it back: the files on it
# read right through every client again (reconnects are jittered so the
# clients do not knock at the same moments; none may give up).
b1_files() {
	local k
	for ((k = 0; k < W; k++)); do
		[ -f "$MT_TMP/w/b1/c$k" ] && echo "c$k"
	done
}
all_read_b1() {
	local k f
	for ((k = 0; k < W; k++)); do
		for f in $B1_FILES; do
			cmp -s "$MT_TMP/ref/$f" "$MT_TMP/m$k/$f" || return 1
		done
	done
}
restart_b1() {
	local t0
	B1_FILES=$(b1_files)
	[ -n "$B1_FILES" ] || return 1
	kill_brick w-b1 && restart_brick w-b1 || return 1
	t0=$SECONDS
	wait_for 60 all_read_b1 || return 1
	diag "after brick 1 restarted, all $W clients read its files within $((SECONDS - t0)) s" >&3
}
tap_check "brick 1 restarted under $W clients: every client reads its files again" \
	restart_b1

footprint() {
	local k p rss=0 thr=0 maxrss=0 maxthr=0 n=0 b
	for ((k = 0; k < W; k++)); do
		p=${PIDS[k]}
		r=$(status_field "$p" VmRSS)
		t=$(status_field "$p" Threads)
		[ -n "$r" ] || continue
		n=$((n + 1))
		rss=$((rss + r)) thr=$((thr + t))
		[ "$r" -gt "$maxrss" ] && maxrss=$r
		[ "$t" -gt "$maxthr" ] && maxthr=$t
	done
	[ "$n" -gt 0 ] || return 1
	diag "client ($B brick connections): RSS mean $((rss / n)) kB, max $maxrss kB; threads mean $((thr / n)), max $maxthr" >&3
	rss=0 thr=0 n=0
	for b in ${MT_VOL_BRICKS[w]}; do
		p=${MT_BRICK_PID[$b]}
		r=$(status_field "$p" VmRSS)
		t=$(status_field "$p" Threads)
		[ -n "$r" ] || continue
		n=$((n + 1)) rss=$((rss + r)) thr=$((thr + t))
	done
	[ "$n" -gt 0 ] || return 1
	diag "brick ($W clients): RSS mean $((rss / n)) kB; threads mean $((thr / n))" >&3
}
tap_check "print client and brick footprints" footprint

unmount_all() {
	local k rc=0
	for ((k = 0; k < W; k++)); do
		unmount_volume "$MT_TMP/m$k" || rc=1
	done
	return $rc
}
tap_check "unmount every client" unmount_all
tap_check "stop the volume" stop_volume w
