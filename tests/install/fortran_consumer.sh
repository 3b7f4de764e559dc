#!/usr/bin/env bash
# Part of install_test.sh, when the build has the Fortran bindings: checks the installed
# Fortran files and builds a Fortran consumer (consumer_fortran/) with find_package(cairn)
# + cairn::cairn_fortran, and again with `pkg-config cairn-fortran`.
# Usage: fortran_consumer.sh SOURCE_DIR PREFIX WORK_DIR
set -euo pipefail
src=$1
prefix=$2
work=$3
for f in lib/libcairn_fortran.so include/cairn/fortran/cairn.mod include/cairn/fortran/veloc.mod \
         lib/pkgconfig/cairn-fortran.pc; do
  [ -e "$prefix/$f" ] || { echo "FAIL: missing $f in the install tree"; exit 1; }
done
cons=$src/tests/install/consumer_fortran
printf 'scratch = %s/fs\npersistent = %s/fp\n' "$work" "$work" >"$work/fcfg"
cmake -S "$cons" -B "$work/fcmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/fcmake" >/dev/null
LD_LIBRARY_PATH="$prefix/lib" "$work/fcmake/consumer_f" "$work/fcfg"

rm -rf "$work/fs" "$work/fp"
# shellcheck disable=SC2046 # the flags are words
gfortran -o "$work/pc_consumer_f" "$cons/consumer.f90" \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs cairn-fortran)
LD_LIBRARY_PATH="$prefix/lib" "$work/pc_consumer_f" "$work/fcfg"
