#!/usr/bin/env bash
# Runs each fuzz target of a build configured with -DMHC_ENABLE_FUZZERS=ON
# for a bounded time, from its seed corpus (new inputs it finds are kept in
# <build>/fuzz/work-<target>, crashes and their inputs in
# <build>/fuzz/artifacts/), and prints one line per target: executions,
# coverage and features reached, and the outcome.
# usage: run.sh <build dir> [seconds per target, default 90]
set -uo pipefail
build=$(cd "$1" && pwd)
seconds=${2:-90}
fuzz="$build/fuzz"
mkdir -p "$fuzz/artifacts"
status=0
for target in ir runtime; do
  exe="$build/bin/mhc-$target-fuzzer"
  [ -x "$exe" ] || { echo "fuzz $target: not built"; continue; }
  work="$fuzz/work-$target"
  mkdir -p "$work"
  cp -n "$fuzz/corpus-$target"/* "$work"/ 2>/dev/null || true
  dict=()
  [ "$target" = ir ] && dict=(-dict="$fuzz/ir.dict")
  log="$fuzz/$target.log"
  # libFuzzer puts libstdc++ ahead of the shared ASan runtime: preload it.
  asan=$(ldd "$exe" | awk '/libclang_rt.asan/ {print $3}')
  start=$(date +%s)
  LD_PRELOAD="$asan" ASAN_OPTIONS="allow_user_poisoning=0:halt_on_error=1:detect_leaks=1" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    "$exe" "$work" "${dict[@]}" -max_total_time="$seconds" -timeout=60 \
      -rss_limit_mb=6144 -max_len=16384 -print_final_stats=1 \
      -artifact_prefix="$fuzz/artifacts/$target-" > "$log" 2>&1
  rc=$?
  runs=$(grep -oE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
  stats=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  if [ $rc -eq 0 ]; then outcome="no crash"; else outcome="FAILED (rc $rc, see $log)"; status=1; fi
  echo "fuzz $target: ${runs:-?} executions in $(( $(date +%s) - start )) s, ${stats:-no stats}, $outcome"
  [ $rc -eq 0 ] || grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -5
done
exit $status
