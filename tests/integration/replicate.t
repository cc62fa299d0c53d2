#!/bin/bash
# replicate.t - cluster/replicate on real bricks: replica 2 and replica 3
# keep byte-identical copies on every brick (data, mode, owner, names),
# the pending counters are all zero afterwards, and client quorum: with quorum
# auto a replica 2 volume refuses changes with EROFS once its first brick
# is gone; with quorum none it goes on.
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

# shellcheck source=SCRIPTDIR/../lib/replica.sh
. "$top_srcdir/tests/lib/replica.sh"

require_binaries
plan 22

# workload MNT: files of several sizes, a directory tree, a symlink, a
# hard link, a rename, a chmod/chown, a truncate, an xattr, removals.
workload() {
	local m=$1
	head -c 5000000 /dev/urandom >"$m.ref" &&
		cp "$m.ref" "$m/big" &&
		echo small >"$m/small" &&
		: >"$m/empty" &&
		mkdir -p "$m/d/e/f" &&
		head -c 70000 /dev/urandom >"$m/d/e/f/mid" &&
		ln -s ../small "$m/d/link" &&
		ln "$m/small" "$m/d/hard" &&
		echo moved >"$m/d/tmp" && mv "$m/d/tmp" "$m/d/moved" &&
		chmod 0640 "$m/d/moved" && chown 123:456 "$m/d/moved" &&
		head -c 100000 /dev/urandom >"$m/trunc" &&
		truncate -s 33333 "$m/trunc" &&
		setfattr -n user.tag -v hello "$m/small" &&
		echo gone >"$m/gone" && rm "$m/gone" &&
		mkdir "$m/gonedir" && rmdir "$m/gonedir" &&
		cmp "$m.ref" "$m/big"
}

FILES="big small empty d d/e/f/mid d/moved d/hard trunc"

for R in 2 3; do
	V=r$R
	M=$MT_TMP/mnt$R
	tap_require "replica $R: start the volume" start_volume $V replicate $R --replica $R
	tap_require "replica $R: mount" mount_volume_of $V "$M"
	tap_check "replica $R: workload through the mount" workload "$M"
	# The post-op of the last writes runs after the file goes idle or is
	# closed; let it finish before looking at the bricks.
	tap_check "replica $R: every brick holds the same data, mode, owner" \
		wait_for 10 same_copies $V $FILES
	tap_check "replica $R: names gone from every brick" sh -c \
		"! ls $(brick_dir $V-b0)/gone $(brick_dir $V-b$((R - 1)))/gonedir 2>/dev/null"
	tap_check "replica $R: pending counters are zero" \
		wait_for 10 clean_counters $V $FILES
	tap_check "replica $R: unmount" unmount_volume "$M"
done

M=$MT_TMP/mnt2
tap_require "replica 2: mount again" mount_volume_of r2 "$M"

# ---- quorum ---------------------------------------------------------
# auto: with the first of two bricks gone, changes fail with EROFS.
kill_brick r2-b0
erofs() { # CMD...: must fail, saying EROFS
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	echo "$out"
	[ $rc -ne 0 ] && echo "$out" | grep -q 'Read-only file system'
}
tap_check "quorum auto: create fails with EROFS" \
	wait_for 15 erofs sh -c "echo x > '$M/noquorum'"
tap_check "quorum auto: write to an existing file fails with EROFS" \
	erofs dd if=/dev/zero of="$M/small" bs=4k count=1 conv=notrunc,fsync
tap_check "quorum auto: reads still work" cmp "$M.ref" "$M/big"
restart_brick r2-b0
tap_check "replica 2: unmount" unmount_volume "$M"

# none: the same goes on.
tap_require "quorum none: start a volume" start_volume qn replicate 2 \
	--replica 2 --option cluster/replicate:quorum=none
tap_require "quorum none: mount" mount_volume_of qn "$MT_TMP/mntq"
kill_brick qn-b0
tap_check "quorum none: create and write work with one brick" wait_for 15 \
	sh -c "echo alive > '$MT_TMP/mntq/f' && grep -qx alive '$MT_TMP/mntq/f'"
