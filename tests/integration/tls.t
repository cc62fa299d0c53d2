#!/bin/bash
#
# tls.t: TLS on tcp between clients and bricks, with certificates made
# here (a CA, a brick certificate, two client certificates, and a client
# certificate named like a good one but signed by another CA).  A volume
# made with `mortar-volgen --tls-dir` mounts over TLS (the volfile fetch
# too) and a 64 MiB file written through one client reads back identical
# through the other; a brick started with `brickd --export --tls-dir`
# serves a TLS mount too (its generated client volfile has tls on).
# Refused, with a log line on both sides that says
# why: a plain client (volfile fetch and protocol/client), a client whose
# certificate another CA signed, a TLS client of a plain brick, and, with
# auth.allow=cn:client1, the client whose certificate is client2.
#
# shellcheck disable=SC2034 # read by mortar-test.sh
MT_TIMEOUT=${MORTAR_TEST_TIMEOUT:-240}
# shellcheck source=SCRIPTDIR/../lib/mortar-test.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/mortar-test.sh"

require_binaries
command -v openssl >/dev/null || skip_all "openssl(1) is missing"
"$MORTAR_VOLGEN" --help | grep -q -- --tls-dir ||
	skip_all "mortar-volgen has no --tls"
grep -q '^#define HAVE_TLS 1' "$top_builddir/config.h" ||
	skip_all "built without TLS (no OpenSSL 3)"
plan 29

C=$MT_TMP/tls   # what the volume uses: ca, server, client (= client1)
X=$MT_TMP/other # another CA, and a client certificate it signed
T=3             # one volfile fetch's bound in the refusals below

# ---------------------------------------------------------- certificates

# new_key NAME DIR: an EC P-256 key DIR/NAME.key.
new_key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$2/$1.key" 2>>"$MT_TMP/logs/openssl.log"
}
# new_ca DIR CN: DIR/ca.key and the self-signed DIR/ca.crt.
new_ca() {
	new_key ca "$1" &&
		openssl req -x509 -new -key "$1/ca.key" -subj "/CN=$2" \
			-days 2 -out "$1/ca.crt" 2>>"$MT_TMP/logs/openssl.log"
}
# new_cert NAME CN DIR: DIR/NAME.key and DIR/NAME.crt signed by DIR's CA.
new_cert() {
	new_key "$1" "$3" &&
		openssl req -new -key "$3/$1.key" -subj "/CN=$2" \
			-out "$3/$1.csr" 2>>"$MT_TMP/logs/openssl.log" &&
		openssl x509 -req -in "$3/$1.csr" -CA "$3/ca.crt" \
			-CAkey "$3/ca.key" -CAcreateserial -days 2 \
			-out "$3/$1.crt" 2>>"$MT_TMP/logs/openssl.log"
}
make_certs() {
	mkdir -p "$C" "$X" &&
		new_ca "$C" "mortar test CA" &&
		new_cert server brick "$C" &&
		new_cert client1 client1 "$C" &&
		new_cert client2 client2 "$C" &&
		cp "$C/client1.crt" "$C/client.crt" &&
		cp "$C/client1.key" "$C/client.key" &&
		new_ca "$X" "another CA" &&
		new_cert client1 client1 "$X"
}
tap_require "a CA, a brick certificate, two client certificates and one of another CA" \
	make_certs

# ---------------------------------------------------------------- helpers

V=tv
ERR= # what the last refused mortar said (in logs/: sanitizers see it)
# with_cert DIR NAME: the -o options of a client with DIR/NAME.crt.
with_cert() {
	echo "tls-cert=$1/$2.crt,tls-key=$1/$2.key,tls-ca=$C/ca.crt"
}
# brick_logged VOL TEXT: the log of the volume's first brick has TEXT.
brick_logged() {
	grep -qF -- "$2" "$MT_TMP/logs/brick-$1-b0.log"
}
# fetch_refused VOL MNT -o-OPTIONS: mortar gives up (no mount) within
# its bound, its message on stderr in $ERR.
fetch_refused() {
	ERR=$MT_TMP/logs/refused-$(basename "$2").out
	mkdir -p "$2"
	! timeout 30 "$MORTAR" -N --volfile-server "127.0.0.1:$(volume_port "$1")" \
		--volume "$1" --volfile-timeout $T ${3:+-o "$3"} "$2" \
		>"$ERR" 2>&1 && ! mountpoint -q "$2"
}
err_says() {
	grep -qF -- "$1" "$ERR" || {
		diag "mortar said:"
		diag_file "$ERR"
		return 1
	}
}

# ------------------------------------------------------- a TLS volume

tap_require "start a distribute volume of 2 bricks with mortar-volgen --tls-dir" \
	start_volume $V distribute 2 --tls-dir "$C"
has_tls_options() {
	grep -q "option tls on" "${MT_VOL_DIR[$V]}/$V-brick-0.vol" &&
		grep -q "option tls-cert $C/server.crt" "${MT_VOL_DIR[$V]}/$V-brick-0.vol" &&
		[ "$(grep -c "option tls on" "${MT_VOL_DIR[$V]}/$V.vol")" = 2 ] &&
		grep -q "option tls-cert $C/client.crt" "${MT_VOL_DIR[$V]}/$V.vol"
}
tap_check "the volfiles have tls on and the certificate options" has_tls_options
tap_check "the bricks listen with TLS" brick_logged $V "transport=tcp+tls"

M1=$MT_TMP/m1
M2=$MT_TMP/m2
tap_require "mount over TLS with client1's certificate (volfile fetched over TLS)" \
	mount_volume_of $V "$M1" "$(with_cert "$C" client1)"
tap_require "mount again with client2's certificate" \
	mount_volume_of $V "$M2" "$(with_cert "$C" client2)"

write_big() {
	head -c $((64 << 20)) /dev/urandom >"$MT_TMP/big" &&
		cp "$MT_TMP/big" "$M1/big" && sync "$M1/big"
}
tap_check "write a 64 MiB file through client1" write_big
same_sha() {
	local want got
	want=$(sha256sum <"$MT_TMP/big") && got=$(sha256sum <"$M2/big") &&
		[ "$want" = "$got" ]
}
tap_check "client2 reads it back identical (sha256)" same_sha
small_posix() {
	mkdir "$M1/d" && echo hello >"$M1/d/f" && mv "$M1/d/f" "$M1/d/g" &&
		ln -s g "$M1/d/l" && chmod 0600 "$M1/d/g" &&
		[ "$(cat "$M2/d/l")" = hello ] &&
		[ "$(stat -c %a "$M2/d/g")" = 600 ] && rm -r "$M2/d" &&
		[ ! -e "$M1/d" ]
}
tap_check "mkdir, rename, symlink, chmod and rm seen across the clients" small_posix

# ------------------------------------------------------------- refusals

tap_check "a plain client's volfile fetch is refused" fetch_refused $V "$MT_TMP/m3" ""
tap_check "... and mortar says the server requires TLS" \
	err_says "the server requires TLS (mount with -o tls)"
tap_check "... and the brick says why it refused" \
	brick_logged $V "this brick requires TLS"

# refused_mount NAME VOLFILE [-o OPTIONS]: mortar -N -f VOLFILE on
# $MT_TMP/NAME in the background, for a client its bricks refuse: it
# never comes up (the mount goes ahead without its bricks after mortar's
# own wait, and a stat of the root then fails), so this does not wait for
# a mountpoint; the log says what happened (logs/mount-NAME.log).
refused_mount() {
	local mnt=$MT_TMP/$1 log=$MT_TMP/logs/mount-$1.log
	mkdir -p "$mnt"
	"$MORTAR" -N -f "$2" --log-file "$log" ${3:+-o "$3"} "$mnt" \
		</dev/null >>"$log.out" 2>&1 &
	mt_track .pids $!
	mt_track .mounts "$mnt"
	MT_MOUNT_PID["$mnt"]=$!
}
mount_logged() { # NAME TEXT
	grep -qF -- "$2" "$MT_TMP/logs/mount-$1.log"
}
# Four bytes of a frame header and nothing more: refused at once, not
# waited for (the brick must not spin on bytes it will not take).
half_header_closed() {
	# shellcheck disable=SC2016 # $1 is the inner shell's
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf MRTR >&3 &&
		cat <&3 >/dev/null' _ "$(volume_port $V)"
}
tap_check "a plain client that sends half a header is closed at once" \
	half_header_closed

# A plain protocol/client: the volume's own client volfile with tls off.
plain_client() {
	sed 's/option tls on/option tls off/' "${MT_VOL_DIR[$V]}/$V.vol" \
		>"$MT_TMP/plain.vol" &&
		refused_mount m4 "$MT_TMP/plain.vol" &&
		wait_for 20 mount_logged m4 "refused: volume=$V-brick-0 errno=93 (the brick requires TLS"
}
tap_check "a plain protocol/client is refused and logs that the brick requires TLS" \
	plain_client
stop_mount "$MT_TMP/m4" >/dev/null 2>&1

tap_check "a certificate from another CA is refused" \
	fetch_refused $V "$MT_TMP/m5" "$(with_cert "$X" client1)"
tap_check "... and the brick says the certificate was not accepted" \
	brick_logged $V "the client's certificate not accepted: unable to get local issuer certificate"
tap_check "... and the client says the brick refused it" \
	err_says "the peer refused the TLS session"

tap_require "start a plain brick" start_brick plain "$MT_TMP/plain"
tls_to_plain() {
	ERR=$MT_TMP/logs/refused-m6.out
	mkdir -p "$MT_TMP/m6"
	! timeout 30 "$MORTAR" -N --volfile-server "127.0.0.1:${MT_BRICK_PORT[plain]}" \
		--volume plain --volfile-timeout $T -o "$(with_cert "$C" client1)" \
		"$MT_TMP/m6" >"$ERR" 2>&1 &&
		err_says "the peer closed the connection (is TLS on at both ends?" &&
		grep -qF "this end does not use TLS" "$MT_TMP/logs/brick-plain.log"
}
tap_check "a TLS client of a plain brick fails, and both sides say why" tls_to_plain

# ------------------------------------------------ brickd --tls-dir alone

tap_require "start brickd --export --tls-dir" start_brick tb "$MT_TMP/tb" --tls-dir "$C"
tap_check "a TLS client mounts it (the volfile brickd makes has tls on)" \
	mount_volume "$MT_TMP/m7" tb "${MT_BRICK_PORT[tb]}" "$(with_cert "$C" client1)"
tb_io() {
	echo two >"$MT_TMP/m7/f" && [ "$(cat "$MT_TMP/tb/f")" = two ] &&
		unmount_volume "$MT_TMP/m7"
}
tap_check "... writes to the brick's directory, and unmounts" tb_io

# --------------------------------------------------- auth by certificate

A=ta
tap_require "start a TLS volume with auth.allow=cn:client1" \
	start_volume $A distribute 1 --tls-dir "$C" \
	--option protocol/server:auth.allow=cn:client1
tap_check "client1's certificate is admitted" \
	mount_volume_of $A "$MT_TMP/a1" "$(with_cert "$C" client1)"
admitted_writes() {
	echo one >"$MT_TMP/a1/f" && [ "$(cat "$MT_TMP/a1/f")" = one ]
}
tap_check "... and writes" admitted_writes
tap_check "client2's certificate is refused the volfile" \
	fetch_refused $A "$MT_TMP/a2" "$(with_cert "$C" client2)"
refused_attach() {
	refused_mount a3 "$(volume_volfile $A)" "$(with_cert "$C" client2)" &&
		wait_for 20 brick_logged $A "cn=client2 volume=$A-brick-0 errno=13 (not in auth.allow" &&
		wait_for 20 mount_logged a3 "refused: volume=$A-brick-0 errno=13"
}
tap_check "client2's protocol/client is refused the brick, logged with its name" \
	refused_attach
stop_mount "$MT_TMP/a3" >/dev/null 2>&1

tap_check "unmount client1's mount of $A" unmount_volume "$MT_TMP/a1"
unmount_both() { unmount_volume "$M1" && unmount_volume "$M2"; }
tap_check "unmount both TLS mounts" unmount_both
