#!/usr/bin/env bash
# Runs cairn_bench_transparent from an existing build (builds nothing) and prints its summary:
# transparent checkpoint / restart of a 1 GiB program against raw disk I/O, image size,
# the pause with and without --fork, and a syscall loop under `cairn launch`.
#   bench/run_transparent_bench.sh BUILD_DIR [cairn_bench_transparent options...]
# e.g. bench/run_transparent_bench.sh build --reps 5 --dir /var/tmp --json bench_transparent.json
# Build first: cmake --build BUILD_DIR --target cairn_bench_transparent
# Exit status: the benchmark's (0 even when a goal is missed; the table says which).
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
build=$1
shift
bin=$build/bench/cairn_bench_transparent
if [ ! -x "$bin" ]; then
  echo "run_transparent_bench.sh: $bin not found; build it first:" >&2
  echo "  cmake --build $build --target cairn_bench_transparent" >&2
  exit 1
fi
for f in cairn libcairn_preload.so cairn-restorer bench/cairn_bench_transparent_app; do
  [ -e "$build/$f" ] || { echo "run_transparent_bench.sh: $build/$f is missing (build the" \
    "cairn_bench_transparent target)" >&2; exit 1; }
done
exec "$bin" "$@"
