#!/bin/bash
#
# recover.t: mortar-recover rebuilds a distributed-replicate (2 x 2)
# volume from brick directories laid out by hand the way the cluster
# translators leave them (doc/cluster.md): gfids, linkto files, replica
# copies whose changelog blames a stale sibling, a split-brain pair, a
# directory that missed entries, hard links, the .mortar/ index.  No
# daemon runs: this checks the tool against the on-brick contract.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-120}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

VG=$top_builddir/extras/tools/mortar-volgen
RC=$top_builddir/extras/tools/mortar-recover
require_binaries "$VG" "$RC"
command -v setfattr >/dev/null || skip_all "setfattr (package attr) missing"
plan 18

R=$MT_TMP/rv
V=$MT_TMP/vols
W=$MT_TMP/want # what the volume holds, written by hand

gfid() { # PATH N: a distinct gfid per file
	setfattr -h -n trusted.mortar.gfid -v "0x$(printf '%032x' "$2")" "$1"
}
# blame ON SIBLING DATA META ENTRY: ON's pending counters for SIBLING.
blame() {
	setfattr -h -n "trusted.mortar.afr.$2" \
		-v "0x$(printf '%016x%016x%016x' "$3" "$4" "$5")" "$1"
}
layout() {
	local b
	mkdir -p "$W" "$V"
	for b in b0 b1 b2 b3; do
		mkdir -p "$R/$b/.mortar/handles/00" "$R/$b/d" "$R/$b/e" "$R/$b/empty"
		gfid "$R/$b/empty" 4
		echo "index" >"$R/$b/.mortar/handles/00/junk"
		gfid "$R/$b" 1
		gfid "$R/$b/d" 2
		gfid "$R/$b/e" 3
		chown 1000:1000 "$R/$b/d"
		chmod 0750 "$R/$b/d"
		setfattr -n user.color -v blue "$R/$b/d"
		setfattr -n trusted.mortar.dht.layout -v 0x00000001000000000000000000000000 "$R/$b/d"
	done
	mkdir -p "$W/d" "$W/e" "$W/empty"

	# d/a on replica set 0, identical copies, hard link d/a-link.
	head -c 65536 /dev/urandom >"$W/d/a"
	for b in b0 b1; do
		cp "$W/d/a" "$R/$b/d/a"
		chown 1234:5678 "$R/$b/d/a"
		chmod 0640 "$R/$b/d/a"
		touch -d "2020-01-02 03:04:05" "$R/$b/d/a"
		setfattr -n user.tag -v x "$R/$b/d/a"
		gfid "$R/$b/d/a" 10
		ln "$R/$b/d/a" "$R/$b/d/a-link"
		ln -s a "$R/$b/d/sl"
		gfid "$R/$b/d/sl" 11
	done

	# d/moved: linkto files on set 0, the data on set 1.
	head -c 32768 /dev/urandom >"$W/d/moved"
	for b in b0 b1; do
		: >"$R/$b/d/moved"
		chmod 01000 "$R/$b/d/moved"
		setfattr -n trusted.mortar.dht.linkto \
			-v "0x$(printf 'rv-replicate-1' | od -An -tx1 | tr -d ' \n')00" \
			"$R/$b/d/moved"
		gfid "$R/$b/d/moved" 12
	done
	for b in b2 b3; do
		cp "$W/d/moved" "$R/$b/d/moved"
		chmod 0644 "$R/$b/d/moved"
		gfid "$R/$b/d/moved" 12
	done

	# blamed.bin on set 1: the SECOND copy is the good one, the first
	# is stale and blamed by it.
	head -c 100000 /dev/urandom >"$W/blamed.bin"
	head -c 50000 /dev/urandom >"$R/b2/blamed.bin"
	cp "$W/blamed.bin" "$R/b3/blamed.bin"
	gfid "$R/b2/blamed.bin" 13
	gfid "$R/b3/blamed.bin" 13
	blame "$R/b3/blamed.bin" rv-client-2 3 0 0
	blame "$R/b3/blamed.bin" rv-client-3 0 0 0 # own key: ignored
	blame "$R/b2/blamed.bin" rv-client-3 0 0 0

	# meta.txt: same data, b1 blames b0 for metadata (b0 has a stale mode).
	echo "metadata" >"$W/meta.txt"
	for b in b0 b1; do
		cp "$W/meta.txt" "$R/$b/meta.txt"
		gfid "$R/$b/meta.txt" 14
	done
	chmod 0600 "$R/b0/meta.txt"
	chmod 0604 "$R/b1/meta.txt"
	blame "$R/b1/meta.txt" rv-client-0 0 1 0

	# split.txt: copies on set 0 blame each other.
	echo "one side" >"$R/b0/split.txt"
	echo "other side" >"$R/b1/split.txt"
	gfid "$R/b0/split.txt" 15
	gfid "$R/b1/split.txt" 15
	blame "$R/b0/split.txt" rv-client-1 1 0 0
	blame "$R/b1/split.txt" rv-client-0 2 0 0

	# e/ on set 0: b1 was down; b0 blames it for entries.  e/new was
	# created meanwhile (only on b0), e/gone deleted (still on b1).
	echo new >"$W/e/new"
	cp "$W/e/new" "$R/b0/e/new"
	gfid "$R/b0/e/new" 16
	echo gone >"$R/b1/e/gone"
	gfid "$R/b1/e/gone" 17
	blame "$R/b0/e" rv-client-1 0 0 2

	# plain2 and a fifo on set 1 only (hashed there, no linkto).
	echo "second set" >"$W/plain2"
	for b in b2 b3; do
		cp "$W/plain2" "$R/$b/plain2"
		gfid "$R/$b/plain2" 18
		mkfifo "$R/$b/fifo"
		gfid "$R/$b/fifo" 19
	done
	# sparse.img on set 1: 64 MiB with 4 KiB of data in the middle.
	head -c 4096 /dev/urandom >"$MT_TMP/blk"
	for b in "$W" "$R/b2" "$R/b3"; do
		truncate -s 64M "$b/sparse.img"
		dd if="$MT_TMP/blk" of="$b/sparse.img" bs=4096 seek=4096 \
			conv=notrunc status=none
	done
	gfid "$R/b2/sparse.img" 20
	gfid "$R/b3/sparse.img" 20
	ln "$W/d/a" "$W/d/a-link"
	ln -s a "$W/d/sl"
	mkfifo "$W/fifo"

	"$VG" -q --out "$V" rv distributed-replicate --replica 2 \
		"127.0.0.1:$R/b0" "127.0.0.1:$R/b1" "127.0.0.1:$R/b2" \
		"127.0.0.1:$R/b3"
}
tap_require "lay out four bricks by hand and generate their volfiles" layout

# recover TARGET [args]: run it, keep stdout/stderr and the status.
recover() {
	local target=$1
	shift
	"$RC" "$@" "$V/rv.vol" "$target" >"$MT_TMP/rc.out" 2>"$MT_TMP/rc.err"
	echo $? >"$MT_TMP/rc.status"
	# (the cleanup fails the script on a sanitizer report in logs/)
	cat "$MT_TMP/rc.err" >>"$MT_TMP/logs/mortar-recover.err"
	cat "$MT_TMP/rc.out" "$MT_TMP/rc.err"
}

dry_run() {
	recover "$MT_TMP/dry" --dry-run
	[ "$(cat "$MT_TMP/rc.status")" = 2 ] && [ ! -e "$MT_TMP/dry" ] &&
		grep -qx "copy /blamed.bin <- $R/b3/blamed.bin (rv-client-3)" "$MT_TMP/rc.out" &&
		grep -qx "copy /d/moved <- $R/b2/d/moved (rv-client-2)" "$MT_TMP/rc.out" &&
		grep -qx "link /d/a-link -> /d/a" "$MT_TMP/rc.out" &&
		grep -q "^split-brain: /split.txt " "$MT_TMP/rc.out"
}
tap_check "--dry-run lists the plan (good copies, links), writes nothing" dry_run

T=$MT_TMP/out
# same_tree WANT GOT: names, types, data, symlink texts (diff -r reports
# fifos as differing, so the fifo is checked by type).
same_tree() {
	diff -r --no-dereference --exclude=fifo "$1" "$2" && [ -p "$2/fifo" ]
}
run_recover() {
	recover "$T"
	[ "$(cat "$MT_TMP/rc.status")" = 2 ]
}
tap_check "recovery exits 2: there is a split-brain file" run_recover
tap_check "stdout lists exactly the split-brain file, blaming both ways" \
	test "$(grep -c . "$MT_TMP/rc.out")" = 1 -a \
	"$(cat "$MT_TMP/rc.out")" = "split-brain: /split.txt (rv-client-0 blames rv-client-1, rv-client-1 blames rv-client-0)"
tap_check "the split-brain file is not copied" test ! -e "$T/split.txt" -a ! -L "$T/split.txt"
tap_check "the recovered tree has the volume's names and data (diff -r)" \
	same_tree "$W" "$T"
tap_check "the good copy of a blamed pair is taken, byte for byte" \
	cmp "$W/blamed.bin" "$T/blamed.bin"
moved_ok() {
	cmp "$W/d/moved" "$T/d/moved" &&
		[ "$(stat -c %a "$T/d/moved")" = 644 ]
}
tap_check "a linkto file is followed to the data on the named subvolume" moved_ok
meta_ok() {
	[ "$(stat -c '%a %u:%g %Y' "$T/d/a")" = "640 1234:5678 $(date -d '2020-01-02 03:04:05' +%s)" ] &&
		[ "$(stat -c '%a %u:%g' "$T/d")" = "750 1000:1000" ] &&
		[ "$(getfattr --only-values -n user.tag "$T/d/a")" = x ] &&
		[ "$(getfattr --only-values -n user.color "$T/d")" = blue ] &&
		[ "$(stat -c %a "$T/meta.txt")" = 604 ] &&
		[ -z "$(getfattr -d -m 'trusted\.' "$T/d/a" 2>/dev/null)" ]
}
tap_check "mode, owner, times, user xattrs (metadata from the good copy), no trusted.*" meta_ok
sparse_ok() {
	cmp "$W/sparse.img" "$T/sparse.img" &&
		[ "$(stat -c %s "$T/sparse.img")" = $((64 << 20)) ] &&
		[ "$(($(stat -c '%b * %B' "$T/sparse.img")))" -lt $((1 << 20)) ]
}
tap_check "a sparse file stays sparse (64 MiB, under 1 MiB allocated)" sparse_ok
tap_check "hard links stay hard links" \
	test "$(stat -c %i "$T/d/a")" = "$(stat -c %i "$T/d/a-link")"
tap_check "a directory's names come from the copy that does not miss entries" \
	test -e "$T/e/new" -a ! -e "$T/e/gone"
tap_check "the bricks' .mortar/ is not recovered" test ! -e "$T/.mortar"

refuse_target() {
	recover "$T"
	[ "$(cat "$MT_TMP/rc.status")" = 1 ] && grep -q "not empty" "$MT_TMP/rc.err" || return 1
	recover "$R/b2/inside"
	[ "$(cat "$MT_TMP/rc.status")" = 1 ] && grep -q "overlaps brick" "$MT_TMP/rc.err" &&
		[ ! -e "$R/b2/inside" ]
}
tap_check "a non-empty target or one inside a brick is refused" refuse_target

with_brick_args() {
	local b
	mkdir -p "$MT_TMP/alone"
	cp "$V/rv.vol" "$MT_TMP/alone/rv.vol"
	"$RC" --brick "rv-client-0=$R/b0" --brick "rv-client-1=$R/b1" \
		--brick "rv-client-2=$R/b2" --brick "rv-client-3=$R/b3" \
		"$MT_TMP/alone/rv.vol" "$MT_TMP/out2" >/dev/null \
		2>>"$MT_TMP/logs/mortar-recover.err"
	b=$?
	[ $b = 2 ] && same_tree "$W" "$MT_TMP/out2"
}
tap_check "--brick gives brick directories without server volfiles" with_brick_args
missing_map() {
	"$RC" "$MT_TMP/alone/rv.vol" "$MT_TMP/out3" >"$MT_TMP/mm.out" 2>&1
	[ $? = 1 ] && grep -q "give --brick rv-client-0=DIR" "$MT_TMP/mm.out" &&
		[ ! -e "$MT_TMP/out3" ]
}
tap_check "a missing brick mapping is a clear error, nothing written" missing_map

clean_volume() {
	rm -f "$R/b0/split.txt" "$R/b1/split.txt"
	recover "$MT_TMP/out4"
	[ "$(cat "$MT_TMP/rc.status")" = 0 ] && same_tree "$W" "$MT_TMP/out4"
}
tap_check "without split-brain files recovery exits 0" clean_volume

tap_check "the bricks were not modified (recovery only reads them)" \
	test -e "$R/b2/blamed.bin" -a "$(stat -c %s "$R/b2/blamed.bin")" = 50000
