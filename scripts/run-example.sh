#!/usr/bin/env bash
# Quick start, command 1: set up, build, and compile the bundled example to PTX.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${MHC_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh"
out="$build/example"
mkdir -p "$out"
echo "== mhc-opt --mhc-gpu-pipeline=\"output-prefix=$out/\" examples/static_layer.mlir"
"$build/bin/mhc-opt" --mhc-gpu-pipeline="output-prefix=$out/" \
  "$root/examples/static_layer.mlir" > "$out/static_layer.gpu.mlir"
echo "== kernels in $out/mhc_kernels_sm_90.ptx:"
grep -E '^\.visible \.entry' "$out/mhc_kernels_sm_90.ptx"
echo "== 16-byte global loads / stores in the kernel:"
echo "   $(grep -c 'ld.global.v4.b32' "$out/mhc_kernels_sm_90.ptx") / $(grep -c 'st.global.v4.b32' "$out/mhc_kernels_sm_90.ptx")"
