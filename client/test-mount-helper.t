#!/bin/bash
# test-mount-helper.t - mount.mortar turns mount(8)'s arguments into the
# right mortar command line (a stand-in mortar records its arguments).
# Mounts nothing, so it runs without root (MT_NO_FUSE, tests/lib).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
MT_NO_FUSE=1
# shellcheck source=SCRIPTDIR/../tests/lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/mortar-test.sh"
HELPER=$top_srcdir/client/mount.mortar
printf '#!/bin/sh\necho "$@" >"%s/args"\n' "$MT_TMP" >"$MT_TMP/mortar"
chmod +x "$MT_TMP/mortar"
export MORTAR=$MT_TMP/mortar

expect() { # DESCRIPTION EXPECTED-ARGS HELPER-ARGS...
	local d=$1 want=$2 got
	shift 2
	rm -f "$MT_TMP/args"
	sh "$HELPER" "$@" >/dev/null 2>&1
	got=$(cat "$MT_TMP/args" 2>/dev/null)
	if [ "$got" = "$want" ]; then
		tap_ok "$d"
	else
		tap_not_ok "$d" "want: $want"
		diag "got:  $got"
	fi
}
fails_cleanly() { # DESCRIPTION HELPER-ARGS...
	local d=$1
	shift
	if ! sh "$HELPER" "$@" >/dev/null 2>&1; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
	fi
}

plan 11
expect "HOST:/VOLUME" "--volfile-server srv --volume vol /mnt/x" srv:/vol /mnt/x
expect "HOST:PORT:/VOLUME" "--volfile-server srv:24011 --volume vol /mnt/x" srv:24011:/vol /mnt/x
expect "fstab options pass through -o" \
	"--volfile-server srv --volume vol -o defaults,_netdev,ro /mnt/x" \
	srv:/vol /mnt/x -o defaults,_netdev,ro
expect "mount's -n/-v flags ignored" \
	"--volfile-server srv --volume vol -o rw /mnt/x" srv:/vol /mnt/x -n -v -o rw
expect "a list of volfile servers with ports" \
	"--volfile-server h1:24011,h2:24012,[::1]:24013 --volume vol /mnt/x" \
	"h1:24011,h2:24012,[::1]:24013:/vol" /mnt/x
expect "a list of volfile servers without ports" \
	"--volfile-server h1,h2,h3 --volume vol /mnt/x" h1,h2,h3:/vol /mnt/x
expect "backup-volfile-servers passes through -o" \
	"--volfile-server h1 --volume vol -o _netdev,backup-volfile-servers=h2:24011:h3 /mnt/x" \
	h1:/vol /mnt/x -o _netdev,backup-volfile-servers=h2:24011:h3
expect "HOST,HOST:VOLUME without the slash" \
	"--volfile-server h1,h2:24011 --volume vol /mnt/x" h1,h2:24011:vol /mnt/x
expect "a volfile path" "-f /etc/mortar/c.vol /mnt/x" /etc/mortar/c.vol /mnt/x
fails_cleanly "missing mount point is an error" srv:/vol
fails_cleanly "spec without a volume is an error" srvonly /mnt/x
