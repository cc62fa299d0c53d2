# shellcheck shell=bash
# columns.sh - the local columns of bench.sh: raw (a plain directory),
# passthrough (libfuse's passthrough_ll over a directory) and mortar
# (brickd + the mortar client over loopback, one brick or a volume made by
# mortar-volgen).  gluster.sh has the GlusterFS column.  Sourced by
# bench.sh, never run.
#
# Each column KIND defines:
#   KIND_check     can it run here? (prints why not on stderr)
#   KIND_setup     start and mount it; sets DIRS[KIND], the dir to work in
#                  (not run in a subshell: it records PIDs and mounts for
#                  the trap)
#   KIND_remount   drop what the client caches (unmount + mount again)
#   KIND_teardown  unmount (the trap stops the processes)
#   KIND_pid       prints the client's PID (for its RSS), or nothing
# shellcheck disable=SC2317 # reached through "${kind}_setup" and friends
# shellcheck disable=SC2034 # DIRS is read by workload.sh

declare -A DIRS

# ---- raw --------------------------------------------------------------

raw_check() { :; }
raw_setup() {
	mkdir -p "$WORK/raw"
	DIRS[raw]=$WORK/raw
}
raw_remount() { :; }
raw_teardown() { :; }
raw_pid() { :; }

# ---- passthrough --------------------------------------------------------

PASSTHROUGH=
passthrough_check() {
	local src
	PASSTHROUGH=$(command -v passthrough_ll 2>/dev/null) && return 0
	for src in /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c \
		/usr/share/doc/fuse3/examples/passthrough_ll.c; do
		[ -f "$src" ] || continue
		PASSTHROUGH=$WORK/passthrough_ll
		# shellcheck disable=SC2046 # pkg-config's flags are words
		cc -O2 -o "$PASSTHROUGH" "$src" $(pkg-config --cflags --libs fuse3) &&
			return 0
	done
	PASSTHROUGH=
	log "no passthrough_ll (Debian: apt-get install libfuse3-dev)"
	return 1
}

PT_PID=
passthrough_setup() {
	mkdir -p "$WORK/pt-src" "$WORK/pt-mnt"
	MOUNTS+=("$WORK/pt-mnt")
	passthrough_mount || return 1
	DIRS[passthrough]=$WORK/pt-mnt
}
passthrough_mount() {
	"$PASSTHROUGH" -f -o "source=$WORK/pt-src,max_threads=$THREADS" \
		"$WORK/pt-mnt" 2>>"$WORK/passthrough.log" &
	PT_PID=$!
	PIDS+=("$PT_PID")
	wait_until 20 mountpoint -q "$WORK/pt-mnt" ||
		{ log "passthrough_ll did not mount (see $WORK/passthrough.log)"; return 1; }
}
passthrough_remount() {
	fusermount3 -u "$WORK/pt-mnt" || return 1
	wait_until 20 eval "! kill -0 $PT_PID 2>/dev/null" || return 1
	passthrough_mount
}
passthrough_teardown() { fusermount3 -u "$WORK/pt-mnt" 2>/dev/null; }
passthrough_pid() { echo "$PT_PID"; }

# ---- mortar -------------------------------------------------------------

mortar_binaries

mortar_check() {
	if ! command -v "$BRICKD" >/dev/null || ! command -v "$MORTAR" >/dev/null; then
		log "no brickd/mortar ($BRICKD, $MORTAR)"
		return 1
	fi
	if [ -n "$VOL_TYPE" ] && ! command -v "$VOLGEN" >/dev/null; then
		log "no mortar-volgen ($VOLGEN)"
		return 1
	fi
}

BRICK_PORT=
mortar_setup() {
	local pid
	[ -z "$VOL_TYPE" ] || { mortar_setup_volume && return 0; return 1; }
	mkdir -p "$WORK/brick" "$WORK/mnt"
	MOUNTS+=("$WORK/mnt")
	# -N keeps it in the foreground so its PID is ours to stop.
	"$BRICKD" -N --export "$WORK/brick" --volume bench --host 127.0.0.1 \
		--port 0 --port-file "$WORK/brick.port" \
		--log-file "$WORK/brickd.log" --log-level "$LOG_LEVEL" \
		>>"$WORK/brickd.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_until 20 test -s "$WORK/brick.port" ||
		{ log "brickd did not start (see $WORK/brickd.log, brickd.out)"; return 1; }
	BRICK_PORT=$(cat "$WORK/brick.port")
	mortar_mount || return 1
	DIRS[mortar]=$WORK/mnt
}
# A volume of NBRICKS local bricks: volgen's server volfiles, each brick
# on a port the kernel picks, then the volfiles again with those ports
# (the client volfile the bricks serve names them).
mortar_setup_volume() {
	local i pid vols=$WORK/vols
	local -a bricks=()
	mkdir -p "$WORK/mnt" "$vols"
	if [ "$TLS" = 1 ]; then
		bench_tls_certs "$WORK/tls" ||
			{ log "cannot make TLS certificates (see $WORK/tls/openssl.log)"; return 1; }
		VOLGEN_OPTS+=(--tls-dir "$WORK/tls")
		MORTAR_OPTS="$MORTAR_OPTS,tls-cert=$WORK/tls/client.crt,tls-key=$WORK/tls/client.key,tls-ca=$WORK/tls/ca.crt"
	fi
	MOUNTS+=("$WORK/mnt")
	for ((i = 0; i < NBRICKS; i++)); do
		mkdir -p "$WORK/brick$i"
		bricks+=("127.0.0.1:$WORK/brick$i")
	done
	"$VOLGEN" -q --force --out "$vols" ${REPLICA:+--replica "$REPLICA"} \
		"${VOLGEN_OPTS[@]}" bench "$VOL_TYPE" "${bricks[@]}" || return 1
	for ((i = 0; i < NBRICKS; i++)); do
		"$BRICKD" -N -f "$vols/bench-brick-$i.vol" --volfile-dir "$vols" \
			--host 127.0.0.1 --port 0 --port-file "$WORK/brick$i.port" \
			--log-file "$WORK/brickd$i.log" --log-level "$LOG_LEVEL" \
			>>"$WORK/brickd$i.out" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		wait_until 20 test -s "$WORK/brick$i.port" ||
			{ log "brick $i did not start (see $WORK/brickd$i.log)"; return 1; }
		bricks[i]="127.0.0.1:$(cat "$WORK/brick$i.port"):$WORK/brick$i"
	done
	"$VOLGEN" -q --force --out "$vols" ${REPLICA:+--replica "$REPLICA"} \
		"${VOLGEN_OPTS[@]}" bench "$VOL_TYPE" "${bricks[@]}" || return 1
	BRICK_PORT=$(cat "$WORK/brick0.port")
	mortar_mount || return 1
	DIRS[mortar]=$WORK/mnt
}
# bench_tls_certs DIR: a throwaway CA, DIR/server.{crt,key} and
# DIR/client.{crt,key} it signed (EC P-256), DIR/ca.crt: the names
# mortar-volgen --tls-dir expects.
bench_tls_certs() {
	local d=$1 who
	mkdir -p "$d" || return 1
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout "$d/ca.key" -subj "/CN=bench CA" -days 2 \
		-out "$d/ca.crt" 2>>"$d/openssl.log" || return 1
	for who in server client; do
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout "$d/$who.key" -subj "/CN=bench-$who" \
			-out "$d/$who.csr" 2>>"$d/openssl.log" &&
			openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.crt" \
				-CAkey "$d/ca.key" -CAcreateserial -days 2 \
				-out "$d/$who.crt" 2>>"$d/openssl.log" || return 1
	done
}
MORTAR_PID=
mortar_mount() {
	"$MORTAR" -N --volfile-server "127.0.0.1:$BRICK_PORT" --volume bench \
		--log-file "$WORK/mortar.log" --log-level "$LOG_LEVEL" \
		-o "fuse-threads=$THREADS$MORTAR_OPTS" "$WORK/mnt" >>"$WORK/mortar.out" 2>&1 &
	MORTAR_PID=$!
	PIDS+=("$MORTAR_PID")
	wait_until 30 mountpoint -q "$WORK/mnt" ||
		{ log "mortar did not mount (see $WORK/mortar.log, mortar.out)"; return 1; }
}
mortar_remount() {
	umount "$WORK/mnt" || return 1
	wait_until 20 eval "! kill -0 $MORTAR_PID 2>/dev/null" || return 1
	mortar_mount
}
mortar_teardown() { umount "$WORK/mnt" 2>/dev/null; }
mortar_pid() { echo "$MORTAR_PID"; }
