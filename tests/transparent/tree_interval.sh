#!/usr/bin/env bash
# Periodic checkpoints of a process tree (`cairn launch --interval 1`, label "transparent"):
#   tree_interval.sh CAIRN PROGRAMS_DIR WORKDIR
# tree_workers (a parent and four forked workers, about 3 s) is launched with --interval 1;
# once the first periodic round has committed job.v1.manifest, every process of the job is
# killed with -9 and `cairn restart` finishes the run. Passes when the output equals an
# uninterrupted run's, the restarted tree is checkpointed periodically too (a newer manifest
# appears), the rounds' output went to DIR/.cairn/interval.log and not to the program's, and
# no process is left behind.
set -u
CAIRN=$1 PROGS=$2 WORK=$3
PROG=$PROGS/tree_workers
CK=$WORK/ck
PID=
fail() {
  echo "FAIL (tree_interval): $*" >&2
  for f in "$WORK"/*.err "$CK/.cairn/interval.log"; do
    [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; } >&2
  done
  [ -n "$PID" ] && kill_tree "$PID"
  exit 1
}
# Every descendant of $1, deepest first, then $1.
tree_of() {
  local c
  for c in $(pgrep -P "$1"); do tree_of "$c"; done
  echo "$1"
}
kill_tree() {
  local p
  for p in $(tree_of "$1"); do kill -9 "$p" 2> /dev/null; done
}
wait_for() {  # $1: a file, $2: tenths of a second
  local _
  for _ in $(seq "$2"); do
    [ -e "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

rm -rf "$WORK" && mkdir -p "$WORK/ref" "$WORK/run" || fail "cannot create $WORK"
(cd "$WORK/ref" && exec "$PROG" "$WORK/ref") > "$WORK/ref.out" 2> "$WORK/ref.err" ||
  fail "the uninterrupted run failed"

"$CAIRN" launch --ckpt-dir "$CK" --interval 1 -- "$PROG" "$WORK/run" \
  > "$WORK/launch.out" 2> "$WORK/launch.err" &
PID=$!
wait_for "$CK/job.v1.manifest" 100 || fail "no periodic checkpoint of the tree within 10 s"
kill_tree "$PID"
wait "$PID" 2> /dev/null
PID=
grep -q "job.v1.manifest" "$CK/.cairn/interval.log" ||
  fail "the round's output is not in interval.log: $(cat "$CK/.cairn/interval.log")"
[ -s "$WORK/launch.out" ] && fail "output on the program's stdout: $(cat "$WORK/launch.out")"
ls "$CK"/job.v*.manifest > "$WORK/before.txt"

timeout -s KILL 60 "$CAIRN" restart --ckpt-dir "$CK" > "$WORK/restart.out" 2> "$WORK/restart.err" ||
  fail "cairn restart exited with $?"
cat "$WORK/launch.out" "$WORK/restart.out" > "$WORK/all.out"
diff "$WORK/ref.out" "$WORK/all.out" > /dev/null ||
  fail "output differs from the uninterrupted run: $(diff "$WORK/ref.out" "$WORK/all.out")"
diff -r "$WORK/ref" "$WORK/run" > /dev/null || fail "files differ from the uninterrupted run's"
newest_before=$(sed 's/.*job\.v\([0-9]*\)\.manifest/\1/' "$WORK/before.txt" | sort -n | tail -1)
newest=$(ls "$CK"/job.v*.manifest | sed 's/.*job\.v\([0-9]*\)\.manifest/\1/' | sort -n | tail -1)
[ "$newest" -gt "$newest_before" ] ||
  fail "no periodic checkpoint after the restart (newest job.v$newest)"
sleep 0.5
leftover=$(pgrep -f "$WORK/run" | tr '\n' ' ')
[ -z "$leftover" ] || fail "processes left behind: $leftover"
pgrep -f "checkpoint --ckpt-dir $CK" > /dev/null && fail "a periodic checkpoint was left running"
echo "tree_interval: job.v1..v$newest committed periodically, before and after the restart"
cat "$WORK/ref.out"
[ -n "${TRANSPARENT_KEEP:-}" ] || rm -rf "$WORK"
echo "PASS (tree_interval)"
