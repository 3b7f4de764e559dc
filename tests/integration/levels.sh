#!/usr/bin/env bash
# Per-level intervals in checkpoints (SCR style): ec_every = 2, persistent_every = 3.
# Checkpoints 1..6 of the heat code (versions 20..120): L2 on numbers 2 and 4, L3 on 3
# and 6 (the highest level due wins: no L2 there), L1 only on 1 and 5.
IT_NAME=levels
HEAT=$1
CAIRN=$2
export NP=4 RANKS_PER_NODE=2
source "$(dirname "$0")/common.sh"
make_tmp
export NODES_DIR=$T/nodes
{
  echo "scratch = $T/unused"
  echo "persistent = $T/persistent"
  echo "ec_scheme = xor"
  echo "ec_every = 2"
  echo "persistent_every = 3"
} > "$T/cfg"
run_app "$T/out" "$T/err" 120 "$(dirname "$0")/node_env.sh" "$HEAT" "$T/cfg" \
  --nx 32 --ny 32 --iters 120 --ckpt-every 20 || fail "run failed"
for v in 20 40 60 80 100 120; do
  ec=$(find "$NODES_DIR" -path "*/v$v/*.ec" | wc -l)
  pers=$(ls "$T/persistent/heat/v$v/"r*.ckpt 2>/dev/null | wc -l)
  case $v in
    40 | 80) want_ec=$NP want_p=0 ;;
    60 | 120) want_ec=0 want_p=$NP ;;
    *) want_ec=0 want_p=0 ;;
  esac
  [ "$ec" -eq "$want_ec" ] || fail "version $v: $ec redundancy files, want $want_ec"
  [ "$pers" -eq "$want_p" ] || fail "version $v: $pers persistent files, want $want_p"
done
# cairn verify checks the redundancy files too.
"$CAIRN" verify "$NODES_DIR/node1/scratch" > "$T/verify.out" 2>&1 || fail "verify: $(cat "$T/verify.out")"
grep -q "OK .*/v80/r2.ec" "$T/verify.out" || fail "verify did not check the .ec files"
printf 'x' | dd of="$NODES_DIR/node1/scratch/heat/v80/r2.ec" bs=1 seek=100 conv=notrunc 2>/dev/null
if "$CAIRN" verify "$NODES_DIR/node1/scratch" > "$T/verify2.out" 2>&1; then
  fail "verify accepted a damaged redundancy file"
fi
grep -q "CORRUPT .*/v80/r2.ec" "$T/verify2.out" || fail "verify did not name the damaged .ec"
log "PASS: L1 on 1 and 5, L2 on 2 and 4, L3 on 3 and 6; verify checks .ec files"
