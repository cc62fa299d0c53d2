#!/usr/bin/env python3
"""fdhold.py: hold files open for a test and act on them on command.

Reads one command per line on stdin and answers one line on stdout:
"ok [RESULT]" or "err ERRNO-NAME".  Names (N) are the test's labels for
its open fds.

  open N PATH rw|ro       open an existing file
  stat N                  "NLINK SIZE MODE" of fstat (mode in octal)
  read N OFF LEN          sha256 of up to LEN bytes read at OFF, then the
                          byte count: "HEX COUNT"
  write N OFF FILE        write FILE's bytes at OFF: the count written
  truncate N LEN | chmod N MODE | fsync N | close N
"""
import errno
import hashlib
import os
import sys


def run(fds, words):
    cmd, name = words[0], words[1]
    if cmd == "open":
        flags = os.O_RDWR if words[3] == "rw" else os.O_RDONLY
        fds[name] = os.open(words[2], flags)
        return ""
    fd = fds[name]
    if cmd == "stat":
        st = os.fstat(fd)
        return "%d %d %o" % (st.st_nlink, st.st_size, st.st_mode & 0o7777)
    if cmd == "read":
        off, left = int(words[2]), int(words[3])
        h, got = hashlib.sha256(), 0
        while left > 0:
            chunk = os.pread(fd, min(left, 1 << 20), off + got)
            if not chunk:
                break
            h.update(chunk)
            got += len(chunk)
            left -= len(chunk)
        return "%s %d" % (h.hexdigest(), got)
    if cmd == "write":
        with open(words[3], "rb") as src:
            data = src.read()
        done = 0
        while done < len(data):
            done += os.pwrite(fd, data[done:], int(words[2]) + done)
        return str(done)
    if cmd == "truncate":
        os.ftruncate(fd, int(words[2]))
    elif cmd == "chmod":
        os.fchmod(fd, int(words[2], 8))
    elif cmd == "fsync":
        os.fsync(fd)
    elif cmd == "close":
        os.close(fds.pop(name))
    else:
        raise ValueError(cmd)
    return ""


def main():
    fds = {}
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            out = run(fds, words)
            print(("ok " + out).rstrip(), flush=True)
        except OSError as e:
            print("err " + errno.errorcode.get(e.errno, str(e.errno)),
                  flush=True)
        except (KeyError, IndexError, ValueError) as e:
            print("err usage " + repr(e), flush=True)


if __name__ == "__main__":
    main()
