#!/bin/bash
# tests/sanitize.sh [asan|tsan]...: the runtime core (uswap_core, linked into
# the unit tests) and the unit tests built with gcc's sanitizers, each in its
# own build dir, and run: asan is ASan+UBSan (build-asan/, also the fuzz
# suite's replays, i.e. the parsers on their corpora), tsan is ThreadSanitizer
# (build-tsan/). Default: both. Only these targets are built: the preload
# object cannot run sanitized (uswap leaves a sanitized program unmanaged, and
# a sanitizer's runtime must be first in the process, before the preload),
# so the suites that run programs under it are not part of this.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
passes=("${@:-asan tsan}")
passes=(${passes[@]})

unit=$(sed -n "s/^  '\(test_[a-z_]*\)',.*/\1/p" tests/unit/meson.build)

for p in "${passes[@]}"; do
	case $p in
	asan) b=build-asan san=address,undefined suites=(--suite unit --suite fuzz)
	      targets=($(printf 'tests/unit/%s ' $unit) $(printf 'tests/fuzz/replay_%s ' settings ctl report_stats report_trace)) ;;
	# Left out of the TSan pass, each for a reason:
	# - test_psi: TSan starts a thread of its own at the first
	#   pthread_create, which psi_sample_threads counts as a program
	#   thread that never stalls, so no "full" stall can happen and every
	#   expectation of one fails (it runs under ASan+UBSan).
	# - test_mrc, test_workingset: single-threaded simulations against
	#   models, nothing to race, and minutes under TSan (they run under
	#   ASan+UBSan).
	# The other unit tests are single-threaded too: under TSan they show
	# that the core builds and runs instrumented, no more. The runtime's
	# threads run only in the preload object, which cannot be sanitized.
	tsan) b=build-tsan san=thread
	      tests=($(printf '%s\n' $unit | grep -v -x -e test_psi -e test_mrc -e test_workingset))
	      suites=("${tests[@]}")
	      targets=($(printf 'tests/unit/%s ' $unit)) ;;
	*) echo "sanitize.sh: unknown pass '$p' (asan or tsan)" >&2; exit 2 ;;
	esac
	start=$(date +%s)
	if [ ! -f $b/build.ninja ]; then
		log=$(mktemp)
		meson setup $b -Db_sanitize=$san -Db_lundef=false >"$log" 2>&1 || { cat "$log"; exit 1; }
		rm -f "$log"
	fi
	nice ninja -C $b "${targets[@]}" >/dev/null
	# Any finding fails the test that shows it, with a stack.
	T_TIMEOUT_SCALE=4 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$src/tests/tsan.supp" \
		meson test -C $b --no-rebuild --print-errorlogs "${suites[@]}" --timeout-multiplier 4
	echo "sanitize $p: ok in $(($(date +%s) - start)) s"
done
