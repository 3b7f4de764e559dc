#!/usr/bin/env bash
# Real MPI applications packaged by Debian under split-process checkpointing (ctest label
# "mpi_apps"): apps.sh <cairn binary> <lmp|hpcc|pw> <workdir>
#   lmp:  LAMMPS (package lammps), the classic 3-D Lennard-Jones melt on 4 ranks, scaled to
#         about 25 s; two cycles of checkpoint, kill -9 of mpirun and every rank, restart under
#         a new mpirun; the thermodynamic output of every step printed must equal an
#         uninterrupted run's, line for line.
#   hpcc: HPC Challenge (package hpcc), 4 ranks, N=3000; the same two cycles; the final
#         hpccoutf.txt must report the same tests passed and failed (Success/Failure and the
#         per-test pass flags) as an uninterrupted run.
#   pw:   Quantum ESPRESSO's pw.x (packages quantum-espresso, quantum-espresso-data for the
#         pseudopotentials), Born-Oppenheimer molecular dynamics of 8 silicon atoms on 4
#         ranks; the same two cycles; the total energy and temperature of every MD step must
#         equal an uninterrupted run's.
# Exit 77 (skipped) when the application is not installed.
set -u
# shellcheck source=mpi_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"
CAIRN=$1
APP=$2
W=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
case $APP in
  lmp) BIN=$(command -v lmp) ;;
  hpcc) BIN=$(command -v hpcc) ;;
  pw) BIN=$(command -v pw.x) ;;
  *) echo "usage: $0 <cairn> <lmp|hpcc|pw> <workdir>" >&2; exit 2 ;;
esac
PSEUDO=/usr/share/espresso/pseudo
if [ -z "$BIN" ] || { [ "$APP" = pw ] && [ ! -f "$PSEUDO/Si.pz-vbc.UPF" ]; }; then
  echo "SKIP: $APP is not installed (Debian package $(echo "$APP" | sed 's/^lmp$/lammps/;s/^pw$/quantum-espresso quantum-espresso-data/'))"
  exit 77
fi
rm -rf "$W"
mkdir -p "$W/ref" "$W/run"
cleanup() {
  pkill -9 -f "mpirun -np 4 .*$W" 2> /dev/null
  pkill -9 -x "$(basename "$BIN")" 2> /dev/null
  pkill -f "coordinator --daemon --ckpt-dir $W" 2> /dev/null
  sleep 0.5
}
trap 'cleanup; mpi_private_tmp_remove' EXIT
mpi_private_tmp || { echo "FAIL: cannot create a private TMPDIR" >&2; exit 1; }
fail() {
  echo "FAIL (mpi_apps.$APP): $*" >&2
  for f in "$W"/run/*.out "$W"/run/*.err "$W"/*.err; do
    [ -f "$f" ] && { echo "--- $f"; grep -v 'warning: pipe\|is not restored' "$f" | tail -15; }
  done >&2
  exit 1
}

if [ "$APP" = lmp ]; then
  cp "$(dirname "$0")/inputs/in.melt" "$W/in.melt" || fail "no in.melt"
  ARGS=(-in "$W/in.melt" -log none)
  extract() { grep -hE '^ +[0-9]+ +[-0-9.]+ +[-0-9.]+ ' "$@" | sort -u -k1,1n; }
elif [ "$APP" = pw ]; then
  cat > "$W/si.in" << IN
&control
  calculation = 'md', prefix = 'si', pseudo_dir = '$PSEUDO', outdir = './tmp',
  nstep = 150, dt = 10, disk_io = 'none'
/
&system
  ibrav = 1, celldm(1) = 10.26, nat = 8, ntyp = 1, ecutwfc = 12.0, nosym = .true.
/
&electrons
  conv_thr = 1.0d-8, mixing_beta = 0.4, electron_maxstep = 300
/
&ions
/
ATOMIC_SPECIES
Si 28.086 Si.pz-vbc.UPF
ATOMIC_POSITIONS alat
Si 0.00 0.00 0.00
Si 0.52 0.50 0.00
Si 0.50 0.00 0.50
Si 0.00 0.50 0.50
Si 0.25 0.25 0.25
Si 0.75 0.75 0.25
Si 0.75 0.25 0.75
Si 0.25 0.75 0.75
K_POINTS gamma
IN
  ARGS=(-in "$W/si.in")
  # Per MD step: the step number, then the total energy and the temperature.
  extract() {
    awk '/Entering Dynamics/ {it = $NF} /^!    total energy/ {e[it] = $5}
         /temperature           =/ {t[it] = $3}
         END {for (i in e) printf "%6d %s %s\n", i, e[i], t[i]}' "$@" | sort -n
  }
else
  sed -e '6s/^[0-9]* /3000 /' /usr/share/doc/hpcc/examples/_hpccinf.txt > "$W/ref/hpccinf.txt" ||
    fail "no hpcc input example"
  cp "$W/ref/hpccinf.txt" "$W/run/hpccinf.txt"
  ARGS=()
  extract() { grep -hE '^(Success|Failure|.*_Pass|.*Passed|.*Failed)=' "$@" | sort; }
fi

cd "$W/ref" || exit 1
start=$SECONDS
timeout -s KILL 600 mpirun -np 4 "$BIN" "${ARGS[@]}" > ref.out 2> ref.err || fail "reference run"
dur=$((SECONDS - start))
[ "$APP" = hpcc ] && cp hpccoutf.txt ref.out
extract ref.out > ref.key
[ -s ref.key ] || fail "the reference run printed nothing to compare"
echo "reference: $dur s, $(wc -l < ref.key) lines to compare"

cd "$W/run" || exit 1
D=$W/run/ck
step_wait=$((dur / 3 + 1))
# Waits until the run has made progress: LAMMPS prints its step; hpcc only its files (time).
progress() {  # fraction-of-the-run (in thirds) to reach, then returns
  if [ "$APP" = lmp ] || [ "$APP" = pw ]; then
    local total=12000
    [ "$APP" = pw ] && total=150
    local want=$((total * $1 / 3)) end=$((SECONDS + 4 * dur + 60))
    while [ $SECONDS -lt $end ]; do
      last=$(extract seg*.out 2> /dev/null | tail -1 | awk '{print $1}')
      [ -n "$last" ] && [ "$last" -ge "$want" ] && return 0
      sleep 0.2
    done
    fail "no progress to step $want"
  else
    sleep "$step_wait"
  fi
}
(timeout -s KILL 900 mpirun -np 4 "$CAIRN" launch --mpi --ckpt-dir "$D" -- "$BIN" "${ARGS[@]}" \
  > seg1.out 2> seg1.err &)
progress 1
timeout 300 "$CAIRN" checkpoint --ckpt-dir "$D" --wait > ck1.out 2> "$W/ck1.err" || fail "checkpoint 1"
cleanup
(timeout -s KILL 900 mpirun -np 4 "$CAIRN" restart --mpi --ckpt-dir "$D" > seg2.out 2> seg2.err &)
progress 2
timeout 300 "$CAIRN" checkpoint --ckpt-dir "$D" --wait > ck2.out 2> "$W/ck2.err" || fail "checkpoint 2"
cleanup
timeout -s KILL 900 mpirun -np 4 "$CAIRN" restart --mpi --ckpt-dir "$D" > seg3.out 2> seg3.err ||
  fail "final restart"
if [ "$APP" = hpcc ]; then
  extract hpccoutf.txt > run.key
else
  extract seg1.out seg2.out seg3.out > run.key
fi
diff "$W/ref/ref.key" run.key > diff.txt || fail "output differs from the uninterrupted run: $(head -5 diff.txt)"
echo "mpi_apps.$APP: $(wc -l < run.key) lines equal to the uninterrupted run through two checkpoint/kill/restart cycles"
cd / && rm -rf "$W"  # passed: the images go (a failure keeps them)
echo "1 passed, 0 failed"
