#!/usr/bin/env bash
# The README's main command: installs missing dependencies, builds the release preset and
# runs `lats demo` on 2 MPI ranks with its built-in defaults. Extra arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release > /dev/null
cmake --build --preset release -j "$(nproc)" --target lats_cli
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
exec mpiexec -n 2 --oversubscribe build/release/apps/lats demo "$@"
