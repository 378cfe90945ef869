#!/bin/bash
# tests/fuzz/run.sh [SECONDS] [HARNESS...]: build the libFuzzer harnesses with
# clang (ASan+UBSan, in build-fuzz/, its own build dir) and fuzz each for
# SECONDS (default 60), two at a time, from its seed corpus (tests/fuzz/corpus/
# NAME; new inputs go to build-fuzz/fuzz-corpus/NAME, the repository's corpus
# is not changed). Fails if any harness crashes, leaks or hits undefined
# behaviour; the input is left in build-fuzz/fuzz-crashes/NAME/. Copy it to
# tests/fuzz/crashes/NAME/ and it is replayed by `meson test --suite fuzz`
# in every build from then on.
#
# A longer run of one harness: tests/fuzz/run.sh 600 ctl
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
all=(settings ctl report_stats report_trace)
names=("${@:-${all[@]}}")
b=build-fuzz

if [ ! -f $b/build.ninja ]; then
	log=$(mktemp)
	# fuzzer-no-link: coverage for every object, not only the harness's.
	CC=clang-14 CFLAGS="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined" \
		meson setup $b -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		>"$log" 2>&1 || { cat "$log"; exit 1; }
	rm -f "$log"
fi
nice ninja -C $b "${names[@]/#/tests/fuzz/fuzz_}" >/dev/null

# Stacks with function names (llvm-14's symbolizer).
[ -x /usr/bin/llvm-symbolizer-14 ] && export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
# UBSan: stop at the first finding, with a stack; ASan: the same.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run() {
	local n=$1
	mkdir -p $b/fuzz-corpus/$n $b/fuzz-crashes/$n
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		nice $b/tests/fuzz/fuzz_$n -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
		-max_len=16384 -print_final_stats=1 -artifact_prefix=$b/fuzz-crashes/$n/ \
		$b/fuzz-corpus/$n tests/fuzz/corpus/$n >$b/fuzz-$n.log 2>&1
}
fail=0
for ((k = 0; k < ${#names[@]}; k += 2)); do
	pids=()
	for n in "${names[@]:k:2}"; do
		run "$n" &
		pids+=("$!:$n")
	done
	for p in "${pids[@]}"; do
		if wait "${p%%:*}"; then
			n=${p#*:}
			echo "fuzz $n: ok, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' $b/fuzz-$n.log | grep -o '[0-9]*$') runs in ${secs}s"
		else
			n=${p#*:}
			fail=1
			echo "fuzz $n: FAILED (log: $b/fuzz-$n.log, input in $b/fuzz-crashes/$n/)"
			grep -E -A30 '^==[0-9]+==ERROR|runtime error|ERROR: libFuzzer' $b/fuzz-$n.log | head -60
		fi
	done
done
exit $fail
