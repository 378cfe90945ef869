#!/bin/bash
# tests/ci_extra.sh: the passes the README's test command adds after the
# normal and the debug test passes: the core and the unit tests under
# ASan+UBSan and under TSan (tests/sanitize.sh), then each libFuzzer harness
# for FUZZ_SECONDS (default 60) seconds (tests/fuzz/run.sh). Prints the time
# each pass took.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
tests/sanitize.sh asan tsan
t1=$(date +%s)
tests/fuzz/run.sh "${FUZZ_SECONDS:-60}"
t2=$(date +%s)
echo "ci_extra: sanitizers $((t1 - t0)) s, fuzzing $((t2 - t1)) s"
