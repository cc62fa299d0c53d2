#!/usr/bin/env bash
# Run Mortar's whole test suite: install build dependencies, build twice
# (warnings as errors; then AddressSanitizer + UndefinedBehaviorSanitizer)
# and run `make check` (unit + integration tests with real bricks and
# FUSE mounts) in each, and the fuzzers for MORTAR_FUZZ_SECONDS (30) each
# after the first.  The last line sums both runs as
# "N passed, N failed".  Needs root (FUSE mounts, dropping caches).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
jobs=$(nproc 2>/dev/null || echo 2)
total_pass=0
total_fail=0
status=0

bash extras/install-deps.sh || { echo "dependency install failed"; exit 1; }
./autogen.sh >/dev/null || { echo "autogen failed"; exit 1; }

# Add one run's automake totals (tests/test-suite.log) to the sums.
count_results() {
	local log=$1 pass fail err xpass
	[ -f "$log" ] || { total_fail=$((total_fail + 1)); return; }
	pass=$(sed -n 's/^# PASS: *//p' "$log" | head -1)
	fail=$(sed -n 's/^# FAIL: *//p' "$log" | head -1)
	err=$(sed -n 's/^# ERROR: *//p' "$log" | head -1)
	xpass=$(sed -n 's/^# XPASS: *//p' "$log" | head -1)
	total_pass=$((total_pass + ${pass:-0}))
	total_fail=$((total_fail + ${fail:-0} + ${err:-0} + ${xpass:-0}))
}

# Each suite's wall time (tests/lib/timed-run.sh writes it into the
# suite's .log), slowest first.
suite_times() {
	local f t
	for f in $(find . -name '*.log' ! -name test-suite.log ! -name 'make.log' ! -name check.log); do
		t=$(sed -n 's/^# wall-time: \([0-9.]*\) s$/\1/p' "$f" | tail -1)
		[ -n "$t" ] && printf '%8s s  %s\n' "$t" "${f#./}"
	done | sort -rn
}

run_build() {
	local name=$1; shift
	local dir="$src/build-$name"
	echo "=== build $name: configure $*"
	local t0
	t0=$(date +%s)
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || return 1
	if ! "$src/configure" -q "$@" >/dev/null ||
	   ! make -j"$jobs" >make.log 2>&1; then
		tail -50 make.log 2>/dev/null
		echo "=== build $name: FAILED to build"
		total_fail=$((total_fail + 1))
		status=1
		cd "$src"; return 1
	fi
	echo "=== build $name: built in $(( $(date +%s) - t0 )) s; make -j$jobs check"
	t0=$(date +%s)
	if ! make -j"$jobs" -k check >check.log 2>&1; then
		status=1
		grep -E '^(FAIL|ERROR|XPASS)' check.log | head -40
		for f in $(grep -lrE --include='*.log' '^(not ok|Bail out|FAIL|ERROR)' tests client 2>/dev/null | grep -v test-suite.log | head -8); do
			echo "--- $f"; tail -40 "$f"
		done
	fi
	for log in $(find . -name test-suite.log | sort); do
		grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$log" | sed "s|^|[$name ${log%/test-suite.log}] |"
		count_results "$log"
	done
	echo "=== build $name: tests took $(( $(date +%s) - t0 )) s; each suite, slowest first:"
	suite_times | sed "s/^/[$name] /"
	find . -name '*.log' -path '*test*' -exec grep -hE '^(SKIP:|ok .*# SKIP|1\.\.0 # SKIP|\[  SKIPPED \] [a-z])' {} + 2>/dev/null | head -20 | sed "s/^/[$name] /"
	cd "$src"
}

run_build werror --enable-werror --enable-tls=yes
# The fuzzers, a bounded time each, on the decoders a brick and a client
# run on bytes from the network and from volfiles (extras/fuzz/).
echo "=== fuzz: ${MORTAR_FUZZ_SECONDS:-30} s per target"
t0=$(date +%s)
fuzz_out=$(bash extras/fuzz/run.sh "${MORTAR_FUZZ_SECONDS:-30}" --build "$src/build-werror" 2>&1)
echo "$fuzz_out" | sed 's/^/[fuzz] /'
fuzz_sum=$(echo "$fuzz_out" | tail -1)
fuzz_pass=$(echo "$fuzz_sum" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
fuzz_fail=$(echo "$fuzz_sum" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
[ -n "$fuzz_pass" ] || { fuzz_pass=0; fuzz_fail=1; }
total_pass=$((total_pass + fuzz_pass))
total_fail=$((total_fail + fuzz_fail))
[ "$fuzz_fail" -eq 0 ] || status=1
echo "=== fuzz: took $(( $(date +%s) - t0 )) s"
# Under the sanitizers every call costs several times more: the same
# tests with smaller data (file sizes, operation and file counts).
MORTAR_TEST_BIG_MB=256 MORTAR_TEST_DATACHECK_OPS=1500 MORTAR_TEST_FILES=800 \
	MORTAR_TEST_DHT_FILES=4000 MORTAR_TEST_BIGDIR_ENTRIES=2000 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_build sanitizers --enable-werror --enable-tls=yes --enable-sanitizers

echo "${total_pass} passed, ${total_fail} failed"
[ "$total_fail" -eq 0 ] && [ "$status" -eq 0 ]
