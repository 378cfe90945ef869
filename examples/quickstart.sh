#!/bin/sh
# From a fresh clone: install the build dependencies (as root), build, and run
# an example that needs 512 MiB under a 64 MiB resident limit.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then bash .ci/run --deps-only >/dev/null; fi
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
echo "natively:"
./build/examples/churn 512
echo "under uswap --limit 64M:"
exec ./build/uswap --limit 64M -v -- ./build/examples/churn 512
