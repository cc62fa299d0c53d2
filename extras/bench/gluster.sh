# shellcheck shell=bash
# gluster.sh - the GlusterFS column of bench.sh: a private glusterd on a
# loopback address, a volume of the same type as the mortar column with
# its bricks under the work dir, mounted with the glusterfs FUSE client.
# Sourced by bench.sh, never run.
#
# Nothing here touches a glusterd the machine may already run: ours has
# its own working dir, run dir (pid files, CLI socket), log dir and
# glusterd.vol, listens on GL_ADDR only, and is asked for by its own CLI
# socket.  Every process we stop is one whose PID we started (glusterd,
# the client) or one our glusterd wrote into our run dir (bricks, the
# self-heal daemon), checked against its command line first.
#
# What GlusterFS 10 leaves outside our dirs, and the trap removes when it
# was not there before: the bricks' sockets in /run/gluster (their names
# are on the bricks' command lines), /var/run/gluster/snaps,
# /var/lib/glusterd/ss_brick and /var/lib/glusterd/geo-replication.
#
# GL_ADDR is 127.0.0.2, not 127.0.0.1: the gluster CLI refuses bricks on
# localhost or 127.0.0.1, and every brick, glusterd and the client must use
# one address (the client volfile names the bricks' host, and the client
# asks glusterd there for their ports).  Linux answers all of 127/8 on lo.
# shellcheck disable=SC2317 # reached through "${kind}_setup" and friends
# shellcheck disable=SC2034 # DIRS (columns.sh) is read by workload.sh

GL_ADDR=${GL_ADDR:-127.0.0.2}
GL_VOL=bench
GL_BASE=   # our glusterd's dirs: wd, run, log, bricks
GL_RUN=    # its run dir (short: the CLI socket path has a length limit)
GL_PID=    # glusterd
GL_CLIENT_PID=
GL_STARTED=0 # the volume was started (so the trap stops it)
GL_SOCKS=()  # bricks' sockets in /run/gluster
GL_SYSDIRS=(/var/lib/glusterd/geo-replication /var/lib/glusterd/ss_brick
	/var/lib/glusterd /var/run/gluster/snaps /var/run/gluster) # children first
GL_SYSDIRS_NEW=() # of those, the ones absent before our glusterd started
GL_SET=()         # --gluster-set KEY=VALUE

# The gluster volume create arguments for the mortar column's volume type.
gluster_layout() {
	case $VOL_TYPE in
	'') GL_NBRICKS=1 GL_REPLICA= ;;
	distribute) GL_NBRICKS=$NBRICKS GL_REPLICA= ;;
	replicate) GL_NBRICKS=$NBRICKS GL_REPLICA=${REPLICA:-$NBRICKS} ;;
	distributed-replicate)
		[ -n "$REPLICA" ] || { log "distributed-replicate needs --replica"; return 1; }
		GL_NBRICKS=$NBRICKS GL_REPLICA=$REPLICA ;;
	*)
		log "GlusterFS has no $VOL_TYPE volume"
		return 1 ;;
	esac
}

# port_listening PORT: does anything on this machine listen on TCP PORT
# (any address, IPv4 or IPv6)?
port_listening() {
	local hex
	hex=$(printf ':%04X' "$1")
	awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
		END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

gluster_check() {
	local prog
	for prog in glusterd gluster glusterfs; do
		command -v "$prog" >/dev/null && continue
		log "no $prog (Debian: apt-get update && apt-get install -y glusterfs-server)"
		return 1
	done
	gluster_layout || return 1
	if port_listening 24007; then
		log "port 24007 is taken (a glusterd already runs here?); not touching it"
		return 1
	fi
}

gl_cli() {
	timeout 120 gluster --mode=script --glusterd-sock="$GL_RUN/glusterd.socket" \
		--log-file="$GL_BASE/log/cli.log" "$@"
}

gl_level() {
	case ${LOG_LEVEL^^} in
	DEBUG | INFO | WARNING | ERROR | CRITICAL | TRACE | NONE) echo "${LOG_LEVEL^^}" ;;
	*) echo WARNING ;;
	esac
}

gluster_start_glusterd() {
	local d
	GL_BASE=$WORK/gl
	mkdir -p "$GL_BASE/wd" "$GL_BASE/log" "$GL_BASE/bricks"
	GL_RUN=$GL_BASE/run
	if [ ${#GL_RUN} -gt 70 ]; then
		GL_RUN=$(mktemp -d /tmp/mortar-bench-gl.XXXXXX) || return 1
	else
		mkdir -p "$GL_RUN"
	fi
	for d in "${GL_SYSDIRS[@]}"; do
		[ -e "$d" ] || GL_SYSDIRS_NEW+=("$d")
	done
	CLEANUP_HOOKS+=(gluster_cleanup)
	cat >"$GL_BASE/glusterd.vol" <<EOF
volume management
    type mgmt/glusterd
    option working-directory $GL_BASE/wd
    option run-directory $GL_RUN
    option glusterd-sockfile $GL_RUN/glusterd.socket
    option logging-directory $GL_BASE/log
    option transport-type socket
    option transport.socket.bind-address $GL_ADDR
    option transport.socket.listen-port 24007
    option transport.socket.keepalive-time 10
    option transport.socket.keepalive-interval 2
    option transport.socket.read-fail-log off
    option ping-timeout 0
    option event-threads 1
    option max-port 60999
end-volume
EOF
	# -N: in the foreground, so $! is glusterd itself.
	glusterd -N -f "$GL_BASE/glusterd.vol" -p "$GL_RUN/glusterd.pid" \
		-l "$GL_BASE/log/glusterd.log" -L "$(gl_level)" \
		>>"$GL_BASE/log/glusterd.out" 2>&1 &
	GL_PID=$!
	wait_until 30 eval 'gl_cli volume list >/dev/null 2>&1' ||
		{ log "glusterd did not start (see $GL_BASE/log/glusterd.log)"; return 1; }
}

# gl_our_pid PID: is PID alive and one of our glusterd's processes?
gl_our_pid() {
	[ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$GL_RUN/"
}

# GL_DAEMONS: the bricks' and self-heal daemon's PIDs, from the pid files
# our glusterd wrote in our run dir; GL_SOCKS gets each one's socket (its
# -S argument) while it still runs.
GL_DAEMONS=()
gl_daemon_pids() {
	local f p arg prev
	GL_DAEMONS=()
	for f in "$GL_RUN"/vols/*/*.pid "$GL_RUN"/shd/*/*.pid "$GL_RUN"/*/*.pid; do
		[ -s "$f" ] || continue
		p=$(cat "$f")
		gl_our_pid "$p" || continue
		GL_DAEMONS+=("$p")
		prev=
		while IFS= read -r -d '' arg; do
			[ "$prev" = -S ] && GL_SOCKS+=("$arg")
			prev=$arg
		done <"/proc/$p/cmdline"
	done
}

gluster_setup() {
	local i kv
	local -a bricks=()
	gluster_start_glusterd || return 1
	for ((i = 0; i < GL_NBRICKS; i++)); do
		mkdir -p "$GL_BASE/bricks/b$i"
		bricks+=("$GL_ADDR:$GL_BASE/bricks/b$i")
	done
	log "gluster volume create $GL_VOL ${GL_REPLICA:+replica $GL_REPLICA }${bricks[*]} force"
	gl_cli volume create "$GL_VOL" ${GL_REPLICA:+replica "$GL_REPLICA"} \
		"${bricks[@]}" force >>"$GL_BASE/log/cli.out" 2>&1 ||
		{ log "gluster volume create failed (see $GL_BASE/log/cli.out)"; return 1; }
	for kv in "${GL_SET[@]}"; do
		gl_cli volume set "$GL_VOL" "${kv%%=*}" "${kv#*=}" >>"$GL_BASE/log/cli.out" 2>&1 ||
			{ log "gluster volume set $kv failed"; return 1; }
	done
	GL_STARTED=1
	gl_cli volume start "$GL_VOL" >>"$GL_BASE/log/cli.out" 2>&1 ||
		{ log "gluster volume start failed (see $GL_BASE/log/cli.out)"; return 1; }
	gl_daemon_pids
	mkdir -p "$GL_BASE/mnt"
	MOUNTS+=("$GL_BASE/mnt")
	gluster_mount || return 1
	DIRS["gluster"]=$GL_BASE/mnt
}

gluster_mount() {
	local mnt=$GL_BASE/mnt
	# -N: in the foreground, so $! is the client itself (mount -t
	# glusterfs would daemonise it).
	glusterfs -N --volfile-server="$GL_ADDR" --volfile-id="$GL_VOL" \
		--log-file="$GL_BASE/log/client.log" --log-level="$(gl_level)" \
		"$mnt" >>"$GL_BASE/log/client.out" 2>&1 &
	GL_CLIENT_PID=$!
	PIDS+=("$GL_CLIENT_PID")
	wait_until 30 mountpoint -q "$mnt" ||
		{ log "glusterfs did not mount (see $GL_BASE/log/client.log)"; return 1; }
	# mounted is not ready: wait until the bricks answer
	wait_until 30 eval "touch '$mnt/.bench-probe' 2>/dev/null && rm -f '$mnt/.bench-probe'" ||
		{ log "the glusterfs mount does not answer (see $GL_BASE/log/client.log)"; return 1; }
}
gluster_remount() {
	umount "$GL_BASE/mnt" || return 1
	wait_until 20 eval "! kill -0 $GL_CLIENT_PID 2>/dev/null" || return 1
	gluster_mount
}
gluster_teardown() { umount "$GL_BASE/mnt" 2>/dev/null; }
gluster_pid() { echo "$GL_CLIENT_PID"; }

# The trap's part (the mounts are gone by now): stop and delete the volume
# while glusterd still runs, stop glusterd, then whatever of its daemons
# is still there, and remove what it left outside our dirs.
gluster_cleanup() {
	local p d
	[ -n "$GL_RUN" ] || return 0
	gl_daemon_pids
	if [ "$GL_STARTED" = 1 ] && [ -n "$GL_PID" ] && kill -0 "$GL_PID" 2>/dev/null; then
		gl_cli volume stop "$GL_VOL" force >>"$GL_BASE/log/cli.out" 2>&1 ||
			log "gluster volume stop failed; stopping its processes"
		gl_cli volume delete "$GL_VOL" >>"$GL_BASE/log/cli.out" 2>&1
	fi
	[ -z "$GL_PID" ] || stop_pid "$GL_PID"
	for p in "${GL_DAEMONS[@]}"; do
		gl_our_pid "$p" && stop_pid "$p"
	done
	for p in "${GL_SOCKS[@]}"; do
		case $p in /run/gluster/*.socket | /var/run/gluster/*.socket) rm -f "$p" ;; esac
	done
	for d in "${GL_SYSDIRS_NEW[@]}"; do
		rm -f "$d/gsyncd_template.conf"
		rmdir "$d" 2>/dev/null || log "left $d (not empty)"
	done
	[ "$GL_RUN" = "$GL_BASE/run" ] || rm -rf "$GL_RUN"
}
