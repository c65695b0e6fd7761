#!/usr/bin/env bash
# Quick start, command 2: set up, build, and run the whole test suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${MHC_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh"
cd "$build"
status=0
ctest --output-on-failure --output-junit ctest-results.xml || status=$?
# The torch tests' own count (torch, pytest's summary), then one closing line
# with ctest's counts (ctest lists skipped tests after its own).
python3 - "$build/ctest-results.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
for case in r.iter("testcase"):
    if case.get("name") == "mhc-torch":
        out = case.find("system-out")
        lines = (out.text or "").strip().splitlines() if out is not None else []
        ran = [l for l in lines if l.startswith("torch ") or " passed" in l]
        print("mhc-torch:", "; ".join(ran) if ran else "; ".join(lines[-1:]) or case.get("status"))
total, failed, skipped = (int(r.get(k, 0)) for k in ("tests", "failures", "skipped"))
print(f"mhc: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
PY
exit $status
