#!/usr/bin/env python3
"""refused-port.py FILE: a loopback TCP port that refuses connections.

Binds 127.0.0.1 on a port the kernel picks, without listening, writes the
port number to FILE and sleeps until killed.  A connect to the port gets
a reset (ECONNREFUSED), like a server that is down, and no other process
can take the port while this one holds it (a port that was merely free
could be bound by another test's brick in the meantime).
"""
import os
import signal
import socket
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: refused-port.py FILE")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % sock.getsockname()[1])
    os.rename(tmp, sys.argv[1])  # the reader sees the whole number
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
