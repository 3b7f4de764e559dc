#!/usr/bin/env bash
# Incremental images (issue 12, requirement 6), through the real command line, ratios in one
# run: one process holding MIB MiB of incompressible memory (cairn_bench_transparent_app
# dirty) under `cairn launch --incremental REPS+1` (v1 full, REPS incremental images, then a
# full one again), images in DIR (default /dev/shm: the node-local level where checkpoints
# land first).
#   full        `cairn checkpoint --wait` of the first image (request to committed)
#   incremental after the program rewrote PCT % of its pages (spread over the whole range),
#               the next checkpoint: bytes and time against the full one. Goals: bytes <= 0.08,
#               time <= 0.15 (at PCT = 5).
#   restart     `cairn restart --image` of the newest incremental image (a chain of REPS + 1)
#               against a full image, each until the program has checksummed all its memory
#               and exited (each checksum must be the one the program had at that checkpoint).
# Checkpoints and restarts are each the best of several; memory is warmed (lib.sh) before
# each, so that every image and every restored process runs on guest pages used before.
#   bench/run_incremental_bench.sh BUILD_DIR [--dir DIR] [--mib M] [--pct P] [--block PAGES]
#                                  [--reps R] [--json FILE]
# --block: the rewritten pages come in runs of PAGES pages (default 1: single pages scattered
# over the whole range, the worst case for an incremental image).
# Build first: cmake --build BUILD_DIR --target cairn_bench_transparent
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir=/dev/shm mib=1024 pct=5 block=1 reps=3 json=bench_incremental.json
bench_args "dir mib pct block reps json" "$@"
base=$dir
work=$(mktemp -d "$base/cairn-incremental-bench.XXXXXX")
pid=''
trap '[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
ck=$work/ck ctl=$work/ctl
mkdir -p "$ctl"
warm_memory "$((2 * mib))" "$base"

# A full image every REPS + 1: v1 full, v2 .. v<REPS+1> incremental, v<REPS+2> full again.
"$cairn" launch --ckpt-dir "$ck" --keep 1000 --incremental $((reps + 1)) -- \
  "$app" dirty "$mib" "$pct" "$ctl" "$block" > "$work/app.out" 2> "$work/app.err" &
pid=$!
wait_file "$ctl/ready"
image() { ls "$ck"/*.v"$1".cimg; }
checkpoint() {  # prints the nanoseconds from request to committed
  local t0 && t0=$(now)
  "$cairn" checkpoint --ckpt-dir "$ck" --wait > /dev/null
  echo $(($(now) - t0))
}
write_pages() {  # $1: n; the program rewrites PCT % of its pages (then settles)
  touch "$ctl/write$1"
  wait_file "$ctl/wrote$1"
  # The image goes to guest pages used before, as the full one does (lib.sh warm_memory).
  warm_memory "$((mib / 4 + 64))" "$base"
  sleep 0.2
}
full_list=$(checkpoint) inc_ns_list='' inc_bytes_list=''
full_bytes=$(stat -c %s "$(image 1)")
for n in $(seq "$reps"); do
  write_pages "$n"
  inc_ns_list="$inc_ns_list $(checkpoint)"
  inc_bytes_list="$inc_bytes_list $(stat -c %s "$(image $((n + 1)))")"
done
write_pages $((reps + 1))
warm_memory "$mib" "$base"
full_list="$full_list $(checkpoint)"
touch "$ctl/stop"
wait "$pid" || true
pid=''
full_ns=$(echo "$full_list" | tr ' ' '\n' | grep . | best)
inc_ns=$(echo "$inc_ns_list" | tr ' ' '\n' | grep . | best)
inc_bytes=$(echo "$inc_bytes_list" | tr ' ' '\n' | grep . | best)
chain=$(image $((reps + 1)))
depth=$("$cairn" inspect --json "$chain" | sed -n 's/.*"depth": *\([0-9]*\).*/\1/p' | head -1)
[ "$depth" = "$reps" ] || { echo "run_incremental_bench.sh: v$((reps + 1)) has depth '$depth', not $reps" >&2; exit 1; }
[ "$("$cairn" inspect --json "$(image $((reps + 2)))" | grep -c '"parent"')" = 0 ] ||
  { echo "run_incremental_bench.sh: v$((reps + 2)) is not a full image" >&2; exit 1; }
restart() {  # $1: image, $2: the checksum it must print; prints the ns until the program exited
  warm_memory "$((2 * mib))" "$base"  # both restarts on guest pages used before (lib.sh)
  local t0 && t0=$(now)
  "$cairn" restart --image "$1" > "$work/restart.out" 2> "$work/restart.err"
  local t=$(($(now) - t0))
  local got && got=$(sed -n 's/^done //p' "$work/restart.out")
  [ "$got" = "$2" ] || { echo "run_incremental_bench.sh: restart from $1 printed '$got', want '$2'" >&2; exit 1; }
  echo $t
}
# The chain restores the memory of its newest image, the checksum after write <REPS>; the
# last full image the one after write <REPS+1>.
chain_want=$(cat "$ctl/wrote$reps")
full_want=$(cat "$ctl/wrote$((reps + 1))")
chain_list='' full_restart_list=''
for _ in 1 2; do
  full_restart_list="$full_restart_list $(restart "$(image $((reps + 2)))" "$full_want")"
  chain_list="$chain_list $(restart "$chain" "$chain_want")"
done
chain_ns=$(echo "$chain_list" | tr ' ' '\n' | grep . | best)
full_restart_ns=$(echo "$full_restart_list" | tr ' ' '\n' | grep . | best)

bytes_ratio=$(ratio "$inc_bytes" "$full_bytes")
time_ratio=$(ratio "$inc_ns" "$full_ns")
restart_ratio=$(ratio "$full_restart_ns" "$chain_ns")
printf '%-34s %12s %12s %8s %s\n' "incremental ($mib MiB, $pct % in $block-page runs)" full incremental ratio goal
printf '%-34s %12s %12s %8s %s\n' "image bytes" "$full_bytes" "$inc_bytes" "$bytes_ratio" \
  "<= 0.08 $(verdict "$bytes_ratio" 0.0801 '<')"
printf '%-34s %12s %12s %8s %s\n' "checkpoint (request to committed), s" "$(secs "$full_ns")" \
  "$(secs "$inc_ns")" "$time_ratio" "<= 0.15 $(verdict "$time_ratio" 0.1501 '<')"
printf '%-34s %12s %12s %8s %s\n' "restart to exit, s (chain depth $depth)" "$(secs "$full_restart_ns")" \
  "$(secs "$chain_ns")" "$restart_ratio" "(full/chain)"
cat > "$json" << JSON
{"bench": "incremental", "mib": $mib, "percent_written": $pct, "block_pages": $block, "reps": $reps, "dir": "$base",
 "full_bytes": $full_bytes, "incremental_bytes": $inc_bytes, "bytes_ratio": $bytes_ratio,
 "full_checkpoint_s": $(secs "$full_ns"), "incremental_checkpoint_s": $(secs "$inc_ns"),
 "time_ratio": $time_ratio, "chain_depth": $depth,
 "restart_full_s": $(secs "$full_restart_ns"), "restart_chain_s": $(secs "$chain_ns"),
 "restart_ratio_full_over_chain": $restart_ratio}
JSON
echo "wrote $json"
