#!/usr/bin/env bash
# Transparent checkpointing tests (label "transparent"): programs started with
# `cairn launch`, checkpointed with `cairn checkpoint`.
#   transparent_test.sh MODE CAIRN IMAGE_CHECK APP WORKDIR
# MODE: threads (2 checkpoints, same output as an uninterrupted run, image contents and
# size), malloc (20 checkpoints during heavy allocation), kill (--kill ends the process after
# the commit), signal (the app can neither handle nor block the checkpoint signal).
set -u
MODE=$1 CAIRN=$2 CHECK=$3 APP=$4 WORK=$5
fail() { echo "FAIL ($MODE): $*" >&2; [ -n "${PID:-}" ] && kill -9 "$PID" 2>/dev/null; exit 1; }

rm -rf "$WORK" && mkdir -p "$WORK" || fail "cannot create $WORK"
CK=$WORK/ck
PID=

# The reference output of an uninterrupted run (release file present from the start).
reference() {
  touch "$WORK/ref.release"
  "$APP" "$WORK/ref.ready" "$WORK/ref.release" > "$WORK/ref.out" || fail "reference run failed"
}

start() {
  "$CAIRN" launch --ckpt-dir "$CK" "$@" -- "$APP" "$WORK/ready" "$WORK/release" \
    > "$WORK/out" 2> "$WORK/err" &
  PID=$!
  for _ in $(seq 600); do
    [ -f "$WORK/ready" ] && [ -S "$CK/.cairn/$PID.sock" ] && return 0
    kill -0 "$PID" 2>/dev/null || fail "the program died at start: $(cat "$WORK/err")"
    sleep 0.05
  done
  fail "the program did not get ready"
}

finish() {
  touch "$WORK/release"
  wait "$PID"
  local rc=$?
  PID=
  [ "$rc" -eq 0 ] || fail "the program exited with $rc: $(cat "$WORK/err")"
}

ckpt() {
  "$CAIRN" checkpoint --ckpt-dir "$CK" --wait --timeout 120 "$@" > "$WORK/ckpt.out" \
    2> "$WORK/ckpt.err" || fail "cairn checkpoint failed: $(cat "$WORK/ckpt.err") $(cat "$WORK/err")"
  IMAGE=$(cat "$WORK/ckpt.out")
  [ -f "$IMAGE" ] || fail "no image at '$IMAGE'"
}

rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

case "$MODE" in
  threads)
    reference
    start
    for i in 1 2; do
      RSS=$(rss_bytes "$PID")
      ckpt
      LIMIT=$(( RSS * 105 / 100 + 4 * 1024 * 1024 ))
      # 4 workers + main + the checkpoint thread.
      "$CHECK" "$IMAGE" 6 "$LIMIT" || fail "image check of checkpoint $i (RSS $RSS)"
    done
    finish
    diff "$WORK/ref.out" "$WORK/out" || fail "output differs from the uninterrupted run"
    [ "$(ls "$CK"/*.cimg | wc -l)" -eq 2 ] || fail "expected the 2 newest images to be kept"
    [ ! -e "$CK/.cairn/$PID.sock" ] || fail "control socket left behind"
    ;;
  malloc)
    reference
    start --compress zstd
    for i in $(seq 20); do ckpt; done
    "$CHECK" "$IMAGE" 4 $(( 1 << 40 )) || fail "image check"
    finish
    diff "$WORK/ref.out" "$WORK/out" || fail "output differs from the uninterrupted run"
    ;;
  kill)
    start
    ckpt --kill
    for _ in $(seq 200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$PID" 2>/dev/null && fail "the process still runs after --kill"
    wait "$PID"
    PID=
    "$CHECK" "$IMAGE" 6 $(( 1 << 40 )) || fail "image check"
    "$CAIRN" checkpoint --ckpt-dir "$CK" --wait > /dev/null 2>&1 && fail "a checkpoint of a killed process succeeded"
    ;;
  signal)
    start
    ckpt
    "$CHECK" "$IMAGE" 2 $(( 1 << 40 )) || fail "image check"
    finish
    grep -q FAIL "$WORK/out" && fail "$(cat "$WORK/out")"
    [ "$(grep -c '^ok' "$WORK/out")" -eq 4 ] || fail "unexpected output: $(cat "$WORK/out")"
    ;;
  *)
    fail "unknown mode"
    ;;
esac
echo "PASS ($MODE)"
