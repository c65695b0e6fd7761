#!/usr/bin/env python3
"""Writes an MLIR program that runs mhc.static_layer on random data and
compares it with the float64 reference (test/lib/RunnerSupport.cpp).

The layer function takes dynamic token and channel dimensions, so the same
lowering serves every shape; main fills the inputs with deterministic random
values, calls the layer, and prints the checker's verdict line.
"""
import argparse
import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "python"))
from mhc.ir import static_layer_function  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--n", type=int, required=True)
p.add_argument("--c", type=int, required=True)
p.add_argument("--b", type=int, required=True)
p.add_argument("--init", choices=["exp", "softmax"], default="exp")
p.add_argument("--orientation", choices=["direct", "transposed"], default="direct")
p.add_argument("--weight", choices=["f32", "bf16"], default="bf16")
p.add_argument("--iters", type=int, default=20)
p.add_argument("--eps", type=float, default=1e-6)
p.add_argument("--sinkhorn-eps", type=float, default=1e-6)
p.add_argument("--pre-eps", type=float, default=0.0)
p.add_argument("--logit-scale", type=float, default=2.0,
               help="H_res entries are uniform in [-scale, scale]")
p.add_argument("--logit-offset", type=float, default=0.0,
               help="added to every H_res entry: exp(H) overflows f32 for "
                    "offsets past ~88 unless the maximum is subtracted first")
p.add_argument("--static-channels", action="store_true",
               help="give the layer function a static C (dynamic B only)")
p.add_argument("--seed", type=int, default=1)
p.add_argument("--linalg", action="store_true",
               help="write the layer in linalg (test/Transforms/"
                    "gen_linalg_layer.py) instead of mhc.static_layer")
p.add_argument("--linalg-form", default="",
               help="more gen_linalg_layer.py options, e.g. "
                    "\"--sinkhorn-form unrolled --mix-form batch_matmul\"")
# Deliberate mismatches between what runs and what the checker assumes, to
# prove that the check can fail.
p.add_argument("--check-orientation", choices=["direct", "transposed"])
a = p.parse_args()

n, c, b, w = a.n, a.c, a.b, a.weight
check_orientation = a.check_orientation or a.orientation
cdim = str(c) if a.static_channels else "?"
x_t = f"tensor<?x{n}x{cdim}xf32>"
w_t = f"tensor<{cdim}x{w}>"
if a.linalg:
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "Transforms", "gen_linalg_layer.py")
    args = [sys.executable, gen, "--n", str(n), "--weight", w,
            "--init", a.init, "--orientation", a.orientation,
            "--iters", str(a.iters), "--eps", repr(a.eps),
            "--sinkhorn-eps", repr(a.sinkhorn_eps), "--pre-eps", repr(a.pre_eps)]
    if a.static_channels:
        args += ["--c", str(c)]
    layer = subprocess.run(args + shlex.split(a.linalg_form), check=True,
                           capture_output=True, text=True).stdout
else:
    layer = static_layer_function(
        "layer", n, c if a.static_channels else None, w, eps=a.eps,
        sinkhorn_iters=a.iters, sinkhorn_init=a.init,
        sinkhorn_eps=a.sinkhorn_eps, pre_eps=a.pre_eps,
        orientation=a.orientation)
fill_w = "mhcFillRandomBF16" if w == "bf16" else "mhcFillRandomF32"
check = "mhcCheckStaticLayerBF16" if w == "bf16" else "mhcCheckStaticLayerF32"

print(f"""
func.func private @mhcFillRandomF32(memref<*xf32>, i64, f32, f32) attributes {{llvm.emit_c_interface}}
func.func private @mhcFillRandomBF16(memref<*xbf16>, i64, f32, f32) attributes {{llvm.emit_c_interface}}
func.func private @{check}(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*x{w}>, memref<*xf32>, f32, i64, i64, f32, f32, i64) attributes {{llvm.emit_c_interface}}

{layer}
func.func @main() {{
  %xm = memref.alloc() : memref<{b}x{n}x{c}xf32>
  %hrm = memref.alloc() : memref<{n}x{n}xf32>
  %hpm = memref.alloc() : memref<{n}xf32>
  %hqm = memref.alloc() : memref<{n}xf32>
  %wm = memref.alloc() : memref<{c}x{w}>
  %xu = memref.cast %xm : memref<{b}x{n}x{c}xf32> to memref<*xf32>
  %hru = memref.cast %hrm : memref<{n}x{n}xf32> to memref<*xf32>
  %hpu = memref.cast %hpm : memref<{n}xf32> to memref<*xf32>
  %hqu = memref.cast %hqm : memref<{n}xf32> to memref<*xf32>
  %wu = memref.cast %wm : memref<{c}x{w}> to memref<*x{w}>
  %s1 = arith.constant {a.seed * 5 + 1} : i64
  %s2 = arith.constant {a.seed * 5 + 2} : i64
  %s3 = arith.constant {a.seed * 5 + 3} : i64
  %s4 = arith.constant {a.seed * 5 + 4} : i64
  %s5 = arith.constant {a.seed * 5 + 5} : i64
  %m2 = arith.constant -2.0 : f32
  %p2 = arith.constant 2.0 : f32
  %mh = arith.constant {a.logit_offset - a.logit_scale:e} : f32
  %ph = arith.constant {a.logit_offset + a.logit_scale:e} : f32
  %wl = arith.constant 0.5 : f32
  %wh = arith.constant 1.5 : f32
  call @mhcFillRandomF32(%xu, %s1, %m2, %p2) : (memref<*xf32>, i64, f32, f32) -> ()
  call @mhcFillRandomF32(%hru, %s2, %mh, %ph) : (memref<*xf32>, i64, f32, f32) -> ()
  call @mhcFillRandomF32(%hpu, %s3, %m2, %p2) : (memref<*xf32>, i64, f32, f32) -> ()
  call @mhcFillRandomF32(%hqu, %s4, %m2, %p2) : (memref<*xf32>, i64, f32, f32) -> ()
  call @{fill_w}(%wu, %s5, %wl, %wh) : (memref<*x{w}>, i64, f32, f32) -> ()

  %xt = bufferization.to_tensor %xm restrict : memref<{b}x{n}x{c}xf32> to tensor<{b}x{n}x{c}xf32>
  %hrt = bufferization.to_tensor %hrm restrict : memref<{n}x{n}xf32> to tensor<{n}x{n}xf32>
  %hpt = bufferization.to_tensor %hpm restrict : memref<{n}xf32> to tensor<{n}xf32>
  %hqt = bufferization.to_tensor %hqm restrict : memref<{n}xf32> to tensor<{n}xf32>
  %wt = bufferization.to_tensor %wm restrict : memref<{c}x{w}> to tensor<{c}x{w}>
  %xd = tensor.cast %xt : tensor<{b}x{n}x{c}xf32> to {x_t}
  %wd = tensor.cast %wt : tensor<{c}x{w}> to {w_t}
  %o = call @layer(%xd, %hrt, %hpt, %hqt, %wd) : ({x_t}, tensor<{n}x{n}xf32>, tensor<{n}xf32>, tensor<{n}xf32>, {w_t}) -> {x_t}
  %om = bufferization.to_buffer %o : {x_t} to memref<?x{n}x{cdim}xf32>
  %ou = memref.cast %om : memref<?x{n}x{cdim}xf32> to memref<*xf32>

  %eps = arith.constant {a.eps:e} : f32
  %iters = arith.constant {a.iters} : i64
  %init = arith.constant {1 if a.init == "softmax" else 0} : i64
  %seps = arith.constant {a.sinkhorn_eps:e} : f32
  %peps = arith.constant {a.pre_eps:e} : f32
  %tr = arith.constant {1 if check_orientation == "transposed" else 0} : i64
  call @{check}(%xu, %hru, %hpu, %hqu, %wu, %ou, %eps, %iters, %init, %seps, %peps, %tr)
      : (memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*x{w}>, memref<*xf32>, f32, i64, i64, f32, f32, i64) -> ()
  return
}}
""")
