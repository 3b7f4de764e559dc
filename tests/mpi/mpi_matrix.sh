#!/usr/bin/env bash
# Transparent checkpoint/restart of an unmodified MPI job (ctest label "mpi").
#
#   mpi_matrix.sh <ompi|mpich> <cairn binary> <program> <workdir> [np=4]
#
# <program> follows the contract of programs/mt.h (RESULT + OK from rank 0 at the end,
# "PROGRESS <name> <step> <steps>" lines on stderr). It is copied to <workdir>/bin/, so that
# every process of the run has <workdir>/ in its command line. Stages (W = <workdir>):
#  1. reference: `mpirun -np NP PROGRAM` without cairn, in W/ref (stdout W/ref.out: must hold
#     RESULT and OK); its duration sets the patience of the later stages;
#  2. `mpirun -np NP cairn launch --mpi --ckpt-dir W/ckpt -- PROGRAM` in W/run, in the
#     background (stdout W/run.out, stderr W/launch.err); once rank 0 reports a third of its
#     steps (or, without PROGRESS lines, a third of the reference duration), `cairn checkpoint
#     --ckpt-dir W/ckpt --wait` (status 0, a new job.v<N>.manifest), MPI_MATRIX_KILL_DELAY
#     seconds more (0.3), then kill -9 of mpirun, every rank and every daemon of the run;
#  3. `mpirun -np NP cairn restart --mpi --ckpt-dir W/ckpt` (stdout appended to W/run.out),
#     once it has progressed (a sixth of the steps more, or a while), checkpoint --wait and
#     kill -9 again; restart again and let it finish (bounded: MPI_MATRIX_FINAL_TIMEOUT, by
#     default max(120 s, 6 x the reference duration));
#     all limits are cut to fit a budget of MPI_MATRIX_BUDGET (250) seconds for the whole run;
#  4. the RESULT line of the last segment must equal the reference's, OK must follow, no FAIL;
#  5. no process of the run may be left (program, cairn, mpirun, orted, hydra_pmi_proxy, a
#     coordinator daemon).
# Any failure prints what happened (the last 40 lines of each log, ls -la W/ckpt), kills
# everything of the run and exits 1. Every wait is bounded.
#
# Environment: MPI_MATRIX_MPIRUN (launcher; default mpirun.openmpi or mpirun for ompi,
# mpirun.mpich for mpich), MPI_MATRIX_ARGS (program arguments, e.g. "60 20" for a quick run),
# MPI_MATRIX_KILL_DELAY, MPI_MATRIX_FINAL_TIMEOUT, MPI_MATRIX_KEEP=1 (keep W/ckpt after a
# pass; it is removed otherwise), MPI_MATRIX_LAUNCH (replaces
# "CAIRN launch --mpi --ckpt-dir W/ckpt --" by a word list, e.g. "env" to check the harness
# itself without cairn: then set MPI_MATRIX_STAGES=1 or 2), MPI_MATRIX_EXPECT_LOG (an extended
# regular expression: cairn logs at level info into W/cairn.log, which must match it at the
# end; a test that a path of the protocol was taken). Whether a checkpoint takes such a path can
# depend on where the ranks happen to be when it begins: while W/cairn.log does not match yet,
# more checkpoints of the running job are taken (the job goes on after each; restarts use the
# newest): in stage 2 from a tenth of the steps until the third, after checkpoint 1 until half
# the steps, in stage 3 after checkpoint 2 until two thirds (each time at most
# MPI_MATRIX_EXPECT_TRIES, default 6, and 20 s; without PROGRESS lines, only after checkpoints
# 1 and 2, for a sixth of the reference duration). The final check stays: no match, no pass.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=mpi_lib.sh
. "$HERE/mpi_lib.sh"

if [ $# -lt 4 ]; then
  echo "usage: $0 <ompi|mpich> <cairn binary> <program> <workdir> [np=4]" >&2
  exit 2
fi
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
MPI=$1
CAIRN=$(abspath "$2")
PROG_SRC=$(abspath "$3")
W=$(abspath "$4")
W=${W%/}
NP=${5:-4}
NAME=$(basename "$PROG_SRC")
TAG="mpitest-$NAME-$MPI-$$-$RANDOM$RANDOM"
LAUNCHERS=""
KILL_DELAY=${MPI_MATRIX_KILL_DELAY:-0.3}
EXPECT_TRIES=${MPI_MATRIX_EXPECT_TRIES:-6}
STAGES=${MPI_MATRIX_STAGES:-3}
# Every stage's time limit is cut so that the whole run ends within the budget, before ctest's
# TIMEOUT (300 s) would kill the harness without its clean-up.
DEADLINE=$((SECONDS + ${MPI_MATRIX_BUDGET:-250}))
read -r -a PROG_ARGS <<< "${MPI_MATRIX_ARGS:-}"

say() { echo "[$(date +%H:%M:%S)] $*"; }
fail() {
  echo "FAIL (mpi.$MPI.$NAME): $*" >&2
  dump_logs >&2
  kill_job 30 >&2
  exit 1
}
# shellcheck disable=SC2317  # (a trap)
cleanup() {
  # On every exit: nothing of the run may outlive the harness.
  [ -n "${W:-}" ] && kill_job 30 > /dev/null 2>&1
  mpi_private_tmp_remove
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM
mpi_private_tmp || { echo "FAIL: cannot create a private TMPDIR" >&2; exit 1; }

case "$MPI" in ompi | mpich) ;; *) echo "unknown MPI '$MPI' (ompi|mpich)" >&2; exit 2 ;; esac
MPIRUN=$(mpi_launcher "$MPI")
if [ -z "$MPIRUN" ] || [ ! -x "$(command -v "$MPIRUN")" ]; then
  echo "FAIL: no launcher for $MPI" >&2
  exit 1
fi
[ -x "$CAIRN" ] || { echo "FAIL: no cairn binary $CAIRN" >&2; exit 1; }
[ -x "$PROG_SRC" ] || { echo "FAIL: no program $PROG_SRC" >&2; exit 1; }
for tool in timeout ps grep awk; do
  command -v $tool > /dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }
done
read -r -a ENV <<< "$(mpi_env)"
if [ -n "${MPI_MATRIX_EXPECT_LOG:-}" ]; then
  ENV+=("CAIRN_LOG=info" "CAIRN_LOG_FILE=$W/cairn.log")
fi

# A stale run in the same directory (an earlier, interrupted harness) is killed first.
if [ -d "$W" ]; then
  kill_job 30 > /dev/null 2>&1
fi
rm -rf "$W"
mkdir -p "$W/bin" "$W/ref" "$W/run" "$W/ckpt" || fail "cannot create $W"
cp "$PROG_SRC" "$W/bin/$NAME" || fail "cannot copy $PROG_SRC"
PROG=$W/bin/$NAME

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# "a >= b" for decimals
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

# Starts a launcher in the background: $1 log of stderr, $2 seconds allowed, the rest the
# command after mpirun. stdout is appended to W/run.out. Sets LPID.
start_job() {
  local err=$1 limit=$2
  shift 2
  (cd "$W/run" && exec timeout -k 5 "$limit" env "${ENV[@]}" "$MPIRUN" -np "$NP" "$@") \
    >> "$W/run.out" 2> "$err" &
  LPID=$!
  LAUNCHERS="$LAUNCHERS $LPID"
}

job_running() { kill -0 "$LPID" 2> /dev/null; }

# Waits until the job's stderr ($1) reports step >= $2 (of its PROGRESS lines) or $3 seconds
# pass; fails if the job ends first. Echoes how it ended: "progress" or "timeout".
wait_progress() {
  local err=$1 target=$2 limit=$3 start step
  start=$(now)
  while :; do
    read -r step _ <<< "$(last_progress "$err")"
    if [ "$step" -ge "$target" ]; then
      echo progress
      return 0
    fi
    job_running || return 1
    if ge "$(elapsed "$start")" "$limit"; then
      echo timeout
      return 0
    fi
    sleep 0.1
  done
}

# `cairn checkpoint --wait` (#$1); a new manifest must appear. Sets MANIFEST.
checkpoint() {
  local n=$1 before after rc
  before=$(manifests "$W/ckpt")
  job_running || fail "checkpoint $n: the job is not running (it ended before the checkpoint)"
  say "checkpoint $n"
  # In the background + wait: a signal to the harness is handled at once (not after the command).
  timeout -k 5 "$(budget 120)" "$CAIRN" checkpoint --ckpt-dir "$W/ckpt" --wait > "$W/ckpt$n.out" 2> "$W/ckpt$n.err" &
  wait $!
  rc=$?
  [ $rc -eq 0 ] || fail "cairn checkpoint --wait ($n) exited with status $rc"
  after=$(manifests "$W/ckpt")
  MANIFEST=$(comm -13 <(echo "$before" | sort) <(echo "$after" | sort) | sort -t v -k 2 -n | tail -n 1)
  [ -n "$MANIFEST" ] || fail "checkpoint $n: no new job.v*.manifest in $W/ckpt"
  [ -s "$W/ckpt/$MANIFEST" ] || fail "checkpoint $n: $MANIFEST is empty"
  say "checkpoint $n: $MANIFEST"
}

# Kills the whole job with -9 after the checkpoint (#$1).
kill_after_checkpoint() {
  sleep "$KILL_DELAY"
  job_running || fail "cycle $1: the job ended before kill -9 (too short a run?)"
  say "kill -9 of the job"
  kill_job 30 || fail "cycle $1: processes survive kill -9"
  LAUNCHERS=""
}

result_of() { grep -a '^RESULT ' "$1" | tail -n 1; }

# Does W/cairn.log match MPI_MATRIX_EXPECT_LOG (true when none is expected)?
expect_log_seen() {
  [ -z "${MPI_MATRIX_EXPECT_LOG:-}" ] && return 0
  grep -aEq -- "$MPI_MATRIX_EXPECT_LOG" "$W/cairn.log" 2> /dev/null
}

# While the log does not match MPI_MATRIX_EXPECT_LOG, more checkpoints of the running job
# (#$1.1, #$1.2, ...; stderr $2 for its PROGRESS): only while it reports a step below $3, so that
# enough of the run is left for what follows (a round may begin 20-30 steps beyond the last
# report, which comes every STEPS/20 steps, and late; no bound without PROGRESS lines), for at
# most $4 seconds and MPI_MATRIX_EXPECT_TRIES checkpoints. Sets MANIFEST, and MORE to how many
# it took.
more_checkpoints() {
  local id=$1 err=$2 below=$3 limit=$4 start step
  MORE=0
  [ -n "${MPI_MATRIX_EXPECT_LOG:-}" ] || return 0
  start=$(now)
  while ! expect_log_seen; do
    if [ "$MORE" -ge "$EXPECT_TRIES" ] || ge "$(elapsed "$start")" "$limit" || ! job_running; then
      break
    fi
    read -r step _ <<< "$(last_progress "$err")"
    [ "${STEPS:-0}" -gt 0 ] && [ "$step" -ge "$below" ] && break
    # Some time for the job between two rounds; a random phase of its step.
    sleep "$(printf '0.%02d' $((5 + RANDOM % 10)))"
    job_running || break
    MORE=$((MORE + 1))
    say "log: no line matches '$MPI_MATRIX_EXPECT_LOG' yet; one more checkpoint (at step $step)"
    checkpoint "$id.$MORE"
  done
  expect_log_seen && [ "$MORE" -gt 0 ] && say "log: matches after checkpoint $id.$MORE"
  return 0
}

# --- 1. The uninterrupted reference.
say "reference: $MPIRUN -np $NP $PROG ${PROG_ARGS[*]:-}"
T0=$(now)
(cd "$W/ref" && exec timeout -k 5 "$(budget 120)" env "${ENV[@]}" "$MPIRUN" -np "$NP" "$PROG" "${PROG_ARGS[@]}") \
  > "$W/ref.out" 2> "$W/ref.err" &
LPID=$!
LAUNCHERS="$LPID"
wait "$LPID"
RC=$?
REF_DUR=$(elapsed "$T0")
LAUNCHERS=""
[ $RC -eq 0 ] || fail "the reference run exited with status $RC"
grep -aq '^FAIL' "$W/ref.out" && fail "the reference run reported a failure"
REF_RESULT=$(result_of "$W/ref.out")
[ -n "$REF_RESULT" ] || fail "the reference run printed no RESULT line"
grep -aq '^OK$' "$W/ref.out" || fail "the reference run printed no OK"
wait_job_gone 10 > "$W/leftover-ref.txt" || fail "the reference run left processes: $(cat "$W/leftover-ref.txt")"
say "reference: $REF_RESULT in ${REF_DUR}s"
[ "$STAGES" -ge 2 ] || { say "PASS (reference only)"; exit 0; }

# Patience, scaled by the reference duration (cairn may be slower, the machine may be busy).
REF_INT=${REF_DUR%.*}
[ "$REF_INT" -ge 1 ] 2> /dev/null || REF_INT=1
START_LIMIT=$(budget $((REF_INT * 2 + 30)))   # to reach a third of the steps after `launch`
RESUME_LIMIT=$(budget $((REF_INT + 30)))       # to progress after a restart
FINAL_LIMIT=${MPI_MATRIX_FINAL_TIMEOUT:-$((REF_INT * 6 > 120 ? REF_INT * 6 : 120))}
read -r _ STEPS <<< "$(last_progress "$W/ref.err")"
# Time for the checkpoints more_checkpoints adds, each time (bounded by steps when it has them).
if [ "${STEPS:-0}" -gt 0 ]; then
  MORE_LIMIT=20
else
  MORE_LIMIT=$(awk -v d="$REF_DUR" 'BEGIN { print d / 6 }')
fi

if [ -n "${MPI_MATRIX_LAUNCH:-}" ]; then
  read -r -a LAUNCH <<< "$MPI_MATRIX_LAUNCH"
else
  LAUNCH=("$CAIRN" launch --mpi --ckpt-dir "$W/ckpt" --)
fi
RESTART=("$CAIRN" restart --mpi --ckpt-dir "$W/ckpt")

# --- 2. Launch under cairn, checkpoint at a third, kill -9.
say "launch: $MPIRUN -np $NP ${LAUNCH[*]} $PROG ${PROG_ARGS[*]:-}"
start_job "$W/launch.err" $((START_LIMIT + FINAL_LIMIT)) "${LAUNCH[@]}" "$PROG" "${PROG_ARGS[@]}"
if [ "${STEPS:-0}" -gt 0 ] && [ -n "${MPI_MATRIX_EXPECT_LOG:-}" ] && [ "$STAGES" -ge 3 ]; then
  # Checkpoints before the first one too, while the log does not show the expected path.
  if ! how=$(wait_progress "$W/launch.err" $((STEPS / 10)) "$START_LIMIT"); then
    wait "$LPID"
    fail "the launched job ended (status $?) before a tenth of its steps"
  fi
  [ "$how" = progress ] && more_checkpoints 0 "$W/launch.err" $((STEPS / 3)) "$MORE_LIMIT"
fi
if [ "${STEPS:-0}" -gt 0 ]; then
  if ! how=$(wait_progress "$W/launch.err" $((STEPS / 3)) "$START_LIMIT"); then
    wait "$LPID"
    fail "the launched job ended (status $?) before a third of its steps"
  fi
  if [ "$how" = timeout ]; then
    read -r got _ <<< "$(last_progress "$W/launch.err")"
    [ "$got" -gt 0 ] || fail "the launched job reported no progress in ${START_LIMIT}s"
    say "launch: only at step $got of $STEPS after ${START_LIMIT}s; checkpointing anyway"
  fi
else
  sleep "$(awk -v d="$REF_DUR" 'BEGIN { print d / 3 }')"
fi
read -r AT1 _ <<< "$(last_progress "$W/launch.err")"
say "launch: at step $AT1 of $STEPS"
if [ "$STAGES" -lt 3 ]; then
  # Harness check without cairn: kill the plainly launched job and check that it is gone.
  sleep "$KILL_DELAY"
  job_running || fail "the job ended before kill -9"
  kill_job 30 || fail "processes survive kill -9"
  LAUNCHERS=""
  wait_job_gone 5 > "$W/leftover.txt" || fail "processes left after kill -9: $(cat "$W/leftover.txt")"
  say "PASS (reference and kill only)"
  exit 0
fi
checkpoint 1
more_checkpoints 1 "$W/launch.err" $((STEPS / 2)) "$MORE_LIMIT"
if [ "$MORE" -gt 0 ]; then
  read -r AT1 _ <<< "$(last_progress "$W/launch.err")"
  say "launch: at step $AT1 of $STEPS"
fi
kill_after_checkpoint 1

# --- 3. Restart, checkpoint again, kill -9; restart and let it finish.
say "restart 1: $MPIRUN -np $NP ${RESTART[*]}"
start_job "$W/restart1.err" $((RESUME_LIMIT + FINAL_LIMIT)) "${RESTART[@]}"
if [ "${STEPS:-0}" -gt 0 ]; then
  if ! how=$(wait_progress "$W/restart1.err" $((AT1 + STEPS / 6 + 1)) "$RESUME_LIMIT"); then
    wait "$LPID"
    fail "the first restart ended (status $?) before it progressed"
  fi
  [ "$how" = timeout ] && say "restart 1: no progress report after ${RESUME_LIMIT}s; checkpointing anyway"
else
  sleep "$(awk -v d="$REF_DUR" 'BEGIN { print d / 4 }')"
fi
read -r AT2 _ <<< "$(last_progress "$W/restart1.err")"
say "restart 1: at step $AT2 of $STEPS"
checkpoint 2
more_checkpoints 2 "$W/restart1.err" $((STEPS * 2 / 3)) "$MORE_LIMIT"
kill_after_checkpoint 2

say "restart 2 (to the end): $MPIRUN -np $NP ${RESTART[*]}"
FINAL_FROM=$(stat -c %s "$W/run.out" 2> /dev/null || echo 0)
T2=$(now)
FINAL_LIMIT=$(budget "$FINAL_LIMIT")
start_job "$W/restart2.err" "$FINAL_LIMIT" "${RESTART[@]}"
wait "$LPID"
RC=$?
LAUNCHERS=""
T2_DUR=$(elapsed "$T2")
case $RC in
  0) ;;
  124 | 137)
    if ge "$T2_DUR" "$FINAL_LIMIT"; then
      fail "the second restart did not finish within ${FINAL_LIMIT}s (status $RC)"
    else
      fail "the second restart was killed (status $RC) after ${T2_DUR}s, before its time limit: by someone else?"
    fi
    ;;
  *) fail "the second restart exited with status $RC after ${T2_DUR}s" ;;
esac
say "restart 2: finished in ${T2_DUR}s"

# --- 4. Compare with the reference.
tail -c +$((FINAL_FROM + 1)) "$W/run.out" > "$W/final.out"
grep -aq '^FAIL' "$W/run.out" && fail "a check failed under cairn: $(grep -a '^FAIL' "$W/run.out" | head -3)"
FINAL_RESULT=$(result_of "$W/final.out")
[ -n "$FINAL_RESULT" ] || fail "the last segment printed no RESULT line"
[ "$FINAL_RESULT" = "$REF_RESULT" ] ||
  fail "RESULT differs: '$FINAL_RESULT' after two restarts, '$REF_RESULT' uninterrupted"
grep -aq '^OK$' "$W/final.out" || fail "the last segment printed no OK"
[ "$(grep -ac '^RESULT ' "$W/run.out")" -eq 1 ] ||
  fail "RESULT printed more than once: $(grep -a '^RESULT ' "$W/run.out" | tr '\n' ';')"

if [ -n "${MPI_MATRIX_EXPECT_LOG:-}" ]; then
  grep -aEq -- "$MPI_MATRIX_EXPECT_LOG" "$W/cairn.log" 2> /dev/null ||
    fail "cairn's log ($W/cairn.log) never says '$MPI_MATRIX_EXPECT_LOG'"
  say "log: $(grep -aEc -- "$MPI_MATRIX_EXPECT_LOG" "$W/cairn.log") lines match '$MPI_MATRIX_EXPECT_LOG'"
fi

# --- 5. Nothing left behind.
wait_job_gone 15 > "$W/leftover.txt" || fail "processes left behind: $(cat "$W/leftover.txt")"
# The images are large (the MPI library's shared memory included): kept only on failure, or
# with MPI_MATRIX_KEEP=1.
[ "${MPI_MATRIX_KEEP:-0}" = 1 ] || rm -rf "$W/ckpt"
say "PASS (mpi.$MPI.$NAME): $FINAL_RESULT"
exit 0
