#!/usr/bin/env bash
# The Fortran heat example under kill -9: a 2-rank job is killed (one rank, kill -9) after at
# least 2 checkpoints are committed, restarted, and its RESULT must be bit-identical to an
# uninterrupted run's; a further run restarts from the final version with the same RESULT.
# Also checks that stdout holds only the application's lines and that a 1-rank run gives the
# same RESULT (the result does not depend on the decomposition).
#
#   heat_kill_restart.sh HEAT_BINARY RANK_TO_KILL
# shellcheck source=../integration/common.sh
source "$(dirname "$0")/../integration/common.sh"
BIN=${1:?usage: heat_kill_restart.sh HEAT_BINARY RANK_TO_KILL}
KILL=${2:-1}
NP=2
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$NP")
EVERY=20
ITERS=200
ARGS=(--nx 160 --ny 160 --iters "$ITERS" --ckpt-every "$EVERY")
[ -x "$BIN" ] || fail "$BIN is not executable"
make_tmp

# 1. Reference: uninterrupted, on 2 ranks and on 1.
write_cfg "$T/ref.cfg" "$T/ref"
reference_run "$BIN" "$T/ref.cfg" "${ARGS[@]}"
write_cfg "$T/one.cfg" "$T/one"
timeout -k 5 60 mpirun --allow-run-as-root --oversubscribe --bind-to none -np 1 "$BIN" "$T/one.cfg" \
  "${ARGS[@]}" >"$T/one.out" 2>"$T/one.err" || fail "1-rank run failed"
[ "$(result_of "$T/one.out")" = "$REF" ] || fail "1-rank RESULT $(result_of "$T/one.out") differs"

# 2. Slowed down, killed after 2 committed versions (plus up to 0.5 s).
write_cfg "$T/run.cfg" "$T/run" "scratch_versions = 3" "max_versions = 4"
start_app "$T/killed.out" "$T/killed.err" "$BIN" "$T/run.cfg" "${ARGS[@]}" --sleep-ms 15
wait_commits "$T/run" 2 40
sleep "0.$((RANDOM % 6))"
kill_rank "$KILL"
killed_newest

# 3. Restart: from the newest complete version, to the reference RESULT.
expect_restart restart "$NEWEST" "$BIN" "$T/run.cfg" "${ARGS[@]}"

# 4. Once more: the final version is restored, the same RESULT.
expect_restart again "$ITERS" "$BIN" "$T/run.cfg" "${ARGS[@]}"
log "PASS"
