# shellcheck shell=bash
#
# replica.sh: helpers the replicate tests share (sourced after
# mortar-test.sh).  Bricks are the ones start_volume made
# (MT_VOL_BRICKS[VOL]); brick files are looked at directly.

# same_copies VOL FILE...: every brick of VOL holds the same bytes, mode
# and owner for each FILE (relative to the brick root).
same_copies() {
	local vol=$1 f b first
	shift
	for f in "$@"; do
		first=
		for b in ${MT_VOL_BRICKS[$vol]}; do
			[ -e "$(brick_dir "$b")/$f" ] || {
				echo "$f missing on $b"
				return 1
			}
			if [ -z "$first" ]; then
				first=$(brick_dir "$b")/$f
				continue
			fi
			if [ -f "$first" ]; then
				cmp "$first" "$(brick_dir "$b")/$f" || return 1
			fi
			[ "$(stat -c '%f %u %g' "$first")" = \
				"$(stat -c '%f %u %g' "$(brick_dir "$b")/$f")" ] || {
				echo "$f: mode/owner differ on $b"
				return 1
			}
		done
	done
}

# clean_counters VOL FILE...: no copy blames another.
clean_counters() {
	local vol=$1 f b
	shift
	for f in "$@"; do
		for b in ${MT_VOL_BRICKS[$vol]}; do
			if getfattr -d -m 'trusted.mortar.afr' -e hex \
				"$(brick_dir "$b")/$f" 2>/dev/null |
				grep '^trusted' | grep -v '=0x0*$'; then
				echo "$f on $b has pending counters"
				return 1
			fi
		done
	done
}

# heal_info VOL: print what mortar-heal info says for VOL's volfile.
# shellcheck disable=SC2154 # top_builddir: set by mortar-test.sh
MT_HEAL=$top_builddir/extras/tools/mortar-heal
heal_cmd() { # VOL ARGS...
	local vol=$1
	shift
	"$MT_HEAL" -f "${MT_VOL_DIR[$vol]}/$vol.vol" --timeout 10 "$@"
}

# heal_done VOL: mortar-heal info lists nothing.
heal_done() {
	heal_cmd "$1" info 2>/dev/null | grep -qx 'entries: 0'
}

# pending_of BRICK FILE: the afr xattrs of a brick copy, for diagnostics.
pending_of() {
	getfattr -d -m 'trusted.mortar' -e hex "$(brick_dir "$1")/$2" 2>&1
}
