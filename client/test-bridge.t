#!/bin/bash
# test-bridge.t - the FUSE bridge end to end on a real mount of a local
# graph (storage/posix + features/locks, no network): entries, I/O,
# directories, attributes, xattrs, locks, statfs, fallocate/lseek, inode
# numbers across remounts, FORGET, SIGTERM unmount, daemon start and
# startup errors.  TAP output.
#
# With BRIDGE_NET=1 (see test-bridge-full-net.t) the same checks run on a
# mount of a real brickd on a free loopback port, through protocol/client.
#
# Runs on tests/lib/mortar-test.sh (tests/lib/README.md): it skips without
# root or /dev/fuse, and gives the private temp dir $MT_TMP, the watchdog
# and the cleanup that unmounts and stops whatever the script started.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=SCRIPTDIR/../tests/lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/mortar-test.sh"
POSIX_SO=$top_builddir/translators/storage/posix/.libs/posix.so
if [ -n "${BRIDGE_NET:-}" ]; then
	require_binaries "$POSIX_SO" \
		"$top_builddir/translators/protocol/client/.libs/client.so"
else
	require_binaries "$POSIX_SO"
fi

MNT=$MT_TMP/mnt
BRICK=$MT_TMP/brick
# The client's log (mt_mount names it after the mount point): the 1 MiB
# checks read it.
MOUNT_LOG=$MT_TMP/logs/mount-mnt.log
mkdir -p "$MNT" "$BRICK"

mounted() { grep -qs " $MNT fuse" /proc/mounts; }
not_mounted() { ! mounted; }
export MNT
export -f mounted not_mounted

cat >"$MT_TMP/t.vol" <<EOF
volume local
    type storage/posix
    option directory $BRICK
end-volume
EOF
# With features/locks built, stack it so lock requests reach a lock table.
HAVE_LOCKS=
if [ -e "$top_builddir/translators/features/locks/.libs/locks.so" ]; then
	HAVE_LOCKS=1
	cat >>"$MT_TMP/t.vol" <<EOF
volume locks
    type features/locks
    subvolumes local
end-volume
EOF
fi

# How the mortar under test gets its graph.
SOURCE=(-f "$MT_TMP/t.vol")
if [ -n "${BRIDGE_NET:-}" ]; then
	start_brick v "$BRICK" || bail_out "brickd did not start"
	SOURCE=(--volfile-server "127.0.0.1:$BRICK_PORT" --volume v)
fi

# The mount in the foreground, every request in its log.
start_fg() {
	if [ -n "${BRIDGE_NET:-}" ]; then
		MORTAR_TEST_LOG_LEVEL=trace mount_volume "$MNT" v "$BRICK_PORT"
	else
		MORTAR_TEST_LOG_LEVEL=trace mount_volfile "$MT_TMP/t.vol" "$MNT"
	fi
}

# mortar started as a daemon must return once the mount is up.
start_daemon() {
	local rc
	"$MORTAR" "${SOURCE[@]}" --pid-file "$MT_TMP/pid" \
		--log-file "$MT_TMP/logs/d.log" "$MNT"
	rc=$?
	track_mount "$MNT" "$MT_TMP/pid"
	[ $rc -eq 0 ] && mounted
}

plan 38

tap_require "mount of a local posix graph comes up" start_fg
cd "$MNT" || bail_out "cd $MNT failed"

# entries
tap_check "create + write + read back" bash -c 'echo hello >f1 && [ "$(cat f1)" = hello ]'
tap_check "lookup of a missing name is ENOENT" bash -c '! stat nope 2>&1 | grep -v "No such file" | grep -q .; ! [ -e nope ]'
tap_check "mkdir nested" mkdir -p a/b/c
tap_check "rename file across dirs" bash -c 'mv f1 a/b/c/f2 && [ "$(cat a/b/c/f2)" = hello ] && ! [ -e f1 ]'
tap_check "symlink + readlink" bash -c 'ln -s a/b/c/f2 sl && [ "$(readlink sl)" = a/b/c/f2 ] && [ "$(cat sl)" = hello ]'
tap_check "hard link shares the inode number" bash -c 'l=$(stat -c %h a/b/c/f2) && ln a/b/c/f2 hl && [ "$(stat -c %i hl)" = "$(stat -c %i a/b/c/f2)" ] && [ "$(stat -c %h hl)" = $((l + 1)) ]'
tap_check "unlink + rmdir" bash -c 'rm hl sl a/b/c/f2 && rmdir a/b/c && ! [ -e a/b/c ]'
tap_check "rmdir of a non-empty dir is ENOTEMPTY" bash -c 'touch a/b/x; rmdir a/b 2>&1 | grep -q "not empty"'
tap_check "mknod fifo" bash -c 'mkfifo a/fifo && [ -p a/fifo ]'
tap_check "renameat2 NOREPLACE and EXCHANGE" python3 - <<'EOF'
import ctypes, os, errno
libc = ctypes.CDLL(None, use_errno=True)
def r2(a, b, flags):
    if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) != 0:
        return ctypes.get_errno()
    return 0
open("ra", "w").write("A"); open("rb", "w").write("B")
assert r2("ra", "rb", 1) == errno.EEXIST          # RENAME_NOREPLACE
assert r2("ra", "rb", 2) == 0                     # RENAME_EXCHANGE
assert open("ra").read() == "B" and open("rb").read() == "A"
os.unlink("ra"); os.unlink("rb")
EOF

# I/O
head -c 5000000 /dev/urandom >"$MT_TMP/rand"
tap_check "cp 5 MB in and compare" bash -c "cp '$MT_TMP/rand' big && cmp '$MT_TMP/rand' big"
tap_check "dd 1 MiB blocks" dd if=/dev/zero of=dd1 bs=1M count=4 conv=fsync status=none
tap_check "kernel sends 1 MiB writes" grep -q "write size=1048576" "$MOUNT_LOG"
tap_check "kernel sends 1 MiB reads" bash -c "dd if=big of=/dev/null bs=1M iflag=direct status=none; grep -q 'read size=1048576' '$MOUNT_LOG'"
tap_check "truncate + size" bash -c 'truncate -s 12345 dd1 && [ "$(stat -c %s dd1)" = 12345 ]'
tap_check "O_TRUNC open" bash -c 'echo x >dd1 && [ "$(stat -c %s dd1)" = 2 ]'
tap_check "fallocate + punch hole" bash -c 'fallocate -l 1M fa && [ "$(stat -c %s fa)" = 1048576 ] && fallocate -p -o 0 -l 65536 fa && [ "$(stat -c %s fa)" = 1048576 ]'
tap_check "lseek SEEK_DATA/SEEK_HOLE" python3 -c '
import os
fd = os.open("sparse", os.O_CREAT | os.O_RDWR)
os.pwrite(fd, b"x" * 4096, 1 << 20)
assert os.lseek(fd, 0, os.SEEK_DATA) == 1 << 20
assert os.lseek(fd, 1 << 20, os.SEEK_HOLE) >= (1 << 20) + 4096
'

# attributes
tap_check "chmod" bash -c 'chmod 0640 big && [ "$(stat -c %a big)" = 640 ]'
tap_check "chown" bash -c 'chown 1234:5678 big && [ "$(stat -c %u:%g big)" = 1234:5678 ]'
tap_check "utimes" bash -c 'touch -d "2020-01-02 03:04:05" big && [ "$(stat -c %Y big)" = "$(date -d "2020-01-02 03:04:05" +%s)" ]'
tap_check "statfs" bash -c 'df -P . | tail -1 | awk "{exit !(\$2 > 0)}"'

# directories
tap_check "readdir of 1000 entries (many requests)" bash -c 'mkdir many && (cd many && touch $(seq 1000)) && [ "$(ls many | wc -l)" = 1000 ] && [ "$(ls -l many | grep -c "^-")" = 1000 ]'

# xattrs
tap_check "set/get/list/remove user xattr" bash -c 'setfattr -n user.k -v val big && [ "$(getfattr --only-values -n user.k big)" = val ] && getfattr -d big | grep -q user.k && setfattr -x user.k big && ! getfattr -n user.k big 2>/dev/null'
tap_check "getxattr/listxattr size query and ERANGE" python3 -c '
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
os.setxattr("big", "user.sz", b"12345")
assert libc.getxattr(b"big", b"user.sz", None, 0) == 5
buf = ctypes.create_string_buffer(2)
assert libc.getxattr(b"big", b"user.sz", buf, 2) == -1 and ctypes.get_errno() == errno.ERANGE
n = libc.listxattr(b"big", None, 0)
assert n >= len("user.sz") + 1
assert libc.listxattr(b"big", buf, 2) == -1 and ctypes.get_errno() == errno.ERANGE
os.removexattr("big", "user.sz")
'
tap_check "internal gfid xattr hidden and protected" bash -c '! getfattr -d -m - big 2>/dev/null | grep -q trusted.mortar && ! setfattr -n trusted.mortar.gfid -v 0x00 big 2>/dev/null'

# locks
if [ -z "$HAVE_LOCKS" ]; then
	tap_skip "flock conflicts between opens" "features/locks not built"
	tap_skip "POSIX locks conflict between processes" "features/locks not built"
	tap_skip "a caught signal leaves a blocked lock wait to its grant, which is kept" "features/locks not built"
else
tap_check "flock conflicts between opens" bash -c 'flock -x big -c "! flock -n -x big true"'
tap_check "POSIX locks conflict between processes" python3 -c '
import fcntl, os, subprocess, sys
f = open("big", "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
r = subprocess.run([sys.executable, "-c", "import fcntl\nf=open(\"big\",\"r+\")\ntry:\n fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n raise SystemExit(1)"])
assert r.returncode == 1
fcntl.lockf(f, fcntl.LOCK_UN)
r = subprocess.run([sys.executable, "-c", "import fcntl\nf=open(\"big\",\"r+\")\nfcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)"])
assert r.returncode == 0
'
# A caught signal does not cut a blocked lock wait short: the graph cannot
# cancel a parked waiter, and answering EINTR at once while giving back a
# late grant removed the lock the waiter then took by retrying (Python
# retries on EINTR).  The waiter must end up holding the lock.
tap_check "a caught signal leaves a blocked lock wait to its grant, which is kept" python3 -c '
import signal, subprocess, sys, time
hold = "import fcntl, time\nf = open(\"big\", \"r+\")\nfcntl.{0}(f, fcntl.{1})\nprint(1, flush=True)\ntime.sleep(2)"
wait = "import fcntl\nf = open(\"big\", \"r+\")\nfcntl.{0}(f, fcntl.{1})"
waith = "import fcntl, signal, time\nsignal.signal(signal.SIGINT, lambda *a: None)\nf = open(\"big\", \"r+\")\nprint(0, flush=True)\nfcntl.{0}(f, fcntl.{1})\nprint(1, flush=True)\ntime.sleep(2)"
for fn in ("lockf", "flock"):
    a = subprocess.Popen([sys.executable, "-c", hold.format(fn, "LOCK_EX")], stdout=subprocess.PIPE)
    a.stdout.readline()
    b = subprocess.Popen([sys.executable, "-c", waith.format(fn, "LOCK_EX")], stdout=subprocess.PIPE)
    # its handler is in place before the signal (a slow start under load
    # must not turn SIGINT into a KeyboardInterrupt)
    assert b.stdout.readline().strip() == b"0"
    time.sleep(0.3)
    b.send_signal(signal.SIGINT)
    assert b.stdout.readline().strip() == b"1", fn + ": the waiter did not get the lock"
    a.wait(timeout=10)
    time.sleep(0.5)  # room for a wrong give-back to land
    c = subprocess.run([sys.executable, "-c", wait.format(fn, "LOCK_EX | fcntl.LOCK_NB")], stderr=subprocess.DEVNULL, timeout=10)
    assert c.returncode != 0, fn + ": the lock the waiter got was taken away"
    b.wait(timeout=10)
    c = subprocess.run([sys.executable, "-c", wait.format(fn, "LOCK_EX | fcntl.LOCK_NB")], timeout=10)
    assert c.returncode == 0, fn + ": the waiter left its lock behind"
'
fi

ino_before=$(stat -c %i big)
cd / || bail_out "cd / failed"
# Every kernel lookup holds one inode ref until FORGET: once the kernel
# drops its dentries and inodes, only the root may remain in the table.
dump_inodes() {
	local f
	rm -rf "$MT_TMP/dump"
	kill -USR1 "$MOUNT_PID" || return 1
	wait_for 5 sh -c 'grep -qs "^fds=" "$1"/*' sh "$MT_TMP/dump" ||
		return 1
	f=$(ls "$MT_TMP"/dump/* 2>/dev/null | head -1)
	grep '^inodes=' "$f"
}
only_root_inode() {
	sync
	echo 2 >/proc/sys/vm/drop_caches
	[ "$(dump_inodes)" = inodes=1 ]
}
forget_releases_all() {
	ls -lR "$MNT" >/dev/null
	wait_for 10 only_root_inode
}
tap_check "FORGET releases every inode (state dump shows only the root)" forget_releases_all
tap_check "SIGTERM unmounts and exits 0" stop_mount "$MNT"
tap_check "mount point is free after SIGTERM" not_mounted

# remount: same inode numbers (derived from the gfid), then a daemon start
tap_check "daemon start returns once mounted" start_daemon
tap_check "inode numbers stable across mounts" bash -c "[ '$(stat -c %i "$MNT/big")' = '$ino_before' ]"
tap_check "umount stops the daemon" unmount_daemon "$MNT"

# startup errors: non-zero exit, a message, no mount
printf 'volume x\n type no/such\nend-volume\n' >"$MT_TMP/bad.vol"
tap_check "bad volfile: exit non-zero with file:line" bash -c "! '$MORTAR' -f '$MT_TMP/bad.vol' --log-file '$MT_TMP/logs/bad.log' '$MNT' 2>'$MT_TMP/err' && grep -q 'bad.vol:[0-9]' '$MT_TMP/err' && ! mounted"
tap_check "unreachable volfile server: clear error" bash -c "! timeout 30 '$MORTAR' --volfile-server 127.0.0.1:1 --volume v --log-file '$MT_TMP/logs/bad.log' '$MNT' 2>'$MT_TMP/err' && grep -qi 'volfile\|connect\|refused' '$MT_TMP/err' && ! mounted"
