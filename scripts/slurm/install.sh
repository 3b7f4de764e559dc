#!/usr/bin/env bash
# Installs the Debian packages of a one-node Slurm test cluster: slurmctld, slurmd,
# slurm-client and munge (with a munge key). Idempotent: installed packages are skipped,
# an existing key is kept. Needs root (or sudo). Exit 0 when Slurm is usable afterwards,
# 1 otherwise (the Slurm tests then skip and say why).
set -uo pipefail

PKGS=(slurmctld slurmd slurm-client munge)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "slurm/install: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's postinst scripts try to start the services; on a machine without systemd
  # (containers) that fails harmlessly, and start.sh runs the daemons itself.
  if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    $SUDO apt-get update -qq || true
    if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
      echo "slurm/install: apt-get install ${missing[*]} failed" >&2
      exit 1
    fi
  fi
else
  echo "slurm/install: ${PKGS[*]} present"
fi

for b in slurmctld slurmd sbatch scontrol squeue sinfo munged; do
  if ! command -v "$b" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$b" ]; then
    echo "slurm/install: $b not found after installation" >&2
    exit 1
  fi
done

# munge needs a key (the Debian package normally creates one; create it if not).
if [ ! -s /etc/munge/munge.key ]; then
  $SUDO mkdir -p /etc/munge
  if command -v mungekey >/dev/null 2>&1 || [ -x /usr/sbin/mungekey ]; then
    $SUDO /usr/sbin/mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null ||
      $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  else
    $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
fi
$SUDO mkdir -p /run/munge /var/log/munge /var/lib/munge
$SUDO chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
$SUDO chmod 0700 /etc/munge /var/log/munge /var/lib/munge
$SUDO chmod 0400 /etc/munge/munge.key
echo "slurm/install: ok ($(sinfo --version 2>/dev/null || echo 'slurm'))"
