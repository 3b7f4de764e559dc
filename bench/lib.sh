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
