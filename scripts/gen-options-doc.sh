#!/usr/bin/env bash
# Regenerates doc/options.md from the option declarations compiled into the lats tool.
#   scripts/gen-options-doc.sh [path/to/lats]   (default build/release/apps/lats)
set -euo pipefail
cd "$(dirname "$0")/.."
lats=${1:-build/release/apps/lats}
"$lats" options -lats_options_format markdown > doc/options.md.tmp
mv doc/options.md.tmp doc/options.md
echo "wrote doc/options.md"
