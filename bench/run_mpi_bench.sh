#!/usr/bin/env bash
# Split-process MPI checkpointing (docs/mpi.md), against native runs in the same session:
#   - run-time overhead without checkpoints: 8-byte and 4 MiB ping-pong (2 ranks), allreduce
#     loops (2 and 4 ranks), native mpirun vs `cairn launch --mpi`; LAMMPS (`lmp`, package
#     lammps, when installed: the Lennard-Jones melt on 4 ranks, wall time);
#   - checkpoint of 4 ranks x MIB MiB (`cairn checkpoint --wait`, manifest committed) against
#     4 raw writers of the same bytes (pwrite + fdatasync) to the same directory;
#   - restart until every rank runs again (`mpirun cairn restart --mpi` until the next step)
#     against 4 raw reads of the images into fresh memory, and against the same reads made by
#     4 ranks that the same launcher starts (the launcher's own start-up, ~2 s for Open MPI's
#     mpirun here, is in both then).
# Best of REPS runs each; figures are ratios (baseline / cairn for times: 1.0 = parity).
#   bench/run_mpi_bench.sh BUILD_DIR [--mpi ompi|mpich] [--mib 512] [--reps 3] [--dir DIR]
#                          [--only overhead|ckpt]
# Needs: BUILD_DIR/cairn, libcairn_preload.so, libcairn_mpi_<abi>.so, cairn-restorer.
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
build=$(cd "$1" && pwd)
shift
mpi=ompi mib=512 reps=3 dir=/var/tmp/cairn-mpi-bench only=
while [ $# -gt 0 ]; do
  case $1 in
    --mpi) mpi=$2; shift 2 ;;
    --mib) mib=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "run_mpi_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
case $mpi in
  ompi) cc=mpicc; run=mpirun ;;
  mpich) cc=mpicc.mpich; run=mpirun.mpich ;;
  *) echo "run_mpi_bench.sh: --mpi ompi|mpich" >&2; exit 2 ;;
esac
cairn=$build/cairn
src=$(cd "$(dirname "$0")" && pwd)/mpi/mpi_bench_app.c
work=$dir/$mpi
rm -rf "$work"
mkdir -p "$work"
app=$work/mpi_bench_app
$cc -O2 -o "$app" "$src"

best() { sort -g | head -1; }
# usec of one native / cairn run of the app (prints the "usec" figure)
usec() {  # np mode args...
  local np=$1
  shift
  timeout -s KILL 300 $run -np "$np" "$@" 2>/dev/null | awk '/^usec/ {print $2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

if [ "$only" != ckpt ]; then
echo "== $mpi: run-time overhead (best of $reps; ratio = native time / cairn time)"
printf '%-28s %12s %12s %8s\n' test native_us cairn_us ratio
# (2 ranks: one per core; on 4 ranks the 2 cores are oversubscribed and the time per
# collective is mostly the scheduler's: sched_yield and task switches.)
for t in "pingpong 8 200000:2" "pingpong 4194304 200:2" "allreduce 1 200000:2" "allreduce 1 20000:4" \
  "allreduce 4096 2000:4"; do
  args=${t%:*}
  np=${t#*:}
  n=$(for i in $(seq "$reps"); do usec "$np" "$app" $args; done | best)
  c=$(for i in $(seq "$reps"); do
        usec "$np" "$cairn" launch --mpi --ckpt-dir "$work/ck-overhead" -- "$app" $args
      done | best)
  printf '%-28s %12s %12s %8s\n' "$args ($np ranks)" "$n" "$c" "$(ratio "$n" "$c")"
done
if lmp_bin=$(command -v lmp) && [ "$mpi" = ompi ]; then
  cp "$(dirname "$src")/../../tests/mpi/inputs/in.melt" "$work/in.melt"
  lmp_usec() {  # wall time of one run, in microseconds
    local t0 t1
    t0=$(date +%s%N)
    (cd "$work" && timeout -s KILL 600 "$@" > /dev/null 2>&1) || { echo 0; return; }
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
  }
  lmp_args=(-in in.melt -log none -var n 12 -var steps 6000)
  n=$(for i in $(seq "$reps"); do lmp_usec $run -np 4 "$lmp_bin" "${lmp_args[@]}"; done | best)
  c=$(for i in $(seq "$reps"); do
        lmp_usec $run -np 4 "$cairn" launch --mpi --ckpt-dir "$work/ck-overhead" -- "$lmp_bin" \
          "${lmp_args[@]}"
      done | best)
  printf '%-28s %12s %12s %8s\n' "lmp melt 12^3 (4 ranks)" "$n" "$c" "$(ratio "$n" "$c")"
fi
fi
[ "$only" = overhead ] && exit 0

kill_job() {  # this benchmark's job only (its launcher, ranks and the launcher's daemons)
  local pids
  pids=$(pgrep -f "$work/ck" || true)
  for p in $pids; do pkill -9 -P "$p" 2>/dev/null || true; done
  pkill -9 -f "$work/ck" 2>/dev/null || true
  pkill -9 -x mpi_bench_app 2>/dev/null || true
  sleep 0.5
}
wait_for() {  # file pattern count timeout_s
  local end=$((SECONDS + $4))
  while [ $SECONDS -lt $end ]; do
    [ "$(grep -c "$2" "$1" 2>/dev/null || true)" -ge "$3" ] && return 0
    sleep 0.02
  done
  return 1
}
now() { date +%s.%N; }

echo "== $mpi: checkpoint and restart, 4 ranks x $mib MiB (best of $reps)"
ck_best=999999 raw_best=999999 rs_best=999999 rr_best=999999 lr_best=999999 bytes=0
for i in $(seq "$reps"); do
  ck=$work/ck
  rm -rf "$ck"
  mkdir -p "$ck"
  ($run -np 4 "$cairn" launch --mpi --ckpt-dir "$ck" -- "$app" hold "$mib" 600 > "$work/run.out" 2>/dev/null &)
  wait_for "$work/run.out" '^ready' 1 300 || { echo "the job did not start" >&2; exit 1; }
  sleep 1
  t0=$(now)
  "$cairn" checkpoint --ckpt-dir "$ck" --wait > "$work/ckpt.out"
  t1=$(now)
  kill_job
  ck_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  bytes=$(awk '/^bytes/ {print $2}' "$work/ckpt.out")
  # Raw: 4 writers of the same bytes each, same directory.
  per=$((bytes / 4 / 1048576 + 1))
  t0=$(now)
  for r in 0 1 2 3; do "$app" rawwrite "$ck/raw.$r" "$per" & done
  wait
  t1=$(now)
  raw_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  rm -f "$ck"/raw.*
  # Restart until the job steps again.
  : > "$work/run2.out"
  t0=$(now)
  ($run -np 4 "$cairn" restart --mpi --ckpt-dir "$ck" > "$work/run2.out" 2>/dev/null &)
  wait_for "$work/run2.out" '^step' 1 300 || { echo "the restart did not run" >&2; exit 1; }
  t1=$(now)
  kill_job
  rs_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  t0=$(now)
  for f in "$ck"/*.cimg; do "$app" rawread "$f" & done
  wait
  t1=$(now)
  rr_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  # The same reads by 4 ranks of the same launcher (rank r reads the r-th image).
  t0=$(now)
  $run -np 4 sh -c 'r=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-0}}; f=$(ls "$1"/*.cimg | sed -n "$((r + 1))p"); exec "$2" rawread "$f"' \
    sh "$ck" "$app" > /dev/null 2>&1
  t1=$(now)
  lr_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  lr_best=$(printf '%s\n%s\n' "$lr_best" "$lr_s" | best)
  ck_best=$(printf '%s\n%s\n' "$ck_best" "$ck_s" | best)
  raw_best=$(printf '%s\n%s\n' "$raw_best" "$raw_s" | best)
  rs_best=$(printf '%s\n%s\n' "$rs_best" "$rs_s" | best)
  rr_best=$(printf '%s\n%s\n' "$rr_best" "$rr_s" | best)
  pkill -f "coordinator --daemon --ckpt-dir $ck" 2>/dev/null || true
done
printf '%-40s %10s %10s %8s\n' measure baseline_s cairn_s ratio
printf '%-40s %10.3f %10.3f %8s\n' "checkpoint (4 raw fsync'd writers)" "$raw_best" "$ck_best" "$(ratio "$raw_best" "$ck_best")"
printf '%-40s %10.3f %10.3f %8s\n' "restart until running (4 raw reads)" "$rr_best" "$rs_best" "$(ratio "$rr_best" "$rs_best")"
printf '%-40s %10.3f %10.3f %8s\n' "restart (same reads by 4 launched ranks)" "$lr_best" "$rs_best" "$(ratio "$lr_best" "$rs_best")"
echo "image bytes (4 ranks): $bytes"
