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
run_app "$T/ref.out" "$T/ref.err" 60 "$BIN" "$T/ref.cfg" "${ARGS[@]}" ||
  fail "reference run failed (exit $?)"
grep -qx FRESH "$T/ref.out" || fail "reference run did not start fresh"
REF=$(result_of "$T/ref.out")
[ -n "$REF" ] || fail "reference run printed no RESULT"
check_stdout_clean "$T/ref.out"
log "reference: RESULT $REF"

# 2. The same job, slowed down, killed after at least 2 committed versions (plus a random
#    delay of up to 0.5 s so that the kill lands at different points of the protocol).
write_cfg "$T/run.cfg" "$T/run" "scratch_versions = 3" "max_versions = 4"
start_app "$T/killed.out" "$T/killed.err" "$BIN" "$T/run.cfg" "${ARGS[@]}" --sleep-ms 15
wait_commits "$T/run" 2 40
DELAY=0.$((RANDOM % 6))
log "2 versions committed; killing rank $KILL in ${DELAY}s"
sleep "$DELAY"
kill_rank "$KILL"
[ -z "$(result_of "$T/killed.out")" ] || fail "the killed job printed a RESULT (it finished first)"
NEWEST=$(restorable_versions "$T/run" | head -n 1)
log "after the kill: restorable versions (newest first): $(restorable_versions "$T/run" | tr '\n' ' ')"
[ -n "$NEWEST" ] || fail "no version is complete on disk although 2 were committed"
[ "$NEWEST" -ge $((2 * EVERY)) ] || fail "newest complete version $NEWEST < $((2 * EVERY))"
log "leftover temporaries of the killed job: $(tmp_files "$T/run" | wc -l)"

# 3. Restart.
run_app "$T/restart.out" "$T/restart.err" 60 "$BIN" "$T/run.cfg" "${ARGS[@]}" ||
  fail "restart run failed (exit $?)"
check_stdout_clean "$T/restart.out"
FROM=$(restarted_from "$T/restart.out")
[ -n "$FROM" ] || fail "the restart did not restart (stdout: $(tr '\n' ' ' <"$T/restart.out"))"
[ "$FROM" = "$NEWEST" ] || fail "restarted from version $FROM, but the newest complete one is $NEWEST"
GOT=$(result_of "$T/restart.out")
[ "$GOT" = "$REF" ] || fail "restarted RESULT '$GOT' differs from the uninterrupted '$REF'"
LEFT=$(tmp_files "$T/run")
[ -z "$LEFT" ] || fail "temporary files left after the restart: $LEFT"
log "restarted from $FROM: RESULT $GOT"

# 4. Once more: the final version (240) is restored and nothing is recomputed.
run_app "$T/again.out" "$T/again.err" 60 "$BIN" "$T/run.cfg" "${ARGS[@]}" ||
  fail "second restart failed (exit $?)"
[ "$(restarted_from "$T/again.out")" = 240 ] ||
  fail "second restart: expected RESTARTED_FROM 240, got '$(restarted_from "$T/again.out")'"
[ "$(result_of "$T/again.out")" = "$REF" ] || fail "second restart: RESULT differs"

log "PASS"
