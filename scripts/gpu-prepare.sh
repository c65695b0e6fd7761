#!/usr/bin/env bash
# On the development machine: builds what the GPU check needs and copies it
# into ${1:-.device} (git-ignored, small enough to travel): the runtime
# library with its embedded kernels, the GPU test binaries and the benchmark.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${MHC_BUILD_DIR:-$root/build}"
out="${1:-$root/.device}"
ninja -C "$build" mhc_runtime RuntimeGpuTest PostGpuTest PreGpuTest mhc-launch-bench
rm -rf "$out" && mkdir -p "$out/lib"
cp "$build/lib/libmhc_runtime.so" "$out/lib/"
cp "$build/unittests/RuntimeGpuTest" "$build/unittests/PostGpuTest" \
   "$build/unittests/PreGpuTest" \
   "$build/bench/mhc-launch-bench" "$out/"
cp -r "$root/python" "$out/python"
cp "$root/bench/bench.py" "$root/bench/bench_dynamic.py" "$root/bench/probes/ncu_probe.py" "$root/bench/probes/start_probe.py" \
   "$root/bench/probes/bits_probe.py" \
   "$root/bench/sweep.sh" "$out/"
rm -rf "$out/python/tests/__pycache__"
cp "$root/scripts/gpu-check.sh" "$out/"
du -sh "$out"
