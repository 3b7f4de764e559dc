#!/usr/bin/env bash
# Installs cairn's build and test dependencies from Debian packages.
# Idempotent: packages already present are skipped. Needs root (or sudo).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  openmpi-bin libopenmpi-dev mpich libmpich-dev gfortran python3
  libisal-dev libzstd-dev liblz4-dev libxxhash-dev
  clang-format
  python3-dev python3-numpy python3-mpi4py pybind11-dev python3-pybind11 python3-venv python3-pip
)

# Optional: a one-node Slurm for the Slurm tests (tests/slurm). A failure to install these
# does not fail this script; the Slurm tests then skip and say why.
OPTIONAL_PKGS=(slurmctld slurmd slurm-client munge)

# Optional: real applications for the mpi_apps tests (tests/mpi/apps.sh) and SPAdes for
# transparent.apps.spades (tests/transparent/apps_spades.sh). A failure to
# install them only warns; those tests then skip and say why.
APP_PKGS=(lammps hpcc quantum-espresso quantum-espresso-data spades)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
optional_missing=()
for p in "${OPTIONAL_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    optional_missing+=("$p")
  fi
done

app_missing=()
for p in "${APP_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    app_missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ] && [ ${#optional_missing[@]} -eq 0 ] && [ ${#app_missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present (and the ${#OPTIONAL_PKGS[@]} optional ones)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ${#optional_missing[@]} -gt 0 ]; then
  echo "install-deps: installing the optional ${optional_missing[*]} (Slurm tests)"
  if ! "$(dirname "$0")/slurm/install.sh"; then
    echo "install-deps: warning: Slurm could not be installed; the Slurm tests will be skipped" >&2
  fi
fi
if [ ${#app_missing[@]} -gt 0 ]; then
  echo "install-deps: installing the optional ${app_missing[*]} (MPI application tests)"
  if ! { $SUDO apt-get update -qq && \
         $SUDO apt-get install -y -qq --no-install-recommends "${app_missing[@]}"; }; then
    echo "install-deps: warning: ${app_missing[*]} could not be installed; mpi_apps tests will skip" >&2
  fi
fi
