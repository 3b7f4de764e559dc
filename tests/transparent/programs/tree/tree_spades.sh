#!/bin/bash
# SPAdes (Debian's spades) on its bundled E. coli test dataset (issue 11, requirement 7): a
# Python driver that runs C++ assemblers (spades-hammer, spades-core) with 2 threads, deleting
# temporary files as it goes. Prints the contigs' checksum at the end; leaves no files.
set -e
cd "$1"
D=/usr/share/spades/test_dataset
spades.py -1 $D/ecoli_1K_1.fq.gz -2 $D/ecoli_1K_2.fq.gz -t 2 -o out > spades.out 2>&1 || { cat spades.out >&2; exit 1; }
echo "spades: contigs $(md5sum < out/contigs.fasta | cut -d' ' -f1), $(grep -c '^>' out/contigs.fasta) sequences"
rm -rf out spades.out
