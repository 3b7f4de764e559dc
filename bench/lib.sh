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
