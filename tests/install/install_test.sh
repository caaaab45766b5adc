#!/usr/bin/env bash
# Installs the LaTS build tree into a scratch prefix and moves the installed tree elsewhere
# (the package must be relocatable), then configures, builds and runs an example as a
# separate CMake project that finds LaTS with find_package(LaTS REQUIRED), and builds and
# runs a C program against the moved tree with pkg-config alone.
#   install_test.sh <lats-build-dir> <example-source-dir> <scratch-dir>
set -euo pipefail
build=$1 example=$2 scratch=$3
rm -rf "$scratch"
mkdir -p "$scratch"
cmake --install "$build" --prefix "$scratch/installed" > "$scratch/install.log"
# Nothing may point back at the install prefix: move the tree.
mv "$scratch/installed" "$scratch/prefix"
if grep -rl "$scratch/installed" "$scratch/prefix/lib/cmake" "$scratch/prefix/lib/pkgconfig"; then
  echo "the installed package names its install prefix"; exit 1
fi
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
# pkg-config alone, on the moved tree: a C program through the C API.
export PKG_CONFIG_PATH="$scratch/prefix/lib/pkgconfig"
pkg-config --exists --print-errors lats
test "$(pkg-config --variable=libdir lats | xargs realpath)" = "$(realpath "$scratch/prefix/lib")"
cat > "$scratch/pc_host.c" <<'C'
#include <lats.h>
#include <stdio.h>
/* Creates a session on the C API and tears everything down: links and runs against the moved tree. */
int main(int argc, char** argv) {
  lats_session s;
  if (lats_initialize(&argc, &argv) != LATS_OK) return 1;
  if (lats_session_create(MPI_COMM_WORLD, "-lats_log_level warning", &s) != LATS_OK) return 2;
  if (lats_session_destroy(&s) != LATS_OK || s != NULL) return 3;
  if (lats_finalize() != LATS_OK) return 4;
  printf("pkg-config host ran\n");
  return 0;
}
C
# shellcheck disable=SC2046
mpicc "$scratch/pc_host.c" -o "$scratch/pc_host" $(pkg-config --cflags --libs lats) > "$scratch/pc.log" 2>&1 \
  || { cat "$scratch/pc.log"; exit 1; }
if ldd "$scratch/pc_host" | grep -E "liblats" | grep -v "$scratch/prefix/" ; then
  echo "the pkg-config host links against something outside the moved prefix"; exit 1
fi
"$scratch/pc_host" | grep -q "pkg-config host ran"
cd "$scratch/example-build"
mpiexec -n 2 --oversubscribe ./example_01 -lats_rk_scheme rk4
test -f example_01.pvtu && test -f example_01_0.vtu && test -f example_01_1.vtu
echo "install test passed (installed, moved, found by find_package and by pkg-config)"
