#!/usr/bin/env python3
"""Whether two runtime libraries compute the same bits.

For lowering changes meant to leave every result bit-identical (a different
schedule of the same arithmetic), run this once per library, each in its own
process, on the same card:

  MHC_RUNTIME_LIBRARY=old.so bits_probe.py --save old.pt
  MHC_RUNTIME_LIBRARY=new.so bits_probe.py --save new.pt --compare old.pt

Each case runs a plan on seeded random inputs with the coefficient cache on
(first call: a miss, so the kernel runs the Sinkhorn rounds; second call: a
hit) and off, over streams, channels (fixed-C, cluster, dynamic-C kernels),
batches (clusters, one block per row, grid-stride), both Sinkhorn inits and
both orientations. --compare prints every case whose outputs differ in any
bit and exits 1 if one does.
"""
import argparse
import itertools
import sys

import torch

import mhc


def cases():
    for n, c in [(1, 1280), (2, 4096), (3, 1000), (4, 1280), (4, 4096), (4, 7168), (4, 2560),
                 (4, 1000), (8, 4096), (8, 1280)]:
        for b in (1, 8, 64, 700):
            for init, orientation in itertools.product(("exp", "softmax"), ("direct", "transposed")):
                yield n, c, b, init, orientation


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--save", required=True)
    p.add_argument("--compare")
    a = p.parse_args()
    dev = torch.device("cuda")
    results = {}
    for n, c, b, init, orientation in cases():
        g = torch.Generator(device=dev).manual_seed(n * 1000003 + c * 101 + b)
        x = torch.randn(b, n, c, device=dev, generator=g)
        h_res = torch.randn(n, n, device=dev, generator=g) * 2
        h_pre = torch.randn(n, device=dev, generator=g)
        h_post = torch.randn(n, device=dev, generator=g)
        w = (torch.rand(c, device=dev, generator=g) + 0.5).to(torch.bfloat16)
        d = mhc.Descriptor(streams=n, channels=c, sinkhorn_init=init, orientation=orientation)
        outs = []
        for cache in (True, False):
            plan = mhc.HyperConnectionPlan(d, coefficient_cache=cache)
            ws = plan.new_workspace(dev)
            for _ in range(2 if cache else 1):
                out = torch.full_like(x, float("nan"))
                plan.run(x, h_res, h_pre, h_post, w, out, workspace=ws)
                outs.append(out)
        torch.cuda.synchronize()
        results[f"{n}x{c} B={b} {init} {orientation}"] = [o.cpu() for o in outs]
    torch.save(results, a.save)
    print(f"{len(results)} cases saved to {a.save}")
    if a.compare:
        old = torch.load(a.compare)
        bad = 0
        for key, outs in results.items():
            for k, (o, r) in enumerate(zip(outs, old[key])):
                same = torch.equal(o.view(torch.int32), r.view(torch.int32))
                if not same:
                    bad += 1
                    print(f"differs: {key} call {k}: max abs diff {(o - r).abs().max().item():.3e}")
        print(f"{len(results)} cases x 3 calls compared: {bad} differ")
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
