#!/bin/bash
#
# unify-dirs.t: directories on a unify volume (4 bricks, rr) behave as one
# directory.  Its mtime and ctime move with every file made or removed in
# it, whichever brick the file is on (make, rsync and backup tools read
# them).  A refused rmdir or rename of a directory (ENOTEMPTY on one brick
# only) changes nothing on any brick: no copy is removed and put back,
# the gfids and xattrs stay; names made and removed again in such a
# directory never leave a stale identity (the sequence that made mkdir
# and symlink fail with ESTALE).
#
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries
command -v python3 >/dev/null || skip_all "python3 missing"
command -v getfattr >/dev/null || skip_all "getfattr missing (attr)"
plan 16

M=$MT_TMP/mnt
tap_require "start unify 4 (rr)" start_volume uni unify 4
tap_require "mount" mount_volume_of uni "$M"

times_of() { stat -c '%.9Y %.9Z' "$1"; }
# later A B: both times of B are later than A's.
later() {
	python3 -c 'import sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
sys.exit(0 if b[0] > a[0] and b[1] > a[1] else 1)' "$1" "$2"
}
where_is() { # NAME: the bricks holding d/NAME
	local b
	for b in ${MT_VOL_BRICKS[uni]}; do
		[ -e "$(brick_dir "$b")/d/$1" ] && echo "$b"
	done
}

# every create and every unlink moves the directory's times
mkdir "$M/d"
moves_with_each() { # create|remove
	local i prev now
	prev=$(times_of "$M/d")
	for i in 1 2 3 4 5 6 7 8; do
		sleep 0.01
		if [ "$1" = create ]; then
			echo "$i" >"$M/d/f$i" || return 1
		else
			rm "$M/d/f$i" || return 1
		fi
		now=$(times_of "$M/d")
		later "$prev" "$now" || {
			echo "$1 f$i on $(where_is "f$i"): times $prev -> $now"
			return 1
		}
		prev=$now
	done
}
tap_check "each create moves the directory's mtime and ctime" \
	moves_with_each create
tap_check "the files were spread over all four bricks" \
	test "$(for i in 1 2 3 4 5 6 7 8; do where_is "f$i"; done |
		sort -u | wc -l)" -eq 4
tap_check "each unlink moves the directory's mtime and ctime" \
	moves_with_each remove

# gfids of a directory on every brick: one line per brick
gfids_of() {
	local b
	for b in ${MT_VOL_BRICKS[uni]}; do
		getfattr -n trusted.mortar.gfid -e hex "$(brick_dir "$b")/$1" \
			2>/dev/null | grep '^trusted' || echo "missing on $b"
	done
}
same_everywhere() { # REL: the same gfid and user.tag on every brick
	[ "$(gfids_of "$1" | sort -u | wc -l)" -eq 1 ] &&
		! gfids_of "$1" | grep -q missing || {
		gfids_of "$1"
		return 1
	}
	local b
	for b in ${MT_VOL_BRICKS[uni]}; do
		[ "$(getfattr --only-values -n user.tag \
			"$(brick_dir "$b")/$1" 2>/dev/null)" = "$2" ] || {
			echo "user.tag of $1 lost on $b"
			return 1
		}
	done
}

# a refused rmdir: the directory is not empty on one brick only
mkdir "$M/keep"
setfattr -n user.tag -v kept "$M/keep"
echo data >"$M/keep/only-file"
GFID_KEEP=$(gfids_of keep | sort -u)
# shellcheck disable=SC2016 # expanded by the inner shell
tap_check "rmdir of a directory with one file: ENOTEMPTY" \
	sh -c '! rmdir "$1" 2>"$2" && grep -q "not empty" "$2"' sh \
	"$M/keep" "$MT_TMP/rmdir.err"
tap_check "no brick lost its copy, its gfid or its xattrs" \
	same_everywhere keep kept
tap_check "the gfid is the one it had" \
	test "$(gfids_of keep | sort -u)" = "$GFID_KEEP"

# a refused rename of a directory over a non-empty one
mkdir "$M/empty"
setfattr -n user.tag -v empty "$M/empty"
# shellcheck disable=SC2016 # expanded by the inner shell
tap_check "rename an empty directory over one with a file: ENOTEMPTY" \
	python3 -c 'import errno, os, sys
try:
    os.rename(sys.argv[1], sys.argv[2])
except OSError as e:
    sys.exit(0 if e.errno == errno.ENOTEMPTY else 1)
sys.exit(1)' "$M/empty" "$M/keep"
tap_check "the target kept every copy, gfid and xattr" \
	same_everywhere keep kept
tap_check "the source too" same_everywhere empty empty
tap_check "the target's file still reads" \
	sh -c '[ "$(cat "$1")" = data ]' sh "$M/keep/only-file"

# the issue's sequence: b/x made and removed as every kind of node, a
# refused rename("a", "b") in between each time; then a socket, a
# symlink and a directory named b/x can be made
recreate() {
	python3 - "$M" <<'EOF'
import errno, os, socket, stat, sys
os.chdir(sys.argv[1])
os.mkdir("a"); os.mkdir("b")
makers = [
    ("regular file", lambda p: open(p, "w").close(), os.unlink),
    ("directory", lambda p: os.mkdir(p), os.rmdir),
    ("fifo", lambda p: os.mkfifo(p), os.unlink),
    ("block device", lambda p: os.mknod(p, stat.S_IFBLK | 0o644, os.makedev(7, 200)), os.unlink),
    ("char device", lambda p: os.mknod(p, stat.S_IFCHR | 0o644, os.makedev(1, 3)), os.unlink),
]
for kind, make, remove in makers:
    make("b/x")
    try:
        os.rename("a", "b")
        sys.exit("rename a b worked over b/x (%s)" % kind)
    except OSError as e:
        if e.errno != errno.ENOTEMPTY:
            sys.exit("rename a b with b/x a %s: %s" % (kind, e))
    remove("b/x")
s = socket.socket(socket.AF_UNIX)
s.bind("b/x"); s.close(); os.unlink("b/x")
os.symlink("target", "b/x"); os.unlink("b/x")
os.mkdir("b/x"); os.rmdir("b/x")
open("b/x", "w").close()
EOF
}
tap_check "make and remove b/x as every kind, refused renames between" \
	recreate
one_gfid_each() {
	local d
	for d in a b b/x; do
		[ "$(gfids_of "$d" | grep -v missing | sort -u | wc -l)" -eq 1 ] || {
			gfids_of "$d"
			return 1
		}
	done
	gfids_of a | grep -q missing && return 1
	! gfids_of b | grep -q missing
}
tap_check "a and b keep one gfid each on every brick; b/x has one" \
	one_gfid_each
tap_check "b/x is a plain file on one brick" \
	test "$(for b in ${MT_VOL_BRICKS[uni]}; do
		[ -f "$(brick_dir "$b")/b/x" ] && echo "$b"; done | wc -l)" -eq 1
tap_check "unmount" unmount_volume "$M"
