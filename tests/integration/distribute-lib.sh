# shellcheck shell=bash
# distribute-lib.sh - helpers the cluster/distribute tests share (sourced
# after tests/lib/mortar-test.sh).  Volumes come from the library's
# start_volume (mortar-volgen): bricks NAME-b<i> in $MT_TMP/NAME/b<i>,
# protocol/client NAME-client-<i>, cluster/distribute NAME-dht.
#
#   dht_volume NAME COUNT [KEY=VALUE...]
#       start_volume NAME distribute COUNT, the options on NAME-dht, and
#       a 10 s ping-timeout on the clients (a killed brick's calls fail
#       quickly)
#   dht_data_files DIR      regular files below a brick dir, without
#                           linkto files and .mortar
#   dht_linkto_files DIR    the linkto files below a brick dir
#   dht_is_linkto FILE      FILE (on a brick) is a linkto file
#   dht_brick_of NAME PATH  the brick index holding PATH's data
#   dht_linkto_brick_of NAME PATH   the brick index with a linkto for PATH
#   dht_name_off_brick NAME MNT DIR BRICK [PREFIX]
#       "NAME2 B": a name for a new file in MNT/DIR that lands on brick
#       B, not BRICK (the brick the name hashes to): PREFIX1, PREFIX2, ...
#       (default "probe") are made and removed until one does (give each
#       call its own PREFIX when the names it returns are kept)
#   dht_name_on_brick NAME MNT DIR BRICK [PREFIX]
#       the same for a name that lands on BRICK
#
# A linkto file is a file of mode exactly 1000 WITH the xattr
# trusted.mortar.dht.linkto: a user's file may have mode 1000 too.

dht_volume() {
	local name=$1 count=$2 opt
	local -a opts=(--option protocol/client:ping-timeout=10)
	shift 2
	for opt in "$@"; do
		opts+=(--option "$name-dht:$opt")
	done
	start_volume "$name" distribute "$count" "${opts[@]}"
}

dht_is_linkto() {
	[ -f "$1" ] && [ "$(stat -c %a "$1")" = 1000 ] &&
		getfattr -n trusted.mortar.dht.linkto "$1" >/dev/null 2>&1
}

# Regular files that hold data (not linkto files).  Only the files of
# mode 1000 are asked for the xattr.
dht_data_files() {
	local f
	find "$1" -path "$1/.mortar" -prune -o -type f ! -perm 1000 -print
	find "$1" -path "$1/.mortar" -prune -o -type f -perm 1000 -print |
		while read -r f; do dht_is_linkto "$f" || echo "$f"; done
}

dht_linkto_files() {
	local f
	find "$1" -path "$1/.mortar" -prune -o -type f -perm 1000 -print |
		while read -r f; do dht_is_linkto "$f" && echo "$f"; done
}

# The brick (0..) of a volume made by dht_volume holding NAME's data,
# given the path below the brick root; empty when none.
dht_brick_of() {
	local vol=$1 rel=$2 b
	local -a bricks
	read -ra bricks <<<"${MT_VOL_BRICKS[$vol]}"
	for ((b = 0; b < ${#bricks[@]}; b++)); do
		if [ -f "$MT_TMP/$vol/b$b/$rel" ] &&
			! dht_is_linkto "$MT_TMP/$vol/b$b/$rel"; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

dht_linkto_brick_of() {
	local vol=$1 rel=$2 b
	local -a bricks
	read -ra bricks <<<"${MT_VOL_BRICKS[$vol]}"
	for ((b = 0; b < ${#bricks[@]}; b++)); do
		if dht_is_linkto "$MT_TMP/$vol/b$b/$rel"; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

dht_name_probe() { # on|off VOL MNT DIR BRICK [PREFIX]
	local on=$1 vol=$2 mnt=$3 dir=$4 brick=$5 prefix=${6:-probe} i b
	for i in $(seq 1 64); do
		[ -e "$mnt/$dir/$prefix$i" ] && continue
		echo x >"$mnt/$dir/$prefix$i" || return 1
		b=$(dht_brick_of "$vol" "$dir/$prefix$i")
		rm -f "$mnt/$dir/$prefix$i" || return 1
		if { [ "$on" = on ] && [ "$b" = "$brick" ]; } ||
			{ [ "$on" = off ] && [ "$b" != "$brick" ]; }; then
			echo "$prefix$i $b"
			return 0
		fi
	done
	return 1
}
dht_name_off_brick() { dht_name_probe off "$@"; }
dht_name_on_brick() { dht_name_probe on "$@"; }
