#!/usr/bin/env bash
# The image write path (issue 12, requirement 4), through the real command line, ratios in
# one run: one process holding MIB MiB of incompressible memory (cairn_bench_transparent_app
# hold) checkpointed to DIR (default /dev/shm: a tmpfs, the node-local level), against the
# cost of moving the same bytes there without cairn.
#   memcpy      the program copies its MIB MiB to another buffer it touched before
#   tmpfs floor dd of MIB MiB from one reused 1 MiB buffer into a new file in DIR: the cost of
#               filling that many page-cache pages at all
#   raw write   the program writes its MIB MiB to a new file in DIR through a reused 1 MiB
#               buffer (memcpy + pwrite, then fdatasync), as cairn's writers do: on this VM
#               the kernel's copy from a large cold user buffer is several times slower than
#               from a cached one, so one big pwrite would flatter cairn
#   cairn W=1   `cairn checkpoint --wait` (request to committed) with one page writer
#               (CAIRN_WRITERS=1: the checkpoint thread alone)
#   cairn W=N   the same with the default writers (the cores online, at most 4)
#   zstd        the same with --compress zstd (codec threads), for the record
# Goals: raw / cairn W=N >= 0.9 (an image costs about what writing the program's bytes to
# tmpfs costs) and memcpy / cairn (issue 12: "about a memcpy"); floor / cairn and W=1 / W=N
# are reported with them. Each figure is the best
# of REPS; memory is warmed (lib.sh) before each, so every write lands on guest pages used
# before.
#   bench/run_writer_bench.sh BUILD_DIR [--dir DIR] [--mib M] [--reps R] [--json FILE]
# Build first: cmake --build BUILD_DIR --target cairn_bench_transparent
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir=/dev/shm mib=1024 reps=3 json=bench_writer.json
bench_args "dir mib reps json" "$@"
base=$dir
work=$(mktemp -d "$base/cairn-writer-bench.XXXXXX")
pid=''
trap '[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
cores=$(nproc)
writers=$((cores < 4 ? cores : 4))

memcpy_ns=$("$app" memcpy "$mib" | sed -n 's/^ns=\([0-9]*\).*/\1/p')
raw_list='' floor_list=''
for _ in $(seq "$reps"); do
  warm_memory "$((2 * mib))" "$base"
  t0=$(now)
  dd if=/dev/zero of="$work/floor" bs=1M count="$mib" conv=fdatasync status=none
  floor_list="$floor_list $(($(now) - t0))"
  rm -f "$work/floor"
  warm_memory "$((2 * mib))" "$base"
  raw_list="$raw_list $("$app" rawwrite "$mib" "$work/raw" | sed -n 's/^ns=//p')"
  rm -f "$work/raw"
done

# checkpoints W COMPRESS: a process under cairn, REPS checkpoints; prints the best ns.
checkpoints() {
  local ck=$work/ck-$1-$2 ctl=$work/ctl-$1-$2 list='' t0
  mkdir -p "$ctl"
  CAIRN_WRITERS=$1 "$cairn" launch --ckpt-dir "$ck" --keep 1 --compress "$2" -- \
    "$app" hold "$mib" "$ctl/ready" "$ctl/stop" > /dev/null 2> "$work/app.err" &
  pid=$!
  wait_file "$ctl/ready"
  for _ in $(seq "$reps"); do
    warm_memory "$((2 * mib))" "$base"
    t0=$(now)
    "$cairn" checkpoint --ckpt-dir "$ck" --wait > /dev/null
    list="$list $(($(now) - t0))"
  done
  "$cairn" verify "$ck" > /dev/null || { echo "run_writer_bench.sh: an image in $ck does not verify" >&2; exit 1; }
  touch "$ctl/stop"
  wait "$pid" || true
  pid=''
  rm -rf "$ck"
  echo "$list" | tr ' ' '\n' | grep . | best
}
one_ns=$(checkpoints 1 none)
many_ns=$(checkpoints "$writers" none)
zstd_ns=$(checkpoints "$writers" zstd)
raw_ns=$(echo "$raw_list" | tr ' ' '\n' | grep . | best)
floor_ns=$(echo "$floor_list" | tr ' ' '\n' | grep . | best)
floor_ratio=$(ratio "$floor_ns" "$many_ns")

raw_ratio=$(ratio "$raw_ns" "$many_ns")
memcpy_ratio=$(ratio "$memcpy_ns" "$many_ns")
speedup=$(ratio "$one_ns" "$many_ns")
printf '%-44s %10s %s\n' "image write, $mib MiB to $base" seconds ratio
printf '%-44s %10s\n' "memcpy (touched buffers)" "$(secs "$memcpy_ns")"
printf '%-44s %10s\n' "tmpfs floor (dd, 1 MiB buffer)" "$(secs "$floor_ns")"
printf '%-44s %10s\n' "raw write to $base (1 MiB buffer, fdatasync)" "$(secs "$raw_ns")"
printf '%-44s %10s\n' "cairn checkpoint, 1 writer" "$(secs "$one_ns")"
printf '%-44s %10s %s\n' "cairn checkpoint, $writers writers" "$(secs "$many_ns")" \
  "raw/cairn $raw_ratio (goal >= 0.9: $(verdict "$raw_ratio" 0.9)), memcpy/cairn $memcpy_ratio (goal ~1: $(verdict "$memcpy_ratio" 0.9)), floor/cairn $floor_ratio, 1 writer/$writers $speedup"
printf '%-44s %10s\n' "cairn checkpoint, zstd, $writers codec threads" "$(secs "$zstd_ns")"
cat > "$json" << JSON
{"bench": "writer", "mib": $mib, "reps": $reps, "dir": "$base", "cores": $cores, "writers": $writers,
 "memcpy_s": $(secs "$memcpy_ns"), "tmpfs_floor_s": $(secs "$floor_ns"), "raw_write_s": $(secs "$raw_ns"),
 "cairn_1_writer_s": $(secs "$one_ns"), "cairn_writers_s": $(secs "$many_ns"),
 "cairn_zstd_s": $(secs "$zstd_ns"),
 "floor_over_cairn": $floor_ratio, "raw_over_cairn": $raw_ratio, "memcpy_over_cairn": $memcpy_ratio, "one_over_many_writers": $speedup}
JSON
echo "wrote $json"
