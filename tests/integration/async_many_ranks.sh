#!/usr/bin/env bash
# Async mode, one backend serves many ranks of one job on a node: 64 processes of one
# job checkpoint 3 versions each at the same time; all succeed, every rank's newest
# version is on persistent, exactly one backend served them, and it exits when idle.
IT_NAME=async_many_ranks
source "$(dirname "$0")/async_common.sh"
N=${N:-64}
async_cfg "$T/cfg" "$T" "scratch_versions = 2"
pids=""
for r in $(seq 0 $((N - 1))); do
  "$APP" "$T/cfg" "$r" ckpt 1 3 > "$T/app$r.out" 2> "$T/app$r.err" &
  pids="$pids $!"
done
BG_PIDS=$pids
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
[ $bad -eq 0 ] || fail "$bad of $N ranks failed"
n=$(ls "$T"/persistent/big/v3/r*.ckpt 2>/dev/null | wc -l)
[ "$n" -eq "$N" ] || fail "persistent holds $n rank files of version 3, want $N"
backends=$(ls "$CAIRN_RUNTIME_DIR"/cairn-*/b-*.pid 2>/dev/null | wc -l)
[ "$backends" -eq 1 ] || fail "$backends backends were started for one job, want 1"
for r in 0 17 $((N - 1)); do
  "$APP" "$T/cfg" "$r" restart 1 > "$T/restart$r.out" 2>&1 || fail "rank $r restart failed"
done
wait_for '[ "$(live_backends)" -eq 0 ]' 30 || fail "the backend did not exit when idle"
log "PASS: one backend served $N ranks; it exited when idle"
