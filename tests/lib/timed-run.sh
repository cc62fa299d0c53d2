#!/bin/sh
# timed-run.sh CMD... - run one test (a TAP script or a unit-test
# program) and write its wall time to stderr, which the automake drivers
# keep in the test's .log: extras/test.sh lists every suite's time from
# there, so the slow ones are visible in CI.
start=$(date +%s%N)
"$@"
rc=$?
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
printf '# wall-time: %d.%03d s\n' $((ms / 1000)) $((ms % 1000)) >&2
exit "$rc"
