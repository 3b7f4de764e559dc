#!/usr/bin/env bash
# Runs types_test (module cairn, independent mode) with a fresh configuration and checkpoint
# directories; its own checks decide. Usage: run_types.sh TYPES_TEST_BINARY
set -euo pipefail
BIN=${1:?usage: run_types.sh TYPES_TEST_BINARY}
T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-fortran-types.XXXXXX")
trap 'rm -rf "$T"' EXIT
printf 'scratch = %s/scratch\npersistent = %s/persistent\nmode = sync\n' "$T" "$T" >"$T/cfg"
out=$("$BIN" "$T/cfg" 2>"$T/err") || { echo "$out"; cat "$T/err" >&2; exit 1; }
echo "$out"
[ "$(echo "$out" | tail -n 1)" = PASS ] || { cat "$T/err" >&2; exit 1; }
