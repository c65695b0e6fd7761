#!/usr/bin/env bash
# Quick start, command 1: set up, build, and compile the bundled example.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${MHC_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh"
echo "== mhc-opt --canonicalize examples/static_layer.mlir"
"$build/bin/mhc-opt" --canonicalize "$root/examples/static_layer.mlir"
