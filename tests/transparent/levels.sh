#!/usr/bin/env bash
# Transparent images through cairn's levels (issue 12, requirements 1 and 5), with a real
# backend, real files and kill -9:
#   levels.sh CAIRN PROGRAMS_DIR WORK
# A job launched with `cairn launch --config` (scratch on /dev/shm, persistent in WORK,
# max_versions 2, the backend paced at 1 MB/s so a flush takes a while):
#   1. checkpoint --wait: the image is committed on scratch and on persistent;
#   2. checkpoint, then kill -9 of the backend during its flush: the checkpoint stays committed
#      on scratch; the next checkpoint (a new backend) flushes both, and retention on
#      persistent keeps the newest two (the first one goes);
#   3. checkpoint, then kill -9 of the program at once: the backend finishes the flush alone;
#   4. scratch wiped and the newest persistent copy corrupted (a byte flipped): `cairn restart
#      --config` refuses that copy, falls back to the one before, and the program ends with the
#      output of an uninterrupted run.
# Every wait is bounded; no process is left behind.
set -u
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
CAIRN=$(abspath "$1") PROGDIR=$(abspath "$2") WORK=$(abspath "$3")
PROG=$PROGDIR/thread_pool
NAME=lv$$
SCRATCH=/dev/shm/cairn-levels-$$
rm -rf "$WORK" && mkdir -p "$WORK/w" "$WORK/ref" "$WORK/run"
export CAIRN_RUNTIME_DIR=$WORK/run  # this test's own backends
PERSIST=$WORK/persistent/$NAME
SDIR=$SCRATCH/$NAME
cat > "$WORK/levels.cfg" << CFG
scratch = $SCRATCH
persistent = $WORK/persistent
max_versions = 2
scratch_versions = 3
backend_max_bandwidth = 1
backend_idle_timeout = 3
CFG
PID=''
cleanup() {
  [ -n "$PID" ] && kill -9 "$PID" 2> /dev/null
  pkill -9 -f "$WORK/run" 2> /dev/null
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
fail() {
  echo "FAIL (levels): $*" >&2
  for f in "$WORK"/*.err "$WORK"/run/*.log; do [ -s "$f" ] && { echo "--- $f"; tail -n 20 "$f"; } >&2; done
  ls -la "$SDIR" "$PERSIST" >&2 2> /dev/null
  exit 1
}
ck() { "$CAIRN" checkpoint --config "$WORK/levels.cfg" --name "$NAME" "$@" 2>> "$WORK/ck.err"; }
# The versions (N of *.vN.cimg) in a directory, ascending, space-separated.
versions() { ls "$1" 2> /dev/null | sed -n 's/.*\.v\([0-9]*\)\.cimg$/\1/p' | sort -n | tr '\n' ' '; }
backend_pid() { pgrep -f "cairn backend --config $WORK/run" | head -n 1; }

"$PROG" "$WORK/ref" > "$WORK/ref.out" 2> "$WORK/ref.err" || fail "the reference run failed"

"$CAIRN" launch --config "$WORK/levels.cfg" --name "$NAME" -- "$PROG" "$WORK/w" \
  > "$WORK/launch.out" 2> "$WORK/launch.err" &
PID=$!
sleep 0.8
# 1. Committed on both levels once --wait returns.
ck --wait > /dev/null || fail "checkpoint 1 failed"
[ "$(versions "$SDIR")" = "1 " ] || fail "scratch holds versions '$(versions "$SDIR")', not 1"
[ "$(versions "$PERSIST")" = "1 " ] || fail "persistent holds '$(versions "$PERSIST")', not 1"
cmp -s "$SDIR"/*.v1.cimg "$PERSIST"/*.v1.cimg || fail "the persistent copy of v1 differs"
# 2. The backend killed during the flush of v2.
ck > /dev/null || fail "checkpoint 2 failed"
B=$(backend_pid)
[ -n "$B" ] || fail "no backend runs after checkpoint 2"
kill -9 "$B"
echo "killed the backend (pid $B) during the flush of v2; persistent: $(versions "$PERSIST")"
[ "$(versions "$SDIR")" = "1 2 " ] || fail "scratch lost a committed checkpoint: '$(versions "$SDIR")'"
ck --wait > /dev/null || fail "checkpoint 3 (after the backend's death) failed"
[ "$(versions "$SDIR")" = "1 2 3 " ] || fail "scratch holds '$(versions "$SDIR")', not 1 2 3"
[ "$(versions "$PERSIST")" = "2 3 " ] || fail "persistent holds '$(versions "$PERSIST")', not 2 3"
ls "$PERSIST" | grep -q '\.tmp$' && fail "a partial copy is left on persistent"
# 3. The program killed right after its checkpoint: the backend flushes v4 alone.
ck > /dev/null || fail "checkpoint 4 failed"
kill -9 "$PID"
wait "$PID" 2> /dev/null
PID=''
for _ in $(seq 100); do
  [ "$(versions "$PERSIST")" = "3 4 " ] && break
  sleep 0.1
done
[ "$(versions "$PERSIST")" = "3 4 " ] || fail "v4 did not reach persistent after the program's death: '$(versions "$PERSIST")'"
cmp -s "$SDIR"/*.v4.cimg "$PERSIST"/*.v4.cimg || fail "the persistent copy of v4 differs"
# 4. Scratch wiped, persistent v4 corrupted: the restart falls back to v3.
rm -rf "$SDIR"
IMG=$(ls "$PERSIST"/*.v4.cimg)
SIZE=$(stat -c %s "$IMG")
OFF=$((SIZE / 2))
BYTE=$(od -An -tu1 -j "$OFF" -N1 "$IMG" | tr -d ' ')
printf "$(printf '\\%03o' $(((BYTE + 1) % 256)))" | dd of="$IMG" bs=1 seek="$OFF" conv=notrunc status=none
"$CAIRN" restart --config "$WORK/levels.cfg" --name "$NAME" > "$WORK/restart.out" 2> "$WORK/restart.err" &
PID=$!
for _ in $(seq 300); do kill -0 "$PID" 2> /dev/null || break; sleep 0.1; done
kill -0 "$PID" 2> /dev/null && fail "the restarted program did not finish within 30 s"
wait "$PID"
rc=$?
PID=''
[ "$rc" = 0 ] || fail "the restart exited with status $rc"
grep -q "v4.cimg is not usable" "$WORK/restart.err" || fail "the corrupt v4 was not reported"
grep -q "from .*v3.cimg" "$WORK/restart.err" || fail "the restart did not fall back to v3"
cmp -s "$WORK/ref.out" "$WORK/restart.out" ||
  fail "output differs: $(diff "$WORK/ref.out" "$WORK/restart.out" | head -n 5)"
pgrep -f "$PROG $WORK/w" > /dev/null && fail "a process of the job is left"
echo "PASS (levels): flushed to persistent, survived kill -9 of the backend and of the program," \
  "fell back from a corrupt persistent copy"
