#!/usr/bin/env python3
"""The dynamic-H post (torch.ops.mhc.post / PostPlan), timed on one GPU in one
process with the timer of bench.py (CUDA events behind a GPU spin: the GPU's
time alone; median of --iters calls; inputs rotated over buffer sets when one
fits in L2):

  mhc      PostPlan.run (the kernel mhc-opt emitted for mhc.post)
  copy     a device copy of x (2 n C s bytes per token)
  eager    PyTorch eager of the reference formulation (reference.post)
  compile  torch.compile(fullgraph=True) of the same

The post's byte floor per token is (2n + 1) C s + (n^2 + n) 4 (x and f read,
out written, the token's coefficients read); its time is the copy's time
scaled by floor bytes / copy bytes (the copy's bandwidth). Outputs are
checked against float64 first. Writes bench_post.json and bench_post.md.

usage: PYTHONPATH=python MHC_RUNTIME_LIBRARY=.../libmhc_runtime.so bench_post.py --out DIR
"""
import argparse
import json
import math
import os
import time

import torch

import mhc
from mhc import reference
from bench import Spin, time_back_to_back, time_calls

SHAPES = [(t, 4, c) for t in (1, 64, 1024, 4096, 16384) for c in (2560, 4096, 7168)]
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--shapes", default="all", help="TxnxC,... (default: the issue's grid)")
    p.add_argument("--dtypes", default="bf16,f32")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    l2 = getattr(props, "L2_cache_size", 50 * 2**20)
    for knob in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit"):
        if hasattr(torch._dynamo.config, knob):
            setattr(torch._dynamo.config, knob, 256)
    compiled = torch.compile(reference.post, fullgraph=True, dynamic=False)
    spin = Spin()
    rows = []
    shapes = SHAPES if a.shapes == "all" else \
        [tuple(map(int, s.split("x"))) for s in a.shapes.split(",")]
    for name in a.dtypes.split(","):
        dtype = DTYPES[name]
        s = torch.finfo(dtype).bits // 8
        for b, n, c in shapes:
            floor_bytes = b * ((2 * n + 1) * c * s + (n * n + n) * 4)
            copy_bytes = b * 2 * n * c * s
            sets = max(1, min(16, math.ceil(4 * l2 / floor_bytes)))
            xs = [torch.randn(b, n, c, device=dev).to(dtype) for _ in range(sets)]
            fs = [torch.randn(b, c, device=dev).to(dtype) for _ in range(sets)]
            ms = [torch.rand(b, n, n, device=dev) for _ in range(sets)]
            hs = [torch.rand(b, n, device=dev) * 2 for _ in range(sets)]
            outs = [torch.empty_like(x) for x in xs]
            copies = [torch.empty_like(x) for x in xs]
            plan = mhc.PostPlan(mhc.PostDescriptor(streams=n, channels=c, activation_dtype=name,
                                                   sublayer_dtype=name, orientation="transposed"))
            ref = reference.post(xs[0].double(), fs[0].double(), ms[0].double(), hs[0].double(),
                                 "transposed", torch.float64)
            plan.run(xs[0], fs[0], ms[0], hs[0], outs[0])
            torch.cuda.synchronize()
            scale = max(1.0, ref.abs().max().item())
            err = (outs[0].double() - ref).abs().max().item() / scale
            bound = plan.precision_guarantee()["max_relative_error"]

            def post(i):
                plan.run(xs[i], fs[i], ms[i], hs[i], outs[i])

            t = {"mhc": time_calls(post, sets, a.iters, spin),
                 "copy": time_calls(lambda i: copies[i].copy_(xs[i]), sets, a.iters, spin),
                 "eager": time_calls(lambda i: reference.post(xs[i], fs[i], ms[i], hs[i], "transposed"),
                                     sets, max(20, a.iters // 4), spin),
                 "compile": time_calls(lambda i: compiled(xs[i], fs[i], ms[i], hs[i], "transposed"),
                                       sets, a.iters, spin),
                 "mhc_back_to_back": time_back_to_back(post, sets)}
            floor_ms = t["copy"] * floor_bytes / copy_bytes
            row = {"T": b, "n": n, "C": c, "dtype": name, "sets": sets, "ms": t,
                   "floor_bytes": floor_bytes, "floor_ms": floor_ms,
                   "ratio_to_floor": t["mhc"] / floor_ms,
                   "gbps_mhc": floor_bytes / (t["mhc"] * 1e-3) / 1e9,
                   "speedup_vs_eager": t["eager"] / t["mhc"],
                   "speedup_vs_compile": t["compile"] / t["mhc"],
                   "max_rel_err": err, "within_guarantee": err <= bound, "sku": plan.sku}
            rows.append(row)
            print(f"{name:4s} {b:6d} {n} {c:5d} mhc {t['mhc']*1e3:8.1f} us floor {floor_ms*1e3:8.1f} us "
                  f"ratio {row['ratio_to_floor']:5.3f} eager x{row['speedup_vs_eager']:5.1f} "
                  f"compile x{row['speedup_vs_compile']:5.1f} b2b {t['mhc_back_to_back']*1e3:6.1f} us "
                  f"err {err:.1e} ok={row['within_guarantee']}", flush=True)
            del xs, fs, ms, hs, outs, copies

    meta = {"card": props.name, "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__,
            "iters": a.iters, "method": "bench.py's: CUDA events per call behind a GPU spin, median"}
    with open(os.path.join(a.out, "bench_post.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    lines = [f"Card: {props.name}, {meta['date']}, torch {torch.__version__}; post, M^T, median of {a.iters} calls.", "",
             "| dtype | T | n | C | mhc (us) | floor (us) | mhc / floor | GB/s | vs eager | vs torch.compile | back-to-back (us) | max rel err |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['dtype']} | {r['T']} | {r['n']} | {r['C']} | {r['ms']['mhc']*1e3:.1f} | "
                     f"{r['floor_ms']*1e3:.1f} | {r['ratio_to_floor']:.3f} | {r['gbps_mhc']:.0f} | "
                     f"{r['speedup_vs_eager']:.1f}x | {r['speedup_vs_compile']:.1f}x | "
                     f"{r['ms']['mhc_back_to_back']*1e3:.1f} | {r['max_rel_err']:.1e} |")
    with open(os.path.join(a.out, "bench_post.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
