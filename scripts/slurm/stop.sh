#!/usr/bin/env bash
# Stops the one-node Slurm test cluster that scripts/slurm/start.sh STATE_DIR started:
# cancels its jobs, ends slurmd and slurmctld by the pids in STATE_DIR/run (TERM, then
# KILL after 10 s) and removes STATE_DIR. munged is left running (it is machine-wide).
# STATE_DIR defaults to $CAIRN_SLURM_STATE. Keep the directory with CAIRN_SLURM_KEEP=1.
set -uo pipefail

state="${1:-${CAIRN_SLURM_STATE:-}}"
if [ -z "$state" ] || [ ! -f "$state/slurm.conf" ]; then
  echo "slurm/stop: no cluster state directory given (or no slurm.conf in it)" >&2
  exit 1
fi
export SLURM_CONF="$state/slurm.conf"
scancel --full --user="$(id -un)" >/dev/null 2>&1 || true

for d in slurmd slurmctld; do
  pidfile="$state/run/$d.pid"
  [ -s "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  case "$pid" in '' | *[!0-9]*) continue ;; esac
  # Only a process of that name: the pid may have been reused.
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$d" ]; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do
      [ -d "/proc/$pid" ] || break
      sleep 0.1
    done
    [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
  fi
done
# slurmstepd processes of jobs still running (kill only those under this state dir).
for p in /proc/[0-9]*; do
  cmd="$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" || continue
  case "$cmd" in
    slurmstepd:*) ;;
    *) continue ;;
  esac
  if grep -qs "$state" "$p/environ" 2>/dev/null || [ "$(readlink "$p/cwd" 2>/dev/null)" = "$state/spool" ]; then
    kill -KILL "${p#/proc/}" 2>/dev/null
  fi
done
if [ "${CAIRN_SLURM_KEEP:-0}" = "1" ]; then
  echo "slurm/stop: stopped; state kept in $state"
else
  rm -rf "$state"
  echo "slurm/stop: stopped"
fi
