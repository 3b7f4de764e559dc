#!/usr/bin/env bash
# SPAdes under cairn (label "apps"): two preemption cycles (checkpoint --kill of the whole
# process tree, restart) through matrix.sh, contigs compared with an uninterrupted run.
# Exits 77 (skipped) when Debian's spades package is not installed (scripts/install-deps.sh
# installs it).
#   apps_spades.sh CAIRN PROGRAMS_DIR WORK_ROOT
if ! command -v spades.py > /dev/null 2>&1 || [ ! -d /usr/share/spades/test_dataset ]; then
  echo "SKIP: SPAdes is not installed (apt-get install spades; scripts/install-deps.sh does)"
  exit 77
fi
MATRIX_CKPT_KILL=1 exec bash "$(dirname "$0")/matrix.sh" "$1" "$2" "$3" --tree tree_spades
