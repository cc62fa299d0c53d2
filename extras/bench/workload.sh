# shellcheck shell=bash
# workload.sh - the phases bench.sh runs on every column, the same on
# each.  phase_NAME KIND RUN works in DIRS[KIND], leaves it as it found
# it, and adds one value per metric to RES[KIND,METRIC] (a space-separated
# list, one value per run; higher is better for every metric).  Sourced
# by bench.sh, never run.
# shellcheck disable=SC2317 # reached through "phase_$phase"

declare -A RES
declare -A RSS

# record KIND RUN METRIC VALUE
record() {
	RES[$1,$3]="${RES[$1,$3]:+${RES[$1,$3]} }$4"
	log "$1 run $2: $3 $4"
}

# cold KIND: nothing of what the last step read or wrote stays cached:
# the client remounted, the page cache (bricks' too) dropped.
cold() {
	"${1}_remount" || { log "$1: remount failed"; return 1; }
	drop_caches
}

# seq: one SIZE_MB file written with bs=1M and fsync, then read cold.
phase_seq() {
	local kind=$1 run=$2 dir=${DIRS[$1]} secs
	secs=$(timed dd if=/dev/zero of="$dir/seq" bs=1M count="$SIZE_MB" \
		conv=fsync status=none) || { log "$kind: write failed"; return 1; }
	record "$kind" "$run" write "$(rate "$SIZE_MB" "$secs")"
	cold "$kind" || return 1
	secs=$(timed dd if="$dir/seq" of=/dev/null bs=1M status=none) ||
		{ log "$kind: read failed"; return 1; }
	record "$kind" "$run" read "$(rate "$SIZE_MB" "$secs")"
	rm -f "$dir/seq"
}

# par: WRITERS files of SIZE_MB/WRITERS each, written at once (bs=1M,
# fsync); the aggregate MB/s from the first start to the last fsync.
phase_par() {
	local kind=$1 run=$2 dir=${DIRS[$1]} secs each
	each=$((SIZE_MB / WRITERS))
	[ "$each" -gt 0 ] || each=1
	# shellcheck disable=SC2016 # the inner script expands its own args
	secs=$(timed bash -c '
		dir=$1 n=$2 mb=$3 rc=0
		pids=()
		for ((i = 0; i < n; i++)); do
			dd if=/dev/zero of="$dir/par$i" bs=1M count="$mb" conv=fsync status=none &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p" || rc=1; done
		exit $rc' bash "$dir" "$WRITERS" "$each") ||
		{ log "$kind: parallel write failed"; return 1; }
	record "$kind" "$run" par_write "$(rate $((each * WRITERS)) "$secs")"
	rm -f "$dir"/par*
}

# meta: FILES empty files created, stat'ed cold (after a remount) and
# warm, listed, unlinked; then the client's RSS.
phase_meta() {
	local kind=$1 run=$2 fdir=${DIRS[$1]}/meta.$2 v
	mkdir "$fdir" || return 1
	v=$(fops create "$fdir" "$FILES") || return 1
	record "$kind" "$run" create "$v"
	cold "$kind" || return 1
	v=$(fops stat "$fdir" "$FILES") || return 1
	record "$kind" "$run" stat_cold "$v"
	v=$(fops stat "$fdir" "$FILES") || return 1
	record "$kind" "$run" stat_warm "$v"
	v=$(fops readdir "$fdir" "$FILES") || return 1 # entries/s
	record "$kind" "$run" readdir "$v"
	v=$(fops unlink "$fdir" "$FILES") || return 1
	record "$kind" "$run" unlink "$v"
	rmdir "$fdir" || return 1
	RSS[$kind]="${RSS[$kind]:+${RSS[$kind]} }$(rss_mib "$("${kind}_pid")")"
}

# pstat: FILES empty files in one directory (made untimed), then, cold,
# STAT_PROCS processes at once stat each its share of them (fileops
# pstat: every name once); unlinked untimed.  Where the kernel serialises
# lookups in one directory (no FUSE_PARALLEL_DIROPS) this is no faster
# than one stat-er.
phase_pstat() {
	local kind=$1 run=$2 fdir=${DIRS[$1]}/pstat.$2 v out
	mkdir "$fdir" || return 1
	fops create "$fdir" "$FILES" >/dev/null || return 1
	cold "$kind" || return 1
	out=$(timeout "$STEP_TIMEOUT" "$FILEOPS" pstat "$fdir" "$FILES" "$STAT_PROCS") ||
		{ log "fileops pstat $fdir failed"; return 1; }
	# shellcheck disable=SC2086 # "OPS SECONDS", two words on purpose
	v=$(rate $out)
	record "$kind" "$run" pstat_cold "$v"
	fops unlink "$fdir" "$FILES" >/dev/null || return 1
	rmdir "$fdir"
}

# small: FILES files of 4 KiB (create, one write, close); unlinked
# untimed.
phase_small() {
	local kind=$1 run=$2 fdir=${DIRS[$1]}/small.$2 v
	mkdir "$fdir" || return 1
	v=$(fops write4k "$fdir" "$FILES") || return 1
	record "$kind" "$run" small "$v"
	fops unlink "$fdir" "$FILES" >/dev/null || return 1
	rmdir "$fdir"
}

# tree: a directory tree TREE wide and 3 deep made, then removed.
phase_tree() {
	local kind=$1 run=$2 top=${DIRS[$1]}/tree.$2 v
	mkdir "$top" || return 1
	v=$(fops mkdirtree "$top" "$TREE") || return 1
	record "$kind" "$run" mkdir "$v"
	v=$(fops rmdirtree "$top" "$TREE") || return 1
	record "$kind" "$run" rmdir "$v"
	rmdir "$top"
}

# fio_iops RW FILE: one fio job (4 KiB, psync, buffered), prints its IOPS
# (terse v3: field 8 read IOPS, field 49 write IOPS).
fio_iops() {
	local out
	out=$(timeout "$STEP_TIMEOUT" fio --name=bench --filename="$2" --rw="$1" \
		--ioengine=psync --bs=4k --numjobs=1 --direct=0 \
		--size="${FIO_MB}m" --runtime="$FIO_RUNTIME" --time_based \
		--end_fsync=1 --output-format=terse --terse-version=3 2>>"$WORK/fio.log") ||
		{ log "fio $1 on $2 failed (see $WORK/fio.log)"; return 1; }
	awk -F';' -v rw="$1" 'NR == 1 { print (rw == "randread" ? $8 : $49) }' <<<"$out"
}

# fio: a FIO_MB file laid out (dd, fsync), then 4 KiB random reads cold
# and random writes, FIO_RUNTIME seconds each.
phase_fio() {
	local kind=$1 run=$2 f=${DIRS[$1]}/fio.$2 v
	timeout "$STEP_TIMEOUT" dd if=/dev/zero of="$f" bs=1M count="$FIO_MB" \
		conv=fsync status=none || { log "$kind: fio layout failed"; return 1; }
	cold "$kind" || return 1
	v=$(fio_iops randread "$f") || return 1
	record "$kind" "$run" randread "$v"
	v=$(fio_iops randwrite "$f") || return 1
	record "$kind" "$run" randwrite "$v"
	rm -f "$f"
}
