#!/bin/bash
# test-bridge-full-net.t - every check of test-bridge.t, on a mount of a
# real brickd (posix, locks, io-threads, protocol/server) through
# protocol/client over loopback TCP.
BRIDGE_NET=1 exec bash "$(dirname "$0")/test-bridge.t"
