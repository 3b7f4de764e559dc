#!/usr/bin/env bash
# Transparent checkpointing tests (label "transparent"): programs started with
# `cairn launch`, checkpointed with `cairn checkpoint`.
#   transparent_test.sh MODE CAIRN IMAGE_CHECK APP WORKDIR
# MODE: threads (2 checkpoints, same output as an uninterrupted run, image contents and
# size), malloc (20 checkpoints during heavy allocation), kill (--kill ends the process after
# the commit), signal (the app can neither handle nor block the checkpoint signal),
# restart / restart_threads (two cycles of checkpoint --kill and `cairn restart`: the
# outputs put together equal an uninterrupted run's), restart_refuse (truncated and
# corrupted images are refused), refuse_running (an image whose process, or a restart of
# it, still runs is refused; a data file that vanished refuses the restart, changing
# nothing), fork (restart cycles of a program launched with --fork), status (cairn status
# --ckpt-dir, text and JSON, live and stale), ckpt_while_loading (a checkpoint requested
# while `cairn restart` still loads the image waits for it: a restorer that sleeps 2 s first),
# children (a tree with a child cairn cannot follow is not checkpointed; the child is named).
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

# restart_app READY STEPS DATA under cairn launch; waits until it is ready.
start_restart_app() {
  "$CAIRN" launch --ckpt-dir "$CK" -- "$APP" "$WORK/ready" "$1" "$WORK/data" \
    > "$WORK/out" 2> "$WORK/err" &
  PID=$!
  for _ in $(seq 600); do
    [ -f "$WORK/ready" ] && [ -S "$CK/.cairn/$PID.sock" ] && return 0
    kill -0 "$PID" 2>/dev/null || fail "the program died at start: $(cat "$WORK/err")"
    sleep 0.05
  done
  fail "the program did not get ready: $(cat "$WORK/err")"
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

# Waits until the restarted process $PID listens on its control socket.
wait_socket() {
  for _ in $(seq 600); do
    [ -S "$CK/.cairn/$PID.sock" ] && return 0
    kill -0 "$PID" 2>/dev/null || fail "the restarted program died: $(cat "$1")"
    sleep 0.05
  done
  fail "the restarted program did not open its control socket"
}

# Kills with --kill and waits for the process to end with status 0.
ckpt_kill() {
  ckpt --kill
  wait "$PID"
  local rc=$?
  PID=
  [ "$rc" -eq 0 ] || fail "the checkpointed process exited with $rc"
}

# Two cycles of checkpoint --kill / restart; the caller started the program with start().
# RESTART_BEFORE_LAST runs before the final restart (e.g. touch the release file).
restart_cycles() {
  PIDS=$PID
  ckpt_kill
  "$CAIRN" restart --ckpt-dir "$CK" > "$WORK/out2" 2> "$WORK/err2" &
  PID=$!
  PIDS="$PIDS $PID"
  wait_socket "$WORK/err2"
  sleep "${SETTLE:-0}"
  ckpt_kill
  $RESTART_BEFORE_LAST
  "$CAIRN" restart --ckpt-dir "$CK" > "$WORK/out3" 2> "$WORK/err3" &
  PID=$!
  PIDS="$PIDS $PID"
  wait "$PID"
  local rc=$?
  PID=
  [ "$rc" -eq 0 ] || fail "the twice restarted program exited with $rc: $(cat "$WORK/err3")"
  cat "$WORK/out" "$WORK/out2" "$WORK/out3" > "$WORK/all"
  diff "$WORK/ref.out" "$WORK/all" || fail "restarted output differs from the uninterrupted run"
  for p in $PIDS; do [ -d "/proc/$p" ] && fail "process $p was left behind"; done
  return 0
}

release_now() { touch "$WORK/release"; }

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
    # cairn inspect IMAGE: regions, threads and files, as text and as JSON.
    "$CAIRN" inspect "$IMAGE" > "$WORK/inspect.txt" || fail "cairn inspect failed"
    grep -q "process image" "$WORK/inspect.txt" || fail "inspect: $(head -3 "$WORK/inspect.txt")"
    grep -q "\[stack\]" "$WORK/inspect.txt" || fail "inspect lists no stack region"
    "$CAIRN" inspect --json "$IMAGE" > "$WORK/inspect.json" || fail "cairn inspect --json failed"
    n=$(grep -c '"checkpoint_thread"' "$WORK/inspect.json")
    [ "$n" -eq 6 ] || fail "inspect --json lists $n threads, want 6"
    ;;
  signal)
    start
    ckpt
    "$CHECK" "$IMAGE" 2 $(( 1 << 40 )) || fail "image check"
    finish
    grep -q FAIL "$WORK/out" && fail "$(cat "$WORK/out")"
    [ "$(grep -c '^ok' "$WORK/out")" -eq 4 ] || fail "unexpected output: $(cat "$WORK/out")"
    ;;
  restart)
    seq -f "%07g" 1000 > "$WORK/data"
    "$APP" "$WORK/ref.ready" 120 "$WORK/data" > "$WORK/ref.out" || fail "reference run failed"
    start_restart_app 120
    sleep 0.5
    SETTLE=0.5 RESTART_BEFORE_LAST=: restart_cycles
    [ -s "$WORK/out2" ] || fail "the first restarted process printed nothing"
    tail -n 1 "$WORK/out3" | grep -q '^done' || fail "the last part did not finish"
    ;;
  restart_threads)
    reference
    start
    RESTART_BEFORE_LAST=release_now restart_cycles
    ;;
  restart_refuse)
    seq -f "%07g" 1000 > "$WORK/data"
    start_restart_app 2000
    ckpt_kill
    GOOD=$IMAGE
    SIZE=$(stat -c %s "$GOOD")
    mkdir -p "$WORK/bad"
    head -c $(( SIZE / 2 )) "$GOOD" > "$WORK/bad/truncated.cimg"
    cp "$GOOD" "$WORK/bad/corrupt.cimg"
    printf '\xff\x00\xff\x00' | dd of="$WORK/bad/corrupt.cimg" bs=1 seek=$(( SIZE / 3 )) \
      conv=notrunc 2> /dev/null
    printf 'not an image at all' > "$WORK/bad/foreign.cimg"
    for b in truncated corrupt foreign; do
      "$CAIRN" restart --image "$WORK/bad/$b.cimg" > "$WORK/$b.out" 2> "$WORK/$b.err"
      rc=$?
      [ "$rc" -eq 1 ] || fail "$b image: exit status $rc, expected 1: $(cat "$WORK/$b.err")"
      grep -q "^cairn restart: .*$b.cimg" "$WORK/$b.err" || fail "$b image: unclear message: $(cat "$WORK/$b.err")"
      [ -s "$WORK/$b.out" ] && fail "$b image: the program ran: $(cat "$WORK/$b.out")"
    done
    # The intact image still restarts (and is ended here).
    "$CAIRN" restart --image "$GOOD" > "$WORK/good.out" 2> "$WORK/good.err" &
    PID=$!
    wait_socket "$WORK/good.err"
    for _ in $(seq 600); do
      [ -s "$WORK/good.out" ] && break
      sleep 0.05
    done
    kill -9 "$PID"
    wait "$PID" 2> /dev/null
    PID=
    [ -s "$WORK/good.out" ] || fail "the intact image did not run"
    ;;
  refuse_running)
    seq -f "%07g" 1000 > "$WORK/data"
    start_restart_app 2000
    ckpt
    # The original still runs: refused, and the original is untouched.
    "$CAIRN" restart --ckpt-dir "$CK" > "$WORK/r1.out" 2> "$WORK/r1.err"
    rc=$?
    [ "$rc" -eq 1 ] || fail "restart while the original runs: exit $rc: $(cat "$WORK/r1.err")"
    grep -q "still runs" "$WORK/r1.err" || fail "unclear refusal: $(cat "$WORK/r1.err")"
    [ -s "$WORK/r1.out" ] && fail "a second copy ran: $(cat "$WORK/r1.out")"
    kill -0 "$PID" 2>/dev/null || fail "the original died"
    kill -9 "$PID"
    wait "$PID" 2>/dev/null
    # A file the image has open vanished: refused with its name; back in place: restarts.
    mv "$WORK/data" "$WORK/data.away"
    "$CAIRN" restart --ckpt-dir "$CK" > "$WORK/r2.out" 2> "$WORK/r2.err"
    rc=$?
    [ "$rc" -ne 0 ] || fail "restart without the program's data file succeeded"
    grep -q "data" "$WORK/r2.err" || fail "the refusal does not name the file: $(cat "$WORK/r2.err")"
    mv "$WORK/data.away" "$WORK/data"
    "$CAIRN" restart --ckpt-dir "$CK" > "$WORK/r3.out" 2> "$WORK/r3.err" &
    PID=$!
    wait_socket "$WORK/r3.err"
    # The restarted process now holds the image: a second restart is refused too.
    "$CAIRN" restart --ckpt-dir "$CK" > "$WORK/r4.out" 2> "$WORK/r4.err"
    rc=$?
    [ "$rc" -eq 1 ] || fail "second restart while the first runs: exit $rc"
    grep -q "still runs" "$WORK/r4.err" || fail "unclear refusal: $(cat "$WORK/r4.err")"
    for _ in $(seq 600); do [ -s "$WORK/r3.out" ] && break; sleep 0.05; done
    [ -s "$WORK/r3.out" ] || fail "the restarted program printed nothing"
    kill -9 "$PID"
    wait "$PID" 2>/dev/null
    PID=
    ;;
  ckpt_while_loading)
    seq -f "%07g" 1000 > "$WORK/data"
    start_restart_app 2000
    ckpt_kill
    printf '#!/bin/sh\n/bin/sleep 2\nexec %s "$@"\n' "$(dirname "$CAIRN")/cairn-restorer" \
      > "$WORK/slow-restorer"
    chmod +x "$WORK/slow-restorer"
    CAIRN_RESTORER=$WORK/slow-restorer "$CAIRN" restart --ckpt-dir "$CK" > "$WORK/r.out" \
      2> "$WORK/r.err" &
    PID=$!
    sleep 0.5
    [ -S "$CK/.cairn/$PID.sock" ] && fail "the restart is not loading any more: nothing to show"
    kill -0 "$PID" 2>/dev/null || fail "the restart died: $(cat "$WORK/r.err")"
    ckpt
    grep -q "still loading" "$WORK/ckpt.err" || fail "the checkpoint did not wait: $(cat "$WORK/ckpt.err")"
    [ -S "$CK/.cairn/$PID.sock" ] || fail "the image '$IMAGE' is not of the restarted process"
    case "$IMAGE" in *.v2.cimg) ;; *) fail "image '$IMAGE' is not the lineage's second" ;; esac
    kill -9 "$PID"
    wait "$PID" 2>/dev/null
    PID=
    ;;
  fork)
    # Two cycles of a forked checkpoint (the program runs on) and kill -9, then restart.
    reference
    CAIRN_LOG=info start --fork
    PIDS=$PID
    for cycle in 1 2; do
      ckpt
      grep -q "forked writer" "$WORK/err" || fail "cycle $cycle: no forked writer: $(cat "$WORK/err")"
      # (A restored process's maps no longer label [heap] and [stack]: check the first only.)
      [ "$cycle" -eq 1 ] && { "$CHECK" "$IMAGE" 6 $(( 1 << 40 )) || fail "image check"; }
      kill -9 "$PID"
      wait "$PID" 2>/dev/null
      [ "$cycle" -eq 2 ] && touch "$WORK/release"
      CAIRN_LOG=info "$CAIRN" restart --ckpt-dir "$CK" > "$WORK/out$cycle" 2> "$WORK/err" &
      PID=$!
      PIDS="$PIDS $PID"
      [ "$cycle" -eq 1 ] && wait_socket "$WORK/err"
    done
    wait "$PID"
    rc=$?
    PID=
    [ "$rc" -eq 0 ] || fail "the restarted program exited with $rc: $(cat "$WORK/err")"
    cat "$WORK/out" "$WORK/out1" "$WORK/out2" > "$WORK/all"
    diff "$WORK/ref.out" "$WORK/all" || fail "output differs from the uninterrupted run"
    for p in $PIDS; do [ -d "/proc/$p" ] && fail "process $p was left behind"; done
    ;;
  status)
    start --interval 1
    ckpt
    "$CAIRN" status --ckpt-dir "$CK" > "$WORK/st.txt" || fail "cairn status failed"
    grep -q "pid $PID" "$WORK/st.txt" || fail "status does not show pid $PID: $(cat "$WORK/st.txt")"
    grep -q "$(basename "$IMAGE") \*" "$WORK/st.txt" || fail "status does not mark the newest image"
    "$CAIRN" status --ckpt-dir "$CK" --json > "$WORK/st.json" || fail "cairn status --json failed"
    python3 - "$WORK/st.json" "$PID" <<'PY' || fail "bad status JSON: $(cat "$WORK/st.json")"
import json, sys
d = json.load(open(sys.argv[1]))
p = [x for x in d["processes"] if x.get("pid") == int(sys.argv[2])]
assert p and p[0]["alive"] and p[0]["checkpoints"] >= 1 and p[0]["interval_s"] == 1, d
assert p[0]["threads"] == 5, p[0]
assert d["images"] and d["images"][0]["newest"] and d["images"][0]["size"] > 0, d
PY
    kill -9 "$PID"
    wait "$PID" 2>/dev/null
    PID=
    "$CAIRN" status --ckpt-dir "$CK" > "$WORK/st2.txt" || fail "cairn status failed"
    grep -q "stale" "$WORK/st2.txt" || fail "a dead process's socket is not shown stale"
    "$CAIRN" status --ckpt-dir "$WORK/nonexistent" > /dev/null 2>&1 && fail "status of a missing dir succeeded"
    ;;
  children)
    # A process tree whose bash has a child cairn cannot follow (`sleep` started without the
    # preload library: env -u LD_PRELOAD) and one that exited: the checkpoint fails naming
    # the stranger and writes no image; once it is gone the checkpoint succeeds.
    # (It waits with `read -t` on a FIFO nobody writes: no `sleep` children while it polls.)
    mkfifo "$WORK/idle" || fail "mkfifo"
    "$CAIRN" launch --ckpt-dir "$CK" -- bash -c \
      'exec 9<> "$0/idle"; nap() { read -r -t 0.05 -u 9; }; true & env -u LD_PRELOAD sleep 30 & echo $! > "$0/sleep.pid"; touch "$0/ready"; while [ -e "$0/ready" ]; do nap; done; kill $(cat "$0/sleep.pid"); wait; touch "$0/alone"; while [ ! -e "$0/done" ]; do nap; done; exit 0' \
      "$WORK" > "$WORK/out" 2> "$WORK/err" &
    PID=$!
    for _ in $(seq 600); do
      [ -f "$WORK/ready" ] && [ -S "$CK/.cairn/$PID.sock" ] && break
      kill -0 "$PID" 2>/dev/null || fail "bash died at start: $(cat "$WORK/err")"
      sleep 0.05
    done
    [ -S "$CK/.cairn/$PID.sock" ] || fail "bash did not get its control socket"
    SLEEP=$(cat "$WORK/sleep.pid")
    for _ in $(seq 100); do
      [ "$(cat "/proc/$SLEEP/comm" 2>/dev/null)" = sleep ] && break
      sleep 0.05
    done
    "$CAIRN" checkpoint --ckpt-dir "$CK" --wait --timeout 60 > "$WORK/c1.out" 2> "$WORK/c1.err" &&
      fail "the checkpoint of a tree with a stranger succeeded: $(cat "$WORK/c1.out")"
    grep -q "pid $SLEEP (sleep)" "$WORK/c1.err" || fail "the child is not named: $(cat "$WORK/c1.err")"
    grep -q "does not follow" "$WORK/c1.err" || fail "no reason given: $(cat "$WORK/c1.err")"
    ls "$CK"/*.cimg > /dev/null 2>&1 && fail "an image was written: $(ls "$CK")"
    ls "$CK"/job.v*.manifest > /dev/null 2>&1 && fail "a manifest was written: $(ls "$CK")"
    kill -0 "$PID" 2>/dev/null || fail "bash did not go on after the failed checkpoint"
    "$CAIRN" status --ckpt-dir "$CK" > "$WORK/status.out" 2>&1 || fail "cairn status failed"
    grep -q "does not follow.*pid $SLEEP (sleep)" "$WORK/status.out" ||
      fail "cairn status does not show the child it cannot follow: $(cat "$WORK/status.out")"
    rm -f "$WORK/ready"
    for _ in $(seq 600); do [ -f "$WORK/alone" ] && break; sleep 0.05; done
    [ -f "$WORK/alone" ] || fail "bash did not reap its children"
    ckpt
    touch "$WORK/done"
    wait "$PID" || fail "bash exited with $?: $(cat "$WORK/err")"
    PID=
    ;;
  *)
    fail "unknown mode"
    ;;
esac
# A passed run's images go (the suite's disk use stays small); a failed one keeps them.
[ -n "${TRANSPARENT_KEEP:-}" ] || rm -rf "$WORK"
echo "PASS ($MODE)"
