# shellcheck shell=bash
# distribute-lib.sh - helpers the cluster/distribute tests share (sourced
# after tests/lib/mortar-test.sh).
#
#   dht_volume NAME COUNT [distribute options...]
#       starts COUNT bricks (exports $MT_TMP/NAME-bK, brick volume
#       names NAME-brick-K) and writes the client volfile $MT_TMP/NAME.vol
#       (protocol/client NAME-client-K, cluster/distribute NAME on top).
#   dht_add_brick NAME       one more brick, volfile written again
#   dht_volfile NAME [opts]  (re)write the volfile for the bricks started
#   dht_mount VOLFILE MNT [OPTS]  mortar -N -f VOLFILE [-o OPTS] MNT,
#                            tracked for cleanup
#   dht_unmount MNT          the test library's unmount_volume
#   dht_data_files DIR       regular files below a brick dir, without
#                            linkto files and .mortar

declare -A DHT_BRICKS
declare -A DHT_OPTS

dht_volfile() {
	local name=$1 n=${DHT_BRICKS[$1]} i subs="" opt
	local vf="$MT_TMP/$name.vol"
	: >"$vf"
	for ((i = 0; i < n; i++)); do
		cat >>"$vf" <<EOV
volume $name-client-$i
    type protocol/client
    option remote-host 127.0.0.1
    option remote-port ${MT_BRICK_PORT[$name-brick-$i]}
    option remote-subvolume $name-brick-$i
    option ping-timeout 10
end-volume

EOV
		subs="$subs $name-client-$i"
	done
	{
		echo "volume $name"
		echo "    type cluster/distribute"
		for opt in ${DHT_OPTS[$name]}; do
			echo "    option ${opt%%=*} ${opt#*=}"
		done
		echo "    subvolumes$subs"
		echo "end-volume"
	} >>"$vf"
}

dht_add_brick() {
	local name=$1 i=${DHT_BRICKS[$1]}
	start_brick "$name-brick-$i" "$MT_TMP/$name-b$i" || return 1
	DHT_BRICKS[$name]=$((i + 1))
	dht_volfile "$name"
}

dht_volume() {
	local name=$1 count=$2 i
	shift 2
	DHT_OPTS[$name]="$*"
	DHT_BRICKS[$name]=0
	for ((i = 0; i < count; i++)); do
		start_brick "$name-brick-$i" "$MT_TMP/$name-b$i" || return 1
		DHT_BRICKS[$name]=$((i + 1))
	done
	dht_volfile "$name"
}

dht_mount() {
	local vf=$1 mnt=$2 log pid
	local -a extra=()
	[ -n "${3:-}" ] && extra=(-o "$3")
	mkdir -p "$mnt"
	log="$MT_TMP/logs/mount-$(basename "$mnt").log"
	# shellcheck disable=SC2046 # no option at all when the level is unset
	"$MORTAR" $(mt_log_level_args) -N -f "$vf" --log-file "$log" \
		--dump-dir "$MT_TMP/dump" "${extra[@]}" "$mnt" \
		</dev/null >>"$log.out" 2>&1 &
	pid=$!
	mt_track .pids "$pid"
	mt_track .mounts "$mnt"
	# shellcheck disable=SC2034 # read by mortar-test.sh (unmount_volume)
	MT_MOUNT_PID["$mnt"]=$pid
	# shellcheck disable=SC2034 # for the caller, as mount_volume sets it
	MOUNT_PID=$pid
	if ! wait_for "${MT_MOUNT_TIMEOUT:-20}" mt_mount_ready "$mnt" "$pid" ||
		! mountpoint -q "$mnt"; then
		diag "mount of $vf on $mnt failed (pid $pid)"
		diag_file "$log.out"
		diag_file "$log"
		return 1
	fi
	return 0
}

dht_unmount() {
	unmount_volume "$1"
}

# Regular files that hold data (not linkto files: mode exactly 1000).
dht_data_files() {
	find "$1" -path "$1/.mortar" -prune -o -type f ! -perm 1000 -print
}

dht_linkto_files() {
	find "$1" -path "$1/.mortar" -prune -o -type f -perm 1000 -print
}

# The brick (0..) of a volume made by dht_volume holding NAME's data,
# given the path below the brick root; empty when none.
dht_brick_of() {
	local vol=$1 rel=$2 b
	for ((b = 0; b < ${DHT_BRICKS[$vol]}; b++)); do
		if [ -f "$MT_TMP/$vol-b$b/$rel" ] &&
			[ "$(stat -c %a "$MT_TMP/$vol-b$b/$rel")" != 1000 ]; then
			echo "$b"
			return 0
		fi
	done
	return 1
}
