#!/usr/bin/env bash
# Async mode, two jobs of one user on one node with the same checkpoint names (each with
# its own directories): two backends, and each job restores its own data.
IT_NAME=async_two_jobs
source "$(dirname "$0")/async_common.sh"
mkdir -p "$T/a" "$T/b"
async_cfg "$T/a/cfg" "$T/a"
async_cfg "$T/b/cfg" "$T/b"
CAIRN_JOB_ID=jobA ASYNC_APP_SEED=1 "$APP" "$T/a/cfg" 0 ckpt 64 3 > "$T/a.out" 2> "$T/a.err" &
pa=$!
CAIRN_JOB_ID=jobB ASYNC_APP_SEED=2 "$APP" "$T/b/cfg" 0 ckpt 64 2 > "$T/b.out" 2> "$T/b.err" &
pb=$!
BG_PIDS="$pa $pb"
wait $pa || fail "job A failed"
wait $pb || fail "job B failed"
backends=$(ls "$CAIRN_RUNTIME_DIR"/cairn-*/b-*.pid 2>/dev/null | wc -l)
[ "$backends" -eq 2 ] || fail "$backends backends for two jobs, want 2"
CAIRN_JOB_ID=jobA ASYNC_APP_SEED=1 "$APP" "$T/a/cfg" 0 restart 64 > "$T/ra.out" 2>&1 || fail "job A restart"
CAIRN_JOB_ID=jobB ASYNC_APP_SEED=2 "$APP" "$T/b/cfg" 0 restart 64 > "$T/rb.out" 2>&1 || fail "job B restart"
grep -q "RESTORED 3 OK" "$T/ra.out" || fail "job A restored $(cat "$T/ra.out")"
grep -q "RESTORED 2 OK" "$T/rb.out" || fail "job B restored $(cat "$T/rb.out")"
log "PASS: two jobs, two backends, each restored its own data"
