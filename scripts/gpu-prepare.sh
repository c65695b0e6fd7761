#!/usr/bin/env bash
# On the development machine: emits the fused kernels to check with mhc-opt and
# builds the driver-API checker, into ${1:-.device} (git-ignored), for
# scripts/gpu-check.sh to run on the GPU machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${MHC_BUILD_DIR:-$root/build}"
out="${1:-$root/.device}"
cuda="${CUDA_HOME:-/usr/local/cuda}"
mkdir -p "$out/kernels"
: > "$out/kernels/manifest"
# n C weight static|dynamic
while read -r n c w kind; do
  flag=""; [ "$kind" = static ] && flag="--static-channels"
  name="n${n}_c${c}_${w}_${kind}"
  python3 "$root/test/CPU/gen_static_layer.py" --n "$n" --c "$c" --b 1 --weight "$w" $flag \
    | "$build/bin/mhc-opt" --mhc-gpu-pipeline="output-prefix=$out/kernels/${name}_" > /dev/null
  ptx="${name}_mhc_kernels_sm_90.ptx"
  entry=$(sed -n 's/^\.visible \.entry \([A-Za-z0-9_]*\)(.*/\1/p' "$out/kernels/$ptx")
  echo "$ptx $entry $n $c $w $kind" >> "$out/kernels/manifest"
done <<'LIST'
4 4096 bf16 static
4 7168 bf16 static
4 1280 bf16 static
8 4096 f32 static
3 37 bf16 static
2 3 f32 static
1 1 f32 static
16 1000 bf16 static
32 64 bf16 static
4 1000 bf16 dynamic
LIST
g++ -O2 -std=c++17 -I"$root/include" -I"$cuda/include" \
  "$root/scripts/gpu/fused_kernel_check.cpp" -L"$cuda/lib64/stubs" -lcuda \
  -o "$out/fused_kernel_check"
cp "$root/scripts/gpu-check.sh" "$out/"
echo "prepared $(wc -l < "$out/kernels/manifest") kernels in $out"
