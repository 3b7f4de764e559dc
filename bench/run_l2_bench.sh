#!/usr/bin/env bash
# Runs cairn_bench_l2 on NP ranks (default 8) over simulated nodes of RANKS_PER_NODE ranks
# (default 2), each node with its own scratch under /dev/shm and its own failure domain.
#   bench/run_l2_bench.sh BUILD_DIR [--size-mib N] [--reps N] [--json PATH]
set -euo pipefail
build=${1:-build}
shift || true
NP=${NP:-8}
export RANKS_PER_NODE=${RANKS_PER_NODE:-2}
export NODES_DIR=$(mktemp -d /dev/shm/cairn-l2bench-XXXXXX)
trap 'rm -rf "$NODES_DIR"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
here=$(cd "$(dirname "$0")/.." && pwd)
for n in $(seq 0 $((NP / RANKS_PER_NODE - 1))); do mkdir -p "$NODES_DIR/node$n/scratch"; done
mpirun --oversubscribe --bind-to none -np "$NP" "$here/tests/integration/node_env.sh" \
  "$build/bench/cairn_bench_l2" "$@"
