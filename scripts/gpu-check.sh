#!/usr/bin/env bash
# On the GPU machine: runs the runtime's GPU tests (every shape against the
# float64 reference), compute-sanitizer memcheck and racecheck on a subset,
# and the benchmark when present. Prints a short summary last; full logs go
# to the results folder.
# usage: gpu-check.sh <prepared dir> <results dir>
# MHC_GPU_TEST_FILTER narrows the GPU tests (a gtest filter; the float64
# reference of the B = 8192 shapes takes most of the ~270 s of the full
# run), MHC_BENCH_SHAPES the benchmark's shapes (e.g. 8192x4x4096,1x4x7168),
# MHC_DYNAMIC_BENCH_SHAPES the dynamic-H benchmark's (TxnxC,...),
# MHC_PART_SECONDS bounds each part so that a short device call still
# brings back what finished.
set -uo pipefail
filter="${MHC_GPU_TEST_FILTER:-*}"
part="timeout ${MHC_PART_SECONDS:-1800}"
dir=$(cd "${1:-.device}" && pwd)
res="${2:-$dir/results}"
mkdir -p "$res"
export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$res/card.txt"
fail=0
[ "${MHC_SKIP_TESTS:-0}" = 1 ] || $part "$dir/RuntimeGpuTest" --gtest_filter="$filter" --gtest_output=json:"$res/gpu_tests.json" > "$res/gpu_tests.log" 2>&1 || fail=1
[ "${MHC_SKIP_TESTS:-0}" = 1 ] || $part "$dir/PostGpuTest" --gtest_output=json:"$res/post_gpu_tests.json" > "$res/post_gpu_tests.log" 2>&1 || fail=1
[ "${MHC_SKIP_TESTS:-0}" = 1 ] || $part "$dir/PreGpuTest" --gtest_output=json:"$res/pre_gpu_tests.json" > "$res/pre_gpu_tests.log" 2>&1 || fail=1
san=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
subset='Shapes/LayerSweep.*/n3_C1000_B7_*:Shapes/LayerSweep.*/n4_C4096_B7_*:Shapes/LayerSweep.*/n32_C64_B7_*:Shapes/LayerSweep.*/n2_C3_B7_*:Shapes/LayerSweep.*portable*:PlanOnGpu.*'
for tool in memcheck racecheck; do
  [ "${MHC_SKIP_TESTS:-0}" = 1 ] && continue
  $part "$san" --tool "$tool" --error-exitcode 9 "$dir/RuntimeGpuTest" --gtest_filter="$subset" > "$res/sanitizer_$tool.log" 2>&1 || fail=1
  $part "$san" --tool "$tool" --error-exitcode 9 "$dir/PostGpuTest" --gtest_filter='PostGpu.NaN*:PostGpu.Errors*:PostGpu.CApi' > "$res/sanitizer_post_$tool.log" 2>&1 || fail=1
  $part "$san" --tool "$tool" --error-exitcode 9 "$dir/PreGpuTest" --gtest_filter='PreGpu.NaN*:PreGpu.Workspace*:PreGpu.CApi' > "$res/sanitizer_pre_$tool.log" 2>&1 || fail=1
done
# The Python package against the runtime (compile tests need MLIR: not here).
PYTHONPATH="$dir/python" MHC_RUNTIME_LIBRARY="$dir/lib/libmhc_runtime.so" \
  $part python3 -m pytest -q -p no:cacheprovider "$dir/python/tests/test_runtime.py" \
  "$dir/python/tests/test_torch.py" "$dir/python/tests/test_torch_dynamic.py" \
  > "$res/python_tests.log" 2>&1 || fail=1
if [ "${MHC_SKIP_BENCH:-0}" != 1 ]; then
  $part "$dir/mhc-launch-bench" > "$res/launch_latency.txt" 2>&1 || fail=1
  PYTHONUNBUFFERED=1 PYTHONPATH="$dir/python" MHC_RUNTIME_LIBRARY="$dir/lib/libmhc_runtime.so" \
    $part python3 "$dir/bench.py" --out "$res" --shapes "${MHC_BENCH_SHAPES:-all}" > "$res/bench.txt" 2>&1 || fail=1
  PYTHONUNBUFFERED=1 PYTHONPATH="$dir/python:$dir" MHC_RUNTIME_LIBRARY="$dir/lib/libmhc_runtime.so" \
    $part python3 "$dir/bench_dynamic.py" --out "$res" --shapes "${MHC_DYNAMIC_BENCH_SHAPES:-all}" > "$res/bench_dynamic.txt" 2>&1 || fail=1
fi
echo "== python tests: $(tail -1 "$res/python_tests.log")"
echo "== GPU tests"
grep -E "^\[  (PASSED|FAILED|SKIPPED) +\]|tests ran" "$res/gpu_tests.log" | head -20
grep "^\[ result" "$res/gpu_tests.log" | sed 's/.*rel=//' | sort -g | tail -1 | sed 's/^/worst max_rel_err: /'
echo "== post GPU tests"
grep -E "^\[  (PASSED|FAILED|SKIPPED) +\]|tests ran|^post:" "$res/post_gpu_tests.log" | head -20
echo "== pre GPU tests"
grep -E "^\[  (PASSED|FAILED|SKIPPED) +\]|tests ran|^pre:|Failure" "$res/pre_gpu_tests.log" | head -20
for tool in memcheck racecheck; do
  echo "== $tool: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$res/sanitizer_$tool.log" | tail -1) ($(grep -c '^\[       OK' "$res/sanitizer_$tool.log") tests)"
  for part_ in post pre; do
    echo "== $tool ($part_): $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$res/sanitizer_${part_}_$tool.log" | tail -1) ($(grep -c '^\[       OK' "$res/sanitizer_${part_}_$tool.log") tests)"
  done
done
[ -f "$res/launch_latency.txt" ] && { echo "== launch latency (C++)"; cat "$res/launch_latency.txt"; }
[ -f "$res/bench.txt" ] && { echo "== bench"; tail -20 "$res/bench.txt"; }
[ -f "$res/bench_dynamic.txt" ] && { echo "== bench (dynamic H)"; tail -34 "$res/bench_dynamic.txt"; }
exit $fail
