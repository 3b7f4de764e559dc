#!/usr/bin/env bash
# cairn demo: a 4-rank heat-diffusion job survives a kill -9.
#
#   scripts/demo.sh [BUILD_DIR]        (default ./build; needs examples/heat_veloc, heat_cairn)
#
# For each front end (heat_veloc on the VeloC API, heat_cairn on cairn's API), under a fresh
# temporary directory with its own scratch and persistent levels:
#   1. an uninterrupted run (the reference);
#   2. the same run, slowed down, killed with kill -9 on one rank's process once at least
#      two versions are committed (found by polling the COMMIT records on persistent);
#   3. a restart run, which resumes from the newest checkpoint.
# Prints three RESULT lines (uninterrupted, heat_veloc restarted, heat_cairn restarted) and
# "DEMO OK: restarted result equals uninterrupted result", or
# fails with a non-zero exit status. About 10-20 s on 2 cores.
set -euo pipefail

BUILD=${1:-./build}
NP=4
RANK_TO_KILL=2
ARGS=(--nx 256 --ny 256 --iters 300 --ckpt-every 25)
SLOW=(--sleep-ms 10)

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_mpi_yield_when_idle=1
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$NP")

die() {
  KEEP=1
  echo "DEMO FAILED: $*" >&2
  exit 1
}

command -v mpirun >/dev/null || die "mpirun not found"
for b in heat_veloc heat_cairn; do
  [ -x "$BUILD/examples/$b" ] || die "$BUILD/examples/$b not found (build the examples first)"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-demo.XXXXXX")
JOB=""
cleanup() {
  if [ -n "$JOB" ] && kill -0 "$JOB" 2>/dev/null; then kill -9 "$JOB" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "files kept in $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'KEEP=1' ERR

# cfg DIR: a configuration with scratch and persistent below DIR.
cfg() {
  mkdir -p "$1"
  printf 'scratch = %s/scratch\npersistent = %s/persistent\nmode = sync\n' "$1" "$1" >"$1/cairn.cfg"
  echo "$1/cairn.cfg"
}

# run NAME BIN CFG [extra args]: runs the job to completion; stdout in $T/NAME.out.
run() {
  local name=$1 bin=$2 cfgfile=$3
  shift 3
  timeout -k 5 60 "${MPIRUN[@]}" "$bin" "$cfgfile" "${ARGS[@]}" "$@" >"$T/$name.out" \
    2>"$T/$name.err" || {
    KEEP=1
    tail -n 20 "$T/$name.err" >&2
    die "$name: the job failed"
  }
}

result() { sed -n 's/^RESULT //p' "$1"; }
commits() { find "$1/persistent" -name COMMIT 2>/dev/null | wc -l; }

# killed NAME BIN CFG: starts the slowed-down job, waits for 2 committed versions, kill -9s
# one rank's process and waits for mpirun to tear the job down.
killed() {
  local name=$1 bin=$2 cfgfile=$3 dir t=0 pid="" c
  dir=$(dirname "$cfgfile")
  "${MPIRUN[@]}" "$bin" "$cfgfile" "${ARGS[@]}" "${SLOW[@]}" >"$T/$name.out" 2>"$T/$name.err" &
  JOB=$!
  while [ "$(commits "$dir")" -lt 2 ]; do
    kill -0 "$JOB" 2>/dev/null || die "$name: the job ended before 2 versions were committed"
    [ $t -lt 400 ] || die "$name: no 2 committed versions after 40 s"
    sleep 0.1
    t=$((t + 1))
  done
  for c in $(pgrep -P "$JOB"); do
    if tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$RANK_TO_KILL"; then
      pid=$c
    fi
  done
  [ -n "$pid" ] || die "$name: cannot find the process of rank $RANK_TO_KILL"
  echo "  $(commits "$dir") versions committed: kill -9 $pid (rank $RANK_TO_KILL)"
  kill -9 "$pid"
  if wait "$JOB" 2>/dev/null; then die "$name: the job was not interrupted"; fi
  JOB=""
  [ -z "$(result "$T/$name.out")" ] || die "$name: the killed job printed a RESULT"
}

declare -A REF GOT FROM
for front in heat_veloc heat_cairn; do
  bin=$BUILD/examples/$front
  echo "== $front: $NP ranks, ${ARGS[*]}"
  run "$front-reference" "$bin" "$(cfg "$T/$front-reference")"
  REF[$front]=$(result "$T/$front-reference.out")
  [ -n "${REF[$front]}" ] || die "$front: the uninterrupted run printed no RESULT"
  echo "  uninterrupted run: ${REF[$front]}"
  c=$(cfg "$T/$front")
  killed "$front-killed" "$bin" "$c"
  echo "  killed run:        no result ($(tr '\n' ' ' <"$T/$front-killed.out"))"
  run "$front-restart" "$bin" "$c"
  FROM[$front]=$(sed -n 's/^RESTARTED_FROM //p' "$T/$front-restart.out")
  [ -n "${FROM[$front]}" ] || die "$front: the restart run did not restart from a checkpoint"
  GOT[$front]=$(result "$T/$front-restart.out")
  echo "  restart run:       ${GOT[$front]} (restarted from version ${FROM[$front]})"
done

echo
echo "RESULT ${REF[heat_veloc]}   uninterrupted (heat_veloc; heat_cairn: ${REF[heat_cairn]})"
echo "RESULT ${GOT[heat_veloc]}   heat_veloc, killed, restarted from version ${FROM[heat_veloc]}"
echo "RESULT ${GOT[heat_cairn]}   heat_cairn, killed, restarted from version ${FROM[heat_cairn]}"
[ "${REF[heat_cairn]}" = "${REF[heat_veloc]}" ] || die "the two front ends disagree uninterrupted"
for front in heat_veloc heat_cairn; do
  [ "${GOT[$front]}" = "${REF[$front]}" ] ||
    die "$front: restarted result ${GOT[$front]} != uninterrupted ${REF[$front]}"
done
echo "DEMO OK: restarted result equals uninterrupted result"
