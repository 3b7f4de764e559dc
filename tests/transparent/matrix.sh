#!/usr/bin/env bash
# The transparent-checkpointing test matrix (issue 5, requirement 7).
#
#   matrix.sh CAIRN PROGRAMS_DIR WORK_ROOT [--max-image-mb N] [--tree] NAME [ARGS...]
#
# --tree: the program is a process tree (issue 11): every checkpoint must commit a job
# manifest, "kill -9" kills every process of the job (all descendants of the launched program
# or of `cairn restart`, deepest first), and no process of the job may be left at the end.
#
# Runs matrix program NAME (PROGRAMS_DIR/NAME, contract in programs/mx.h: `NAME WORKDIR
# [ARGS...]`, prints only at the end) twice:
#   - reference: uninterrupted, WORKDIR=WORK_ROOT/NAME/ref, in the background meanwhile;
#   - under cairn: `cairn launch` (WORKDIR=WORK_ROOT/NAME/run), ~0.8 s, `cairn checkpoint
#     --wait`, 0.2 s more, kill -9, `cairn restart` in the background, wait for its control
#     socket, ~0.8 s, checkpoint --wait, 0.2 s, kill -9, `cairn restart` again, let it finish.
#   (MATRIX_SETTLE and MATRIX_KILL_DELAY override the 0.8 s and 0.2 s; MATRIX_CKPT_KILL=1
#   checkpoints with --kill instead (preemption: nothing runs past the checkpoint, for
#   programs whose files a restart cannot roll back); MATRIX_LAUNCH_ARGS adds
#   options to `cairn launch`, e.g. "--fork" or "--compress zstd"; MATRIX_PRE_CHECKPOINTS=N
#   takes N more checkpoints, MATRIX_SETTLE / 4 apart, before the one of each cycle (with
#   --incremental: a chain to restart from); MATRIX_EXPECT_CHAIN=D: the image of each cycle
#   must be incremental at depth D (`cairn inspect --json`).)
# Passes when both exit with status 0, the final process's stdout equals the reference's, the
# files the two runs left in their WORKDIRs are identical, every image is at most
# --max-image-mb MiB (when given), and no process is left behind. On failure prints what
# differs, the stderr of every stage, and `cairn inspect` of the last image.
set -u
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
CAIRN=$(abspath "$1") PROGDIR=$(abspath "$2") ROOT=$(abspath "$3")
shift 3
MAX_IMAGE_MB=
if [ "${1:-}" = "--max-image-mb" ]; then MAX_IMAGE_MB=$2; shift 2; fi
TREE=
if [ "${1:-}" = "--tree" ]; then TREE=1; shift; fi
NAME=$1
shift
PROG=$PROGDIR/$NAME
WORK=$ROOT/$NAME
CK=$WORK/ck
SETTLE=${MATRIX_SETTLE:-0.8}
# Between the commit of an image and kill -9 the program runs on for KILL_DELAY seconds, so the
# killed process has written past the checkpoint (files grown, mappings and pipes changed) and
# the restart has to undo or tolerate that.
KILL_DELAY=${MATRIX_KILL_DELAY:-0.2}

PID='' REF_PID='' PIDS='' VICTIMS=''
cleanup() {
  for p in $PID $REF_PID; do
    # shellcheck disable=SC2046
    [ -n "$p" ] && kill -9 $(descendants "$p") "$p" 2> /dev/null
  done
  return 0
}
trap cleanup EXIT
log_tail() { [ -s "$1" ] && { echo "--- $1:"; tail -n 30 "$1"; }; }
fail() {
  echo "FAIL ($NAME): $*" >&2
  for f in "$WORK"/*.err; do log_tail "$f" >&2; done
  if [ -n "${IMAGE:-}" ] && [ -f "$IMAGE" ]; then
    echo "--- cairn inspect $IMAGE:" >&2
    "$CAIRN" inspect "$IMAGE" 2>&1 | head -n 60 >&2
  fi
  exit 1
}

[ -x "$PROG" ] || fail "no program $PROG"
rm -rf "$WORK"
mkdir -p "$WORK/ref" "$WORK/run" || fail "cannot create $WORK"

# The reference run, concurrently (the programs mostly sleep).
(cd "$WORK/ref" && exec "$PROG" "$WORK/ref" "$@") > "$WORK/ref.out" 2> "$WORK/ref.err" &
REF_PID=$!

# Every descendant of process $1, deepest first.
descendants() {
  local c
  for c in $(pgrep -P "$1"); do
    descendants "$c"
    echo "$c"
  done
}

# Waits until process $PID listens on its control socket; $1: its stderr file.
wait_socket() {
  if [ -n "$TREE" ] && [ "$2" != "the launched program" ]; then
    # A restarted tree runs in its own pid namespace: wait for a restored process to answer.
    for _ in $(seq 400); do
      "$CAIRN" status --ckpt-dir "$CK" --json 2> /dev/null | grep -q '"restored": true' && return 0
      kill -0 "$PID" 2> /dev/null || { wait "$PID"; fail "$2 died (status $?) before it ran"; }
      sleep 0.05
    done
    fail "$2: no restored process answers after 20 s"
  fi
  for _ in $(seq 400); do
    [ -S "$CK/.cairn/$PID.sock" ] && return 0
    kill -0 "$PID" 2> /dev/null || { wait "$PID"; fail "$2 died (status $?) before its control socket appeared"; }
    sleep 0.05
  done
  fail "$2: no control socket $CK/.cairn/$PID.sock after 20 s"
}

# Checkpoints (--wait), then kill -9; $1: the cycle number.
checkpoint_and_kill() {
  local kill_opt= k
  [ -n "${MATRIX_CKPT_KILL:-}" ] && kill_opt=--kill
  for k in $(seq "${MATRIX_PRE_CHECKPOINTS:-0}"); do
    "$CAIRN" checkpoint --ckpt-dir "$CK" --wait > "$WORK/ckpt$1.$k.out" 2> "$WORK/ckpt$1.$k.err" ||
      fail "cairn checkpoint $1.$k failed (status $?)"
    sleep "$(awk -v s="$SETTLE" 'BEGIN { print s / 4 }')"
  done
  # shellcheck disable=SC2086
  "$CAIRN" checkpoint --ckpt-dir "$CK" --wait $kill_opt > "$WORK/ckpt$1.out" 2> "$WORK/ckpt$1.err" ||
    fail "cairn checkpoint $1 failed (status $?)"
  IMAGE=$(grep '\.cimg$' "$WORK/ckpt$1.out" | tail -n 1)
  [ -f "$IMAGE" ] || fail "checkpoint $1: no image at '$IMAGE'"
  if [ -n "$TREE" ]; then
    local manifest
    manifest=$(tail -n 1 "$WORK/ckpt$1.out")
    case "$manifest" in
      *.manifest) [ -f "$manifest" ] || fail "checkpoint $1: no manifest at '$manifest'" ;;
      *) fail "checkpoint $1 of a tree committed no job manifest: $(cat "$WORK/ckpt$1.out")" ;;
    esac
    echo "checkpoint $1: $(basename "$manifest"), $(grep -c '\.cimg$' "$WORK/ckpt$1.out") images"
  fi
  local size_mb=$(( $(stat -c %s "$IMAGE") >> 20 ))
  echo "checkpoint $1: $(basename "$IMAGE") ${size_mb} MiB"
  if [ -n "${MATRIX_EXPECT_CHAIN:-}" ]; then
    "$CAIRN" inspect --json "$IMAGE" > "$WORK/inspect$1.json" 2>> "$WORK/ckpt$1.err" ||
      fail "checkpoint $1: cairn inspect failed"
    grep -q "\"depth\": *$MATRIX_EXPECT_CHAIN[,}]" "$WORK/inspect$1.json" ||
      fail "checkpoint $1: not an incremental image at depth $MATRIX_EXPECT_CHAIN: $(grep -o '"parent[^}]*' "$WORK/inspect$1.json")"
    echo "checkpoint $1: incremental, depth $MATRIX_EXPECT_CHAIN, $(ls "$CK"/*.cimg | wc -l) images kept"
  fi
  if [ -n "$MAX_IMAGE_MB" ] && [ "$size_mb" -gt "$MAX_IMAGE_MB" ]; then
    fail "checkpoint $1: image of $size_mb MiB, more than $MAX_IMAGE_MB MiB"
  fi
  if [ -n "$kill_opt" ]; then
    wait "$PID" 2> /dev/null
    local krc=$?
    [ "$krc" -eq 0 ] || fail "cycle $1: the job ended with $krc after checkpoint --kill"
    PID=
    return
  fi
  sleep "$KILL_DELAY"
  kill -0 "$PID" 2> /dev/null || fail "the process ended before kill -9 (cycle $1)"
  if [ -n "$TREE" ]; then
    local victims
    victims=$(descendants "$PID")
    if [ "$1" = 1 ]; then
      # The launched job runs in this pid namespace: its manifest's pids are real, and name
      # the orphans too (no longer anybody's descendants).
      local m
      m=$(tail -n 1 "$WORK/ckpt$1.out")
      victims="$victims $(awk '$1 == "process" && $3 != '"$PID"' { print $3 }' "$m")"
    fi
    [ -n "$victims" ] || fail "cycle $1: the job has no process besides $PID"
    # Stopped first, so that none sees another die (a parent would report its child's
    # SIGKILL, a reader would see end of file) before it dies itself.
    # shellcheck disable=SC2086
    kill -STOP "$PID" $victims 2> /dev/null
    # shellcheck disable=SC2086
    kill -9 $victims 2> /dev/null
    VICTIMS="$VICTIMS $victims"
  fi
  kill -9 "$PID"
  wait "$PID" 2> /dev/null
  local rc=$?
  if [ -n "$TREE" ]; then
    local p
    for p in $victims; do
      for _ in $(seq 200); do
        [ -d "/proc/$p" ] && [ "$(cut -d' ' -f3 "/proc/$p/stat" 2> /dev/null)" != Z ] || break
        sleep 0.01
      done
    done
  fi
  [ "$rc" -eq 137 ] || fail "cycle $1: the killed process ended with $rc, not 137 (SIGKILL)"
  PID=
}

# shellcheck disable=SC2086  # MATRIX_LAUNCH_ARGS: extra `cairn launch` options, word-split
(cd "$WORK/run" && exec "$CAIRN" launch --ckpt-dir "$CK" ${MATRIX_LAUNCH_ARGS:-} -- "$PROG" "$WORK/run" "$@") \
  > "$WORK/launch.out" 2> "$WORK/launch.err" &
PID=$!
PIDS=$PID
wait_socket "$WORK/launch.err" "the launched program"
sleep "$SETTLE"
checkpoint_and_kill 1
[ -s "$WORK/launch.out" ] && fail "the program printed before its end: $(head -3 "$WORK/launch.out")"

(cd "$WORK/run" && exec "$CAIRN" restart --ckpt-dir "$CK") > "$WORK/restart1.out" \
  2> "$WORK/restart1.err" &
PID=$!
PIDS="$PIDS $PID"
wait_socket "$WORK/restart1.err" "the first restarted program"
sleep "$SETTLE"
checkpoint_and_kill 2

(cd "$WORK/run" && exec "$CAIRN" restart --ckpt-dir "$CK") > "$WORK/restart2.out" \
  2> "$WORK/restart2.err" &
PID=$!
PIDS="$PIDS $PID"
LAST=$PID
wait "$PID"
RC=$?
PID=
[ "$RC" -eq 0 ] || fail "the twice restarted program exited with status $RC"

wait "$REF_PID"
RC=$?
REF_PID=
[ "$RC" -eq 0 ] || fail "the reference run exited with status $RC"
[ -s "$WORK/ref.out" ] || fail "the reference run printed nothing"

cat "$WORK/launch.out" "$WORK/restart1.out" "$WORK/restart2.out" > "$WORK/all.out"
diff "$WORK/ref.out" "$WORK/all.out" > "$WORK/out.diff" ||
  fail "output differs from the uninterrupted run: $(cat "$WORK/out.diff")"
diff -r "$WORK/ref" "$WORK/run" > "$WORK/files.diff" ||
  fail "files differ from the uninterrupted run's: $(head -20 "$WORK/files.diff")"

sleep 0.1
alive() {  # a process that exists and is not a zombie (one that is exiting gets 2 s)
  local _
  for _ in $(seq 200); do
    [ -d "/proc/$1" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2> /dev/null)" != Z ] || return 1
    sleep 0.01
  done
  return 0
}
for p in $PIDS $VICTIMS; do
  alive "$p" && fail "process $p was left behind: $(tr '\0' ' ' < "/proc/$p/cmdline")"
done
# (the sockets of the processes killed with -9 stay; the last one exited and removes its own)
[ -z "$TREE" ] && [ -e "$CK/.cairn/$LAST.sock" ] && fail "the control socket of the last process was left behind"
cat "$WORK/ref.out"
# A passed run's images and files go (the suite's disk use stays small); a failed one keeps them.
[ -n "${MATRIX_KEEP:-}" ] || rm -rf "$WORK"
echo "PASS ($NAME)"
