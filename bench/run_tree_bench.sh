#!/usr/bin/env bash
# Process trees (issue 11, requirement 10), through the real command line, ratios against
# raw I/O measured in the same run:
#   checkpoint  NPROC processes x MIB MiB of incompressible memory (cairn_bench_transparent_app
#               tree), `cairn checkpoint` from request to durable (every image fdatasync'd and
#               the job manifest committed) against NPROC raw writers of MIB MiB each
#               (pwrite + fdatasync, started together). Goal raw/cairn >= 0.9.
#   restart     the images evicted from the page cache, `cairn restart` until every process
#               answers again (cairn status) against NPROC parallel raw reads of the images
#               (evicted too). Goal raw/cairn >= 0.8. The restored tree's checksum must equal
#               the original's.
#   small tree  SMALL processes of 1 MiB: `cairn checkpoint` request to durable. Goal < 0.5 s.
# (The syscall-loop overhead of a launched single-threaded program: run_transparent_bench.sh.)
#   bench/run_tree_bench.sh BUILD_DIR [--dir DIR] [--nproc N] [--mib M] [--small S] [--reps R]
#                           [--json FILE]
# Build first: cmake --build BUILD_DIR --target cairn_bench_transparent
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir=/var/tmp nproc=8 mib=256 small=64 reps=2 json=bench_tree.json
bench_args "dir nproc mib small reps json" "$@"
base=$dir
work=$(mktemp -d "$base/cairn-tree-bench.XXXXXX")
trap 'pkill -9 -f "$work" 2> /dev/null || true; rm -rf "$work"' EXIT

# Raw baseline: NPROC writers started together; the span from the go signal to the last.
raw_write() {
  local d=$work/raw && rm -rf "$d" && mkdir -p "$d"
  for i in $(seq "$nproc"); do
    "$app" rawwrite "$mib" "$d/f$i" "$d/ready$i" "$d/go" > "$d/out$i" &
  done
  for i in $(seq "$nproc"); do wait_file "$d/ready$i"; done
  local t0 && t0=$(now)
  touch "$d/go"
  wait
  echo $(( $(now) - t0 ))
}
raw_read() {
  local d=$work/raw
  "$app" evict "$d"/f*
  local t0 && t0=$(now)
  for i in $(seq "$nproc"); do "$app" rawread "$d/f$i" > /dev/null & done
  wait
  echo $(( $(now) - t0 ))
}

# The tree under cairn: launch, checkpoint (timed), --kill; restart (timed) until every
# process answers, then STOP and compare the checksum with an uninterrupted run's.
restored() {
  "$cairn" status --ckpt-dir "$1" --json 2> /dev/null | grep -c '"restored": true' || true
}
cairn_cycle() {  # $1: processes, $2: MiB; prints "ckpt_ns restart_ns"
  local d=$work/t$1-$2 && rm -rf "$d" && mkdir -p "$d"
  "$cairn" launch --ckpt-dir "$d/ck" -- "$app" tree "$1" "$2" "$d/ready" "$d/stop" \
    > "$d/out1" 2> "$d/err1" &
  local lp=$!
  wait_file "$d/ready"
  local t0 && t0=$(now)
  "$cairn" checkpoint --ckpt-dir "$d/ck" --kill > "$d/ckpt.out" 2> "$d/ckpt.err" ||
    { cat "$d/ckpt.err" >&2; exit 1; }
  local ckpt=$(( $(now) - t0 ))
  wait "$lp" || true
  "$app" evict "$d"/ck/*.cimg
  t0=$(now)
  "$cairn" restart --ckpt-dir "$d/ck" > "$d/out2" 2> "$d/err2" &
  local rp=$!
  for _ in $(seq 6000); do [ "$(restored "$d/ck")" -ge "$1" ] && break; sleep 0.01; done
  local rst=$(( $(now) - t0 ))
  touch "$d/stop"
  wait "$rp" || { cat "$d/err2" >&2; exit 1; }
  # The same tree uninterrupted, for the checksum.
  rm -f "$d/stop" "$d/ready"
  "$app" tree "$1" "$2" "$d/ready" "$d/stop" > "$d/ref" &
  local fp=$!
  wait_file "$d/ready"
  touch "$d/stop"
  wait "$fp"
  if ! diff -q "$d/ref" "$d/out2" > /dev/null; then
    echo "run_tree_bench.sh: the restored tree's checksum differs: $(cat "$d/out2") vs $(cat "$d/ref")" >&2
    exit 1
  fi
  echo "$ckpt $rst"
}

rw=() rr=() cc=() cr=() sc=()
warm_memory $((3 * nproc * mib)) /dev/shm
for r in $(seq "$reps"); do
  rw+=("$(raw_write)")
  rr+=("$(raw_read)")
  read -r c s <<< "$(cairn_cycle "$nproc" "$mib")"
  cc+=("$c") cr+=("$s")
  read -r c s <<< "$(cairn_cycle "$small" 1)"
  sc+=("$c")
  echo "rep $r: raw write $(secs "${rw[-1]}") s, cairn checkpoint $(secs "${cc[-1]}") s," \
    "raw read $(secs "${rr[-1]}") s, cairn restart $(secs "${cr[-1]}") s," \
    "$small-process checkpoint $(secs "${sc[-1]}") s" >&2
done
RW=$(printf '%s\n' "${rw[@]}" | best) RR=$(printf '%s\n' "${rr[@]}" | best)
CC=$(printf '%s\n' "${cc[@]}" | best) CR=$(printf '%s\n' "${cr[@]}" | best)
SC=$(printf '%s\n' "${sc[@]}" | best)
CK_R=$(ratio "$RW" "$CC") RS_R=$(ratio "$RR" "$CR")
printf '%-44s %10s %10s %8s %s\n' "process trees (best of $reps)" "raw" "cairn" "ratio" "goal"
printf '%-44s %9ss %9ss %8s %s\n' "checkpoint $nproc x $mib MiB (request->durable)" "$(secs "$RW")" \
  "$(secs "$CC")" "$CK_R" ">= 0.9 $(verdict "$CK_R" 0.9 ">=")"
printf '%-44s %9ss %9ss %8s %s\n' "restart $nproc x $mib MiB (until all answer)" "$(secs "$RR")" \
  "$(secs "$CR")" "$RS_R" ">= 0.8 $(verdict "$RS_R" 0.8 ">=")"
printf '%-44s %10s %9ss %8s %s\n' "checkpoint $small x 1 MiB (request->durable)" "-" "$(secs "$SC")" \
  "-" "< 0.5 s $(verdict "$(secs "$SC")" 0.5 "<")"
cat > "$json" << JSON
{"bench": "tree", "nproc": $nproc, "mib": $mib, "small": $small, "reps": $reps,
 "raw_write_s": $(secs "$RW"), "checkpoint_s": $(secs "$CC"), "checkpoint_ratio": $CK_R,
 "raw_read_s": $(secs "$RR"), "restart_s": $(secs "$CR"), "restart_ratio": $RS_R,
 "small_checkpoint_s": $(secs "$SC")}
JSON
