#!/usr/bin/env bash
# kill -9 of a 4-rank mpi4py program (examples/python/heat.py) mid-run, then a restart that
# must give the uninterrupted run's result.
#
#   kill_restart.sh PYTHON HEAT_PY
#
# (PYTHONPATH must find the cairn package.) Checks: the reference run starts fresh; the
# killed job (slowed down, killed with kill -9 of one rank once 2 versions are committed, so
# that mpirun tears the job down) prints no RESULT; the restart resumes from the newest
# version every rank has a complete file of, >= the second checkpoint; its RESULT is
# bit-identical to the reference; no *.tmp file is left; stdout holds only the program's
# lines; one more run restores the final version and prints the same RESULT.
# Helpers (make_tmp, write_cfg, start_app, wait_commits, kill_rank, ...): ../integration/common.sh.
export IT_NAME=python_kill_restart
# shellcheck source=tests/integration/common.sh
source "$(dirname "$0")/../integration/common.sh"

PY=${1:?usage: kill_restart.sh PYTHON HEAT_PY}
HEAT=${2:?usage: kill_restart.sh PYTHON HEAT_PY}
EVERY=10
ITERS=120
ARGS=(--nx 96 --ny 96 --iters "$ITERS" --ckpt-every "$EVERY")
[ "$NP" = 4 ] || fail "NP must be 4"
"$PY" -c 'import cairn, mpi4py, numpy' || fail "$PY cannot import cairn, mpi4py and numpy"
make_tmp

# 1. Reference: uninterrupted.
write_cfg "$T/ref.cfg" "$T/ref"
reference_run "$PY" "$HEAT" "$T/ref.cfg" "${ARGS[@]}"

# 2. The same job, slowed down, killed once 2 versions are committed (plus a random delay).
write_cfg "$T/run.cfg" "$T/run" "scratch_versions = 3" "max_versions = 4"
start_app "$T/killed.out" "$T/killed.err" "$PY" "$HEAT" "$T/run.cfg" "${ARGS[@]}" --sleep-ms 25
wait_commits "$T/run" 2 40
DELAY=0.$((RANDOM % 4))
log "2 versions committed; kill -9 of rank 2 in ${DELAY}s"
sleep "$DELAY"
kill_rank 2
killed_newest
[ "$NEWEST" -lt "$ITERS" ] || fail "the killed job had already checkpointed its last iteration"

# 3. Restart: resumes from the newest complete version, same result.
expect_restart restart "$NEWEST" "$PY" "$HEAT" "$T/run.cfg" "${ARGS[@]}"

# 4. Once more: the final version is restored and nothing is recomputed.
expect_restart again "$ITERS" "$PY" "$HEAT" "$T/run.cfg" "${ARGS[@]}"

log "PASS"
