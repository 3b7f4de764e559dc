#!/usr/bin/env bash
# Async mode, the backend outlives the application: kill -9 the application right after
# a checkpoint call returned; the backend still completes and commits that version
# (scratch and persistent), and a new process restarts from it with the right data.
IT_NAME=async_kill_app
source "$(dirname "$0")/async_common.sh"
MIB=${MIB:-768}
async_cfg "$T/cfg" "$T"
PFILE=$T/persistent/big/v2/r0.ckpt

ASYNC_APP_HANG=1 "$APP" "$T/cfg" 0 ckpt "$MIB" 2 > "$T/app.out" 2> "$T/app.err" &
pid=$!
BG_PIDS=$pid
wait_for 'grep -q "RETURNED 2" "$T/app.out"' 120 || fail "the application never returned from checkpoint 2"
kill -9 "$pid"
wait "$pid" 2>/dev/null
if [ -e "$PFILE" ]; then
  log "note: the backend had already committed version 2 on persistent before the kill"
else
  log "killed the application while version 2 was still being persisted"
fi
"$CAIRN" status > "$T/status.out" 2>&1 || true
wait_for '[ -e "$PFILE" ]' 120 || fail "version 2 never reached persistent after the application died"
wait_for '[ -z "$(find "$T/persistent" -name "*.tmp")" ]' 30 || fail "temporary files left on persistent"
"$CAIRN" verify "$T/persistent" > "$T/verify.out" 2>&1 || fail "cairn verify failed: $(cat "$T/verify.out")"

"$APP" "$T/cfg" 0 restart "$MIB" > "$T/restart.out" 2> "$T/restart.err" || fail "restart failed"
grep -q "RESTORED 2 OK" "$T/restart.out" || fail "restart did not restore version 2: $(cat "$T/restart.out")"
log "PASS: version 2 committed by the backend after kill -9 of the application, and restored"
