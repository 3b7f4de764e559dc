# shellcheck shell=bash
# Shared helpers of mpi_matrix.sh and bad_inputs.sh (sourced, not run).
#
# Process discovery: every process of a run is found by any of
#   - the tag: mpirun is started with CAIRN_MPITEST_TAG=<unique> in its environment, which the
#     ranks, hydra_pmi_proxy / orted and anything cairn forks inherit (/proc/PID/environ);
#   - its command line containing "$W/" (the program is copied into $W/bin/, the checkpoint
#     directory is $W/ckpt: ranks, `cairn launch/restart/checkpoint`, a coordinator daemon);
#   - its working directory being $W or under it (jobs run in $W/run; restored ranks show up
#     as "[cairn-restorer]" with neither command line nor environment);
#   - being a descendant of a launcher started by the harness (ranks that changed their
#     command line and environment).
# Zombies are ignored (they are dead; their parent may be gone and init may not reap them).
# Needs: W (work directory, absolute, no trailing slash), TAG, and LAUNCHERS (pids).

: "${LAUNCHERS:=}"
: "${DEADLINE:=$((SECONDS + 250))}"

# Open MPI 4 keeps a session directory per mpirun (8 MiB of shared-memory files) under
# $TMPDIR/ompi.HOST.UID, and its vader transport a segment file per rank in /dev/shm; an mpirun
# or a rank killed with -9, as these tests do, leaves both behind, and a suite run would leave
# gigabytes. mpi_private_tmp gives the script's jobs a private, short (Unix socket paths) TMPDIR
# that also holds the vader segments; mpi_private_tmp_remove, from the script's exit trap,
# removes it with whatever is left in it.
mpi_private_tmp() {
  TMPDIR=$(mktemp -d /tmp/cairn-mpi.XXXXXX) || return 1
  export TMPDIR OMPI_MCA_btl_vader_backing_directory=$TMPDIR
}
mpi_private_tmp_remove() {
  case "${TMPDIR:-}" in /tmp/cairn-mpi.??????) rm -rf "$TMPDIR" ;; esac
}

# min($1, what is left until $DEADLINE - 10 s), at least 5: the time limit of a stage, so
# that a whole script ends before ctest's TIMEOUT would kill it without its clean-up.
budget() {
  local left=$((DEADLINE - SECONDS - 10))
  [ "$left" -lt "$1" ] && set -- "$left"
  [ "$1" -lt 5 ] && set -- 5
  echo "$1"
}

# Echoes "VAR=value" arguments for `env` that keep MPI on loopback / shared memory and allow
# Open MPI to run as root on 4 ranks over 2 cores. UCX (MPICH's ch4:ucx) uses its shared-memory
# transports only: after a restart, MPI_Finalize hangs tearing down UCX's TCP transport
# (docs/mpi.md, limits); CAIRN_MPITEST_UCX_TLS overrides (e.g. "all" to see it).
mpi_env() {
  echo "CAIRN_MPITEST_TAG=$TAG" \
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_tcp_if_include=lo \
    OMPI_MCA_oob_tcp_if_include=lo UCX_NET_DEVICES=lo \
    "UCX_TLS=${CAIRN_MPITEST_UCX_TLS:-posix,sysv,cma,self}"
}

# The launcher of MPI $1 (ompi|mpich); MPI_MATRIX_MPIRUN overrides.
mpi_launcher() {
  if [ -n "${MPI_MATRIX_MPIRUN:-}" ]; then
    echo "$MPI_MATRIX_MPIRUN"
  elif [ "$1" = mpich ]; then
    command -v mpirun.mpich || command -v mpiexec.hydra
  else
    command -v mpirun.openmpi || command -v mpirun
  fi
}

# Prints the pids of every live process of this run (one per line), never the harness itself
# nor one of its ancestors.
job_pids() {
  local f p seeds="$LAUNCHERS"
  # Patterns through /dev/fd so that grep's own command line does not contain them.
  # shellcheck disable=SC2013  # (/proc paths have no spaces)
  for f in $(grep -l -a -s -F -f <(printf '%s\n' "CAIRN_MPITEST_TAG=$TAG") /proc/[0-9]*/environ); do
    p=${f#/proc/}; seeds="$seeds ${p%/environ}"
  done
  # shellcheck disable=SC2013
  for f in $(grep -l -a -s -F -f <(printf '%s\n' "$W/") /proc/[0-9]*/cmdline); do
    p=${f#/proc/}; seeds="$seeds ${p%/cmdline}"
  done
  # Working directory under $W (restored ranks: cairn-restorer with an empty command line and
  # environment once mpirun is gone).
  # shellcheck disable=SC2044  # (/proc paths have no spaces)
  for f in $(find /proc -maxdepth 2 -name cwd \( -lname "$W/*" -o -lname "$W" \) 2> /dev/null); do
    p=${f#/proc/}; p=${p%/cwd}
    case "$p" in *[!0-9]*) ;; *) seeds="$seeds $p" ;; esac
  done
  # Seeds, minus the harness and its ancestors, plus their descendants; no zombies.
  ps -e -o pid= -o ppid= -o stat= 2> /dev/null | awk -v seeds="$seeds" -v self="$$" -v bpid="$BASHPID" '
    { pid[NR] = $1; pp[$1] = $2; st[$1] = $3 }
    END {
      for (p = self; p != "" && p > 1; p = pp[p]) anc[p] = 1
      for (p = bpid; p != "" && p > 1; p = pp[p]) anc[p] = 1
      n = split(seeds, s, " ")
      for (i = 1; i <= n; i++) if (!(s[i] in anc) && (s[i] in st)) k[s[i]] = 1
      changed = 1
      while (changed) {
        changed = 0
        for (i = 1; i <= NR; i++) {
          q = pid[i]
          if (!(q in k) && !(q in anc) && (pp[q] in k)) { k[q] = 1; changed = 1 }
        }
      }
      for (q in k) if (st[q] !~ /^[ZX]/) print q
    }' | sort -n
}

# `ps` lines of the given pids.
describe_pids() {
  [ $# -gt 0 ] && ps -o pid,ppid,stat,etime,args -p "$(echo "$@" | tr ' ' ',')" 2> /dev/null | cut -c1-240
}

# kill -9 every process of the run until none is left (at most $1 seconds, default 30);
# reaps the launchers. Returns 1 (and lists them) if some survive.
kill_job() {
  local limit=${1:-30} end pids
  end=$((SECONDS + limit))
  while :; do
    pids=$(job_pids)
    [ -z "$pids" ] && break
    # shellcheck disable=SC2086
    kill -9 $pids 2> /dev/null
    if [ $SECONDS -ge $end ]; then
      echo "processes of the run survive kill -9:" >&2
      # shellcheck disable=SC2086
      describe_pids $pids >&2
      return 1
    fi
    sleep 0.2
  done
  local l
  for l in $LAUNCHERS; do { wait "$l"; } 2> /dev/null; done
  return 0
}

# Waits until no process of the run is left (at most $1 seconds); prints the survivors and
# returns 1 otherwise.
wait_job_gone() {
  local limit=${1:-10} end pids
  end=$((SECONDS + limit))
  while :; do
    pids=$(job_pids)
    [ -z "$pids" ] && return 0
    if [ $SECONDS -ge $end ]; then
      # shellcheck disable=SC2086
      describe_pids $pids
      return 1
    fi
    sleep 0.2
  done
}

# Last 40 lines of every log of the run, and the checkpoint directory.
dump_logs() {
  local f
  for f in "$W"/*.out "$W"/*.err; do
    [ -s "$f" ] || continue
    echo "--- $f (last 40 lines):"
    tail -n 40 "$f"
  done
  if [ -d "$W/ckpt" ]; then
    echo "--- ls -la $W/ckpt:"
    ls -la "$W/ckpt"
  fi
}

# The job.v<N>.manifest files of $1 (names only), sorted by version.
manifests() {
  local f
  for f in "$1"/job.v*.manifest; do
    [ -f "$f" ] && basename "$f"
  done | grep -E '^job\.v[0-9]+\.manifest$' | sort -t v -k 2 -n
}

# "STEP STEPS" of the last "PROGRESS <name> <step> <steps>" line in file $1 ("0 0" if none).
last_progress() {
  local line
  line=$(grep -a '^PROGRESS ' "$1" 2> /dev/null | tail -n 1)
  # shellcheck disable=SC2086
  set -- $line
  echo "${3:-0} ${4:-0}"
}

# step_app NAME MIB USLEEP: builds ./NAME (Open MPI's mpicc) in the current directory: an MPI
# program holding MIB MiB per rank that does one allreduce and sleeps USLEEP microseconds per
# step, for the number of steps given as its argument; rank 0 prints "step N" on stderr at
# every step and "RESULT NAME <value>" at the end (the same value on every uninterrupted run).
step_app() {
  cat > "$1.c" << C
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, steps = atoi(argv[1]);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  size_t n = ((size_t)$2 << 20) / sizeof(long);
  long* mem = malloc(n * sizeof(long));
  for (size_t i = 0; i < n; ++i) mem[i] = (long)(i * 2654435761u) ^ rank;
  long acc = 0;
  for (int s = 0; s < steps; ++s) {
    long v = mem[(s * 7919u) % n] + s, sum = 0;
    MPI_Allreduce(&v, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    acc = acc * 31 + sum;
    mem[(s * 104729u) % n] = acc;
    if (rank == 0) fprintf(stderr, "step %d\\n", s);
    usleep($3);
  }
  if (rank == 0) printf("RESULT $1 %ld\\nOK\\n", acc);
  MPI_Finalize();
  return 0;
}
C
  mpicc -O2 -o "$1" "$1.c"
}

# wait_steps LOG N TIMEOUT: until LOG shows "step N" or beyond (a step_app's rank 0); false
# after TIMEOUT seconds.
wait_steps() {
  local end=$((SECONDS + $3))
  while [ $SECONDS -lt $end ]; do
    [ "$(grep -c '^step' "$1" 2> /dev/null)" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
