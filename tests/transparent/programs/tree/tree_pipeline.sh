#!/bin/bash
# A shell pipeline (issue 11, requirement 7): bash forks a generator subshell that runs an
# external `sleep` per line, `sort` and `md5sum`; only the final line reaches stdout.
cd "$1" || exit 2
for i in $(seq 1 150); do
  echo $(( (i * 7919) % 1000 ))
  sleep 0.02
done | sort -n | md5sum
