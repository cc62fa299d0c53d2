#!/usr/bin/env bash
# run.sh SECONDS [--build DIR] [--keep]: build every fuzz target with
# clang and libFuzzer (AddressSanitizer + UndefinedBehaviorSanitizer) and
# run each for SECONDS, starting from its seed corpus
# (extras/fuzz/corpus/TARGET, plus seeds written by fuzz-seeds from the
# real encoders).  Prints "TARGET: N execs, N crashes" per target and
# ends with "N passed, N failed".  A crash leaves its input in
# WORK/TARGET/crashes (kept, and named in the output): add it to
# corpus/TARGET so it stays a regression input.
#
# DIR is a configured build tree of this checkout (for config.h and the
# translators fuzz-volfile loads); without --build, one is configured in
# the work dir (translators built there too).  Needs clang-14 and
# libfuzzer-14-dev (Debian).
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
fz=$src/extras/fuzz
secs=${1:-}
shift || true
build=
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: run.sh SECONDS [--build DIR] [--keep]" >&2; exit 2 ;;
	esac
done
case $secs in
'' | *[!0-9]*) echo "usage: run.sh SECONDS [--build DIR] [--keep]" >&2; exit 2 ;;
esac
CC=${FUZZ_CC:-clang-14}
command -v "$CC" >/dev/null || { echo "run.sh: no $CC (apt-get install clang-14 libfuzzer-14-dev)"; echo "0 passed, 1 failed"; exit 1; }
work=$(mktemp -d /tmp/mortar-fuzz.XXXXXX)
cleanup() {
	if [ "$keep" = 1 ]; then
		echo "run.sh: work dir kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

if [ -z "$build" ]; then
	build=$work/build
	if ! mkdir -p "$build" ||
		! (cd "$build" && "$src/configure" -q >/dev/null && make -j"$(nproc)" >make.log 2>&1); then
		echo "run.sh: cannot configure and build in $build"
		echo "0 passed, 1 failed"
		exit 1
	fi
fi
[ -f "$build/config.h" ] || { echo "run.sh: $build has no config.h"; echo "0 passed, 1 failed"; exit 1; }

incs=(-D_GNU_SOURCE -I"$build" -I"$src" -I"$src/xlators-api" -I"$src/rpc"
	-I"$src/translators/cluster/distribute" -I"$src/translators/cluster/replicate")
# shellcheck disable=SC2054 # -fsanitize takes a comma list
flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined "${incs[@]}")
runtime=("$src"/xlators-api/{fop,call,fan,xlator,options,graph,volfile,inode,buf,log,statedump,merge,lk-range}.c)
# xlators-api/graph.c names the installed translator directory.
defs=(-DMORTAR_XLATOR_DIR="\"$build/translators\"" -DMORTAR_SYSCONFDIR="\"/etc\"" -DMORTAR_LOCALSTATEDIR="\"/var\"")
libs=(-lxxhash -ldl -lpthread)
declare -A extra=(
	[fuzz-frame]="$src/rpc/codec.c $src/rpc/frame.c"
	[fuzz-handshake]="$src/rpc/codec.c $src/rpc/handshake.c"
	[fuzz-volfile]=""
	[fuzz-cluster]="$src/translators/cluster/distribute/dht-layout.c $src/translators/cluster/replicate/replicate-judge.c"
)
targets=(fuzz-frame fuzz-handshake fuzz-volfile fuzz-cluster)
pass=0
fail=0

# The seeds: real encodings of every fop's call and reply, handshakes,
# the volfiles mortar-volgen writes, real layouts and counters.
seeds=$work/seeds
mkdir -p "$seeds"
# shellcheck disable=SC2086 # the extra source lists split on purpose
if "$CC" -g -O1 "${incs[@]}" "${defs[@]}" -o "$work/fuzz-seeds" \
	"$fz/fuzz-seeds.c" "${runtime[@]}" $src/rpc/codec.c $src/rpc/frame.c \
	$src/rpc/handshake.c $src/translators/cluster/distribute/dht-layout.c \
	"${libs[@]}" 2>"$work/seeds.err"; then
	"$work/fuzz-seeds" "$seeds" || echo "run.sh: fuzz-seeds failed"
else
	echo "run.sh: cannot build fuzz-seeds:"; head -20 "$work/seeds.err"
	fail=$((fail + 1))
fi
if [ -x "$build/extras/tools/mortar-volgen" ]; then
	mkdir -p "$seeds/fuzz-volfile"
	for t in "unify 2 --scheduler rr" "distribute 3" "replicate 2 --replica 2"; do
		# shellcheck disable=SC2086 # the words of t are the arguments
		set -- $t
		vt=$1 nb=$2; shift 2
		args=()
		for ((i = 0; i < nb; i++)); do args+=("127.0.0.1:$work/b$i"); done
		"$build/extras/tools/mortar-volgen" -q --force --out "$work/vol-$vt" "$@" \
			v "$vt" "${args[@]}" >/dev/null 2>&1 &&
			cp "$work/vol-$vt"/*.vol "$seeds/fuzz-volfile/" 2>/dev/null
		for f in "$seeds"/fuzz-volfile/v*.vol; do
			[ -e "$f" ] && mv "$f" "$seeds/fuzz-volfile/$vt-$(basename "$f")"
		done
	done
fi

for t in "${targets[@]}"; do
	bin=$work/bin/$t
	mkdir -p "$work/bin"
	# shellcheck disable=SC2086
	if ! "$CC" "${flags[@]}" "${defs[@]}" -o "$bin" "$fz/$t.c" "${runtime[@]}" \
		${extra[$t]} "${libs[@]}" 2>"$work/$t.err"; then
		echo "$t: does not build:"; head -20 "$work/$t.err"
		fail=$((fail + 1))
		continue
	fi
	corpus=$work/$t/corpus
	mkdir -p "$corpus" "$work/$t/crashes"
	cp "$fz/corpus/$t"/* "$corpus/" 2>/dev/null
	cp "$seeds/$t"/* "$corpus/" 2>/dev/null
	# First the committed corpus on its own: every regression input
	# must pass (libFuzzer runs the files given and stops).
	regress=0
	if [ -d "$fz/corpus/$t" ] && [ -n "$(ls -A "$fz/corpus/$t" 2>/dev/null)" ]; then
		MORTAR_XLATOR_PATH=$build/translators "$bin" "$fz/corpus/$t"/* \
			>"$work/$t.regress.log" 2>&1 || regress=1
	fi
	MORTAR_XLATOR_PATH=$build/translators ASAN_OPTIONS=detect_leaks=1 \
		timeout $((secs + 60)) "$bin" -max_total_time="$secs" -max_len=8192 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/$t/crashes/" "$corpus" >"$work/$t.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
	crashes=$(find "$work/$t/crashes" -type f | wc -l)
	[ "$regress" = 1 ] && crashes=$((crashes + 1))
	echo "$t: ${execs:-0} execs, $crashes crashes"
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ -z "$execs" ]; then
		fail=$((fail + 1))
		keep=1
		[ "$regress" = 1 ] && { echo "$t: a corpus input fails:"; tail -30 "$work/$t.regress.log"; }
		tail -40 "$work/$t.log"
		find "$work/$t/crashes" -type f | sed "s/^/$t: crash input /"
	else
		pass=$((pass + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
