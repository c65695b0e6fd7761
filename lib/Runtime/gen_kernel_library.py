#!/usr/bin/env python3
"""Writes the MLIR of every kernel variant the runtime embeds (its SKU
matrix), one function per variant; `mhc-opt --mhc-gpu-pipeline` compiles the
file into one gpu.binary holding all kernels.

  fixed:   static C for the common (n, C) pairs, row held in registers where
           it fits; vector width 4.
  general: dynamic C, every n in 1..32, vector width 4 (C % 4 == 0 and 16-byte
           aligned pointers) or 1 (any C, 4-byte aligned).
Both for bf16 and f32 weights. The kernel names follow
mhc_fused_n<n>_c<C|dyn>_v<V>_w<bf16|f32>_t<threads> (docs/DESIGN.md); the
runtime computes the same names (lib/Runtime/Sku.cpp).
"""
import argparse

FIXED = [(4, c) for c in (1280, 1920, 2560, 4096, 7168)] + \
        [(8, c) for c in (1280, 2560, 4096, 7168)]
MAX_STREAMS = 32

p = argparse.ArgumentParser()
p.add_argument("--family", choices=["fixed", "general-v4", "general-v1"], required=True)
a = p.parse_args()


def layer(name, n, c, w):
    cd = "?" if c is None else str(c)
    x = f"tensor<?x{n}x{cd}xf32>"
    wt = f"tensor<{cd}x{w}>"
    return f"""
func.func @{name}(%x: {x}, %hr: tensor<{n}x{n}xf32>, %hp: tensor<{n}xf32>, %hq: tensor<{n}xf32>, %w: {wt}) -> {x} {{
  %o = mhc.static_layer %x, %hr, %hp, %hq, %w {{eps = 1.0e-06 : f32}} : {x}, tensor<{n}x{n}xf32>, tensor<{n}xf32>, tensor<{n}xf32>, {wt}
  return %o : {x}
}}"""


for w in ("bf16", "f32"):
    if a.family == "fixed":
        for n, c in FIXED:
            print(layer(f"fixed_n{n}_c{c}_{w}", n, c, w))
    else:
        for n in range(1, MAX_STREAMS + 1):
            print(layer(f"general_n{n}_{w}", n, None, w))
