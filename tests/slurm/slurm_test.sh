#!/usr/bin/env bash
# `cairn job` on a real one-node Slurm: starts a private cluster (scripts/slurm/start.sh),
# runs three jobs concurrently through the installed example scripts
# (share/cairn/examples/job-*.sbatch), checks them, and stops the cluster.
#   1. transparent: an unmodified program (150 steps of 1 s), --time=1, USR1@5, total 4:00:
#      must finish across >= 2 requeues with the result of an uninterrupted run;
#   2. library: the same work through the cairn C API (need_checkpoint / should_exit);
#   3. lost node: a transparent job with periodic checkpoints (--interval 5) whose processes
#      are all killed with SIGKILL, then requeued from here: it must resume from its last
#      image and finish with the right result.
# Usage: slurm_test.sh SOURCE_DIR CAIRN WORK_PLAIN WORK_LIBRARY
# Exit 0 pass, 1 fail, 77 skip (no root, Slurm cannot be installed or started).
# CAIRN_SLURM_KEEP=1 keeps the work directory.
set -uo pipefail

src="$1"
cairn="$2"
plain="$3"
library="$4"
steps=150
sleep_ms=1000

skip() {
  echo "SKIP: $*"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip "the Slurm test needs root (slurmd runs jobs as root here)"
if [ ! -x /usr/sbin/slurmctld ] || [ ! -x /usr/sbin/slurmd ] || ! command -v sbatch >/dev/null 2>&1; then
  echo "slurm_test: Slurm is not installed: trying scripts/slurm/install.sh"
  "$src/scripts/slurm/install.sh" || skip "Slurm cannot be installed (scripts/slurm/install.sh failed)"
fi

work="$(mktemp -d /tmp/cairn-slurm-test.XXXXXX)"
chmod 0755 "$work"
# Ports apart from a default Slurm's, so that a cluster already on this machine is not hit.
export CAIRN_SLURM_CTLD_PORT="${CAIRN_SLURM_CTLD_PORT:-16817}"
export CAIRN_SLURM_SLURMD_PORT="${CAIRN_SLURM_SLURMD_PORT:-16818}"
if ! env_out="$("$src/scripts/slurm/start.sh" "$work/cluster" 2>"$work/start.err")"; then
  reason="$(cat "$work/start.err")"
  rm -rf "$work"
  skip "Slurm cannot be started: $reason"
fi
eval "$env_out"
cleanup() {
  "$src/scripts/slurm/stop.sh" "$work/cluster" >/dev/null 2>&1
  if [ "${CAIRN_SLURM_KEEP:-0}" = "1" ]; then
    echo "slurm_test: kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
echo "slurm_test: cluster up ($SLURM_CONF)"

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# --- reference results of uninterrupted runs -------------------------------------------
ref="$("$plain" "$steps" 0)" || { echo "FAIL: reference run of $plain"; exit 1; }
mkdir -p "$work/ref"
printf 'scratch = %s\npersistent = %s\n' "$work/ref/scratch" "$work/ref/persistent" >"$work/ref/cfg"
ref_lib="$("$library" "$steps" 0 "$work/ref/cfg")" || { echo "FAIL: reference run of $library"; exit 1; }
echo "slurm_test: reference: $ref (library: $ref_lib)"
[ "$ref" = "$ref_lib" ] || fail "the two programs disagree on an uninterrupted run"
lost_steps=40
ref_lost="$("$plain" "$lost_steps" 0)"

# --- the library protocol without Slurm: USR1 -> control file -> final checkpoint -> ack ---
mkdir -p "$work/p"
printf 'scratch = %s\npersistent = %s\n' "$work/p/scratch" "$work/p/persistent" >"$work/p/cfg"
(
  cd "$work/p" && exec env -u SLURM_JOB_ID "$cairn" job --ckpt-dir "$work/p" -- \
    "$library" 20 200 "$work/p/cfg" >"$work/p/out1" 2>"$work/p/err1"
) &
jp=$!
sleep 1.5
kill -USR1 $jp
wait $jp
rc=$?
[ $rc -eq 75 ] || fail "[p] cairn job after USR1 outside Slurm: exit $rc, expected 75"
grep -q '^exit work [0-9]' "$work/p"/.cairn/job-local-*.control.ack ||
  fail "[p] no ack 'exit work N' from the library"
grep -q 'final checkpoint requested (signal)' "$work/p/err1" || fail "[p] USR1 not handled"
[ ! -s "$work/p/out1" ] || fail "[p] the interrupted run printed a result"
env -u SLURM_JOB_ID "$cairn" job --ckpt-dir "$work/p" -- "$library" 20 0 "$work/p/cfg" \
  >"$work/p/out2" 2>"$work/p/err2" || fail "[p] the second run failed"
grep -q 'restarted from version' "$work/p/err2" || fail "[p] the second run did not restart"
[ "$(cat "$work/p/out2")" = "$("$plain" 20 0)" ] || fail "[p] wrong result after the restart"
echo "slurm_test: [p] library protocol outside Slurm: $(cat "$work/p/out2") (rc $rc, then 0)"

# --- submit -------------------------------------------------------------------------------
examples="$src/share/cairn/examples"
common=(--parsable --time=1 --signal=B:USR1@5 --requeue --open-mode=append)
mkdir -p "$work/t" "$work/l" "$work/n"
printf 'scratch = %s\npersistent = %s\n' "$work/l/scratch" "$work/l/persistent" >"$work/l/cfg"
jt="$(env CAIRN="$cairn" CAIRN_CKPT_DIR="$work/t" CAIRN_TOTAL=4:00 CAIRN_LEAD=5 \
  sbatch "${common[@]}" -J cairn-t -o "$work/t.out" -e "$work/t.err" -D "$work" \
  "$examples/job-transparent.sbatch" "$plain" "$steps" "$sleep_ms")" || { echo "FAIL: sbatch"; exit 1; }
jl="$(env CAIRN="$cairn" CAIRN_CKPT_DIR="$work/l" CAIRN_TOTAL=5:00 CAIRN_LEAD=5 \
  sbatch "${common[@]}" -J cairn-l -o "$work/l.out" -e "$work/l.err" -D "$work" \
  "$examples/job-library.sbatch" "$library" "$steps" "$sleep_ms" "$work/l/cfg")" || { echo "FAIL: sbatch"; exit 1; }
jn="$(env CAIRN="$cairn" CAIRN_CKPT_DIR="$work/n" CAIRN_TOTAL=10:00 CAIRN_LEAD=5 CAIRN_INTERVAL=5 \
  sbatch --parsable --time=5 --signal=B:USR1@5 --requeue --open-mode=append \
  -J cairn-n -o "$work/n.out" -e "$work/n.err" -D "$work" \
  "$examples/job-transparent.sbatch" "$plain" "$lost_steps" "$sleep_ms")" || { echo "FAIL: sbatch"; exit 1; }
echo "slurm_test: submitted transparent=$jt library=$jl lost-node=$jn"

field() {  # field JOBID KEY -> value from scontrol show job -o
  scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}
finished() {
  case "$(field "$1" JobState)" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | OUT_OF_MEMORY | NODE_FAIL | BOOT_FAIL | DEADLINE) return 0 ;;
    *) return 1 ;;
  esac
}

# --- wait; kill the lost-node job once it has an image --------------------------------------
start=$(date +%s)
killed=0
while true; do
  now=$(date +%s)
  if [ $((now - start)) -gt 540 ]; then
    fail "jobs not finished after 540 s"
    break
  fi
  if [ $killed -eq 0 ] && [ "$(field "$jn" JobState)" = RUNNING ] &&
    ls "$work/n"/*.cimg >/dev/null 2>&1 &&
    [ $(($(date +%s) - $(stat -c %Y "$work/n/.cairn/job-$jn.log"))) -ge 15 ]; then
    pids="$(scontrol listpids "$jn" 2>/dev/null | awk 'NR>1 && $1 ~ /^[0-9]+$/ {print $1}')"
    victims=""
    for p in $pids; do
      [ "$(cat /proc/$p/comm 2>/dev/null)" = slurmstepd ] && continue
      victims="$victims $p"
    done
    echo "slurm_test: losing the node of job $jn: kill -9$victims; images: $(ls "$work/n" | grep -c cimg)"
    [ -n "$victims" ] && kill -9 $victims
    sleep 2
    if ! out="$(scontrol requeue "$jn" 2>&1)"; then fail "scontrol requeue $jn: $out"; fi
    killed=1
  fi
  if finished "$jt" && finished "$jl" && { [ $killed -eq 1 ] && finished "$jn"; }; then break; fi
  sleep 3
done
echo "slurm_test: jobs ended after $(($(date +%s) - start)) s"

# --- checks ---------------------------------------------------------------------------------
check_job() {  # check_job NAME JOBID DIR EXPECTED MIN_SEGMENTS MIN_REQUEUES
  local name="$1" id="$2" dir="$3" expected="$4" min_seg="$5" min_rq="$6"
  local state exitc restarts result ls_json segs rqs done_n
  state="$(field "$id" JobState)"
  exitc="$(field "$id" ExitCode)"
  restarts="$(field "$id" Restarts)"
  result="$(grep '^result ' "$work/$name.out" 2>/dev/null | tail -1)"
  echo "slurm_test: [$name] job $id: $state exit $exitc restarts $restarts; $result"
  "$cairn" ls "$dir" | sed "s/^/slurm_test: [$name]   /"
  ls_json="$("$cairn" ls --json "$dir")"
  segs="$(grep -c '"segment":' <<<"$ls_json")"
  rqs="$(grep -c '"action": "requeue"' <<<"$ls_json")"
  done_n="$(grep -c '"action": "done"' <<<"$ls_json")"
  [ "$state" = COMPLETED ] || fail "[$name] job state $state, expected COMPLETED"
  [ "$exitc" = 0:0 ] || fail "[$name] exit code $exitc, expected 0:0"
  [ "$result" = "$expected" ] || fail "[$name] result '$result', expected '$expected'"
  [ "$(grep -c '^result ' "$work/$name.out")" = 1 ] || fail "[$name] the result was printed more than once"
  [ "$segs" -ge "$min_seg" ] || fail "[$name] $segs segments logged, expected >= $min_seg"
  [ "$rqs" -ge "$min_rq" ] || fail "[$name] $rqs requeues logged, expected >= $min_rq"
  [ "$done_n" = 1 ] || fail "[$name] the last segment is not 'done'"
  [ "$restarts" -ge "$min_rq" ] 2>/dev/null || fail "[$name] Slurm counted $restarts restarts"
}
check_job t "$jt" "$work/t" "$ref" 3 2
check_job l "$jl" "$work/l" "$ref_lib" 3 2
check_job n "$jn" "$work/n" "$ref_lost" 2 0
ls_n="$("$cairn" ls --json "$work/n")"
grep -q '"action": "lost"' <<<"$ls_n" || fail "[n] the killed segment is not shown as lost"
grep -q 'restarting from the newest image' "$work/n.err" || fail "[n] the second segment did not restart from an image"
# It resumed from a checkpoint: the second segment ran for less than the whole work.
used2="$(grep -o '"used":[0-9]*' "$work/n/.cairn/job-$jn.log" | tail -1 | cut -d: -f2)"
[ -n "$used2" ] && [ "$used2" -lt $((lost_steps - 5)) ] ||
  fail "[n] the last segment ran ${used2:-?} s: not resumed from a checkpoint"
grep -q '"action": "requeue"' <<<"$("$cairn" ls --json "$work/l")" || true

if [ $failures -ne 0 ]; then
  for n in t l n; do
    echo "----- $n.err"
    cat "$work/$n.err" 2>/dev/null
    echo "----- $n log"
    cat "$work/$n"/.cairn/job-*.log 2>/dev/null
  done
  echo "----- slurmctld.log (tail)"
  tail -40 "$work/cluster/log/slurmctld.log"
  echo "slurm_test: $failures failure(s)"
  exit 1
fi
echo "slurm_test: PASS (transparent and library jobs across >= 2 requeues, lost-node resume)"
exit 0
