#!/bin/bash
#
# brick-cluster-fops.t: the brick fops the cluster translators build on
# (doc/cluster.md), over the network against a real brickd: internal
# locks (inodelk) block other clients and vanish when their holder's
# connection dies; xattrop adds counters atomically and keeps the pending
# index; rchecksum hashes ranges; internal xattrs stay hidden from users.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-120}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

BO=$MT_TOOLS/brickops
require_binaries "$BO"
plan 13

B=$MT_TMP/brick
AFR=trusted.mortar.afr.test-client-1

tap_require "start brick" start_brick cfops "$B"
cat >"$MT_TMP/client.vol" <<VOL
volume cfops
    type protocol/client
    option remote-host 127.0.0.1
    option remote-port $BRICK_PORT
    option remote-subvolume cfops
end-volume
VOL
V=$MT_TMP/client.vol
head -c 300000 /dev/urandom >"$B/f"
cp "$B/f" "$B/g"

# --- internal locks
mkfifo "$MT_TMP/hold.in"
"$BO" "$V" lock /f replicate.data <"$MT_TMP/hold.in" >"$MT_TMP/hold.out" 2>&1 &
HOLDER=$!
mt_track .pids "$HOLDER"
exec 7>"$MT_TMP/hold.in"
holder_locked() { grep -qx locked "$MT_TMP/hold.out"; }
tap_require "a client takes a blocking inodelk" wait_for 20 holder_locked
trylock_says() { [ "$("$BO" "$V" trylock /f "$1")" = "$2" ]; }
tap_check "another client gets EAGAIN in the same domain" \
	trylock_says replicate.data EAGAIN
tap_check "another domain is independent" trylock_says replicate.meta locked
kill -KILL "$HOLDER"
exec 7>&-
wait "$HOLDER" 2>/dev/null
mt_untrack .pids "$HOLDER"
tap_check "the lock goes with its holder's connection" \
	wait_for 20 trylock_says replicate.data locked

# --- xattrop and the pending index
# An xattr of a brick file as hex, without the 0x.
brick_xattr_hex() {
	getfattr -e hex -n "$2" "$1" 2>/dev/null | sed -n "s/^$2=0x//p"
}
gfid_of() {
	brick_xattr_hex "$1" trusted.mortar.gfid |
		sed 's/^\(........\)\(....\)\(....\)\(....\)/\1-\2-\3-\4-/'
}
tap_check "xattrop adds (1,0,0)" \
	bash -c "[ \"\$('$BO' '$V' xattrop /f $AFR 1 0 0)\" = '1 0 0' ]"
tap_check "xattrop adds again (1,2,0)" \
	bash -c "[ \"\$('$BO' '$V' xattrop /f $AFR 0 2 0)\" = '1 2 0' ]"
tap_check "the counters are 3 x int64 big-endian on the brick file" \
	bash -c "[ \"\$(getfattr -e hex -n $AFR '$B/f' 2>/dev/null | sed -n 's/^$AFR=//p')\" = \
		0x000000000000000100000000000000020000000000000000 ]"
G=$(gfid_of "$B/f")
in_index() { "$BO" "$V" index | grep -qx "$G"; }
tap_check "the file is in the pending index ($G)" in_index
tap_check "back to zero leaves the index" \
	bash -c "'$BO' '$V' xattrop /f $AFR -1 -2 0 >/dev/null && ! '$BO' '$V' index | grep -qx '$G'"

# --- rchecksum
tap_check "equal ranges hash equal" \
	bash -c "[ \"\$('$BO' '$V' checksum /f 0 131072)\" = \"\$('$BO' '$V' checksum /g 0 131072)\" ]"
printf 'X' | dd of="$B/g" bs=1 seek=200000 conv=notrunc status=none
tap_check "a changed byte changes only its chunk" \
	bash -c "[ \"\$('$BO' '$V' checksum /f 0 131072)\" = \"\$('$BO' '$V' checksum /g 0 131072)\" ] &&
		 [ \"\$('$BO' '$V' checksum /f 131072 131072)\" != \"\$('$BO' '$V' checksum /g 131072 131072)\" ]"
tap_check "a range past the end is short" \
	bash -c "'$BO' '$V' checksum /f 262144 131072 | grep -q '^37856 '"
