#!/usr/bin/env bash
# Transparent images through cairn's levels (issue 12, requirement 6, first part), through the
# real command line, ratios against raw I/O measured in the same run:
#   scratch     NPROC processes x MIB MiB of incompressible memory (cairn_bench_transparent_app
#               tree) launched with --config (scratch on tmpfs): `cairn checkpoint` from request
#               until every image and the manifest are committed on scratch and the processes
#               run again, against NPROC raw writers of MIB MiB to the same tmpfs. Goal
#               raw/cairn >= 0.9.
#   persistent  from the same request until the backend has the checkpoint on persistent
#               (PERSIST, a disk), against NPROC raw writers there (pwrite + fdatasync).
#   restart     the tree killed (kill -9), `cairn restart --config` from scratch until every
#               process answers again (cairn status), against NPROC parallel raw reads of the
#               same images from scratch into fresh memory (the span of the concurrent reads).
#               Goal raw/cairn >= 0.9. The restored tree's output must be the program's.
#   today       the same job with today's single-directory images (--ckpt-dir on PERSIST):
#               request to durable, i.e. how long the program paused; the ratio today/scratch
#               is how much shorter the pause is with the levels.
#   bench/run_levels_bench.sh BUILD_DIR [--scratch DIR] [--persist DIR] [--nproc N] [--mib M]
#                             [--reps R] [--json FILE]
# Build first: cmake --build BUILD_DIR --target cairn_bench_transparent
set -euo pipefail
. "$(dirname "$0")/lib.sh"
scratch=/dev/shm persist=/var/tmp nproc=4 mib=1024 reps=2 json=bench_levels.json
bench_args "scratch persist nproc mib reps json" "$@"
sbase=$scratch pbase=$persist
# (One process would take the single-process path: an image, no job manifest to wait for.)
[ "$nproc" -ge 2 ] || { echo "run_levels_bench.sh: --nproc must be at least 2" >&2; exit 2; }
swork=$(mktemp -d "$sbase/cairn-levels-bench.XXXXXX")
pwork=$(mktemp -d "$pbase/cairn-levels-bench.XXXXXX")
export CAIRN_RUNTIME_DIR=$pwork/run
mkdir -p "$CAIRN_RUNTIME_DIR"
trap 'pkill -9 -f "$pwork" 2> /dev/null || true; pkill -9 -f "$swork" 2> /dev/null || true; rm -rf "$swork" "$pwork"' EXIT

raw_write() {  # $1: directory; NPROC writers started together, the span to the last
  local d=$1/raw && rm -rf "$d" && mkdir -p "$d"
  for i in $(seq "$nproc"); do
    "$app" rawwrite "$mib" "$d/f$i" "$d/ready$i" "$d/go" > "$d/out$i" &
  done
  for i in $(seq "$nproc"); do wait_file "$d/ready$i"; done
  warm_memory $((nproc * mib + 256)) "$swork"  # (see lib.sh; right before each timed write)
  local t0 && t0=$(now)
  touch "$d/go"
  wait
  echo $(($(now) - t0))
  rm -rf "$d"
}

# Whether the tree of DIR has N processes restored and answering.
restored() {
  "$cairn" status --ckpt-dir "$1" --json 2> /dev/null | grep -c '"restored": true' || true
}
# NPROC raw reads of the images in $1 at once: "span_ns" of the reads (each reader times its
# own pread loop; they run together, so the longest is the span).
raw_read_images() {
  local f outs=() longest=0 n
  for f in "$1"/*.cimg; do
    outs+=("$(mktemp "$pwork/rr.XXXXXX")")
    "$app" rawread "$f" > "${outs[-1]}" &
  done
  wait
  for f in "${outs[@]}"; do
    n=$(sed -n 's/^ns=//p' "$f") && rm -f "$f"
    [ "${n:-0}" -gt "$longest" ] && longest=$n
  done
  echo "$longest"
}

# The tree under --config: "scratch_ns persistent_ns raw_read_ns restart_ns".
levels_cycle() {
  local d=$pwork/l && rm -rf "$d" "$swork/s" && mkdir -p "$d"
  cat > "$d/levels.cfg" << CFG
scratch = $swork/s
persistent = $pwork/p
max_versions = 1
scratch_versions = 1
CFG
  "$cairn" launch --config "$d/levels.cfg" --name job -- "$app" tree "$nproc" "$mib" "$d/ready" \
    "$d/stop" > "$d/out" 2> "$d/err" &
  local lp=$!
  wait_file "$d/ready"
  warm_memory $((nproc * mib + 256)) "$swork"
  local t0 && t0=$(now)
  "$cairn" checkpoint --config "$d/levels.cfg" --name job > "$d/ckpt.out" 2> "$d/ckpt.err" &
  local cp=$!
  # The pause ends when the manifest is committed on scratch: the processes resume then,
  # while `cairn checkpoint` goes on to hand the flush to the node's backend.
  wait_file "$swork/s/job/job.v1.manifest"
  local ts=$(($(now) - t0))
  wait "$cp" || { cat "$d/ckpt.err" >&2; exit 1; }
  wait_file "$pwork/p/job/job.v1.manifest"
  local tp=$(($(now) - t0))
  # The job is lost (its processes killed), its images stay on scratch.
  pkill -9 -f "$d/ready" 2> /dev/null || true
  wait "$lp" 2> /dev/null || true
  warm_memory $((nproc * mib + 256)) "$swork"
  local rr && rr=$(raw_read_images "$swork/s/job")
  warm_memory $((nproc * mib + 256)) "$swork"
  t0=$(now)
  "$cairn" restart --config "$d/levels.cfg" --name job > "$d/out2" 2> "$d/err2" &
  local rp=$!
  for _ in $(seq 6000); do [ "$(restored "$swork/s/job")" -ge "$nproc" ] && break; sleep 0.01; done
  local tr=$(($(now) - t0))
  touch "$d/stop"
  wait "$rp" || { cat "$d/err2" >&2; exit 1; }
  grep -q "^done nproc=$nproc " "$d/out2" ||
    { echo "run_levels_bench.sh: the restored tree did not finish: $(cat "$d/out2" "$d/err2")" >&2; exit 1; }
  rm -rf "$swork/s" "$pwork/p"
  echo "$ts $tp $rr $tr"
}

today_cycle() {  # request to durable with --ckpt-dir on PERSIST
  local d=$pwork/t && rm -rf "$d" && mkdir -p "$d"
  "$cairn" launch --ckpt-dir "$d/ck" -- "$app" tree "$nproc" "$mib" "$d/ready" "$d/stop" \
    > "$d/out" 2> "$d/err" &
  local lp=$!
  wait_file "$d/ready"
  warm_memory $((nproc * mib + 256)) "$swork"
  local t0 && t0=$(now)
  "$cairn" checkpoint --ckpt-dir "$d/ck" > "$d/ckpt.out" 2> "$d/ckpt.err" ||
    { cat "$d/ckpt.err" >&2; exit 1; }
  local t=$(($(now) - t0))
  touch "$d/stop"
  wait "$lp" || true
  rm -rf "$d"
  echo "$t"
}

rs=() rp=() ls=() lp=() td=() rr=() lr=()
warm_memory $((3 * nproc * mib)) "$swork"
for r in $(seq "$reps"); do
  rs+=("$(raw_write "$swork")")
  rp+=("$(raw_write "$pwork")")
  out=$(levels_cycle) && read -r a b c e <<< "$out" && [ -n "${e:-}" ] ||
    { echo "run_levels_bench.sh: the levels cycle failed" >&2; exit 1; }
  ls+=("$a") lp+=("$b") rr+=("$c") lr+=("$e")
  out=$(today_cycle) && [ -n "$out" ] ||
    { echo "run_levels_bench.sh: the single-directory cycle failed" >&2; exit 1; }
  td+=("$out")
  echo "rep $r: raw tmpfs $(secs "${rs[-1]}") s, cairn scratch $(secs "${ls[-1]}") s;" \
    "raw persistent $(secs "${rp[-1]}") s, cairn on persistent $(secs "${lp[-1]}") s;" \
    "today's single directory $(secs "${td[-1]}") s;" \
    "raw read $(secs "${rr[-1]}") s, cairn restart from scratch $(secs "${lr[-1]}") s" >&2
done
RS=$(printf '%s\n' "${rs[@]}" | best) RP=$(printf '%s\n' "${rp[@]}" | best)
LS=$(printf '%s\n' "${ls[@]}" | best) LP=$(printf '%s\n' "${lp[@]}" | best)
TD=$(printf '%s\n' "${td[@]}" | best)
RR=$(printf '%s\n' "${rr[@]}" | best) LR=$(printf '%s\n' "${lr[@]}" | best)
S_R=$(ratio "$RS" "$LS") P_R=$(ratio "$RP" "$LP") T_R=$(ratio "$TD" "$LS") R_R=$(ratio "$RR" "$LR")
printf '%-52s %9s %9s %7s %s\n' "levels, $nproc x $mib MiB (best of $reps)" "baseline" "cairn" "ratio" "goal"
printf '%-52s %8ss %8ss %7s %s\n' "pause: request -> committed on scratch (tmpfs)" "$(secs "$RS")" \
  "$(secs "$LS")" "$S_R" ">= 0.9 $(verdict "$S_R" 0.9)"
printf '%-52s %8ss %8ss %7s %s\n' "request -> on persistent (backend, background)" "$(secs "$RP")" \
  "$(secs "$LP")" "$P_R" "-"
printf '%-52s %8ss %8ss %7s %s\n' "restart from scratch (until every process answers)" \
  "$(secs "$RR")" "$(secs "$LR")" "$R_R" ">= 0.9 $(verdict "$R_R" 0.9)"
printf '%-52s %8ss %8ss %7s %s\n' "pause: today's single directory vs scratch" "$(secs "$TD")" \
  "$(secs "$LS")" "$T_R" "(shorter pause: > 1)"
cat > "$json" << JSON
{"bench": "levels", "nproc": $nproc, "mib": $mib, "reps": $reps,
 "raw_tmpfs_write_s": $(secs "$RS"), "scratch_commit_s": $(secs "$LS"), "scratch_ratio": $S_R,
 "raw_persistent_write_s": $(secs "$RP"), "on_persistent_s": $(secs "$LP"), "persistent_ratio": $P_R,
 "today_single_dir_s": $(secs "$TD"), "today_over_scratch": $T_R,
 "raw_read_s": $(secs "$RR"), "restart_from_scratch_s": $(secs "$LR"), "restart_ratio": $R_R}
JSON
