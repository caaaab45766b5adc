#!/usr/bin/env bash
# The README's test command: installs missing dependencies, configures and builds the
# release preset, and runs the default test suite (everything but the 'long' label).
#   scripts/test.sh              default suite
#   scripts/test.sh -L long      only the long studies (any ctest arguments pass through)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/install-deps.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)"
status=0
if [[ $# -gt 0 ]]; then
  ctest --test-dir build/release --output-on-failure -j 2 "$@" || status=$?
else
  ctest --preset release || status=$?
fi
echo "scripts/test.sh: $(( $(date +%s) - start )) s in all (install check, configure, build, tests)"
exit $status
