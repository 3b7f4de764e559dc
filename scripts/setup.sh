#!/usr/bin/env bash
# From a fresh Debian 12 machine: install dependencies (Debian packages), build cairn
# into ./build, and run the demo (heat diffusion on 4 MPI ranks, one rank killed,
# restart, result equal to an uninterrupted run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
bash scripts/demo.sh build
