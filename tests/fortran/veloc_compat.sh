#!/usr/bin/env bash
# Runs a VeloC-interface Fortran program twice under mpirun -np 2: "first" checkpoints,
# "second" restarts and checks the values. Both runs must end with status 0 and "PASS".
# Usage: veloc_compat.sh BINARY
# shellcheck source=../integration/common.sh
source "$(dirname "$0")/../integration/common.sh"
BIN=${1:?usage: veloc_compat.sh BINARY}
NP=2
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$NP")
make_tmp
write_cfg "$T/cfg" "$T"
for mode in first second; do
  run_app "$T/$mode.out" "$T/$mode.err" 60 "$BIN" "$T/cfg" "$mode" || fail "$mode run failed (exit $?)"
  [ "$(cat "$T/$mode.out")" = PASS ] || fail "$mode run: stdout is not PASS"
  log "$mode run: PASS"
done
log "PASS"
