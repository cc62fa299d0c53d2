#!/bin/bash
#
# replicate-arbiter.t: replica sets of two data bricks and an arbiter
# (mortar-volgen --replica 3 --arbiter 1), on replicate, distributed-
# replicate and unify-replicate.
#
# The arbiter holds every name, mode, owner and the changelog, but no file
# data: its files are zero-length.  Any one brick of a set, the first one
# included, can be killed (SIGKILL) while four writers run: no writer sees
# an error, everything reads back, heal completes, no split-brain, both
# data copies end identical.  When the only data copy that is up is the
# one the arbiter blames, reads and writes fail (EIO/ENOTCONN) instead of
# serving stale bytes, until the good copy is back; then heal repairs it.
# mortar-heal refuses the arbiter as a data source, mortar-recover never
# takes an arbiter's empty file for the data.
#
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"
# shellcheck source=SCRIPTDIR/../lib/replica.sh
. "$top_srcdir/tests/lib/replica.sh"

require_binaries "$MT_HEAL"
command -v python3 >/dev/null || skip_all "python3 missing"
plan 54

# Writers' file size: small under the sanitizers (MORTAR_TEST_BIG_MB).
MB=$(( ${MORTAR_TEST_BIG_MB:-1024} >= 1024 ? 24 : 8 ))
RECOVER=$top_builddir/extras/tools/mortar-recover
for w in 1 2 3 4; do
	head -c $((MB << 20)) /dev/urandom >"$MT_TMP/src$w"
done

size_at_least() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

# four_writers MNT TAG BRICK: four dd writers into MNT/TAG-w<i>, BRICK
# killed once a quarter of the first file is written; 0 when every
# writer succeeded.
four_writers() {
	local mnt=$1 tag=$2 brick=$3 w rc=0
	local -a pids=()
	for w in 1 2 3 4; do
		dd if="$MT_TMP/src$w" of="$mnt/$tag-w$w" bs=1M conv=fsync \
			status=none 2>"$MT_TMP/dd-$tag-$w.err" &
		pids+=($!)
	done
	wait_for 60 size_at_least "$mnt/$tag-w1" $((MB << 18))
	kill_brick "$brick"
	for w in 1 2 3 4; do
		wait "${pids[$((w - 1))]}" || {
			echo "writer $w: $(cat "$MT_TMP/dd-$tag-$w.err")"
			rc=1
		}
	done
	return $rc
}
reads_back() { # MNT TAG
	local w
	for w in 1 2 3 4; do
		cmp "$MT_TMP/src$w" "$1/$2-w$w" || return 1
	done
}
# data_copies_ok VOL SET FILE...: in replica set SET (bricks 3*SET ..
# 3*SET+2) the two data bricks hold identical copies and the arbiter a
# zero-length file with the same gfid, for each FILE.
data_copies_ok() {
	local vol=$1 set=$2 f d0 d1 ar
	shift 2
	d0=$(brick_dir "$vol-b$((3 * set))")
	d1=$(brick_dir "$vol-b$((3 * set + 1))")
	ar=$(brick_dir "$vol-b$((3 * set + 2))")
	for f in "$@"; do
		cmp "$d0/$f" "$d1/$f" || return 1
		[ -f "$ar/$f" ] && [ ! -s "$ar/$f" ] || {
			echo "$f: arbiter copy missing or not empty"
			return 1
		}
		[ "$(getfattr -n trusted.mortar.gfid -e hex "$d0/$f" 2>/dev/null | tail -1)" = \
			"$(getfattr -n trusted.mortar.gfid -e hex "$ar/$f" 2>/dev/null | tail -1)" ] || {
			echo "$f: gfid differs on the arbiter"
			return 1
		}
	done
}
no_split_brain() {
	heal_cmd "$1" split-brain 2>/dev/null | grep -qx 'entries: 0'
}
# Which replica set of VOL holds FILE (by its data on brick 3*set).
set_of() {
	local s
	for s in 0 1; do
		[ -s "$(brick_dir "$1-b$((3 * s))")/$2" ] && { echo "$s"; return; }
	done
	echo 0
}

# ---------------------------------------------------------------- replicate
tap_require "replicate 3 arbiter 1: start" start_volume ar replicate 3 \
	--replica 3 --arbiter 1
M=$MT_TMP/ar-mnt
tap_require "mount" mount_volume_of ar "$M"
cp "$MT_TMP/src1" "$M/plain"
mkdir "$M/dir" && ln -s plain "$M/dir/link" && chmod 640 "$M/plain"
tap_check "the arbiter has the names, modes and links, no data" \
	sh -c '[ ! -s "$1/plain" ] && [ "$(stat -c %a "$1/plain")" = 640 ] &&
		[ "$(readlink "$1/dir/link")" = plain ]' sh "$(brick_dir ar-b2)"
tap_check "the data bricks have the data" data_copies_ok ar 0 plain

# mount_sees BRICK: a new name made through the mount reaches BRICK (the
# mount has reconnected to it; a heal finished by the bricks alone can
# come before that, and the next step must not start with a copy away).
PROBE=0
mount_sees() {
	PROBE=$((PROBE + 1))
	echo probe >"$M/.probe$PROBE" 2>/dev/null &&
		[ -e "$(brick_dir "$1")/.probe$PROBE" ]
}

for b in 0 1 2; do
	tap_check "ar: four writers, brick $b killed: no error" \
		four_writers "$M" "k$b" "ar-b$b"
	tap_check "ar: brick $b down: everything reads back" reads_back "$M" "k$b"
	tap_require "ar: brick $b restarts" restart_brick "ar-b$b"
	tap_check "ar: heal completes" wait_for 120 heal_done ar
	tap_check "ar: the mount sees brick $b again" wait_for 20 mount_sees "ar-b$b"
	tap_check "ar: no split-brain" no_split_brain ar
	tap_check "ar: data copies identical, arbiter empty" \
		data_copies_ok ar 0 "k$b-w1" "k$b-w2" "k$b-w3" "k$b-w4"
done

# The arbiter blames the only data copy that is up: refuse, never stale.
echo "old content" >"$M/g"
kill_brick ar-b1
tap_check "with brick 1 down the file takes new content" \
	sh -c 'echo "new content" >"$1"' sh "$M/g"
kill_brick ar-b0
tap_require "restart the stale data brick alone" restart_brick ar-b1
stale_refused() {
	python3 - "$M/g" <<'EOF'
import errno, sys
try:
    data = open(sys.argv[1]).read()
except OSError as e:
    sys.exit(0 if e.errno in (errno.EIO, errno.ENOTCONN) else 1)
sys.exit("read the stale copy: %r" % data)
EOF
}
tap_check "a read of the stale copy fails (EIO/ENOTCONN), no old bytes" \
	wait_for 20 stale_refused
write_refused() {
	python3 - "$M/g" <<'EOF'
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
    os.write(fd, b"x"); os.fsync(fd); os.close(fd)
except OSError as e:
    sys.exit(0 if e.errno in (errno.EIO, errno.ENOTCONN) else 1)
sys.exit("wrote onto the stale copy")
EOF
}
tap_check "a write onto the stale copy fails" write_refused
tap_require "the good data brick returns" restart_brick ar-b0
tap_check "heal completes" wait_for 120 heal_done ar
tap_check "the new content is read and on both data bricks" \
	sh -c '[ "$(cat "$1")" = "new content" ] && cmp "$2/g" "$3/g"' sh \
	"$M/g" "$(brick_dir ar-b0)" "$(brick_dir ar-b1)"
resolve_arbiter_refused() {
	! heal_cmd ar resolve /g --source-brick ar-client-2 \
		>"$MT_TMP/resolve.out" 2>&1 && grep -qi arbiter "$MT_TMP/resolve.out"
}
tap_check "mortar-heal refuses the arbiter as a data source" \
	resolve_arbiter_refused
tap_check "unmount" unmount_volume "$M"

# mortar-recover with every daemon stopped: data from the data bricks.
tap_require "stop the volume" stop_volume ar
tap_check "mortar-recover takes the data, never the arbiter's empty files" \
	sh -c '"$1" "$2" "$3" >/dev/null 2>"$3.err" || [ $? -eq 2 ];
		cmp "$4" "$3/k0-w1" && cmp "$5" "$3/plain"' sh "$RECOVER" \
	"${MT_VOL_DIR[ar]}/ar.vol" "$MT_TMP/recovered" "$MT_TMP/src1" \
	"$MT_TMP/src1"

# ---------------------------------------------------------------- 2 x (2+1)
for type in distributed-replicate unify-replicate; do
	v=${type%%-*}
	tap_require "$type 2 x (2 + 1): start" start_volume "$v" "$type" 6 \
		--replica 3 --arbiter 1
	m=$MT_TMP/$v-mnt
	tap_require "$v: mount" mount_volume_of "$v" "$m"
	cp "$MT_TMP/src2" "$m/probe"
	s=$(set_of "$v" probe)
	tap_check "$v: four writers, the first brick of a set killed: no error" \
		four_writers "$m" k "$v-b$((3 * s))"
	tap_check "$v: everything reads back" reads_back "$m" k
	tap_require "$v: the brick restarts" restart_brick "$v-b$((3 * s))"
	tap_check "$v: heal completes" wait_for 120 heal_done "$v"
	tap_check "$v: no split-brain" no_split_brain "$v"
	arbiters_empty() {
		! find "$(brick_dir "$v-b2")" "$(brick_dir "$v-b5")" \
			-path '*/.mortar' -prune -o -type f -size +0 -print | grep -q .
	}
	tap_check "$v: no arbiter holds file data" arbiters_empty
	tap_check "$v: unmount" unmount_volume "$m"
done
