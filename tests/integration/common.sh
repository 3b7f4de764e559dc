# shellcheck shell=bash
# Helpers for the integration tests (sourced, not run). Bash.
#
# Conventions: every test works under its own fresh temporary directory $T (removed on
# success, kept on failure unless CAIRN_IT_KEEP=0), runs MPI jobs with a time limit, and
# inspects checkpoint files directly (layout: <dir>/<name>/v<version>/r<rank>.ckpt, "*.tmp"
# while being written, COMMIT on persistent once every rank's file is durable). It does not
# depend on the `cairn` tool's output.

set -u
set -o pipefail

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Four ranks on two cores: never pin, and give the processor away while waiting.
export OMPI_MCA_mpi_yield_when_idle=1
export OMPI_MCA_hwloc_base_binding_policy=none
export OMPI_MCA_rmaps_base_oversubscribe=1

IT_NAME=${IT_NAME:-$(basename "$0" .sh)}
NP=${NP:-4}
CKPT=heat

log() { echo "[$IT_NAME] $*" >&2; }

fail() {
  echo "[$IT_NAME] FAIL: $*" >&2
  if [ -n "${T:-}" ] && [ -d "$T" ]; then
    echo "[$IT_NAME] files kept in $T" >&2
    for f in "$T"/*.out "$T"/*.err; do
      [ -f "$f" ] || continue
      echo "----- $f (last 20 lines)" >&2
      tail -n 20 "$f" >&2
    done
  fi
  T_KEEP=1
  exit 1
}

# Creates $T and removes it at exit unless a failure asked to keep it.
make_tmp() {
  T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-it-${IT_NAME}.XXXXXX") || exit 1
  T_KEEP=0
  # mpirun's session directory and Open MPI's shared-memory segments, which a rank or an
  # mpirun killed by the test would leave behind, go into $T too.
  export TMPDIR=$T OMPI_MCA_btl_vader_backing_directory=$T
  trap 'cleanup_tmp' EXIT
}

cleanup_tmp() {
  local p
  for p in ${BG_PIDS:-}; do kill -9 "$p" 2>/dev/null; done
  if [ "${T_KEEP:-0}" = 0 ] && [ -n "${T:-}" ]; then rm -rf "$T"; fi
}

# write_cfg FILE DIR [extra "key = value" lines...]: scratch DIR/scratch, persistent
# DIR/persistent, synchronous mode.
write_cfg() {
  local file=$1 dir=$2
  shift 2
  {
    echo "# written by $IT_NAME"
    echo "scratch = $dir/scratch"
    echo "persistent = $dir/persistent"
    echo "mode = sync"
    local l
    for l in "$@"; do echo "$l"; done
  } >"$file"
}

MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$NP")

# run_app OUT ERR LIMIT BIN ARGS...: runs the MPI program to completion (time limit LIMIT s);
# returns its exit status.
run_app() {
  local out=$1 err=$2 limit=$3
  shift 3
  timeout -k 5 "$limit" "${MPIRUN[@]}" "$@" >"$out" 2>"$err"
}

# The value of the RESULT line in a stdout file ("" when absent).
result_of() { sed -n 's/^RESULT //p' "$1" | tail -n 1; }

# The version in "RESTARTED_FROM <v>" ("" when absent; "FRESH" runs have none).
restarted_from() { sed -n 's/^RESTARTED_FROM //p' "$1" | tail -n 1; }

# The application's stdout must hold only its own lines (cairn logs to stderr).
check_stdout_clean() {
  local bad
  bad=$(grep -Ev '^(RESULT [-+.0-9e]+ [0-9a-f]{16}|RESTARTED_FROM [0-9]+|FRESH)$' "$1")
  [ -z "$bad" ] || fail "unexpected lines on the application's stdout ($1): $bad"
}

# reference_run CMD...: the uninterrupted run ($T/ref.out, 60 s): it must start fresh, print a
# RESULT and nothing else on stdout. Sets REF.
reference_run() {
  run_app "$T/ref.out" "$T/ref.err" 60 "$@" || fail "reference run failed (exit $?)"
  grep -qx FRESH "$T/ref.out" || fail "reference run did not start fresh"
  REF=$(result_of "$T/ref.out")
  [ -n "$REF" ] || fail "reference run printed no RESULT"
  check_stdout_clean "$T/ref.out"
  log "reference: RESULT $REF"
}

# killed_newest: after a kill, the newest version every rank has complete, which must be at
# least the second checkpoint ($EVERY) and the killed job ($T/killed.out) must have printed no
# RESULT. Sets NEWEST.
killed_newest() {
  [ -z "$(result_of "$T/killed.out")" ] || fail "the killed job printed a RESULT (it finished first)"
  NEWEST=$(restorable_versions "$T/run" | head -n 1)
  log "after the kill: restorable versions (newest first): $(restorable_versions "$T/run" | tr '\n' ' ')"
  [ -n "$NEWEST" ] || fail "no version is complete on disk although 2 were committed"
  [ "$NEWEST" -ge $((2 * EVERY)) ] || fail "newest complete version $NEWEST < $((2 * EVERY))"
}

# expect_restart NAME FROM CMD...: runs CMD to completion ($T/NAME.out, 60 s) as a restart that
# must resume from version FROM, print the reference RESULT ($REF) and nothing else on stdout,
# and leave no temporary file under $T/run.
expect_restart() {
  local name=$1 want=$2 got from left
  shift 2
  run_app "$T/$name.out" "$T/$name.err" 60 "$@" || fail "$name run failed (exit $?)"
  check_stdout_clean "$T/$name.out"
  from=$(restarted_from "$T/$name.out")
  [ "$from" = "$want" ] ||
    fail "$name: restarted from '${from:-nothing}', expected $want (stdout: $(tr '\n' ' ' <"$T/$name.out"))"
  got=$(result_of "$T/$name.out")
  [ "$got" = "$REF" ] || fail "$name: RESULT '$got' differs from the uninterrupted '$REF'"
  left=$(tmp_files "$T/run")
  [ -z "$left" ] || fail "temporary files left after the $name run: $left"
  log "$name: restarted from $from: RESULT $got"
}

# Committed versions: those with a COMMIT record on persistent (rank 0 writes it after every
# rank's file is durable).
count_commits() {
  local n=0 f
  for f in "$1/persistent/$CKPT"/v*/COMMIT; do [ -f "$f" ] && n=$((n + 1)); done
  echo $n
}

# Versions for which every rank 0..NP-1 has a final (non-.tmp) file on scratch or persistent,
# newest first.
restorable_versions() {
  local dir=$1 d v r ok
  for d in "$dir/scratch/$CKPT"/v* "$dir/persistent/$CKPT"/v*; do
    [ -d "$d" ] && basename "$d"
  done | sed -n 's/^v\([0-9][0-9]*\)$/\1/p' | sort -n -r -u | while read -r v; do
    ok=1
    for ((r = 0; r < NP; r++)); do
      if [ ! -f "$dir/scratch/$CKPT/v$v/r$r.ckpt" ] &&
        [ ! -f "$dir/persistent/$CKPT/v$v/r$r.ckpt" ]; then
        ok=0
        break
      fi
    done
    [ $ok = 1 ] && echo "$v"
  done
}

# start_app OUT ERR BIN ARGS...: starts the MPI job in the background; sets APP_PID (mpirun).
start_app() {
  local out=$1 err=$2
  shift 2
  "${MPIRUN[@]}" "$@" >"$out" 2>"$err" &
  APP_PID=$!
  BG_PIDS="${BG_PIDS:-} $APP_PID"
}

# wait_commits DIR N LIMIT: waits until at least N versions are committed; fails after LIMIT s
# or when the job ends first.
wait_commits() {
  local dir=$1 want=$2 limit=$3 t=0
  while [ "$(count_commits "$dir")" -lt "$want" ]; do
    kill -0 "$APP_PID" 2>/dev/null || fail "the job ended before $want versions were committed"
    sleep 0.1
    t=$((t + 1))
    [ $t -le $((limit * 10)) ] || fail "fewer than $want versions committed after ${limit}s"
  done
}

# The pid of MPI rank R among mpirun's children ("" when not found).
rank_pid() {
  local r=$1 c
  for c in $(pgrep -P "$APP_PID"); do
    if tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$r"; then
      echo "$c"
      return
    fi
  done
}

# kill_rank R: kill -9 of rank R's process, then waits (at most 30 s) for mpirun to tear the
# job down. Fails when the job had already finished.
kill_rank() {
  local r=$1 pid ranks t=0 p
  pid=$(rank_pid "$r")
  # (Once, in CI, rank 2 was not found under a job that still ran: looked for again for 2 s,
  # and what mpirun has then is shown.)
  while [ -z "$pid" ] && [ $t -lt 20 ] && kill -0 "$APP_PID" 2>/dev/null; do
    sleep 0.1
    t=$((t + 1))
    pid=$(rank_pid "$r")
  done
  [ -n "$pid" ] || fail "no process of rank $r under mpirun $APP_PID (job already over?);" \
    "its children: $(for c in $(pgrep -P "$APP_PID"); do
      echo "$c $(tr '\0' ' ' < "/proc/$c/cmdline" 2>/dev/null | cut -c1-80)" \
        "$(tr '\0' '\n' < "/proc/$c/environ" 2>/dev/null | grep OMPI_COMM_WORLD_RANK)"
    done | tr '\n' ';')"
  t=0
  ranks=$(pgrep -P "$APP_PID" | tr '\n' ' ')
  log "kill -9 $pid (rank $r of job $APP_PID; its ranks: $ranks)"
  kill -9 "$pid"
  while kill -0 "$APP_PID" 2>/dev/null; do
    sleep 0.1
    t=$((t + 1))
    if [ $t -gt 300 ]; then
      # shellcheck disable=SC2086 # a list of pids
      kill -9 "$APP_PID" $ranks 2>/dev/null
      fail "mpirun did not end within 30 s after rank $r was killed"
    fi
  done
  wait "$APP_PID" 2>/dev/null
  local rc=$?
  [ $rc -ne 0 ] || fail "mpirun exited 0 although rank $r was killed"
  # Every rank of the killed job must be gone before the restart starts.
  for p in $ranks; do
    t=0
    while kill -0 "$p" 2>/dev/null; do
      sleep 0.1
      t=$((t + 1))
      if [ $t -gt 100 ]; then
        kill -9 "$p" 2>/dev/null
        fail "rank process $p survived the job's end"
      fi
    done
  done
}

# Temporary files left anywhere below DIR (one per line).
tmp_files() { find "$1" -name '*.tmp' 2>/dev/null; }

# flip_byte FILE OFFSET: inverts every bit of the byte at OFFSET, in place.
flip_byte() {
  local f=$1 off=$2 b nb
  b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' \n')
  [ -n "$b" ] || fail "cannot read byte $off of $f"
  nb=$((b ^ 255))
  # shellcheck disable=SC2059
  printf "$(printf '\\%03o' "$nb")" | dd of="$f" bs=1 seek="$off" count=1 conv=notrunc status=none ||
    fail "cannot write byte $off of $f"
  local after
  after=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' \n')
  [ "$after" = "$nb" ] || fail "byte $off of $f is $after after the flip, expected $nb"
}
