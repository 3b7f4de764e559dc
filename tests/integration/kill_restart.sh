#!/usr/bin/env bash
# Kill one rank of a 4-rank heat job with kill -9 mid-run, restart it, and compare with an
# uninterrupted run.
#
#   kill_restart.sh HEAT_BINARY [RANK_TO_KILL]
#
# Checks: the killed job ends without a RESULT; the restart resumes from the newest version
# every rank has a complete file of (found by looking at the files) and that is >= the second
# checkpoint; its RESULT is bit-identical to the uninterrupted run's; no *.tmp file is left
# on either level; stdout holds only the application's lines; running once more restarts
# from the final version and prints the same RESULT again.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

BIN=${1:?usage: kill_restart.sh HEAT_BINARY [RANK_TO_KILL]}
KILL=${2:-2}
EVERY=20
ARGS=(--nx 192 --ny 192 --iters 240 --ckpt-every "$EVERY")
[ -x "$BIN" ] || fail "$BIN is not executable"
make_tmp

# 1. Reference: uninterrupted.
write_cfg "$T/ref.cfg" "$T/ref"
reference_run "$BIN" "$T/ref.cfg" "${ARGS[@]}"

# 2. The same job, slowed down, killed after at least 2 committed versions (plus a random
#    delay of up to 0.5 s so that the kill lands at different points of the protocol).
write_cfg "$T/run.cfg" "$T/run" "scratch_versions = 3" "max_versions = 4"
start_app "$T/killed.out" "$T/killed.err" "$BIN" "$T/run.cfg" "${ARGS[@]}" --sleep-ms 15
wait_commits "$T/run" 2 40
DELAY=0.$((RANDOM % 6))
log "2 versions committed; killing rank $KILL in ${DELAY}s"
sleep "$DELAY"
kill_rank "$KILL"
killed_newest
log "leftover temporaries of the killed job: $(tmp_files "$T/run" | wc -l)"

# 3. Restart.
expect_restart restart "$NEWEST" "$BIN" "$T/run.cfg" "${ARGS[@]}"

# 4. Once more: the final version (240) is restored and nothing is recomputed.
expect_restart again 240 "$BIN" "$T/run.cfg" "${ARGS[@]}"

log "PASS"
