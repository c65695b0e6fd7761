#!/usr/bin/env bash
# Quick start, command 2: set up, build, and run the whole test suite.
#
#   ./scripts/test.sh             the build in ${MHC_BUILD_DIR:-build} and ctest
#   ./scripts/test.sh --sanitize  then also: a clang build with ASan + UBSan
#                                 and the fuzz targets in ${MHC_BUILD_DIR}-asan,
#                                 ctest there, and each fuzz target for
#                                 ${MHC_FUZZ_SECONDS:-90} s (what CI runs)
#
# Prints how long each part took, and one closing line with the counts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${MHC_BUILD_DIR:-$root/build}"
sanitize=0
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
  esac
done

timings=()
timed() { # timed <label> <command...>: runs it, records how long it took
  local label=$1 start=$SECONDS rc=0
  shift
  "$@" || rc=$?
  timings+=("$label: $((SECONDS - start)) s")
  return $rc
}

# ctest in $1; its counts go to $1/ctest-results.xml.
run_ctest() {
  (cd "$1" && ctest --output-on-failure --output-junit ctest-results.xml)
}

status=0
timed "build" "$root/scripts/build.sh"
timed "tests" run_ctest "$build" || status=1
results=("$build/ctest-results.xml")

fuzz_status=0
if [ $sanitize = 1 ]; then
  asan="$build-asan"
  MHC_SANITIZERS=1 "$root/scripts/setup.sh"
  if [ ! -f "$asan/build.ninja" ]; then
    cmake -G Ninja -S "$root" -B "$asan" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
      -DMHC_SANITIZE=ON -DMHC_ENABLE_FUZZERS=ON
  fi
  timed "sanitizer build" ninja -C "$asan"
  timed "tests under ASan + UBSan" run_ctest "$asan" || status=1
  results+=("$asan/ctest-results.xml")
  timed "fuzzing" "$root/tools/mhc-fuzz/run.sh" "$asan" \
    "${MHC_FUZZ_SECONDS:-90}" || fuzz_status=1
fi

echo "== time taken"
printf '%s\n' "${timings[@]}"
# The torch tests' own count (torch, pytest's summary), then one closing line
# with ctest's counts over every build (ctest lists skipped tests after its
# own); a fuzz target that failed counts as a failed test.
python3 - "$fuzz_status" "${results[@]}" <<'PY'
import sys, xml.etree.ElementTree as ET
fuzz_failed = int(sys.argv[1])
passed = failed = skipped = 0
for path in sys.argv[2:]:
    r = ET.parse(path).getroot()
    for case in r.iter("testcase"):
        if case.get("name") == "mhc-torch":
            out = case.find("system-out")
            lines = (out.text or "").strip().splitlines() if out is not None else []
            ran = [l for l in lines if l.startswith("torch ") or " passed" in l]
            print(f"mhc-torch ({path.split('/')[-2]}):",
                  "; ".join(ran) if ran else "; ".join(lines[-1:]) or case.get("status"))
    total, f, s = (int(r.get(k, 0)) for k in ("tests", "failures", "skipped"))
    passed += total - f - s
    failed += f
    skipped += s
failed += fuzz_failed
print(f"mhc: {passed} passed, {failed} failed, {skipped} skipped")
PY
[ $fuzz_status = 0 ] || status=1
exit $status
