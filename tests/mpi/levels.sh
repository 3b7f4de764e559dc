#!/usr/bin/env bash
# MPI jobs through cairn's levels (issue 12, requirements 1 and 5; ctest label "mpi"):
#   levels.sh <cairn binary> <workdir>
# With Open MPI and a small MPI program built here (16 MiB per rank, one allreduce and 20 ms
# per step), 4 ranks launched with `cairn launch --mpi --config` (scratch on /dev/shm,
# persistent in the work directory, a real backend):
#  1. `cairn checkpoint --wait`: every rank's image and the job manifest are committed on
#     scratch and, once the command returns, on persistent, byte-identical;
#  2. a second checkpoint without --wait: the coordinator asks for the flush itself, and
#     version 2 reaches persistent; kill -9 of mpirun and every rank;
#  3. scratch wiped, version 2's manifest on persistent corrupted (a byte flipped):
#     `mpirun -np 4 cairn restart --mpi --config` refuses version 2, restarts every rank from
#     version 1 on persistent, and the job ends with the uninterrupted run's result;
#  4. the restarted job's next checkpoint is version 3 (versions go on from persistent's) and
#     is flushed there too;
#  5. a restart with another number of ranks is refused, starting nothing.
# Every wait is bounded; no process is left behind.
set -u
# shellcheck source=mpi_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"
CAIRN=$1
W=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$W"
mkdir -p "$W/run"
cd "$W" || exit 1
export CAIRN_RUNTIME_DIR=$W/run  # this test's own backends
NAME=mpilv$$
SCRATCH=/dev/shm/cairn-mpi-levels-$$
SDIR=$SCRATCH/$NAME
PDIR=$W/persistent/$NAME
cat > "$W/levels.cfg" << CFG
scratch = $SCRATCH
persistent = $W/persistent
max_versions = 3
scratch_versions = 3
backend_idle_timeout = 5
CFG
cleanup() {
  pkill -9 -f "$W/lv_app" 2> /dev/null
  pkill -9 -f "mpirun -np [0-9] $CAIRN .*--config $W/levels.cfg" 2> /dev/null
  pkill -f "coordinator --daemon --ckpt-dir $SDIR" 2> /dev/null
  sleep 0.5
  true
}
fail() {
  echo "FAIL (mpi.levels): $*" >&2
  for f in "$W"/*.out "$W"/*.err "$W"/run/*.log; do [ -s "$f" ] && { echo "--- $f"; tail -15 "$f"; }; done >&2
  ls -la "$SDIR" "$PDIR" >&2 2> /dev/null
  cleanup
  exit 1
}
trap 'cleanup; pkill -9 -f "$W/run" 2> /dev/null; rm -rf "$SCRATCH"; mpi_private_tmp_remove' EXIT
mpi_private_tmp || { echo "FAIL: cannot create a private TMPDIR" >&2; exit 1; }
step_app lv_app 16 20000 || fail "cannot build the test program"
APP=$W/lv_app
STEPS=300
timeout -s KILL 120 mpirun -np 4 "$APP" "$STEPS" > ref.out 2> /dev/null || fail "reference run"
REF=$(grep '^RESULT' ref.out)
[ -n "$REF" ] || fail "no reference result"

manifests() { ls "$1" 2> /dev/null | sed -n 's/^job\.v\([0-9]*\)\.manifest$/\1/p' | sort -n | tr '\n' ' '; }
ck() { "$CAIRN" checkpoint --config "$W/levels.cfg" --name "$NAME" "$@"; }

# --- 1. checkpoint --wait: on scratch and on persistent
(timeout -s KILL 200 mpirun -np 4 "$CAIRN" launch --mpi --config "$W/levels.cfg" --name "$NAME" \
  -- "$APP" "$STEPS" > run1.out 2> run1.err &)
wait_steps run1.err 20 60 || fail "the job did not start"
ck --wait > ck1.out 2> ck1.err || fail "checkpoint 1"
grep -q "on persistent" ck1.err || fail "checkpoint --wait did not report the flush: $(cat ck1.err)"
[ "$(manifests "$SDIR")" = "1 " ] || fail "scratch holds manifests '$(manifests "$SDIR")'"
[ "$(manifests "$PDIR")" = "1 " ] || fail "persistent holds manifests '$(manifests "$PDIR")'"
n=0
for f in "$SDIR"/*.v1.cimg; do
  cmp -s "$f" "$PDIR/$(basename "$f")" || fail "$(basename "$f") differs on persistent"
  n=$((n + 1))
done
[ "$n" = 4 ] || fail "$n rank images of version 1 on scratch, not 4"
echo "1. checkpoint --wait: 4 images and job.v1 on scratch and persistent, identical"

# --- 2. the coordinator's own flush request
ck > ck2.out 2> ck2.err || fail "checkpoint 2"
end=$((SECONDS + 60))
while [ $SECONDS -lt $end ] && [ "$(manifests "$PDIR")" != "1 2 " ]; do sleep 0.2; done
[ "$(manifests "$PDIR")" = "1 2 " ] || fail "version 2 did not reach persistent: '$(manifests "$PDIR")'"
ls "$PDIR"/*.tmp > /dev/null 2>&1 && fail "a .tmp is left on persistent"
echo "2. checkpoint without --wait: the coordinator's flush brought job.v2 to persistent"
cleanup

# --- 3. scratch wiped, newest persistent manifest corrupted: restart from version 1
rm -rf "$SCRATCH"
python3 - "$PDIR/job.v2.manifest" << 'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "wb").write(bytes(b))
PY
timeout -s KILL 200 mpirun -np 4 "$CAIRN" restart --mpi --config "$W/levels.cfg" --name "$NAME" \
  > run3.out 2> run3.err || fail "restart from persistent"
[ "$(grep '^RESULT' run3.out)" = "$REF" ] || fail "restart result $(grep '^RESULT' run3.out) != $REF"
grep -q "from $PDIR/job.v1.manifest" run3.err || fail "the ranks did not restart from persistent's job.v1"
echo "3. wiped scratch + corrupt job.v2: restarted from persistent job.v1, $REF"
cleanup

# --- 4. the restarted job checkpoints as version 3 (after persistent's corrupt job.v2),
# flushed to persistent
(timeout -s KILL 200 mpirun -np 4 "$CAIRN" restart --mpi --config "$W/levels.cfg" --name "$NAME" \
  > run4.out 2> run4.err &)
end=$((SECONDS + 60))
while [ $SECONDS -lt $end ] && ! [ -e "$SDIR/.cairn/coordinator" ]; do sleep 0.2; done
sleep 1
ck --wait > ck4.out 2> ck4.err || fail "checkpoint of the restarted job"
grep -q "job.v3.manifest" ck4.out || fail "the restarted job's checkpoint is not version 3: $(cat ck4.out)"
[ -e "$PDIR/job.v3.manifest" ] || fail "job.v3 is not on persistent"
end=$((SECONDS + 120))
while [ $SECONDS -lt $end ] && ! grep -q '^RESULT' run4.out; do sleep 0.5; done
[ "$(grep '^RESULT' run4.out)" = "$REF" ] || fail "restarted job result $(grep '^RESULT' run4.out) != $REF"
echo "4. the restarted job's checkpoint is job.v3, on persistent; the job ended with $REF"
cleanup

# --- 5. another number of ranks: refused, nothing started
rm -rf "$SCRATCH"
timeout -s KILL 60 mpirun -np 2 "$CAIRN" restart --mpi --config "$W/levels.cfg" --name "$NAME" \
  > run5.out 2> run5.err && fail "a restart with 2 ranks of a 4-rank checkpoint succeeded"
grep -q "restart with -np 4" run5.err || fail "the refusal does not say how many ranks: $(cat run5.err)"
grep -q '^RESULT' run5.out && fail "the refused restart ran the program"
echo "5. 2 ranks for a 4-rank checkpoint: refused ($(grep -m1 'np 4' run5.err | cut -c1-100))"
cleanup
echo "mpi.levels: OK"
