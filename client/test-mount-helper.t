#!/bin/bash
# test-mount-helper.t - mount.mortar turns mount(8)'s arguments into the
# right mortar command line (a stand-in mortar records its arguments).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
HELPER=$top_srcdir/client/mount.mortar
T=$(mktemp -d /tmp/mortar-helper.XXXXXX)
trap 'rm -rf "$T"' EXIT
printf '#!/bin/sh\necho "$@" >"%s/args"\n' "$T" >"$T/mortar"
chmod +x "$T/mortar"
export MORTAR=$T/mortar

n=0
fails=0
expect() { # DESCRIPTION EXPECTED-ARGS HELPER-ARGS...
	local d=$1 want=$2 got
	shift 2
	rm -f "$T/args"
	sh "$HELPER" "$@" >/dev/null 2>&1
	got=$(cat "$T/args" 2>/dev/null)
	n=$((n + 1))
	if [ "$got" = "$want" ]; then
		echo "ok $n - $d"
	else
		fails=$((fails + 1))
		echo "not ok $n - $d"
		echo "# want: $want"
		echo "# got:  $got"
	fi
}
fails_cleanly() { # DESCRIPTION HELPER-ARGS...
	local d=$1
	shift
	n=$((n + 1))
	if ! sh "$HELPER" "$@" >/dev/null 2>&1; then
		echo "ok $n - $d"
	else
		fails=$((fails + 1))
		echo "not ok $n - $d"
	fi
}

echo "1..7"
expect "HOST:/VOLUME" "--volfile-server srv --volume vol /mnt/x" srv:/vol /mnt/x
expect "HOST:PORT:/VOLUME" "--volfile-server srv:24011 --volume vol /mnt/x" srv:24011:/vol /mnt/x
expect "fstab options pass through -o" \
	"--volfile-server srv --volume vol -o defaults,_netdev,ro /mnt/x" \
	srv:/vol /mnt/x -o defaults,_netdev,ro
expect "mount's -n/-v flags ignored" \
	"--volfile-server srv --volume vol -o rw /mnt/x" srv:/vol /mnt/x -n -v -o rw
expect "a volfile path" "-f /etc/mortar/c.vol /mnt/x" /etc/mortar/c.vol /mnt/x
fails_cleanly "missing mount point is an error" srv:/vol
fails_cleanly "spec without a volume is an error" srvonly /mnt/x
[ "$fails" = 0 ]
