#!/usr/bin/env bash
# Installs the build into a temporary prefix and checks the installed layout, then
# builds two downstream programs: one with find_package(cairn), one with pkg-config.
# Usage: install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
prefix=$(mktemp -d /tmp/cairn-install-XXXXXX)
work=$(mktemp -d /tmp/cairn-consumer-XXXXXX)
trap 'rm -rf "$prefix" "$work"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/cairn lib/libcairn.so include/cairn/cairn.h include/cairn/cairn.hpp include/veloc.h \
         include/veloc.hpp include/veloc/defs.h lib/pkgconfig/cairn.pc lib/cmake/cairn/cairnConfig.cmake; do
  [ -e "$prefix/$f" ] || { echo "FAIL: missing $f in the install tree"; exit 1; }
done
"$prefix/bin/cairn" --version

cmake -S "$src/tests/install/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
printf 'scratch = %s/s\npersistent = %s/p\n' "$work" "$work" > "$work/cfg"
LD_LIBRARY_PATH="$prefix/lib" "$work/cmake/consumer_c" "$work/cfg"
LD_LIBRARY_PATH="$prefix/lib" "$work/cmake/consumer_cpp"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -o "$work/pc_consumer" "$src/tests/install/consumer/consumer.c" $(pkg-config --cflags --libs cairn)
rm -rf "$work/s" "$work/p"
LD_LIBRARY_PATH="$prefix/lib" "$work/pc_consumer" "$work/cfg"
c++ -std=c++20 -o "$work/pc_consumer_cpp" "$src/tests/install/consumer/consumer.cc" $(pkg-config --cflags --libs cairn)
LD_LIBRARY_PATH="$prefix/lib" "$work/pc_consumer_cpp"
# The Fortran bindings, when this build has them.
if [ -e "$build/bindings/fortran/libcairn_fortran.so" ]; then
  "$src/tests/install/fortran_consumer.sh" "$src" "$prefix" "$work"
fi
echo "install test OK"
