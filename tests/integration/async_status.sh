#!/usr/bin/env bash
# `cairn status` shows a checkpoint in flight with its stage and progress.
IT_NAME=async_status
source "$(dirname "$0")/async_common.sh"
async_cfg "$T/cfg" "$T"
ASYNC_APP_HANG=1 "$APP" "$T/cfg" 0 ckpt 1024 1 > "$T/app.out" 2> "$T/app.err" &
pid=$!
BG_PIDS=$pid
wait_for 'grep -q "RETURNED 1" "$T/app.out"' 120 || fail "checkpoint did not return"
seen=0
for i in $(seq 1 100); do
  "$CAIRN" status --json > "$T/status.json" 2> "$T/status.err" || fail "cairn status failed"
  if grep -q '"stage": *"\(queued\|scratch\|persistent\)"' "$T/status.json" &&
     grep -q '"total": *[1-9]' "$T/status.json"; then
    seen=1
    break
  fi
  sleep 0.02
done
"$CAIRN" status > "$T/status.txt" 2>&1
[ $seen -eq 1 ] || fail "cairn status never showed the checkpoint in flight: $(cat "$T/status.json")"
grep -q '"name": *"big"' "$T/status.json" || fail "status lacks the checkpoint name"
kill -9 "$pid"
wait_for '[ -e "$T/persistent/big/v1/r0.ckpt" ]' 120 || fail "version 1 not persisted"
log "PASS: status showed $(grep -o '"stage": *"[a-z]*"' "$T/status.json" | head -1) with progress"
