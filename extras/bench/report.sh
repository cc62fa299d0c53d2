# shellcheck shell=bash
# report.sh - prints bench.sh's table from RES (workload.sh): one row per
# metric, one column per file system, each cell the median of its runs,
# then mortar/gluster and mortar/passthrough.  Sourced by bench.sh at the
# end, never run.

# median of the values in $1 (space separated); of 2, their mean
median() {
	[ -n "$1" ] || { echo -; return; }
	tr ' ' '\n' <<<"$1" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.1f", m }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}

report() {
	local desc rev glv how kind m key label any each
	local -a cols=()
	local -A med
	desc="one brick"
	[ -z "$VOL_TYPE" ] || desc="$VOL_TYPE, $NBRICKS bricks${REPLICA:+, replica $REPLICA}"
	rev=$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo "?")
	glv=$(glusterfs --version 2>/dev/null | awk 'NR == 1 { print $2 }')
	if [ "$RUNS" = 1 ]; then
		how="each cell one run"
	elif [ "$RUNS" = 2 ]; then
		how="each cell the median of 2 runs, i.e. their mean"
	else
		how="each cell the median of $RUNS runs"
	fi
	each=$((SIZE_MB / WRITERS > 0 ? SIZE_MB / WRITERS : 1))
	for kind in mortar gluster passthrough raw; do
		case " $ONLY " in *" $kind "*) cols+=("$kind") ;; esac
	done

	printf '\nMortar bench %s: volume %s (mortar %s, GlusterFS %s), %s FUSE threads\n' \
		"$(date -u +%FT%TZ)" "$desc" "$rev" "${glv:--}" "$THREADS"
	printf '%s MiB sequential, %s writers x %s MiB, %s files, tree %s^3, fio %s MiB x %s s;\n' \
		"$SIZE_MB" "$WRITERS" "$each" "$FILES" "$TREE" "$FIO_MB" "$FIO_RUNTIME"
	[ -z "$MORTAR_OPTS" ] || printf 'mortar mounted with -o %s;\n' "${MORTAR_OPTS#,}"
	[ "$TLS" = 0 ] || printf 'mortar over TLS 1.3 (mortar-volgen --tls-dir);\n'
	printf '%s; higher is better everywhere.\n\n' "$how"
	printf '%-22s' metric
	for kind in "${cols[@]}"; do printf ' | %11s' "$kind"; done
	printf ' | %14s | %s\n' mortar/gluster mortar/passthrough
	printf -- '-----------------------'
	for kind in "${cols[@]}"; do printf -- '+-------------'; done
	printf -- '+----------------+-------------------\n'
	for m in write:"seq write MB/s" read:"seq read MB/s (cold)" \
		par_write:"parallel write MB/s" create:"creates/s" \
		stat_cold:"stats/s (cold)" stat_warm:"stats/s (warm)" \
		readdir:"readdir entries/s" unlink:"unlinks/s" \
		pstat_cold:"$STAT_PROCS-proc stats/s (cold)" \
		small:"4 KiB files/s" mkdir:"mkdirs/s" rmdir:"rmdirs/s" \
		randread:"4k randread IOPS" randwrite:"4k randwrite IOPS"; do
		key=${m%%:*}
		label=${m#*:}
		any=0
		med=()
		for kind in "${cols[@]}"; do
			med[$kind]=$(median "${RES[$kind,$key]:-}")
			[ "${med[$kind]}" = - ] || any=1
		done
		[ "$any" = 1 ] || continue # a phase left out
		printf '%-22s' "$label"
		for kind in "${cols[@]}"; do printf ' | %11s' "${med[$kind]}"; done
		printf ' | %14s | %s\n' "$(ratio "${med[mortar]:--}" "${med[gluster]:--}")" \
			"$(ratio "${med[mortar]:--}" "${med[passthrough]:--}")"
	done
	if [[ " $PHASES " == *" meta "* ]]; then
		printf '\nclient RSS after the metadata phase (MiB, run 1 run 2 ...):'
		for kind in "${cols[@]}"; do
			[ "$kind" = raw ] || printf ' %s %s;' "$kind" "${RSS[$kind]:--}"
		done
		printf '\n'
	fi
	[ "$DROP_WARNED" = 0 ] ||
		printf '\nnote: page cache not dropped (no permission); FUSE reads were still cold after remount.\n'
}

report
