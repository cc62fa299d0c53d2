#!/bin/bash
#
# big-file.t: stream a 1 GiB file of random bytes (MORTAR_TEST_BIG_MB to
# change the size) into a one-brick mount with dd, drop the page cache,
# read it back and compare sha256 sums: on the mount, in the brick, and
# the source.  Read again with the brick's copy in its page cache: the
# brick answers those reads without the io-thread hop (io-threads'
# inline-cheap) and the data is the same.  No ENOTCONN on the way.
# Reports the throughput.
#
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-900}
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries
plan 10

B=$MT_TMP/brick
M=$MT_TMP/mnt
MB=${MORTAR_TEST_BIG_MB:-1024}
SRC=$MT_TMP/src

tap_require "start brick" start_brick big "$B"
tap_require "mount the volume" mount_volume "$M" big "$BRICK_PORT"

head -c $((MB << 20)) /dev/urandom >"$SRC" || bail_out "no source file"
want=$(sha256sum <"$SRC" | cut -d' ' -f1)

# mbps START END: MB/s with two decimals.
mbps() {
	awk -v s="$1" -v e="$2" -v mb="$MB" \
		'BEGIN { d = e - s; if (d <= 0) d = 0.001; printf "%.2f", mb / d }'
}

t0=$(now_ns)
tap_check "dd $MB MiB into the mount" \
	dd if="$SRC" of="$M/f" bs=1M conv=fsync status=none
t1=$(now_ns)
diag "write: $MB MiB in $(awk -v s="$t0" -v e="$t1" 'BEGIN{printf "%.2f", e-s}') s, $(mbps "$t0" "$t1") MB/s"

tap_check "size is $MB MiB" \
	test "$(stat -c %s "$M/f")" -eq $((MB << 20))

drop_caches
t0=$(now_ns)
got=$(dd if="$M/f" bs=1M status=none 2>"$MT_TMP/read.err" | sha256sum |
	cut -d' ' -f1)
t1=$(now_ns)
diag "read: $(mbps "$t0" "$t1") MB/s"
if [ "$got" = "$want" ] && [ ! -s "$MT_TMP/read.err" ]; then
	tap_ok "read back through the mount: same sha256"
else
	tap_not_ok "read back through the mount: same sha256" \
		"want $want got $got: $(cat "$MT_TMP/read.err")"
fi

tap_check "the brick's copy has the same sha256" \
	test "$(sha256sum <"$B/f" | cut -d' ' -f1)" = "$want"

# inline_answered: reads the brick's io-threads answered on the event
# loop thread so far (its state dump's "inline: on answered=N").
inline_answered() {
	local path
	path=$(mt_state_dump "$BRICK_PID") || return 1
	sed -n 's/^inline: on answered=\([0-9]*\) .*/\1/p' "$path"
}
before=$(inline_answered)
cat "$B/f" >/dev/null # the brick's copy into the page cache
# the mount's own cached pages out (fadvise DONTNEED), the brick's stay
dd if="$M/f" iflag=nocache count=0 status=none
t0=$(now_ns)
got=$(dd if="$M/f" bs=1M status=none 2>"$MT_TMP/read.err" | sha256sum |
	cut -d' ' -f1)
t1=$(now_ns)
diag "read, brick cached: $(mbps "$t0" "$t1") MB/s"
tap_check "read back with the brick's copy cached: same sha256" \
	test "$got" = "$want"
after=$(inline_answered)
diag "reads answered inline by the brick: ${before:-?} before, ${after:-?} after"
tap_check "the brick answered cached reads without the io-thread hop" \
	test "${after:-0}" -ge $((${before:-0} + MB))

no_enotconn() {
	! grep -rqi -e ENOTCONN -e 'not connected' "$MT_TMP/logs" \
		"$MT_TMP/read.err" "$MT_TMP/.tap_check.out"
}
tap_check "no ENOTCONN in the logs" no_enotconn

tap_check "unmount cleanly" unmount_volume "$M"
