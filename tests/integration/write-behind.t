#!/bin/bash
#
# write-behind.t: performance/write-behind (in every client graph
# mortar-volgen writes) answers writes early and never loses an error or
# a byte.  On a one-brick volume whose brick is a 16 MiB tmpfs, a 32 MiB
# dd fails with ENOSPC (at a later write, at fsync or at close — never a
# silent short file), with and without conv=fsync; what was answered as
# written reads back; a stat right after a write shows the new size; data
# written and closed on one mount reads back on another (close-to-open);
# overlapping writes keep their order (datacheck); a fifth mount without
# write-behind sees the same bytes; the bridge copied no write's data.
#
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries "$MT_TOOLS/datacheck"
command -v python3 >/dev/null || skip_all "python3 missing"
plan 22

mkdir -p "$MT_TMP/wb/b0"
tap_require "a 16 MiB tmpfs for the brick" \
	mount -t tmpfs -o size=16m tmpfs "$MT_TMP/wb/b0"
mt_track .mounts "$MT_TMP/wb/b0"
tap_require "start a one-brick volume" start_volume wb distribute 1
A=$MT_TMP/mntA
B=$MT_TMP/mntB
tap_require "mount A" mount_volume_of wb "$A"
tap_require "mount B" mount_volume_of wb "$B"
tap_check "the client graph has write-behind" \
	grep -q "type performance/write-behind" "$(volume_volfile wb)"

# ENOSPC surfaces: with conv=fsync and without (then at close).
dd_fails_nospc() { # FILE EXTRA-DD-ARGS...
	local f=$1
	shift
	if dd if=/dev/zero of="$f" bs=1M count=32 status=none "$@" \
		2>"$MT_TMP/dd.err"; then
		echo "dd of 32 MiB onto 16 MiB succeeded"
		return 1
	fi
	grep -q "No space left" "$MT_TMP/dd.err" || {
		cat "$MT_TMP/dd.err"
		return 1
	}
}
tap_check "a full brick: dd conv=fsync fails with ENOSPC" \
	dd_fails_nospc "$A/full1" conv=fsync
rm -f "$A/full1"
tap_check "a full brick: plain dd fails with ENOSPC (at a write or close)" \
	dd_fails_nospc "$A/full2"
rm -f "$A/full2"
# A write answered early that then failed is returned by the next call
# on the file, once; the file keeps what reached the brick.
close_reports() {
	python3 - "$A/full3" <<'EOF'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
chunk = b"x" * (1 << 20)
failed = None
for i in range(32):
    try:
        os.write(fd, chunk)
    except OSError as e:
        failed = ("write", i, e.errno)
        break
try:
    os.close(fd)
except OSError as e:
    failed = failed or ("close", -1, e.errno)
if not failed or failed[2] != errno.ENOSPC:
    sys.exit("no ENOSPC seen: %r" % (failed,))
print("ENOSPC at %s %d" % failed[:2])
EOF
}
tap_check "the ENOSPC comes back at a later write or at close" close_reports
rm -f "$A/full3"
deferred_seen() {
	kill -USR1 "${MT_MOUNT_PID[$A]}" || return 1
	wait_for 10 sh -c 'grep -qs "deferred-errors=[1-9]" "$1"/*' sh \
		"$MT_TMP/dump"
}
tap_check "those errors went through write-behind's deferred path" \
	deferred_seen

head -c $((3 << 20)) /dev/urandom >"$MT_TMP/src"
size_right_after() {
	python3 - "$A/sz" "$MT_TMP/src" <<'EOF'
import os, sys
data = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
off = 0
while off < len(data):
    n = os.write(fd, data[off:off + (256 << 10)])
    off += n
    for st in (os.fstat(fd), os.stat(sys.argv[1])):
        if st.st_size != off:
            sys.exit("size %d after writing %d" % (st.st_size, off))
os.close(fd)
EOF
}
tap_check "fstat and stat right after each write show the new size" \
	size_right_after
tap_check "it reads back on A" cmp "$MT_TMP/src" "$A/sz"
tap_check "and on B (close-to-open)" cmp "$MT_TMP/src" "$B/sz"
tap_check "datacheck: overlapping writes, reads, truncates keep order" \
	"$MT_TOOLS/datacheck" -s 4242 -n 1500 -m 4194304 "$A/dc"
same_on_b() { cmp "$A/dc" "$B/dc"; }
tap_check "B reads the datacheck file identical" same_on_b

# Appends keep their order (the brick's O_APPEND fd appends at its end,
# whatever the offset: they must not be in flight together).
appends_in_order() {
	python3 - "$A/log" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
for i in range(3000):
    os.write(fd, b"%09d\n" % i)
os.close(fd)
data = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
want = [b"%09d" % i for i in range(3000)]
if data != want:
    bad = next(i for i, (a, b) in enumerate(zip(data, want)) if a != b) \
        if len(data) == len(want) else len(data)
    sys.exit("record %d out of place (%d records)" % (bad, len(data)))
EOF
}
tap_check "3000 appends read back in order" appends_in_order

# A reader and a closer of a file someone writes steadily are not starved.
not_starved() {
	python3 - "$A/steady" <<'EOF'
import os, sys, threading, time
path = sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
stop = time.time() + 3
def writer():
    off = 0
    chunk = b"w" * (64 << 10)
    while time.time() < stop:
        os.pwrite(fd, chunk, off % (8 << 20))
        off += len(chunk)
t = threading.Thread(target=writer)
t.start()
worst = 0.0
for i in range(40):
    t0 = time.time()
    os.pread(fd, 4096, 0)
    os.fstat(fd)
    worst = max(worst, time.time() - t0)
t.join()
t0 = time.time()
os.close(fd)
worst = max(worst, time.time() - t0)
print("slowest read/fstat/close: %.3f s" % worst)
sys.exit(0 if worst < 5 else 1)
EOF
}
tap_check "a steady writer starves neither reads nor close" not_starved

sed '/type performance\/write-behind/,/end-volume/d' "$(volume_volfile wb)" |
	python3 -c 'import sys,re
s = sys.stdin.read()
s = s.replace("volume wb-write-behind\n", "")
s = s.replace("subvolumes wb-write-behind", "subvolumes wb-dht")
sys.stdout.write(s)' >"$MT_TMP/nowb.vol"
C=$MT_TMP/mntC
tap_require "mount C without write-behind" mount_volfile "$MT_TMP/nowb.vol" "$C"
tap_check "C reads the same bytes" cmp "$MT_TMP/src" "$C/sz"
tap_check "unmount A" unmount_volume "$A"
# The bridge reads write data straight into the iobufs it sends: A's log
# says how many writes went that way (the 1 MiB ones; small ones are
# copied out to buffers of their size), and none came from libfuse's.
in_place() {
	grep -Eq "writes: [1-9][0-9]* read straight into iobufs, [0-9]+ small ones copied out of them, 0 copied from libfuse's buffer" \
		"$MT_TMP/logs/mount-mntA.log" ||
		{ grep 'writes:' "$MT_TMP/logs/mount-mntA.log"; return 1; }
}
tap_check "A's large writes were read straight into iobufs" in_place
tap_check "unmount B" unmount_volume "$B"
tap_check "unmount C" unmount_volume "$C"
