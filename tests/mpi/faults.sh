#!/usr/bin/env bash
# Faults during MPI checkpoints (ctest label "mpi"):
#   faults.sh <cairn binary> <workdir> [rma program]
# With Open MPI (mpicc/mpirun) and a small MPI program built here (64 MiB per rank, one
# allreduce and 40 ms per step):
#  1. a rank killed with kill -9 while a checkpoint round runs: `cairn checkpoint` fails
#     (nonzero, naming the rank) within a bounded time; the previous manifest stays the one a
#     restart uses; the job is then killed and restarted from it under a new mpirun, and ends
#     with the uninterrupted run's result;
#  2. the checkpoint directory fills up (a real tmpfs, filled with a file): the checkpoint
#     fails cleanly with a message about space, the program runs on, the previous manifest
#     stays valid, and a restart from it (after freeing the space) ends with the right result.
#     Needs root for the mount; skipped without it.
#  3. (with the rma program of tests/mpi/programs) a job that uses MPI functions whose state
#     a restart cannot rebuild (one-sided windows): the checkpoint fails naming them, no
#     manifest is written, and the job runs on to its normal result.
set -u
# shellcheck source=mpi_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"
CAIRN=$1
W=$2
RMA=${3:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$W"
mkdir -p "$W"
cd "$W" || exit 1
fail() {
  echo "FAIL (mpi.faults): $*" >&2
  for f in "$W"/*.out "$W"/*.err; do [ -f "$f" ] && { echo "--- $f"; tail -15 "$f"; }; done >&2
  cleanup
  exit 1
}
cleanup() {
  pkill -9 -f "$W/fault_app" 2> /dev/null
  pkill -9 -f "mpirun -np 4 $CAIRN .*--ckpt-dir $W" 2> /dev/null
  pkill -f "coordinator --daemon --ckpt-dir $W" 2> /dev/null
  sleep 0.5
  mountpoint -q "$W/small" 2> /dev/null && umount "$W/small"
  true
}
trap 'cleanup; mpi_private_tmp_remove' EXIT
mpi_private_tmp || { echo "FAIL: cannot create a private TMPDIR" >&2; exit 1; }
step_app fault_app 64 40000 || fail "cannot build the test program"
APP=$W/fault_app
STEPS=400
timeout -s KILL 120 mpirun -np 4 "$APP" "$STEPS" > ref.out 2> /dev/null || fail "reference run"
REF=$(grep '^RESULT' ref.out)
[ -n "$REF" ] || fail "no reference result"

newest() {  # the version of the job checkpoint a restart would use
  "$CAIRN" status --ckpt-dir "$1" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(next((m["version"] for m in d["job_checkpoints"] if m["newest"]), ""))'
}

# --- 1. a rank dies during a checkpoint round
D=$W/ck1
(timeout -s KILL 200 mpirun -np 4 "$CAIRN" launch --mpi --ckpt-dir "$D" -- "$APP" "$STEPS" \
  > run1.out 2> run1.err &)
wait_steps run1.err 20 60 || fail "the job did not start"
"$CAIRN" checkpoint --ckpt-dir "$D" --wait > ck1a.out 2> ck1a.err || fail "first checkpoint"
[ "$(newest "$D")" = 1 ] || fail "job.v1 is not the newest complete checkpoint"
victim=$(pgrep -f "^$APP" | sed -n 3p)
[ -n "$victim" ] || fail "no rank process found"
start=$SECONDS
("$CAIRN" checkpoint --ckpt-dir "$D" --wait > ck1b.out 2> ck1b.err; echo $? > ck1b.rc) &
sleep 0.05
kill -9 "$victim"
wait
took=$((SECONDS - start))
rc=$(cat ck1b.rc)
echo "checkpoint with a rank killed: status $rc after $took s: $(tail -1 ck1b.err)"
if [ "$rc" = 0 ]; then
  # The round may have been committed before the kill landed: then it is the newest.
  echo "(the round finished before the rank died)"
else
  [ "$took" -le 150 ] || fail "the failed checkpoint took $took s"
  grep -qi "rank" ck1b.err || fail "the failure does not name a rank"
  [ "$(newest "$D")" = 1 ] || fail "the previous manifest is no longer the newest complete one"
fi
cleanup
timeout -s KILL 200 mpirun -np 4 "$CAIRN" restart --mpi --ckpt-dir "$D" > run1b.out 2> run1b.err ||
  fail "restart after the failed checkpoint"
[ "$(grep '^RESULT' run1b.out)" = "$REF" ] || fail "restart result $(grep '^RESULT' run1b.out) != $REF"
echo "1. rank killed during a checkpoint: OK ($REF)"
rm -rf "$D"
cleanup

# --- 3. unsupported functions: the checkpoint fails naming them, the job runs on
if [ -n "$RMA" ] && [ -x "$RMA" ]; then
  timeout -s KILL 120 mpirun -np 4 "$RMA" > rma_ref.out 2> /dev/null || fail "rma reference"
  D=$W/ck3
  (timeout -s KILL 200 mpirun -np 4 "$CAIRN" launch --mpi --ckpt-dir "$D" -- "$RMA" \
    > rma.out 2> rma.err &)
  end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ] && ! grep -q PROGRESS rma.err 2> /dev/null; do sleep 0.2; done
  "$CAIRN" checkpoint --ckpt-dir "$D" --wait > ck3.out 2> ck3.err && fail "a checkpoint of an RMA job succeeded"
  grep -q "MPI_Win" ck3.err || fail "the failure does not name the MPI_Win functions: $(cat ck3.err)"
  ls "$D"/job.v*.manifest > /dev/null 2>&1 && fail "a manifest was written"
  end=$((SECONDS + 150))
  while [ $SECONDS -lt $end ] && ! grep -q '^RESULT' rma.out; do sleep 0.5; done
  [ "$(grep '^RESULT' rma.out)" = "$(grep '^RESULT' rma_ref.out)" ] ||
    fail "the RMA job did not end with its normal result after the refused checkpoint"
  echo "3. unsupported functions: OK ($(tail -1 ck3.err))"
  cleanup
fi

# --- 2. the checkpoint directory fills up
if [ "$(id -u)" != 0 ]; then
  echo "2. disk full: skipped (needs root for a tmpfs)"
  exit 0
fi
mkdir -p "$W/small"
mount -t tmpfs -o size=700m tmpfs "$W/small" 2> /dev/null || { echo "2. skipped: cannot mount a tmpfs"; exit 0; }
D=$W/small/ck
(timeout -s KILL 200 mpirun -np 4 "$CAIRN" launch --mpi --ckpt-dir "$D" -- "$APP" "$STEPS" \
  > run2.out 2> run2.err &)
wait_steps run2.err 20 60 || fail "the job did not start (2)"
"$CAIRN" checkpoint --ckpt-dir "$D" --wait > ck2a.out 2> ck2a.err || fail "first checkpoint (2)"
# Leave less room than one more job checkpoint needs.
used=$(du -sm "$D" | cut -f1)
free=$(df -m --output=avail "$W/small" | tail -1)
fill=$((free - used / 2))
[ "$fill" -gt 0 ] && dd if=/dev/zero of="$W/small/filler" bs=1M count="$fill" status=none 2> /dev/null
start=$SECONDS
"$CAIRN" checkpoint --ckpt-dir "$D" --wait > ck2b.out 2> ck2b.err
rc=$?
took=$((SECONDS - start))
echo "checkpoint on a full disk: status $rc after $took s: $(tail -1 ck2b.err)"
[ "$rc" != 0 ] || fail "a checkpoint on a full directory succeeded"
grep -qi "space\|ENOSPC" ck2b.err || fail "the failure does not say the disk is full"
[ "$took" -le 150 ] || fail "the failed checkpoint took $took s"
[ "$(newest "$D")" = 1 ] || fail "job.v1 is no longer the newest complete checkpoint"
ls "$D"/*.tmp > /dev/null 2>&1 && fail "temporary files left: $(ls "$D"/*.tmp)"
# The program runs on after the failed round.
n=$(grep -c '^step' run2.err)
wait_steps run2.err $((n + 10)) 30 || fail "the program did not run on after the failed checkpoint"
pkill -9 -f "$APP"
pkill -9 -f "mpirun -np 4 $CAIRN .*--ckpt-dir $W"  # this test's jobs only
sleep 0.5
rm -f "$W/small/filler"
timeout -s KILL 200 mpirun -np 4 "$CAIRN" restart --mpi --ckpt-dir "$D" > run2b.out 2> run2b.err ||
  fail "restart after the disk filled up"
[ "$(grep '^RESULT' run2b.out)" = "$REF" ] || fail "restart result $(grep '^RESULT' run2b.out) != $REF"
echo "2. disk full during a checkpoint: OK ($REF)"
cleanup
cd / && rm -rf "$W"  # passed: the images go (a failure keeps them)
echo "faults: 2 passed, 0 failed"
