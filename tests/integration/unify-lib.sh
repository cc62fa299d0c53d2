# shellcheck shell=bash
# unify-lib.sh: helpers for the cluster/unify integration tests, sourced
# after tests/lib/mortar-test.sh.
#
#   unify_bricks NAME COUNT          start bricks NAME0..NAME<COUNT-1> on
#                                    $MT_TMP/NAME<i> (or UNIFY_BRICK_DIR[i])
#   unify_volfile NAME COUNT FILE [option lines...]
#                                    client volfile: one protocol/client per
#                                    brick, cluster/unify NAME on top (with
#                                    child-up-timeout 10 unless given, so a
#                                    test starts with every brick connected)
#   mount_volfile VOLFILE MNT [-o opts]
#                                    mortar -N -f VOLFILE MNT, tracked for
#                                    cleanup like mount_volume
declare -A UNIFY_BRICK_DIR

unify_bricks() {
	local name=$1 count=$2 i
	for ((i = 0; i < count; i++)); do
		start_brick "$name$i" "${UNIFY_BRICK_DIR[$i]:-$MT_TMP/$name$i}" ||
			return 1
	done
}

unify_volfile() {
	local name=$1 count=$2 file=$3 i subs=
	shift 3
	: >"$file"
	for ((i = 0; i < count; i++)); do
		cat >>"$file" <<EOV
volume $name-client-$i
    type protocol/client
    option remote-host 127.0.0.1
    option remote-port ${MT_BRICK_PORT[$name$i]}
    option remote-subvolume $name$i
    option ping-timeout 5
end-volume

EOV
		subs="$subs $name-client-$i"
	done
	{
		echo "volume $name"
		echo "    type cluster/unify"
		[[ " $* " == *" child-up-timeout "* ]] ||
			echo "    option child-up-timeout 10"
		for opt in "$@"; do
			echo "    option $opt"
		done
		echo "    subvolumes$subs"
		echo "end-volume"
	} >>"$file"
}

mount_volfile() {
	local vol=$1 mnt=$2 log pid
	shift 2
	mkdir -p "$mnt"
	log="$MT_TMP/logs/mount-$(basename "$mnt").log"
	# shellcheck disable=SC2046 # no option at all when the level is unset
	"$MORTAR" $(mt_log_level_args) -N -f "$vol" --log-file "$log" \
		--dump-dir "$MT_TMP/dump" "$@" "$mnt" </dev/null >>"$log.out" 2>&1 &
	pid=$!
	mt_track .pids "$pid"
	mt_track .mounts "$mnt"
	MT_MOUNT_PID[$mnt]=$pid
	MOUNT_PID=$pid
	if ! wait_for "${MT_MOUNT_TIMEOUT:-20}" mt_mount_ready "$mnt" "$pid" ||
		! mountpoint -q "$mnt"; then
		diag "mount of $vol on $mnt failed (pid $pid)"
		diag_file "$log.out"
		diag_file "$log"
		return 1
	fi
	diag "mounted $vol on $mnt (pid $pid)"
	return 0
}

# unify_count DIR: regular files directly in a brick directory.
unify_count() {
	find "$1" -maxdepth 1 -type f | wc -l
}
