#!/usr/bin/env bash
# Restart refusals and damaged checkpoints of MPI jobs (ctest mpi.bad_inputs, label "mpi"),
# with Open MPI and a small program (programs/mt.h contract; run as PROGRAM 120 40):
#
#   bad_inputs.sh <cairn binary> <program built with Open MPI> <workdir>
#
#  1. `mpirun -np 4 cairn restart --mpi --ckpt-dir EMPTY` on an empty directory: nonzero, an
#     error that mentions the directory, a manifest or a checkpoint; nothing left running.
#  2. launch on 4 ranks, checkpoint --wait (job.v1), kill -9 everything; then
#     `mpirun -np 2` and `mpirun -np 6 ... restart`: nonzero, the message names the 4 ranks
#     of the checkpoint, the program does not run (no PROGRESS line, no RESULT) and no process
#     of the attempt remains;
#  3. one image of job.v1 moved away: restart -np 4 fails naming that image (basename), runs
#     nothing; the image is put back;
#  4. restart -np 4 from the intact job.v1 works (sanity: the refusals above were not caused
#     by a broken checkpoint); once it has progressed a quarter of the steps more,
#     checkpoint --wait (job.v2) and kill -9;
#  5. a byte in the middle of an image of job.v2 flipped: restart -np 4 either fails without
#     running the program, or falls back to job.v1 (its first PROGRESS line is before the step
#     job.v2 was taken at) and ends with the uninterrupted run's RESULT. If the damaged file
#     also belongs to job.v1, only failing is allowed.
# Images are the files of the checkpoint directory a manifest names (by path relative to the
# directory, or by a unique basename). Every wait is bounded (the whole script by
# MPI_BAD_BUDGET, 250 s); failures print the logs. MPI_MATRIX_MPIRUN overrides the launcher.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=mpi_lib.sh
. "$HERE/mpi_lib.sh"

if [ $# -lt 3 ]; then
  echo "usage: $0 <cairn binary> <program built with Open MPI> <workdir>" >&2
  exit 2
fi
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
CAIRN=$(abspath "$1")
PROG_SRC=$(abspath "$2")
W=$(abspath "$3")
W=${W%/}
NAME=$(basename "$PROG_SRC")
TAG="mpitest-bad-$$-$RANDOM$RANDOM"
DEADLINE=$((SECONDS + ${MPI_BAD_BUDGET:-250}))
LAUNCHERS=""
CK=$W/ckpt
read -r -a PROG_ARGS <<< "${MPI_BAD_ARGS:-120 40}"

say() { echo "[$(date +%H:%M:%S)] $*"; }
fail() {
  echo "FAIL (mpi.bad_inputs): $*" >&2
  dump_logs >&2
  kill_job 30 >&2
  exit 1
}
# shellcheck disable=SC2317  # (a trap)
cleanup() {
  [ -n "${W:-}" ] && kill_job 30 > /dev/null 2>&1
  mpi_private_tmp_remove
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM
mpi_private_tmp || { echo "FAIL: cannot create a private TMPDIR" >&2; exit 1; }

MPIRUN=$(mpi_launcher ompi)
if [ -z "$MPIRUN" ] || [ ! -x "$(command -v "$MPIRUN")" ]; then
  echo "FAIL: no Open MPI launcher" >&2
  exit 1
fi
[ -x "$CAIRN" ] || { echo "FAIL: no cairn binary $CAIRN" >&2; exit 1; }
[ -x "$PROG_SRC" ] || { echo "FAIL: no program $PROG_SRC" >&2; exit 1; }
read -r -a ENV <<< "$(mpi_env)"
[ -d "$W" ] && kill_job 30 > /dev/null 2>&1
rm -rf "$W"
mkdir -p "$W/bin" "$W/run" "$W/ref" "$CK" "$W/empty" "$W/aside" || fail "cannot create $W"
cp "$PROG_SRC" "$W/bin/$NAME" || fail "cannot copy $PROG_SRC"
PROG=$W/bin/$NAME

# Runs `mpirun -np $2 ARGS...` (from $3 on) to the end, at most $1 seconds, in W/run; stdout
# to W/<label>.out, stderr to W/<label>.err ($LABEL). Sets RC.
run_job() {
  local limit=$1 np=$2
  shift 2
  (cd "$W/run" && exec timeout -k 5 "$(budget "$limit")" env "${ENV[@]}" "$MPIRUN" -np "$np" "$@") \
    > "$W/$LABEL.out" 2> "$W/$LABEL.err" &
  LPID=$!
  LAUNCHERS="$LPID"
  wait "$LPID"
  RC=$?
  LAUNCHERS=""
}
start_job() { # like run_job, in the background
  local limit=$1 np=$2
  shift 2
  (cd "$W/run" && exec timeout -k 5 "$(budget "$limit")" env "${ENV[@]}" "$MPIRUN" -np "$np" "$@") \
    > "$W/$LABEL.out" 2> "$W/$LABEL.err" &
  LPID=$!
  LAUNCHERS="$LPID"
}
job_running() { kill -0 "$LPID" 2> /dev/null; }
all_output() { cat "$W/$LABEL.out" "$W/$LABEL.err" 2> /dev/null; }

# Waits until W/$LABEL.err reports step >= $1, at most $2 seconds; fails if the job ends.
wait_step() {
  local end=$((SECONDS + $(budget "$2"))) step
  while :; do
    read -r step _ <<< "$(last_progress "$W/$LABEL.err")"
    [ "$step" -ge "$1" ] && return 0
    job_running || { wait "$LPID"; fail "$LABEL: the job ended (status $?) before step $1"; }
    [ $SECONDS -ge $end ] && fail "$LABEL: not at step $1 after $2 s (at $step)"
    sleep 0.1
  done
}

checkpoint_and_kill() { # $1: label of the checkpoint
  local rc
  timeout -k 5 "$(budget 120)" "$CAIRN" checkpoint --ckpt-dir "$CK" --wait > "$W/$1.out" 2> "$W/$1.err" &
  wait $!
  rc=$?
  [ $rc -eq 0 ] || fail "cairn checkpoint --wait ($1) exited with status $rc"
  sleep 0.3
  job_running || fail "$1: the job ended before kill -9"
  kill_job 30 || fail "$1: processes survive kill -9"
  LAUNCHERS=""
}

# A refused restart: nonzero status, nothing of the program ran, nothing left. $1: what.
expect_refusal() {
  [ "$RC" -ne 0 ] || fail "$1: the restart succeeded (status 0)"
  [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ] && fail "$1: the restart hung (killed after its time limit)"
  grep -aq '^PROGRESS \|^RESULT ' "$W/$LABEL.out" "$W/$LABEL.err" &&
    fail "$1: the program ran: $(grep -a '^PROGRESS \|^RESULT ' "$W/$LABEL.out" "$W/$LABEL.err" | head -3)"
  wait_job_gone 15 > "$W/$LABEL.leftover" || fail "$1: processes left: $(cat "$W/$LABEL.leftover")"
}

# Image files of manifest $1 (paths), one per line.
images_of() {
  local m=$CK/$1 f rel base n
  (cd "$CK" && find . -type f ! -name 'job.v*.manifest' ! -path '*/.*' 2> /dev/null) | sort |
    while read -r f; do
      rel=${f#./}
      base=$(basename "$f")
      if grep -aqF -- "$rel" "$m"; then
        echo "$CK/$rel"
      elif grep -aqF -- "$base" "$m"; then
        n=$(find "$CK" -type f -name "$base" | wc -l)
        [ "$n" -eq 1 ] && echo "$CK/$rel"
      fi
    done
}

# --- The reference result (for the fallback case).
say "reference run"
LABEL=ref
(cd "$W/ref" && exec timeout -k 5 "$(budget 120)" env "${ENV[@]}" "$MPIRUN" -np 4 "$PROG" "${PROG_ARGS[@]}") \
  > "$W/ref.out" 2> "$W/ref.err" &
LPID=$!
LAUNCHERS="$LPID"
wait "$LPID"
RC=$?
LAUNCHERS=""
[ $RC -eq 0 ] || fail "the reference run exited with status $RC"
REF_RESULT=$(grep -a '^RESULT ' "$W/ref.out" | tail -n 1)
[ -n "$REF_RESULT" ] || fail "the reference run printed no RESULT"
read -r _ STEPS <<< "$(last_progress "$W/ref.err")"
[ "$STEPS" -gt 0 ] || fail "the reference run printed no PROGRESS lines"

# --- 1. An empty checkpoint directory.
say "1. restart from an empty directory"
LABEL=empty
run_job 60 4 "$CAIRN" restart --mpi --ckpt-dir "$W/empty"
expect_refusal "restart from an empty directory"
all_output | grep -aqiE -- "$W/empty|manifest|checkpoint" ||
  fail "restart from an empty directory: no clear error (nothing about the directory, a manifest or a checkpoint)"

# --- 2. A checkpoint of 4 ranks, restarted on 2 and on 6.
say "2. launch on 4 ranks, checkpoint, kill -9"
LABEL=launch
start_job 200 4 "$CAIRN" launch --mpi --ckpt-dir "$CK" -- "$PROG" "${PROG_ARGS[@]}"
wait_step $((STEPS / 4)) 120
checkpoint_and_kill ckpt1
M1=$(manifests "$CK" | tail -n 1)
[ -n "$M1" ] || fail "no job.v*.manifest after the checkpoint"
read -r AT1 _ <<< "$(last_progress "$W/launch.err")"
say "   $M1 (at step ~$AT1)"
for np in 2 6; do
  say "2. restart of a 4-rank checkpoint with -np $np"
  LABEL=np$np
  run_job 60 "$np" "$CAIRN" restart --mpi --ckpt-dir "$CK"
  expect_refusal "restart with -np $np"
  # shellcheck disable=SC2015  # (fail unless both match)
  all_output | grep -aqw 4 && all_output | grep -aqi 'rank\|process\|-np\|size' ||
    fail "restart with -np $np: the message does not mention the 4 ranks of the checkpoint"
done
[ -f "$CK/$M1" ] || fail "a refused restart removed $M1"

# --- 3. An image of job.v1 missing.
mapfile -t IMAGES1 < <(images_of "$M1")
[ ${#IMAGES1[@]} -gt 0 ] || fail "cannot tell the images of $M1 (no file of $CK named in it): $(head -c 600 "$CK/$M1")"
VICTIM=${IMAGES1[$(( ${#IMAGES1[@]} > 1 ? 1 : 0 ))]}
say "3. restart with $(basename "$VICTIM") missing (one of ${#IMAGES1[@]} images)"
mv "$VICTIM" "$W/aside/" || fail "cannot move $VICTIM"
LABEL=missing
run_job 60 4 "$CAIRN" restart --mpi --ckpt-dir "$CK"
mv "$W/aside/$(basename "$VICTIM")" "$VICTIM" || fail "cannot put $VICTIM back"
expect_refusal "restart with a missing image"
all_output | grep -aqF -- "$(basename "$VICTIM")" ||
  fail "restart with a missing image: the message does not name $(basename "$VICTIM")"

# --- 4. The intact checkpoint restarts; a second checkpoint.
say "4. restart from the intact $M1, checkpoint again, kill -9"
LABEL=restart1
start_job 200 4 "$CAIRN" restart --mpi --ckpt-dir "$CK"
wait_step $((AT1 + STEPS / 4)) 120
read -r AT2 _ <<< "$(last_progress "$W/restart1.err")"
checkpoint_and_kill ckpt2
M2=$(manifests "$CK" | tail -n 1)
# shellcheck disable=SC2015
[ -n "$M2" ] && [ "$M2" != "$M1" ] || fail "no new manifest after the second checkpoint"
say "   $M2 (after step $AT2)"

# --- 5. A flipped byte in an image of job.v2.
mapfile -t IMAGES2 < <(images_of "$M2")
[ ${#IMAGES2[@]} -gt 0 ] || fail "cannot tell the images of $M2: $(head -c 600 "$CK/$M2")"
VICTIM=""
for f in "${IMAGES2[@]}"; do
  [ -z "$VICTIM" ] || [ "$(stat -c %s "$f")" -gt "$(stat -c %s "$VICTIM")" ] && VICTIM=$f
done
SHARED=0
for f in "${IMAGES1[@]}"; do [ "$f" = "$VICTIM" ] && SHARED=1; done
SIZE=$(stat -c %s "$VICTIM")
OFF=$((SIZE / 2))
say "5. flip the byte at $OFF of $(basename "$VICTIM") ($SIZE bytes; also in $M1: $SHARED)"
BYTE=$(od -An -tu1 -j "$OFF" -N 1 "$VICTIM" | tr -d ' ')
# shellcheck disable=SC2059  # (an octal escape as the format: the byte)
printf "$(printf '\\%03o' $(((BYTE ^ 0xff) & 0xff)))" |
  dd of="$VICTIM" bs=1 seek="$OFF" count=1 conv=notrunc status=none || fail "cannot flip a byte"
[ "$(od -An -tu1 -j "$OFF" -N 1 "$VICTIM" | tr -d ' ')" != "$BYTE" ] || fail "the byte did not change"
LABEL=corrupt
run_job 150 4 "$CAIRN" restart --mpi --ckpt-dir "$CK"
if [ "$RC" -ne 0 ]; then
  expect_refusal "restart from a corrupt image"
  say "   refused (status $RC)"
else
  [ $SHARED -eq 0 ] || fail "restart from a corrupt image ran (the damaged file belongs to every checkpoint)"
  FIRST=$(grep -a '^PROGRESS ' "$W/corrupt.err" | head -n 1 | awk '{print $3}')
  [ -n "$FIRST" ] || fail "the restart after the corruption printed no PROGRESS line"
  [ "$FIRST" -le "$AT2" ] ||
    fail "restart from a corrupt image resumed at step $FIRST, after $M2 was taken (step $AT2): it ran from the corrupt checkpoint"
  GOT=$(grep -a '^RESULT ' "$W/corrupt.out" | tail -n 1)
  [ "$GOT" = "$REF_RESULT" ] || fail "the fallback restart gave '$GOT', not '$REF_RESULT'"
  grep -aq '^OK$' "$W/corrupt.out" || fail "the fallback restart printed no OK"
  wait_job_gone 15 > "$W/corrupt.leftover" || fail "processes left: $(cat "$W/corrupt.leftover")"
  say "   fell back to $M1 (first progress at step $FIRST) and finished with the reference result"
fi
[ "${MPI_MATRIX_KEEP:-0}" = 1 ] || rm -rf "$CK" # large images: kept only on failure
say "PASS (mpi.bad_inputs)"
exit 0
