#!/bin/bash
#
# md-cache.t: coherent metadata caching between mounts.  The client graphs
# cache for 60 s (md-cache-timeout), far longer than the test waits: every
# change one mount makes must reach the others through the bricks'
# notices (features/upcall), not through expiry.  One brick with three
# mounts, then replicate 2 with two mounts.  A chmod, truncate, write,
# rename, unlink and create on one mount are seen on the others at once
# after an open, and within CACHE_WAIT without one (the kernel's own
# 1 s caches, told by the bridge too), and stay seen (never stale once the
# notice came); an unlink elsewhere surfaces as ENOENT, not as a cached
# success; names another mount adds to or removes from a directory this
# one made (and so knows whole) are seen; a directory stat-ed name by
# name is read whole into the cache, right, and stays coherent; a brick
# restart empties the caches, even of a change no notice
# reported (made in the brick directory while it was down).
#
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries
plan 71

CACHE_WAIT=${MORTAR_TEST_CACHE_WAIT:-3}
LONG=(--md-cache --option performance/md-cache:md-cache-timeout=60)

mode_of() { stat -c %a "$1" 2>/dev/null; }
size_of() { stat -c %s "$1" 2>/dev/null; }

# stays N CMD...: CMD holds on N checks in a row (no stale answer comes
# back once the new one was seen).
stays() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" || return 1
	done
}

mode_is() { [ "$(mode_of "$1")" = "$2" ]; }
size_is() { [ "$(size_of "$1")" = "$2" ]; }
gone() { [ ! -e "$1" ] && ! stat "$1" >/dev/null 2>&1; }
there() { [ -e "$1" ]; }
content_is() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
# the errno of an open: ENOENT, never a cached success
open_enoent() {
	local err
	err=$(cat "$1" 2>&1 >/dev/null) && return 1
	case $err in *"No such file"*) return 0 ;; esac
	return 1
}

# seen_by CHANGE-DESC WHAT ARGS...: on every other mount, within the
# bound, then stays so.
seen_everywhere() {
	local desc=$1 m
	shift
	for m in "${OTHERS[@]}"; do
		wait_for "$CACHE_WAIT" "$@" "$m" || {
			diag "$desc: not seen on $m"
			return 1
		}
	done
}

# Each check takes the mount dir as its last argument.
c_mode() { mode_is "$2/f" "$1"; }
c_size() { size_is "$2/f" "$1"; }
c_data() { content_is "$2/f" "$1"; }
c_gone() { gone "$2/$1"; }
c_there() { there "$2/$1"; }

coherence_round() { # LABEL A OTHERS...
	local label=$1 a=$2 m
	shift 2
	OTHERS=("$@")
	echo one >"$a/f" || return 1
	# the others look at it (and cache it), a missing name too
	for m in "${OTHERS[@]}"; do
		wait_for "$CACHE_WAIT" content_is "$m/f" one || return 1
		stat "$m/f" >/dev/null
		stat "$m/new" >/dev/null 2>&1
	done
	chmod 0600 "$a/f"
	tap_check "$label: chmod seen on the others" \
		seen_everywhere chmod c_mode 600
	tap_check "$label: and it stays seen" \
		stays 20 c_mode 600 "${OTHERS[0]}"
	truncate -s 1000 "$a/f"
	tap_check "$label: truncate seen on the others" \
		seen_everywhere truncate c_size 1000
	printf two >"$a/f"
	# shellcheck disable=SC2016
	tap_check "$label: a write is read at once after open on the others" \
		sh -c 'for m; do [ "$(cat "$m/f")" = two ] || exit 1; done' \
		sh "${OTHERS[@]}"
	tap_check "$label: the new size without open too" \
		seen_everywhere size c_size 3
	mv "$a/f" "$a/g"
	tap_check "$label: rename: old name gone on the others" \
		seen_everywhere rename c_gone f
	tap_check "$label: rename: new name there on the others" \
		seen_everywhere rename c_there g
	rm "$a/g"
	tap_check "$label: unlink: gone on the others" \
		seen_everywhere unlink c_gone g
	tap_check "$label: unlink: open elsewhere fails ENOENT" \
		open_enoent "${OTHERS[0]}/g"
	echo new >"$a/new"
	tap_check "$label: create after a cached ENOENT is seen" \
		seen_everywhere create c_there new
	rm -f "$a/new"
}

# parent_round LABEL A B: entry changes on A leave A's cached attributes
# of their directory exact at once (md-cache keeps the ones the brick
# read right after the change, when it asks for them), and B's change
# there reaches A's cache too.
nlink_of() { stat -c %h "$1" 2>/dev/null; }
mtime_of() { stat -c %.9Y "$1" 2>/dev/null; }
nlink_is() { [ "$(nlink_of "$1")" = "$2" ]; }
nlink_settles() { # DIR N: within the bound, then stays
	wait_for "$CACHE_WAIT" nlink_is "$1" "$2" && stays 20 nlink_is "$1" "$2"
}
parent_round() {
	local label=$1 a=$2 b=$3 n0 m0
	mkdir "$a/pd" && stat "$a/pd" >/dev/null && stat "$b/pd" >/dev/null
	n0=$(nlink_of "$a/pd")
	mkdir "$a/pd/s1"
	tap_check "$label: mkdir: the parent's link count at once" \
		nlink_is "$a/pd" $((n0 + 1))
	m0=$(mtime_of "$a/pd")
	sleep 0.05
	: >"$a/pd/f1"
	# shellcheck disable=SC2016
	tap_check "$label: create: the parent's mtime moves at once" \
		sh -c '[ "$(stat -c %.9Y "$1")" != "$2" ]' sh "$a/pd" "$m0"
	rmdir "$a/pd/s1"
	tap_check "$label: rmdir: the parent's link count at once" \
		nlink_is "$a/pd" "$n0"
	mkdir "$b/pd/s2"
	tap_check "$label: another mount's mkdir reaches the parent's count" \
		nlink_settles "$a/pd" $((n0 + 1))
	rm -rf "$a/pd"
}

# complete_round LABEL A B: a directory A made is known whole there (a
# lookup of a name it lacks is answered without the bricks), and B's
# changes in it reach A all the same.
complete_round() {
	local label=$1 a=$2 b=$3 before after i
	before=$(mt_dump_value "${MT_MOUNT_PID[$a]}" complete-noents)
	mkdir "$a/cd" || return 1
	for i in 1 2 3 4 5; do : >"$a/cd/f$i"; done
	mkdir "$a/cd/sub"
	after=$(mt_dump_value "${MT_MOUNT_PID[$a]}" complete-noents)
	diag "$label: complete-noents $before -> $after"
	tap_check "$label: creates in a directory made here skip the lookups" \
		test "${after:-0}" -ge $((${before:-0} + 6))
	stat "$b/cd" >/dev/null && stat "$b/cd/x" >/dev/null 2>&1
	echo x >"$b/cd/x"
	tap_check "$label: a name another mount adds is seen" \
		wait_for "$CACHE_WAIT" there "$a/cd/x"
	tap_check "$label: and stays seen" stays 20 there "$a/cd/x"
	: >"$a/cd/f6"
	mkdir "$b/cd/sub/deep"
	tap_check "$label: in a subdirectory made here too" \
		wait_for "$CACHE_WAIT" there "$a/cd/sub/deep"
	rm "$b/cd/f1"
	tap_check "$label: a name another mount removes is gone" \
		wait_for "$CACHE_WAIT" gone "$a/cd/f1"
	# shellcheck disable=SC2012
	tap_check "$label: the listing holds every name" \
		test "$(ls "$a/cd" | tr '\n' ' ')" = "f2 f3 f4 f5 f6 sub x "
	rm -rf "$a/cd"
}

# prefetch_round LABEL A B: B fills a directory; A stats its names one
# by one, so md-cache reads the directory whole (prefetch-dir-after, 8)
# and answers the rest: what A sees equals what B wrote, and B's later
# changes there reach A all the same.
sizes_match() { # DIR N: every f<i> of DIR has the size i
	local i
	for ((i = 1; i <= $2; i++)); do
		[ "$(size_of "$1/f$i")" = "$i" ] || return 1
	done
}
prefetch_round() {
	local label=$1 a=$2 b=$3 i before after
	mkdir "$b/pf" || return 1
	for ((i = 1; i <= 300; i++)); do head -c "$i" /dev/zero >"$b/pf/f$i"; done
	before=$(mt_dump_value "${MT_MOUNT_PID[$a]}" dir-prefetches-whole)
	tap_check "$label: a directory stat-ed name by name reads right" \
		sizes_match "$a/pf" 300
	after=$(mt_dump_value "${MT_MOUNT_PID[$a]}" dir-prefetches-whole)
	diag "$label: dir-prefetches-whole $before -> $after"
	tap_check "$label: the directory was read whole into the cache" \
		test "${after:-0}" -gt "${before:-0}"
	echo new >"$b/pf/late"
	tap_check "$label: after the prefetch a name added elsewhere is seen" \
		wait_for "$CACHE_WAIT" there "$a/pf/late"
	rm "$b/pf/f7"
	tap_check "$label: and a name removed elsewhere is gone" \
		wait_for "$CACHE_WAIT" gone "$a/pf/f7"
	chmod 0600 "$b/pf/f9"
	tap_check "$label: and a mode changed elsewhere is seen" \
		wait_for "$CACHE_WAIT" mode_is "$a/pf/f9" 600
	rm -rf "$b/pf"
}

# ---- one brick, three mounts ---------------------------------------------
tap_require "start a 1-brick volume" start_volume one distribute 1 "${LONG[@]}"
for x in A B C; do
	tap_require "mount $x" mount_volume_of one "$MT_TMP/one$x"
done
coherence_round "1 brick" "$MT_TMP/oneA" "$MT_TMP/oneB" "$MT_TMP/oneC"
parent_round "1 brick" "$MT_TMP/oneA" "$MT_TMP/oneB"
complete_round "1 brick" "$MT_TMP/oneA" "$MT_TMP/oneB"
prefetch_round "1 brick" "$MT_TMP/oneA" "$MT_TMP/oneB"
tap_check "1 brick over distribute: no parent attributes asked for" \
	sh -c '[ "$1" = off ]' sh \
	"$(mt_dump_value "${MT_MOUNT_PID[$MT_TMP/oneA]}" postparent)"

# The brick forgets what it recorded of removed files (its table would
# otherwise fill with them): 100 files B looked at, removed by A.
upcall_inodes() { # BRICK: features/upcall's "inodes=" in a state dump
	local f
	f=$(mt_state_dump "${MT_BRICK_PID[$1]}") || return 1
	sed -n '/^type=features\/upcall/,/^\[/s/^inodes=//p' "$f" | head -n 1
}
mkdir "$MT_TMP/oneA/many"
for i in $(seq 1 100); do : >"$MT_TMP/oneA/many/f$i"; done
for i in $(seq 1 100); do stat "$MT_TMP/oneB/many/f$i" >/dev/null; done
u_before=$(upcall_inodes one-b0)
rm -rf "$MT_TMP/oneA/many"
u_after=$(upcall_inodes one-b0)
diag "features/upcall inodes: $u_before with 100 files, $u_after after rm"
tap_check "the brick's record of 100 removed files is gone" \
	test "${u_before:-0}" -ge 100 -a "${u_after:-999}" -le $((u_before - 100))

# A change nobody can report: made on the brick itself while it is down.
echo x >"$MT_TMP/oneA/r" && chmod 0644 "$MT_TMP/oneA/r"
stat "$MT_TMP/oneB/r" >/dev/null
b=one-b0
stop_brick "$b"
chmod 0604 "$(brick_dir "$b")/r"
tap_check "brick restart" restart_brick "$b"
tap_check "brick restart: the cache from before is dropped" \
	wait_for 15 mode_is "$MT_TMP/oneB/r" 604
for x in A B C; do
	unmount_volume "$MT_TMP/one$x" || diag "unmount one$x failed"
done
stop_volume one

# ---- replicate 2, two mounts ---------------------------------------------
tap_require "start a replicate-2 volume" start_volume rep replicate 2 "${LONG[@]}"
tap_require "mount A" mount_volume_of rep "$MT_TMP/repA"
tap_require "mount B" mount_volume_of rep "$MT_TMP/repB"
coherence_round "replicate 2" "$MT_TMP/repA" "$MT_TMP/repB"
parent_round "replicate 2" "$MT_TMP/repA" "$MT_TMP/repB"
complete_round "replicate 2" "$MT_TMP/repA" "$MT_TMP/repB"
prefetch_round "replicate 2" "$MT_TMP/repA" "$MT_TMP/repB"
parent_fills() {
	local v
	v=$(mt_dump_value "${MT_MOUNT_PID[$MT_TMP/repA]}" parent-fills)
	diag "replicate 2: md-cache parent-fills=$v"
	[ "${v:-0}" -gt 0 ]
}
MT_VERBOSE=1 tap_check "replicate 2: the parent's attributes come from the changes" \
	parent_fills
tap_check "unmount A" unmount_volume "$MT_TMP/repA"
tap_check "unmount B" unmount_volume "$MT_TMP/repB"
stop_volume rep

# ---- interest that must outlive the mkdir --------------------------------
# The bricks remember a mount's interest in a directory for 2 s here,
# and the mount keeps a directory it made complete while it adds names
# there (each create renews it).  md-cache keeps items for 30 s, longer
# than the bricks remember (never do this in a real volume): then
# nothing but the creates themselves (not a lookup of the directory that
# missed the cache) can renew the mount's interest on the bricks.  Past
# the mkdir's 2 s, a name another mount adds must still be seen at once:
# the creates renewed the interest (features/upcall notes the changer's
# directory), or the notice never comes and the name stays ENOENT while
# the creates go on.
SHORT=(--md-cache --option performance/md-cache:md-cache-timeout=30
	--option features/upcall:cache-invalidation-timeout=2)
# keeps_creating_until_seen A NAME: create a file in A/cd every 0.1 s
# for up to CACHE_WAIT s; done when A/cd/NAME is there.
keeps_creating_until_seen() {
	local deadline=$((SECONDS + CACHE_WAIT)) i=100
	while [ $SECONDS -lt $deadline ]; do
		: >"$1/cd/k$i" || return 1
		[ -e "$1/cd/$2" ] && return 0
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}
tap_require "start a replicate-2 volume with 2 s interest" \
	start_volume short replicate 2 "${SHORT[@]}"
tap_require "mount A" mount_volume_of short "$MT_TMP/shA"
tap_require "mount B" mount_volume_of short "$MT_TMP/shB"
before=$(mt_dump_value "${MT_MOUNT_PID[$MT_TMP/shA]}" complete-noents)
mkdir "$MT_TMP/shA/cd"
for i in $(seq 1 35); do
	: >"$MT_TMP/shA/cd/f$i"
	sleep 0.1
done
after=$(mt_dump_value "${MT_MOUNT_PID[$MT_TMP/shA]}" complete-noents)
diag "35 creates over 3.5 s: complete-noents $before -> $after"
tap_check "the creates' lookups were answered by the complete directory" \
	test "${after:-0}" -ge $((${before:-0} + 35))
stat "$MT_TMP/shB/cd" >/dev/null
echo x >"$MT_TMP/shB/cd/late"
tap_check "a name added 3.5 s after the mkdir is seen while A creates" \
	keeps_creating_until_seen "$MT_TMP/shA" late

tap_check "unmount A" unmount_volume "$MT_TMP/shA"
tap_check "unmount B" unmount_volume "$MT_TMP/shB"
stop_volume short
