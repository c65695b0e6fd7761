#!/usr/bin/env python3
"""The static mHC layer, timed side by side on one GPU in one process:

  mhc      plan.run of the runtime (the kernel mhc-opt emitted)
  copy     a device-to-device copy of the same bytes (out.copy_(x)): the floor
  eager    PyTorch eager, the reference formulation (python/mhc/reference.py)
  compile  torch.compile(fullgraph=True) of the same broadcast formulation

CUDA events around each call, warm-up first, median of --iters calls, inputs
rotated over several buffer sets when one set fits in L2. Each timed call
waits behind a GPU spin that outlasts the host's enqueue of the call, so the
per-call time is the GPU's alone (the host-paced time, without the spin, is in
the JSON as *_host_paced). Back to back: 200 calls in a row, per call.
Outputs are checked against a float64 evaluation before timing. Writes JSON,
a markdown table and a PNG plot to --out.

usage: PYTHONPATH=python MHC_RUNTIME_LIBRARY=.../libmhc_runtime.so bench.py --out DIR
"""
import argparse
import json
import math
import os
import statistics
import time

import warnings

import torch

warnings.filterwarnings("ignore", message=".*Online softmax.*")

import mhc
from mhc import reference

SHAPES = [(1, 4, 7168), (8, 4, 7168), (64, 4, 7168), (320, 4, 1280),
          (2560, 4, 1280), (1024, 4, 4096), (4096, 4, 2560), (8192, 4, 4096),
          (16384, 4, 4096), (8192, 4, 7168), (8192, 8, 4096)]


def category(b, n, c):
    e = b * n * c
    if b <= 64:
        return "decode"
    return "large" if e >= 8 * 2**20 else "mid"


class Spin:
    """A GPU-side wait enqueued before each timed call, so that the call's
    start event and the call itself are queued before the GPU reaches them:
    the events then time the GPU alone, not the host's launch of the call.
    torch.cuda._sleep spins for a number of clock cycles; calibrated once."""

    def __init__(self):
        torch.cuda._sleep(1000)
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        torch.cuda._sleep(2_000_000)
        e.record()
        torch.cuda.synchronize()
        self.cycles_per_us = 2_000_000 / (s.elapsed_time(e) * 1e3)

    def cycles(self, us):
        return int(us * self.cycles_per_us)


def host_us_per_call(fn, sets, calls=10):
    """Host time to enqueue one call (the queue is short, so it never blocks)."""
    ts = []
    for i in range(calls):
        t0 = time.perf_counter()
        fn(i % sets)
        ts.append(time.perf_counter() - t0)
        torch.cuda.synchronize()
    return statistics.median(ts) * 1e6


def time_calls(fn, sets, iters, spin=None, warmup=10, before=None):
    """Median per-call time from CUDA events around each call. With `spin`,
    each call waits on the GPU behind a spin long enough to cover the host's
    enqueue of the call, so the events time the GPU alone; without it, the
    time includes the host wherever the host is slower than the GPU.
    `before`, if given, is enqueued after the spin and before each start
    event (bench/probes/start_probe.py)."""
    for i in range(warmup):
        fn(i % sets)
    torch.cuda.synchronize()
    call = fn if before is None else (lambda i: (before(), fn(i)))
    cycles = spin.cycles(20 + 3 * host_us_per_call(call, sets)) if spin else 0
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    for i in range(iters):
        if cycles:
            torch.cuda._sleep(cycles)
        if before is not None:
            before()
        starts[i].record()
        fn(i % sets)
        ends[i].record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends))


def time_back_to_back(fn, sets, calls=200, repeats=5):
    """Per-call time of `calls` back-to-back calls (launch overhead included,
    but overlapped with the previous call's execution), median of repeats."""
    for i in range(10):
        fn(i % sets)
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for i in range(calls):
            fn(i % sets)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / calls)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--shapes", default="all")
    p.add_argument("--max-blocks", type=int, default=0, help="Preference.max_blocks (0: auto)")
    p.add_argument("--no-cluster-rows", action="store_true",
                   help="Preference.cluster_rows = False: one block per row at small batches too")
    p.add_argument("--no-coefficient-cache", action="store_true",
                   help="Preference.coefficient_cache = False: every block runs the Sinkhorn rounds")
    p.add_argument("--no-programmatic-launch", action="store_true",
                   help="Preference.programmatic_launch = False: ordinary launches")
    p.add_argument("--sinkhorn-iters", type=int, default=20,
                   help="Descriptor.sinkhorn_iters (1 isolates the prologue's rounds)")
    p.add_argument("--mhc-only", action="store_true",
                   help="time mhc and the copy only (kernel variant sweeps: bench/sweep.sh)")
    a = p.parse_args()
    if a.sinkhorn_iters != 20 and not a.mhc_only:
        p.error("--sinkhorn-iters other than 20 needs --mhc-only (the baselines run 20)")
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    l2 = getattr(props, "L2_cache_size", 50 * 2**20)
    card = props.name
    # One specialization per shape: allow as many as there are shapes.
    for knob in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit"):
        if hasattr(torch._dynamo.config, knob):
            setattr(torch._dynamo.config, knob, 256)
    compiled = torch.compile(reference.static_layer, fullgraph=True, dynamic=False)
    spin = Spin()
    rows = []
    shapes = SHAPES if a.shapes == "all" else [tuple(map(int, s.split("x"))) for s in a.shapes.split(",")]
    for b, n, c in shapes:
        nbytes = b * n * c * 4
        sets = max(1, min(16, math.ceil(4 * l2 / nbytes)))
        xs = [torch.randn(b, n, c, device=dev) for _ in range(sets)]
        outs = [torch.empty_like(x) for x in xs]
        h_res = torch.randn(n, n, device=dev)
        h_pre = torch.randn(n, device=dev)
        h_post = torch.randn(n, device=dev)
        w = (torch.rand(c, device=dev) + 0.5).to(torch.bfloat16)
        plan = mhc.HyperConnectionPlan(mhc.Descriptor(streams=n, channels=c, sinkhorn_iters=a.sinkhorn_iters),
                                       max_blocks=a.max_blocks, cluster_rows=not a.no_cluster_rows,
                                       coefficient_cache=not a.no_coefficient_cache,
                                       programmatic_launch=not a.no_programmatic_launch)

        # Correctness first: every implementation against float64.
        ref = reference.static_layer(xs[0].double(), h_res.double(), h_pre.double(),
                                     h_post.double(), w.double(), sinkhorn_iters=a.sinkhorn_iters)
        scale = max(1.0, ref.abs().max().item())
        plan.run(xs[0], h_res, h_pre, h_post, w, outs[0])
        errs = {"mhc": (outs[0].double() - ref).abs().max().item() / scale}
        if not a.mhc_only:
            errs["eager"] = (reference.static_layer(xs[0], h_res, h_pre, h_post, w).double() - ref).abs().max().item() / scale
            errs["compile"] = (compiled(xs[0], h_res, h_pre, h_post, w).double() - ref).abs().max().item() / scale
        torch.cuda.synchronize()
        ok = all(e < 1e-4 for e in errs.values())

        # Pointers bound once: what a framework integration does per call.
        # Each runner has its own workspace, so from its second call on the
        # kernel finds M' cached (H_res is a layer's weight: unchanged).
        runners = [plan.bind(xs[i], h_res, h_pre, h_post, w, outs[i]) for i in range(sets)]
        # H_res alternating between two values on one workspace: every call
        # misses the cache (a training step's first call after an update).
        h_alt = [h_res, torch.randn(n, n, device=dev)]
        shared = plan.new_workspace(dev)
        runners_new_h = [plan.bind(xs[i % sets], h_alt[i % 2], h_pre, h_post, w, outs[i % sets],
                                   workspace=shared) for i in range(2 * sets)]
        t = {
            "mhc": time_calls(lambda i: runners[i](), sets, a.iters, spin),
            "mhc_new_h": time_calls(lambda i: runners_new_h[i](), 2 * sets, a.iters, spin),
            "copy": time_calls(lambda i: outs[i].copy_(xs[i]), sets, a.iters, spin),
            # The same bytes through an elementwise kernel (a kernel's floor).
            "copy_kernel": time_calls(lambda i: torch.mul(xs[i], 1.0, out=outs[i]), sets, a.iters, spin),
            "mhc_host_paced": time_calls(lambda i: runners[i](), sets, a.iters),
            "copy_host_paced": time_calls(lambda i: outs[i].copy_(xs[i]), sets, a.iters),
        }
        if a.mhc_only:
            t["eager"] = t["compile"] = float("nan")
        else:
            t["eager"] = time_calls(lambda i: reference.static_layer(xs[i], h_res, h_pre, h_post, w), sets, max(20, a.iters // 4), spin)
            t["compile"] = time_calls(lambda i: compiled(xs[i], h_res, h_pre, h_post, w), sets, a.iters, spin)
        t["mhc_back_to_back"] = time_back_to_back(lambda i: runners[i](), sets)
        t["copy_back_to_back"] = time_back_to_back(lambda i: outs[i].copy_(xs[i]), sets)
        moved = 2 * nbytes + c * 2 + (n * n + 2 * n) * 4
        row = {"B": b, "n": n, "C": c, "category": category(b, n, c), "sets": sets,
               "ms": t, "gbps_mhc": moved / (t["mhc"] * 1e-3) / 1e9,
               "gbps_copy": 2 * nbytes / (t["copy"] * 1e-3) / 1e9,
               "ratio_to_copy": t["mhc"] / t["copy"],
               "ratio_to_copy_new_h": t["mhc_new_h"] / t["copy"],
               "ratio_to_copy_kernel": t["mhc"] / t["copy_kernel"],
               "speedup_vs_eager": t["eager"] / t["mhc"],
               "speedup_vs_compile": t["compile"] / t["mhc"],
               "max_rel_err": errs, "outputs_agree": ok, "sku": plan.sku}
        rows.append(row)
        print(f"{b:6d} {n:2d} {c:5d} mhc {t['mhc']*1e3:9.1f} us  copy {t['copy']*1e3:9.1f} us  "
              f"ratio {row['ratio_to_copy']:5.3f} (new H {row['ratio_to_copy_new_h']:5.3f}) (kernel copy {t['copy_kernel']*1e3:9.1f} us, {row['ratio_to_copy_kernel']:5.3f})  eager x{row['speedup_vs_eager']:5.1f}  "
              f"compile x{row['speedup_vs_compile']:5.1f}  b2b {t['mhc_back_to_back']*1e3:7.1f} us (copy {t['copy_back_to_back']*1e3:5.1f})  "
              f"err {errs['mhc']:.1e}  ok={ok}", flush=True)
        del xs, outs

    meta = {"card": card, "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__,
            "iters": a.iters, "method": "CUDA events per call behind a GPU spin (GPU time alone), median, warm-up 10, "
                      "rotated inputs; *_host_paced: the same without the spin; back to back: 200 calls"}
    with open(os.path.join(a.out, "bench.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    lines = [f"Card: {card}, {meta['date']}, torch {torch.__version__}; median of {a.iters} calls (eager: {max(20, a.iters // 4)}), each behind a GPU spin (GPU time alone).", "",
             "| B | n | C | kind | mhc (us) | copy (us) | mhc / copy | mhc GB/s | vs eager | vs torch.compile | mhc back-to-back (us/call) | copy back-to-back (us/call) | max rel err |",
             "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    if a.mhc_only:
        lines[0] += " Sweep mode: eager and torch.compile not run."
    for r in rows:
        lines.append(f"| {r['B']} | {r['n']} | {r['C']} | {r['category']} | {r['ms']['mhc']*1e3:.1f} | "
                     f"{r['ms']['copy']*1e3:.1f} | {r['ratio_to_copy']:.3f} | {r['gbps_mhc']:.0f} | "
                     f"{r['speedup_vs_eager']:.1f}x | {r['speedup_vs_compile']:.1f}x | "
                     f"{r['ms']['mhc_back_to_back']*1e3:.1f} | {r['ms']['copy_back_to_back']*1e3:.1f} | "
                     f"{r['max_rel_err']['mhc']:.1e} |")
    with open(os.path.join(a.out, "bench.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        labels = [f"{r['B']}x{r['n']}x{r['C']}" for r in rows]
        fig, ax = plt.subplots(figsize=(11, 4.5))
        for k, name in enumerate(["mhc", "compile", "eager"]):
            ax.bar([i + (k - 1) * 0.27 for i in range(len(rows))],
                   [r["ms"][name] / r["ms"]["copy"] for r in rows], 0.27, label=name)
        ax.axhline(1.0, color="k", lw=0.8, ls="--", label="device copy")
        ax.set_yscale("log")
        ax.set_xticks(range(len(rows)), labels, rotation=35, ha="right", fontsize=8)
        ax.set_ylabel("time / device-copy time")
        ax.set_title(f"static mHC layer, {card}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(a.out, "bench.png"), dpi=110)
    except Exception as e:  # the numbers matter more than the picture
        print("plot skipped:", e)


if __name__ == "__main__":
    main()
