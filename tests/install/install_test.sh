#!/usr/bin/env bash
# Installs the LaTS build tree into a scratch prefix, then configures, builds and runs an
# example as a separate CMake project that finds LaTS with find_package(LaTS REQUIRED).
#   install_test.sh <lats-build-dir> <example-source-dir> <scratch-dir>
set -euo pipefail
build=$1 example=$2 scratch=$3
rm -rf "$scratch"
mkdir -p "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" > "$scratch/install.log"
test -f "$scratch/prefix/lib/cmake/LaTS/LaTSConfig.cmake"
test -f "$scratch/prefix/lib/cmake/LaTS/LaTSConfigVersion.cmake"
test -f "$scratch/prefix/lib/pkgconfig/lats.pc"
test -f "$scratch/prefix/include/lats/lats.hpp"
# The installed package must be found without the build tree's help.
cmake -S "$example" -B "$scratch/example-build" -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_BUILD_TYPE=Release \
  > "$scratch/configure.log" 2>&1 || { cat "$scratch/configure.log"; exit 1; }
cmake --build "$scratch/example-build" -j 2 > "$scratch/build.log" 2>&1 || { cat "$scratch/build.log"; exit 1; }
# The executable must find liblats through its RPATH, not the build tree.
if ldd "$scratch/example-build/example_01" | grep -E "liblats" | grep -v "$scratch/prefix/" ; then
  echo "example links against the build tree instead of the installed prefix"; exit 1
fi
# pkg-config sees the installed package too.
PKG_CONFIG_PATH="$scratch/prefix/lib/pkgconfig" pkg-config --exists --print-errors lats
cd "$scratch/example-build"
mpiexec -n 2 --oversubscribe ./example_01 -lats_rk_scheme rk4
test -f example_01.pvtu && test -f example_01_0.vtu && test -f example_01_1.vtu
echo "install test passed"
