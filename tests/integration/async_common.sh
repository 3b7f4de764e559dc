# shellcheck shell=bash
# Helpers for the async-mode integration tests (sourced). Arguments of every test:
#   $1 = async_app binary, $2 = cairn binary.
source "$(dirname "$0")/common.sh"
APP=$1
CAIRN=$2
make_tmp
export CAIRN_BACKEND_BIN=$CAIRN
export CAIRN_RUNTIME_DIR=$T/run
export CAIRN_JOB_ID=${IT_NAME}-$$
mkdir -p "$CAIRN_RUNTIME_DIR"

# async_cfg FILE DIR [extra lines...]: async mode, scratch on /dev/shm when it exists
# (node-local tmpfs), persistent on disk under DIR.
async_cfg() {
  local file=$1 dir=$2
  shift 2
  local scratch=$dir/scratch
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    scratch=/dev/shm/cairn-it-$$-$(basename "$dir")
    SHM_DIRS="${SHM_DIRS:-} $scratch"
  fi
  {
    echo "mode = async"
    echo "scratch = $scratch"
    echo "persistent = $dir/persistent"
    echo "backend_idle_timeout = 3"
    for l in "$@"; do echo "$l"; done
  } > "$file"
}

cleanup_shm() { for d in ${SHM_DIRS:-}; do rm -rf "$d"; done; }
trap 'cleanup_shm; cleanup_tmp' EXIT

# wait_for COND_CMD SECONDS: polls every 50 ms.
wait_for() {
  local i=0 limit=$(($2 * 20))
  while ! eval "$1"; do
    i=$((i + 1))
    [ $i -ge $limit ] && return 1
    sleep 0.05
  done
}

# live_backends: number of backends holding their pid-file lock in the runtime dir.
live_backends() {
  local n=0 f
  for f in "$CAIRN_RUNTIME_DIR"/cairn-*/b-*.pid; do
    [ -e "$f" ] || continue
    if ! flock -n -s "$f" true 2>/dev/null; then n=$((n + 1)); fi
  done
  echo $n
}
