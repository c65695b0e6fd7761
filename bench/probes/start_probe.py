#!/usr/bin/env python3
"""What a single call pays at its start, on the GPU alone.

bench.py's per-call time of mhc exceeds its back-to-back time by more than
the copy's does. This probe times one call between two events, each behind a
GPU spin (as bench.py), after different things ran just before the start
event:

  cold        nothing: the spin kernel, then the timed call
  same        a small call of the same kernel (`--warm-rows` rows)
  copy        a device copy of as many bytes as that small call moves

If `same` is faster than `copy`, the difference is what the timed call no
longer pays once its kernel has run (instruction fetch, the kernel's
constants, the coefficient cache's lines in L2); if both are the same, it
is not that. Each mode also times the device copy of the big call's bytes
as the timed call. Both programmatic launch on and off.

usage: PYTHONPATH=python MHC_RUNTIME_LIBRARY=.../libmhc_runtime.so \
       start_probe.py [--shapes 1024x4x4096,...] [--out DIR]
"""
import argparse
import json
import os
import sys

import torch

import mhc

# bench.py sits beside this script where gpu-prepare.sh copies both, and one
# folder up in the repository.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bench import Spin, time_calls  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shapes", default="1024x4x4096,2560x4x1280,8192x4x4096,4096x4x2560,64x4x7168")
    p.add_argument("--warm-rows", type=int, default=64)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--out", default="")
    a = p.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    spin = Spin()
    rows = []
    for shape in a.shapes.split(","):
        b, n, c = map(int, shape.split("x"))
        wb = a.warm_rows
        sets = 8
        xs = [torch.randn(b, n, c, device=dev) for _ in range(sets)]
        outs = [torch.empty_like(x) for x in xs]
        xw, ow = torch.randn(wb, n, c, device=dev), torch.empty(wb, n, c, device=dev)
        h_res, h_pre, h_post = (torch.randn(n, n, device=dev), torch.randn(n, device=dev),
                                torch.randn(n, device=dev))
        w = (torch.rand(c, device=dev) + 0.5).to(torch.bfloat16)
        for pdl in (True, False):
            plan = mhc.HyperConnectionPlan(mhc.Descriptor(streams=n, channels=c),
                                           programmatic_launch=pdl)
            ws = plan.new_workspace(dev)
            big = [plan.bind(xs[i], h_res, h_pre, h_post, w, outs[i], workspace=ws) for i in range(sets)]
            small = plan.bind(xw, h_res, h_pre, h_post, w, ow, workspace=ws)
            timed = {"mhc": lambda i: big[i](), "copy": lambda i: outs[i].copy_(xs[i])}
            before = {"cold": None, "same": small, "copy": lambda: ow.copy_(xw)}
            for name, fn in timed.items():
                for mode, pre in before.items():
                    if name == "copy" and mode == "same":
                        continue
                    us = time_calls(fn, sets, a.iters, spin, before=pre) * 1e3
                    rows.append({"shape": shape, "pdl": pdl, "timed": name, "before": mode, "us": us})
                    print(f"{shape:>12} pdl={int(pdl)} {name:>4} after {mode:>4}: {us:8.2f} us", flush=True)
            del plan
        del xs, outs
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "start_probe.json"), "w") as f:
            json.dump({"card": torch.cuda.get_device_name(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
