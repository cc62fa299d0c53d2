#!/usr/bin/env python3
"""switch-io.py: I/O that must keep going across a live graph switch.

  switch-io.py write FILE STOP OUT   keep FILE open and append records
                                     (seq, payload, sha256 of both) until
                                     the file STOP exists; then write to OUT
                                     "records=N sha256=HEX" of all it wrote
  switch-io.py read FILE STOP OUT    keep FILE open and read it whole, again
                                     and again, until STOP exists; OUT gets
                                     "passes=N sha256=HEX" (the same hash on
                                     every pass, or an error)
  switch-io.py check FILE            every record of a writer's FILE is
                                     whole and checks; prints the count
  switch-io.py lock FILE STOP OUT    keep FILE open with a POSIX lock on it
                                     and write to it until STOP exists;
                                     OUT gets "writes=N" once it closed

The writer and the reader create OUT.ready once their file is open (the
reader after its first pass), so a test knows they run.

Any error (an I/O error, a short read, a changed hash) ends the process
with status 1 and the reason on stderr: the test asserts there is none.
"""
import fcntl
import hashlib
import os
import sys
import time

RECORD = 4096
PAYLOAD = RECORD - 8 - 64


def record(seq):
    payload = (b"%08d" % seq) * (PAYLOAD // 8)
    head = b"%08d" % seq
    digest = hashlib.sha256(head + payload).hexdigest().encode()
    return head + payload + digest


def ready(out):
    with open(out + ".ready", "w"):
        pass


def write(path, stop, out):
    whole = hashlib.sha256()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    ready(out)
    seq = 0
    while not os.path.exists(stop):
        rec = record(seq)
        if os.write(fd, rec) != len(rec):
            sys.exit("short write at record %d" % seq)
        whole.update(rec)
        seq += 1
        time.sleep(0.005)
    os.close(fd)
    with open(out, "w") as f:
        f.write("records=%d sha256=%s\n" % (seq, whole.hexdigest()))


def read(path, stop, out):
    fd = os.open(path, os.O_RDONLY)
    first = None
    passes = 0
    while not os.path.exists(stop):
        h = hashlib.sha256()
        off = 0
        while True:
            b = os.pread(fd, 1 << 16, off)
            if not b:
                break
            h.update(b)
            off += len(b)
        if first is None:
            first = h.hexdigest()
            ready(out)
        elif h.hexdigest() != first:
            sys.exit("pass %d read other data (%d bytes)" % (passes, off))
        passes += 1
        time.sleep(0.01)
    os.close(fd)
    with open(out, "w") as f:
        f.write("passes=%d sha256=%s\n" % (passes, first))


def lock(path, stop, out):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    n = 0
    while not os.path.exists(stop):
        if os.pwrite(fd, b"%08d\n" % n, 9 * n) != 9:
            sys.exit("short write %d" % n)
        n += 1
        time.sleep(0.01)
    os.close(fd)
    with open(out, "w") as f:
        f.write("writes=%d\n" % n)


def check(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) % RECORD:
        sys.exit("size %d is not a whole number of records" % len(data))
    n = len(data) // RECORD
    for seq in range(n):
        if data[seq * RECORD:(seq + 1) * RECORD] != record(seq):
            sys.exit("record %d is wrong" % seq)
    print(n)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "write":
        write(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "read":
        read(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "lock":
        lock(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
