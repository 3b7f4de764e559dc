#!/usr/bin/env bash
# A backend started explicitly for a job (`cairn backend --config FILE`) is the one the
# job's ranks use: no second backend is spawned, and it exits when idle.
IT_NAME=async_explicit_backend
source "$(dirname "$0")/async_common.sh"
async_cfg "$T/cfg" "$T"
"$CAIRN" backend --config "$T/cfg" --idle-timeout 3 > "$T/backend.out" 2> "$T/backend.err" &
bpid=$!
BG_PIDS=$bpid
wait_for '[ "$(live_backends)" -eq 1 ]' 20 || fail "the explicit backend did not start"
"$APP" "$T/cfg" 0 ckpt 8 2 > "$T/app.out" 2> "$T/app.err" || fail "application failed"
pids=$(ls "$CAIRN_RUNTIME_DIR"/cairn-*/b-*.pid | wc -l)
[ "$pids" -eq 1 ] || fail "$pids backends, want the explicit one only"
held=$(head -1 "$CAIRN_RUNTIME_DIR"/cairn-*/b-*.pid)
[ "$held" = "$bpid" ] || fail "the job used backend $held, not the explicit one ($bpid)"
"$APP" "$T/cfg" 0 restart 8 > "$T/restart.out" 2>&1 || fail "restart failed"
wait "$bpid" || fail "the backend exited with an error"
grep -q "RESTORED 2 OK" "$T/restart.out" || fail "restart output: $(cat "$T/restart.out")"
log "PASS: the job used the backend started for it, which exited when idle"
