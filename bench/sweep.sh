#!/usr/bin/env bash
# On the GPU machine: times runtime-library variants side by side (kernels
# built with different lowering options, see bench/NOTES.md), one process per
# variant, same card, same run: bench.py --mhc-only (mhc and the device copy)
# and mhc-launch-bench. A variant is <variants dir>/<name>.so.xz (or .so); a
# name given as <name>@<max_blocks> also runs with Preference.max_blocks, and
# <name>[@<max_blocks>]+<flag> also passes --<flag> to bench.py (e.g.
# +no-coefficient-cache). MHC_SWEEP_SHAPES (BxnxC,...) replaces bench.py's
# shapes.
# usage: sweep.sh <prepared dir> <variants dir> <results dir> <name>... 
set -uo pipefail
dir=$(cd "$1" && pwd); vars=$(cd "$2" && pwd); res=$3; shift 3
mkdir -p "$res"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$res/card.txt"
for spec in "$@"; do
  base=${spec%%+*}; flags=(); [ "$base" != "$spec" ] && flags=("--${spec#*+}")
  [ -n "${MHC_SWEEP_SHAPES:-}" ] && flags+=(--shapes "$MHC_SWEEP_SHAPES")
  name=${base%@*}; blocks=0; [ "$base" != "$name" ] && blocks=${base#*@}
  out="$res/$spec"; mkdir -p "$out/lib"
  if [ -f "$vars/$name.so.xz" ]; then
    python3 -c "import lzma,sys; open(sys.argv[2],'wb').write(lzma.open(sys.argv[1]).read())" \
      "$vars/$name.so.xz" "$out/lib/libmhc_runtime.so"
  else
    cp "$vars/$name.so" "$out/lib/libmhc_runtime.so"
  fi
  [ "$blocks" = 0 ] && [ "$base" = "$spec" ] && LD_LIBRARY_PATH="$out/lib" "$dir/mhc-launch-bench" > "$out/launch_latency.txt" 2>&1
  PYTHONPATH="$dir/python" MHC_RUNTIME_LIBRARY="$out/lib/libmhc_runtime.so" \
    python3 "$dir/bench.py" --mhc-only --max-blocks "$blocks" "${flags[@]}" --out "$out" > "$out/bench.txt" 2>&1
  rm -rf "$out/lib"
done
python3 - "$res" "$@" <<'PY' | tee "$res/sweep.md"
import json, os, sys
res, specs = sys.argv[1], sys.argv[2:]
runs = {s: json.load(open(os.path.join(res, s, "bench.json")))["rows"] for s in specs
        if os.path.exists(os.path.join(res, s, "bench.json"))}
print("mhc time / copy time (same process); last rows: back-to-back us per call")
print("| B x n x C | " + " | ".join(runs) + " |")
print("|---|" + "---:|" * len(runs))
first = next(iter(runs.values()))
for k, r in enumerate(first):
    cells = [f"{runs[s][k]['ratio_to_copy']:.3f}" for s in runs]
    print(f"| {r['B']}x{r['n']}x{r['C']} | " + " | ".join(cells) + " |")
for k, r in enumerate(first):
    if r["B"] <= 64:
        cells = [f"{runs[s][k]['ms']['mhc_back_to_back']*1e3:.1f}" for s in runs]
        print(f"| b2b {r['B']}x{r['n']}x{r['C']} | " + " | ".join(cells) + " |")
PY
for spec in "$@"; do [ -f "$res/$spec/launch_latency.txt" ] && { echo "== $spec"; cat "$res/$spec/launch_latency.txt"; }; done
