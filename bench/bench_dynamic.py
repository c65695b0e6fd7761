#!/usr/bin/env python3
"""The dynamic-H layer's pre and post, timed on one GPU in one process with the
timer of bench.py (CUDA events behind a GPU spin: the GPU's time alone;
median of --iters calls; inputs rotated over buffer sets when one fits in
L2):

  pre      PrePlan.run: the projection on tensor cores and the per-token pre
           (coefficients, Sinkhorn, y), two launches
  post     PostPlan.run: out = M' x + h_post f
  copy     a device copy of x (2 n C s bytes per token), the bandwidth
  eager    PyTorch eager of the reference formulation (mhc.reference:
           coefficients + pre, and post)
  compile  torch.compile(fullgraph=True) of the same

Byte floors per token (s = bytes per element): pre (n + 1) C s (x read, y
written), post (2n + 1) C s; each floor's time is the copy's time scaled
by floor bytes / copy bytes. Outputs are checked against float64 first.
Decode (T <= 64): pre + post per layer, back to back. Writes
bench_dynamic.json and bench_dynamic.md.

usage: PYTHONPATH=python:bench MHC_RUNTIME_LIBRARY=.../libmhc_runtime.so bench_dynamic.py --out DIR
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


def rel_err(got, want):
    scale = max(1.0, want.abs().max().item())
    return (got.double() - want).abs().max().item() / scale


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

    def ref_pre(x, phi, alpha, bias):
        h_pre, h_post, m = reference.coefficients(x, phi, alpha, bias, sinkhorn_init="softmax")
        return reference.pre(x, h_pre).to(x.dtype), h_pre, h_post, m

    def ref_post(x, f, m, h):
        return reference.post(x, f, m, h, "transposed").to(x.dtype)

    compiled_pre = torch.compile(ref_pre, fullgraph=True, dynamic=False)
    compiled_post = torch.compile(ref_post, fullgraph=True, dynamic=False)
    spin = Spin()
    rows = []
    shapes = SHAPES if a.shapes == "all" else \
        [tuple(map(int, s.split("x"))) for s in a.shapes.split(",")]
    for name in a.dtypes.split(","):
        dtype = DTYPES[name]
        s = torch.finfo(dtype).bits // 8
        for b, n, c in shapes:
            mm = n * n + 2 * n
            copy_bytes = b * 2 * n * c * s
            pre_bytes = b * (n + 1) * c * s
            post_bytes = b * ((2 * n + 1) * c * s + (n * n + n) * 4)
            sets = max(1, min(16, math.ceil(4 * l2 / max(1, post_bytes))))
            xs = [torch.randn(b, n, c, device=dev).to(dtype) for _ in range(sets)]
            phi = (torch.randn(n * c, mm, device=dev) / (n * c) ** 0.5).to(dtype)
            alpha = torch.tensor([0.8, 1.3, 2.0], device=dev)
            bias = torch.randn(mm, device=dev) * 0.5
            fs = [torch.randn(b, c, device=dev).to(dtype) for _ in range(sets)]
            ys = [torch.empty(b, c, device=dev, dtype=dtype) for _ in range(sets)]
            hps = [torch.empty(b, n, device=dev) for _ in range(sets)]
            hqs = [torch.empty(b, n, device=dev) for _ in range(sets)]
            ms = [torch.empty(b, n, n, device=dev) for _ in range(sets)]
            outs = [torch.empty_like(x) for x in xs]
            copies = [torch.empty_like(x) for x in xs]
            pre = mhc.PrePlan(mhc.PreDescriptor(streams=n, channels=c, activation_dtype=name,
                                                projection_dtype=name, sinkhorn_init="softmax",
                                                pre_eps=0.0))
            post = mhc.PostPlan(mhc.PostDescriptor(streams=n, channels=c, activation_dtype=name,
                                                   sublayer_dtype=name, orientation="transposed"))
            ws = [pre.new_workspace(b, dev) for _ in range(sets)]

            def run_pre(i):
                pre.run(xs[i], phi, alpha, bias, ys[i], hps[i], hqs[i], ms[i], ws[i])

            def run_post(i):
                post.run(xs[i], fs[i], ms[i], hqs[i], outs[i])

            # Correctness first, against float64.
            run_pre(0)
            run_post(0)
            torch.cuda.synchronize()
            want = reference.coefficients(xs[0].double(), phi.double(), alpha.double(),
                                          bias.double(), sinkhorn_init="softmax",
                                          dtype=torch.float64)
            errs = {"h_pre": rel_err(hps[0], want[0]), "M": rel_err(ms[0], want[2]),
                    "y": rel_err(ys[0], reference.pre(xs[0].double(), hps[0].double(),
                                                      torch.float64)),
                    "post": rel_err(outs[0], reference.post(
                        xs[0].double(), fs[0].double(), ms[0].double(), hqs[0].double(),
                        "transposed", torch.float64))}

            t = {"pre": time_calls(run_pre, sets, a.iters, spin),
                 "post": time_calls(run_post, sets, a.iters, spin),
                 "copy": time_calls(lambda i: copies[i].copy_(xs[i]), sets, a.iters, spin),
                 "eager_pre": time_calls(lambda i: ref_pre(xs[i], phi, alpha, bias), sets,
                                         max(20, a.iters // 4), spin),
                 "eager_post": time_calls(lambda i: ref_post(xs[i], fs[i], ms[i], hqs[i]), sets,
                                          max(20, a.iters // 4), spin),
                 "compile_pre": time_calls(lambda i: compiled_pre(xs[i], phi, alpha, bias), sets,
                                           a.iters, spin),
                 "compile_post": time_calls(lambda i: compiled_post(xs[i], fs[i], ms[i], hqs[i]),
                                            sets, a.iters, spin),
                 "layer_back_to_back": time_back_to_back(lambda i: (run_pre(i), run_post(i)), sets)}
            per_byte = t["copy"] / copy_bytes
            row = {"T": b, "n": n, "C": c, "dtype": name, "sets": sets, "ms": t,
                   "pre_floor_ms": pre_bytes * per_byte, "post_floor_ms": post_bytes * per_byte,
                   "pre_ratio": t["pre"] / (pre_bytes * per_byte),
                   "post_ratio": t["post"] / (post_bytes * per_byte),
                   "layer_vs_copy": (t["pre"] + t["post"]) / t["copy"],
                   "eager_layer_vs_copy": (t["eager_pre"] + t["eager_post"]) / t["copy"],
                   "compile_layer_vs_copy": (t["compile_pre"] + t["compile_post"]) / t["copy"],
                   "max_rel_err": errs, "pre_sku": pre.sku, "post_sku": post.sku}
            rows.append(row)
            print(f"{name:4s} {b:6d} {n} {c:5d} pre {t['pre']*1e3:8.1f} us ({row['pre_ratio']:5.2f}x floor) "
                  f"post {t['post']*1e3:8.1f} us ({row['post_ratio']:5.2f}x) layer/copy "
                  f"{row['layer_vs_copy']:5.2f} compile {row['compile_layer_vs_copy']:5.2f} "
                  f"eager {row['eager_layer_vs_copy']:5.2f} b2b {t['layer_back_to_back']*1e3:7.1f} us "
                  f"err {max(errs.values()):.1e}", flush=True)
            del xs, fs, ys, hps, hqs, ms, outs, copies, ws

    meta = {"card": props.name, "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__,
            "iters": a.iters, "method": "bench.py's: CUDA events per call behind a GPU spin, median"}
    with open(os.path.join(a.out, "bench_dynamic.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    lines = [f"Card: {props.name}, {meta['date']}, torch {torch.__version__}; softmax "
             f"Sinkhorn, M^T; median of {a.iters} calls.", "",
             "| dtype | T | n | C | pre (us) | pre / floor | post (us) | post / floor | "
             "pre+post / copy | torch.compile / copy | eager / copy | pre+post back-to-back (us) | max rel err |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['dtype']} | {r['T']} | {r['n']} | {r['C']} | {r['ms']['pre']*1e3:.1f} | "
                     f"{r['pre_ratio']:.2f} | {r['ms']['post']*1e3:.1f} | {r['post_ratio']:.2f} | "
                     f"{r['layer_vs_copy']:.2f} | {r['compile_layer_vs_copy']:.2f} | "
                     f"{r['eager_layer_vs_copy']:.2f} | {r['ms']['layer_back_to_back']*1e3:.1f} | "
                     f"{max(r['max_rel_err'].values()):.1e} |")
    with open(os.path.join(a.out, "bench_dynamic.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
