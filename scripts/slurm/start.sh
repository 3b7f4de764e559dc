#!/usr/bin/env bash
# Starts a one-node Slurm test cluster on this machine: munged (if not already running),
# slurmctld and slurmd, all as root, with their configuration, state, spool and logs in a
# fresh state directory. Waits until `sinfo` shows the node idle, then prints the
# environment to use on stdout, one `export NAME=VALUE` line each:
#   eval "$(scripts/slurm/start.sh [STATE_DIR])"
# STATE_DIR defaults to a new mktemp directory; scripts/slurm/stop.sh STATE_DIR ends it.
# Exit 0 when the cluster is up; 1 (with the reason on stderr) otherwise, after stopping
# whatever it started.
#
# Settings chosen for tests (production clusters keep their own):
#   AuthInfo=cred_expire=5   a requeued job is eligible again after ~6 s instead of ~121 s
#                            (Slurm sets BeginTime = requeue time + cred_expire + 1)
#   SchedulerParameters      the main and backfill schedulers run every few seconds
#   SlurmdParameters=config_overrides  CPUs=8 on a smaller machine: test jobs sleep a lot
# Environment: CAIRN_SLURM_CTLD_PORT / CAIRN_SLURM_SLURMD_PORT (default 6817 / 6818),
# CAIRN_SLURM_CRED_EXPIRE (default 5).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
state="${1:-}"
if [ -z "$state" ]; then
  state="$(mktemp -d /tmp/cairn-slurm.XXXXXX)" || { echo "slurm/start: mktemp failed" >&2; exit 1; }
fi
mkdir -p "$state"/{state,spool,log,run}
chmod 0755 "$state"
ctld_port="${CAIRN_SLURM_CTLD_PORT:-6817}"
slurmd_port="${CAIRN_SLURM_SLURMD_PORT:-6818}"
cred_expire="${CAIRN_SLURM_CRED_EXPIRE:-5}"

fail() {
  echo "slurm/start: $*" >&2
  [ "${CAIRN_SLURM_KEEP:-0}" = "1" ] || "$here/stop.sh" "$state" >/dev/null 2>&1
  exit 1
}

for b in slurmctld slurmd munged; do
  [ -x "/usr/sbin/$b" ] || fail "/usr/sbin/$b is missing (run scripts/slurm/install.sh)"
done
for b in sinfo sbatch scontrol squeue; do
  command -v "$b" >/dev/null 2>&1 || fail "$b is missing (run scripts/slurm/install.sh)"
done
[ "$(id -u)" -eq 0 ] || fail "must run as root (slurmd needs it)"

cat >"$state/slurm.conf" <<CONF
ClusterName=cairntest
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=$cred_expire
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobRequeue=1
ReturnToService=2
KillWait=30
MinJobAge=600
SchedulerParameters=sched_interval=2,bf_interval=2,sched_min_interval=100000
SlurmdParameters=config_overrides
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=localhost CPUs=8 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
# No cgroup.conf: proctrack/linuxproc and task/none need no cgroups (containers often
# have none to delegate).
: >"$state/plugstack.conf"
export SLURM_CONF="$state/slurm.conf"

# munge: one daemon per machine, shared with anything else that uses it.
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge 2>/dev/null
  [ -s /etc/munge/munge.key ] || fail "/etc/munge/munge.key is missing (run scripts/slurm/install.sh)"
  if command -v runuser >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged || fail "munged did not start"
  else
    /usr/sbin/munged --force || fail "munged did not start"
  fi
  for _ in $(seq 50); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 || fail "munge does not answer"
fi

/usr/sbin/slurmctld -i -f "$SLURM_CONF" || fail "slurmctld did not start (see $state/log/slurmctld.log)"
/usr/sbin/slurmd -f "$SLURM_CONF" || fail "slurmd did not start (see $state/log/slurmd.log)"

ok=0
for _ in $(seq 120); do
  s="$(sinfo -h -N -o '%T' 2>/dev/null | head -1)"
  if [ "$s" = "idle" ]; then ok=1; break; fi
  if [ "$s" = "down" ] || [ "$s" = "drained" ] || [ "$s" = "inval" ]; then
    scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1
  fi
  sleep 0.5
done
[ $ok -eq 1 ] || fail "the node did not become idle within 60 s (state '${s:-none}'; see $state/log)"

echo "export SLURM_CONF=$SLURM_CONF"
echo "export CAIRN_SLURM_STATE=$state"
