#!/usr/bin/env bash
# Corrupted checkpoints: the restart must not use them, must say so on stderr, and must still
# reproduce the uninterrupted result.
#
#   corrupt_fallback.sh HEAT_BINARY MODE
#
# MODE data:         kill -9 a rank mid-run, then flip a byte in the middle of the data section
#                    of rank 1's file of the newest complete version, on scratch AND persistent.
#                    Only rank 1 finds the damage; all ranks must fall back together to the
#                    next older complete version.
# MODE header:       as data, but flip a byte of the 128-byte header of every rank's file of
#                    the newest complete version, on both levels.
# MODE scratch-only: run 120 iterations to completion, flip a data byte in every rank's scratch
#                    copy of version 120 only; the restart (to 240 iterations) must take
#                    version 120 from persistent.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

BIN=${1:?usage: corrupt_fallback.sh HEAT_BINARY data|header|scratch-only}
MODE=${2:?usage: corrupt_fallback.sh HEAT_BINARY data|header|scratch-only}
IT_NAME="corrupt_fallback-$MODE"
EVERY=20
ARGS=(--nx 192 --ny 192 --ckpt-every "$EVERY")
[ -x "$BIN" ] || fail "$BIN is not executable"
make_tmp

write_cfg "$T/ref.cfg" "$T/ref"
run_app "$T/ref.out" "$T/ref.err" 60 "$BIN" "$T/ref.cfg" "${ARGS[@]}" --iters 240 ||
  fail "reference run failed (exit $?)"
REF=$(result_of "$T/ref.out")
[ -n "$REF" ] || fail "reference run printed no RESULT"
log "reference: RESULT $REF"

write_cfg "$T/run.cfg" "$T/run" "scratch_versions = 3" "max_versions = 4"
if [ "$MODE" = scratch-only ]; then
  run_app "$T/first.out" "$T/first.err" 60 "$BIN" "$T/run.cfg" "${ARGS[@]}" --iters 120 ||
    fail "first run failed (exit $?)"
else
  start_app "$T/killed.out" "$T/killed.err" "$BIN" "$T/run.cfg" "${ARGS[@]}" --iters 240 \
    --sleep-ms 15
  wait_commits "$T/run" 2 40
  kill_rank 1
fi

mapfile -t VERSIONS < <(restorable_versions "$T/run")
log "complete versions (newest first): ${VERSIONS[*]}"
[ ${#VERSIONS[@]} -ge 2 ] || fail "need 2 complete versions, have: ${VERSIONS[*]:-none}"
NEWEST=${VERSIONS[0]}
OLDER=${VERSIONS[1]}

# size_of FILE
size_of() { stat -c %s "$1"; }

flipped=0
case $MODE in
  data)
    for lvl in scratch persistent; do
      f=$T/run/$lvl/$CKPT/v$NEWEST/r1.ckpt
      [ -f "$f" ] || continue
      flip_byte "$f" $(($(size_of "$f") / 2))
      flipped=$((flipped + 1))
    done
    EXPECT=$OLDER
    ;;
  header)
    for lvl in scratch persistent; do
      for f in "$T/run/$lvl/$CKPT/v$NEWEST"/r*.ckpt; do
        [ -f "$f" ] || continue
        flip_byte "$f" 40
        flipped=$((flipped + 1))
      done
    done
    EXPECT=$OLDER
    ;;
  scratch-only)
    [ "$NEWEST" = 120 ] || fail "newest version is $NEWEST, expected 120"
    for ((r = 0; r < NP; r++)); do
      [ -f "$T/run/persistent/$CKPT/v120/r$r.ckpt" ] || fail "no persistent copy of rank $r"
      f=$T/run/scratch/$CKPT/v120/r$r.ckpt
      flip_byte "$f" $(($(size_of "$f") / 2))
      flipped=$((flipped + 1))
    done
    EXPECT=$NEWEST
    ;;
  *) fail "unknown mode $MODE" ;;
esac
[ $flipped -gt 0 ] || fail "no file of version $NEWEST to corrupt"
log "corrupted $flipped file(s) of version $NEWEST ($MODE); expecting a restart from $EXPECT"

run_app "$T/restart.out" "$T/restart.err" 60 "$BIN" "$T/run.cfg" "${ARGS[@]}" --iters 240 ||
  fail "restart run failed (exit $?)"
check_stdout_clean "$T/restart.out"
FROM=$(restarted_from "$T/restart.out")
[ "$FROM" = "$EXPECT" ] ||
  fail "restarted from '${FROM:-nothing}', expected $EXPECT (newest $NEWEST is corrupted)"
GOT=$(result_of "$T/restart.out")
[ "$GOT" = "$REF" ] || fail "restarted RESULT '$GOT' differs from the uninterrupted '$REF'"
grep -q 'WARN' "$T/restart.err" || fail "no warning on stderr about the corrupted version"
grep 'WARN' "$T/restart.err" | head -n 3 | sed "s/^/[$IT_NAME] stderr: /" >&2
LEFT=$(tmp_files "$T/run")
[ -z "$LEFT" ] || fail "temporary files left after the restart: $LEFT"
log "restarted from $FROM: RESULT $GOT"
log "PASS"
