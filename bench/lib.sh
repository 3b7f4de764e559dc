# Helpers the benchmark scripts share (sourced): times in nanoseconds, the best of a list,
# ratios and goal verdicts, bounded waits for files.
now() { date +%s%N; }
secs() { awk -v n="$1" 'BEGIN { printf "%.3f", n / 1e9 }'; }
best() { sort -n | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
# verdict VALUE GOAL OP: "met" when VALUE OP GOAL (OP: ">=" or "<"), else "MISSED".
verdict() {
  awk -v v="$1" -v g="$2" -v op="${3:->=}" \
    'BEGIN { ok = (op == ">=") ? (v >= g) : (v < g); print (ok ? "met" : "MISSED") }'
}
# wait_file PATH: until PATH exists (at most 300 s).
wait_file() {
  for _ in $(seq 30000); do [ -e "$1" ] && return 0; sleep 0.01; done
  echo "$(basename "$0"): timed out waiting for $1" >&2
  exit 1
}
# warm_memory MIB DIR: writes and deletes MIB MiB in DIR (a tmpfs). In a virtual machine the
# first touch of a guest page costs ~8x a later one (1 GiB written in 4 MiB pwrites to fresh
# tmpfs pages: 2.1 s; once the guest has used them: 0.26 s), so whichever of the baseline and
# cairn ran first would pay for it; after this both run on pages the guest has used before.
warm_memory() {
  dd if=/dev/zero of="$2/warm" bs=1M count="$1" status=none && rm -f "$2/warm"
}
# bench_args "OPTIONS" "$@": the arguments of a bench script: BUILD_DIR (sets build, cairn and
# app, and checks that what the transparent benches run is built), then --NAME VALUE pairs,
# each setting the variable NAME (the script gives the defaults first; NAME must be one of
# OPTIONS). No arguments, -h or --help: prints the script's header comment and exits 2.
bench_args() {
  local allowed=" $1 " name f
  shift
  if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
    exit 2
  fi
  build=$(cd "$1" && pwd)
  shift
  while [ $# -gt 0 ]; do
    name=${1#--}
    case "$allowed" in
      *" $name "*) ;;
      *) echo "$(basename "$0"): unknown option $1" >&2; exit 2 ;;
    esac
    [ $# -ge 2 ] || { echo "$(basename "$0"): $1 needs a value" >&2; exit 2; }
    printf -v "$name" '%s' "$2"
    shift 2
  done
  cairn=$build/cairn
  app=$build/bench/cairn_bench_transparent_app
  for f in "$cairn" "$app" "$build/libcairn_preload.so" "$build/cairn-restorer"; do
    [ -e "$f" ] || { echo "$(basename "$0"): $f is missing (build cairn_bench_transparent)" >&2; exit 1; }
  done
}
