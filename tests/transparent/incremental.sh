#!/usr/bin/env bash
# Incremental images (issue 12, requirements 3 and 5), on the matrix program large_memory
# (512 MiB, 2 MiB rewritten per 15 ms step), with real files, kill -9 and flipped bytes:
#   incremental.sh CAIRN PROGRAMS_DIR WORK
#   1. `cairn launch --incremental 4 --keep 10`, four checkpoints: v1 full, v2..v4 incremental
#      at depths 1..3 (`cairn inspect --json`), each at most a quarter of v1's size; `cairn
#      verify` passes every image with its chain; kill -9.
#   2. restart from the whole chain: the program ends with the output of an uninterrupted run;
#   3. v3 deleted (a missing link): `cairn verify` and `cairn inspect` report v4's chain
#      broken; the restart falls back to v2, the newest complete image, and ends correctly;
#   4. a byte of v2's page data flipped: the restart reads the chain once, verifying as it
#      reads, so the restorer refuses it (exit 1) before anything of the program runs; `cairn
#      verify` finds v2, v3 and v4 corrupt and v1 intact; a restart from v1 ends correctly;
#   5. retention: `--incremental 3 --keep 2`, five checkpoints: after the third, v1..v3 are
#      kept (v3 needs them), after the fifth only v4 (full) and v5.
# Every wait is bounded; no process is left behind.
set -u
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
CAIRN=$(abspath "$1") PROGDIR=$(abspath "$2") WORK=$(abspath "$3")
PROG=$PROGDIR/large_memory
rm -rf "$WORK" && mkdir -p "$WORK/ref" "$WORK/run"
CK=$WORK/ck
PID='' REF=''
cleanup() { for p in $PID $REF; do kill -9 "$p" 2> /dev/null; done; return 0; }
trap cleanup EXIT
fail() {
  echo "FAIL (incremental): $*" >&2
  for f in "$WORK"/*.err; do [ -s "$f" ] && { echo "--- $f"; tail -n 15 "$f"; } >&2; done
  ls -la "$CK" >&2 2> /dev/null
  exit 1
}
versions() { ls "$1" 2> /dev/null | sed -n 's/.*\.v\([0-9]*\)\.cimg$/\1/p' | sort -n | tr '\n' ' '; }
image() { ls "$CK"/*.v"$1".cimg 2> /dev/null | head -n 1; }
wait_socket() {
  for _ in $(seq 400); do
    ls "$CK"/.cairn/*.sock > /dev/null 2>&1 && return 0
    kill -0 "$PID" 2> /dev/null || fail "the program died before its control socket appeared"
    sleep 0.05
  done
  fail "no control socket after 20 s"
}
ck() { "$CAIRN" checkpoint --ckpt-dir "$CK" --wait > /dev/null 2>> "$WORK/ck.err" || fail "checkpoint failed"; }
depth() { # the chain depth `cairn inspect --json` gives image $1 (0: full)
  "$CAIRN" inspect --json "$1" > "$WORK/inspect.json" 2>> "$WORK/inspect.err" || fail "inspect $1 failed"
  sed -n 's/.*"depth": *\([0-9]*\).*/\1/p' "$WORK/inspect.json" | head -n 1 | grep . || echo 0
}
run_restart() { # $1: label; restart from $CK in the background, to its end
  (cd "$WORK/run" && exec timeout 60 "$CAIRN" restart --ckpt-dir "$CK") > "$WORK/$1.out" 2> "$WORK/$1.err"
  local rc=$?
  [ "$rc" -eq 0 ] || fail "$1: the restarted program exited with status $rc"
  cmp -s "$WORK/$1.out" "$WORK/ref.out" || fail "$1: output '$(cat "$WORK/$1.out")' differs from the reference '$(cat "$WORK/ref.out")'"
}

"$PROG" "$WORK/ref" > "$WORK/ref.out" 2> "$WORK/ref.err" &
REF=$!

# 1. A chain of four.
(cd "$WORK/run" && exec "$CAIRN" launch --ckpt-dir "$CK" --keep 10 --incremental 4 -- "$PROG" "$WORK/run") \
  > "$WORK/launch.out" 2> "$WORK/launch.err" &
PID=$!
wait_socket
# Until its 512 MiB are touched (first touch is slow in a VM).
for _ in $(seq 300); do
  [ "$(awk '/^VmRSS/ { print $2 }' "/proc/$PID/status" 2> /dev/null || echo 0)" -gt 500000 ] && break
  sleep 0.05
done
sleep 0.1
for _ in 1 2 3 4; do ck; sleep 0.15; done
kill -9 "$PID"
wait "$PID" 2> /dev/null
PID=''
wait "$REF" || fail "the reference run failed"
REF=''
[ "$(versions "$CK")" = "1 2 3 4 " ] || fail "the directory holds versions '$(versions "$CK")', not 1 2 3 4"
FULL=$(stat -c %s "$(image 1)")
[ "$(depth "$(image 1)")" = 0 ] || fail "v1 is not a full image"
for v in 2 3 4; do
  d=$(depth "$(image $v)")
  [ "$d" = $((v - 1)) ] || fail "v$v has chain depth '$d', not $((v - 1))"
  size=$(stat -c %s "$(image $v)")
  [ "$size" -le $((FULL / 4)) ] || fail "v$v has $size bytes, more than a quarter of the full v1's $FULL"
  echo "v$v: incremental at depth $d, $((size >> 20)) MiB (full v1: $((FULL >> 20)) MiB)"
done
"$CAIRN" verify "$CK" > "$WORK/verify.out" 2> "$WORK/verify.err" || fail "cairn verify of the chain failed: $(cat "$WORK/verify.out")"
[ "$(grep -c '^OK' "$WORK/verify.out")" -eq 4 ] || fail "cairn verify did not pass four images: $(cat "$WORK/verify.out")"
cp -a "$CK" "$WORK/pristine"
reset_ck() { rm -rf "$CK" && cp -a "$WORK/pristine" "$CK"; }

# 2. The whole chain.
run_restart whole
grep -q "\.v4\.cimg" "$WORK/whole.err" && grep -q "trying" "$WORK/whole.err" &&
  fail "the restart from an intact chain fell back: $(cat "$WORK/whole.err")"
echo "restart from the chain v4 <- v3 <- v2 <- v1: output as uninterrupted"

# 3. A missing link.
reset_ck
rm "$(image 3)"
"$CAIRN" verify "$CK" > "$WORK/verify3.out" 2> /dev/null && fail "cairn verify passed a broken chain"
grep -q "v4.cimg.*missing" "$WORK/verify3.out" || fail "cairn verify does not name v4's missing link: $(cat "$WORK/verify3.out")"
"$CAIRN" inspect "$(image 4)" 2> /dev/null | grep -q "BROKEN" || fail "cairn inspect does not call v4's chain broken"
run_restart missing
grep -q "trying .*\.v2\.cimg" "$WORK/missing.err" || fail "the restart did not fall back to v2: $(cat "$WORK/missing.err")"
echo "v3 deleted: verify and inspect report v4's chain broken; restart fell back to v2"

# 4. A flipped byte in v2's page data (inside the 512 MiB block it rewrote).
reset_ck
V2=$(image 2)
OFF=$(( $(stat -c %s "$V2") / 2 ))
B=$(dd if="$V2" bs=1 skip="$OFF" count=1 2> /dev/null | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( (B + 1) % 256 )))" | dd of="$V2" bs=1 seek="$OFF" conv=notrunc 2> /dev/null
(cd "$WORK/run" && exec timeout 60 "$CAIRN" restart --ckpt-dir "$CK") > "$WORK/flipped.out" 2> "$WORK/flipped.err"
RC=$?
[ "$RC" -eq 1 ] || fail "the restart from a chain with a flipped byte exited with $RC, not 1"
[ -s "$WORK/flipped.out" ] && fail "the program ran from a corrupt chain: $(cat "$WORK/flipped.out")"
grep -q "v2.cimg': the page data failed verification" "$WORK/flipped.err" ||
  fail "the restorer did not name the corrupt member v2: $(cat "$WORK/flipped.err")"
"$CAIRN" verify "$CK" > "$WORK/verify4.out" 2> /dev/null && fail "cairn verify passed a corrupt chain"
[ "$(grep -c '^CORRUPT' "$WORK/verify4.out")" -eq 3 ] || fail "cairn verify should find v2, v3, v4 corrupt: $(cat "$WORK/verify4.out")"
grep -q "^OK .*v1.cimg" "$WORK/verify4.out" || fail "cairn verify should pass v1: $(cat "$WORK/verify4.out")"
(cd "$WORK/run" && exec timeout 60 "$CAIRN" restart --image "$(image 1)") > "$WORK/flipped1.out" 2> "$WORK/flipped1.err" ||
  fail "the restart from v1 failed: $(cat "$WORK/flipped1.err")"
cmp -s "$WORK/flipped1.out" "$WORK/ref.out" || fail "the restart from v1 printed '$(cat "$WORK/flipped1.out")'"
echo "a byte of v2 flipped: the restorer refuses the chain before the program runs (exit 1),"
echo "  cairn verify finds v2 v3 v4 corrupt and v1 intact, restart --image v1 ends correctly"

# 5. Retention never breaks a chain.
rm -rf "$CK" "$WORK/run" && mkdir -p "$WORK/run"
(cd "$WORK/run" && exec "$CAIRN" launch --ckpt-dir "$CK" --keep 2 --incremental 3 -- "$PROG" "$WORK/run") \
  > "$WORK/launch5.out" 2> "$WORK/launch5.err" &
PID=$!
wait_socket
sleep 0.3
for v in 1 2 3; do ck; sleep 0.1; done
[ "$(versions "$CK")" = "1 2 3 " ] || fail "after v3 (depth 2) the directory holds '$(versions "$CK")', not 1 2 3"
for v in 4 5; do ck; sleep 0.1; done
[ "$(versions "$CK")" = "4 5 " ] || fail "after v5 the directory holds '$(versions "$CK")', not 4 5"
[ "$(depth "$(image 4)")" = 0 ] || fail "v4 is not full (a full image every 3)"
kill -9 "$PID"
wait "$PID" 2> /dev/null
PID=''
echo "retention (--keep 2): v1 v2 v3 kept while v3 needs them, then v4 v5"
echo "PASS (incremental)"
