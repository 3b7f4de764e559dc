#!/usr/bin/env bash
# hello_single (VeloC API, independent mode, no mpirun): the first run starts fresh and
# commits versions 1..10; the second restarts from 10 with the same result; stdout holds only
# the program's lines.
#
#   hello_single.sh HELLO_BINARY
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
BIN=${1:?usage: hello_single.sh HELLO_BINARY}
make_tmp
printf 'scratch = %s/scratch\n' "$T" >"$T/hello.cfg"
"$BIN" "$T/hello.cfg" >"$T/first.out" 2>"$T/first.err" || fail "first run failed"
[ "$(head -n 1 "$T/first.out")" = FRESH ] || fail "first run did not start fresh"
REF=$(sed -n 's/^RESULT //p' "$T/first.out")
[ "$REF" = "10 7480.0" ] || fail "first run: RESULT '$REF', expected '10 7480.0'"
for v in 1 5 10; do
  [ -f "$T/scratch/hello/v$v/r0.ckpt" ] || fail "no file for version $v"
done
"$BIN" "$T/hello.cfg" >"$T/second.out" 2>"$T/second.err" || fail "second run failed"
[ "$(head -n 1 "$T/second.out")" = "RESTARTED_FROM 10" ] || fail "second run did not restart from 10"
[ "$(sed -n 's/^RESULT //p' "$T/second.out")" = "$REF" ] || fail "second run: different RESULT"
[ "$(wc -l <"$T/second.out")" = 2 ] || fail "unexpected lines on stdout: $(cat "$T/second.out")"
"$BIN" "$T/no-such.cfg" >"$T/bad.out" 2>"$T/bad.err" && fail "a missing config did not fail"
[ ! -s "$T/bad.out" ] || fail "the failure was reported on stdout"
log PASS
