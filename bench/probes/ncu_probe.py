#!/usr/bin/env python3
"""One call of the fused kernel and one of an elementwise copy kernel of the
same bytes, for Nsight Compute to profile side by side:

  ncu --set full --profile-from-start off python3 bench/probes/ncu_probe.py 8192x4x4096

The inputs are made and the plan compiled first; profiling is switched on
(cudaProfilerStart) around exactly the two launches, after --warmup calls
of each (the first call of a plan misses its coefficient cache)."""
import argparse

import torch

import mhc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("shape", help="BxnxC, e.g. 8192x4x4096")
    p.add_argument("--max-blocks", type=int, default=0)
    p.add_argument("--sinkhorn-iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()
    b, n, c = map(int, a.shape.split("x"))
    dev = torch.device("cuda")
    torch.manual_seed(0)
    x = torch.randn(b, n, c, device=dev)
    out = torch.empty_like(x)
    h_res, h_pre, h_post = (torch.randn(n, n, device=dev), torch.randn(n, device=dev),
                            torch.randn(n, device=dev))
    w = (torch.rand(c, device=dev) + 0.5).to(torch.bfloat16)
    plan = mhc.HyperConnectionPlan(mhc.Descriptor(streams=n, channels=c,
                                                  sinkhorn_iters=a.sinkhorn_iters),
                                   max_blocks=a.max_blocks)
    run = plan.bind(x, h_res, h_pre, h_post, w, out)
    for _ in range(a.warmup):
        run()
        torch.mul(x, 1.0, out=out)
    torch.cuda.synchronize()
    torch.cuda.profiler.start()
    run()
    torch.mul(x, 1.0, out=out)
    torch.cuda.synchronize()
    torch.cuda.profiler.stop()
    print(f"profiled {b}x{n}x{c}: plan sku {plan.sku}")


if __name__ == "__main__":
    main()
