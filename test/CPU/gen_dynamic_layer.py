#!/usr/bin/env python3
"""Writes an MLIR program that runs mhc.dynamic_layer on random data and
compares it with the float64 reference (test/lib/RunnerSupport.cpp:
mhcCheckDynamicLayer), or with --static-equivalence runs it with alpha = 0
next to mhc.static_layer with h_pre, h_post, h_res taken from the bias and
checks that the two give the same bits (mhcCheckEqualF32).

The layer takes dynamic B and C; main fills the inputs with deterministic
random values, optionally zeroes one token or puts a NaN in one, calls the
layer, and prints the checker's verdict line.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "python"))
from mhc.ir import dynamic_layer_function, static_layer_function  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--n", type=int, required=True)
p.add_argument("--c", type=int, required=True)
p.add_argument("--b", type=int, required=True)
p.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
p.add_argument("--phi", choices=["f32", "bf16"], default="f32")
p.add_argument("--weight", choices=["f32", "bf16"], default="bf16")
p.add_argument("--init", choices=["exp", "softmax"], default="exp")
p.add_argument("--orientation", choices=["direct", "transposed"], default="direct")
p.add_argument("--iters", type=int, default=20)
p.add_argument("--eps", type=float, default=1e-6)
p.add_argument("--coefficient-eps", type=float, default=1e-6)
p.add_argument("--sinkhorn-eps", type=float, default=1e-6)
p.add_argument("--pre-eps", type=float, default=0.0)
p.add_argument("--alpha", type=float, nargs=3, default=[0.5, 0.7, 0.9],
               help="alpha_pre, alpha_post, alpha_res")
p.add_argument("--phi-scale", type=float, default=0.05,
               help="phi's entries are uniform in [-scale, scale]")
p.add_argument("--zero-token", type=int, default=-1, help="a token of zeros")
p.add_argument("--nan-token", type=int, default=-1, help="a token with a NaN")
p.add_argument("--static-equivalence", action="store_true")
p.add_argument("--equivalence-alpha", type=float, default=0.0,
               help="the alphas of the dynamic layer in --static-equivalence "
                    "(anything but 0 must differ: the check can fail)")
p.add_argument("--bound", type=float, default=1e-5,
               help="f32: the error bound relative to the output's scale")
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()

n, c, b = a.n, a.c, a.b
m = n * n + 2 * n
xt, pt, wt = a.dtype, a.phi, a.weight
fill = {"f32": "mhcFillRandomF32", "bf16": "mhcFillRandomBF16"}
is_bf16 = {"f32": 0, "bf16": 1}
conventions = dict(sinkhorn_iters=a.iters, sinkhorn_init=a.init,
                   sinkhorn_eps=a.sinkhorn_eps, pre_eps=a.pre_eps,
                   orientation=a.orientation)
layer = dynamic_layer_function("layer", n, None, xt, pt, wt, eps=a.eps,
                               coefficient_eps=a.coefficient_eps, **conventions)
x_dyn = f"tensor<?x{n}x?x{xt}>"
phi_dyn = f"tensor<?x{m}x{pt}>"
w_dyn = f"tensor<?x{wt}>"


def seed(k):
    return a.seed * 16 + k


decls = f"""
func.func private @mhcFillRandomF32(memref<*xf32>, i64, f32, f32) attributes {{llvm.emit_c_interface}}
func.func private @mhcFillRandomBF16(memref<*xbf16>, i64, f32, f32) attributes {{llvm.emit_c_interface}}
func.func private @mhcSetToken(memref<*x{xt}>, i64, i64, f32, i64) attributes {{llvm.emit_c_interface}}
func.func private @mhcCheckDynamicLayer(memref<*x{xt}>, memref<*x{pt}>, memref<*xf32>, memref<*xf32>, memref<*x{wt}>, memref<*x{xt}>, i64, i64, i64, f32, f32, f32, i64, i64, f32, i64, f32) attributes {{llvm.emit_c_interface}}
func.func private @mhcCheckEqualF32(memref<*xf32>, memref<*xf32>) attributes {{llvm.emit_c_interface}}
"""

fills = f"""
  %xm = memref.alloc() : memref<{b}x{n}x{c}x{xt}>
  %pm = memref.alloc() : memref<{n * c}x{m}x{pt}>
  %am = memref.alloc() : memref<3xf32>
  %bm = memref.alloc() : memref<{m}xf32>
  %wm = memref.alloc() : memref<{c}x{wt}>
  %xu = memref.cast %xm : memref<{b}x{n}x{c}x{xt}> to memref<*x{xt}>
  %pu = memref.cast %pm : memref<{n * c}x{m}x{pt}> to memref<*x{pt}>
  %au = memref.cast %am : memref<3xf32> to memref<*xf32>
  %bu = memref.cast %bm : memref<{m}xf32> to memref<*xf32>
  %wu = memref.cast %wm : memref<{c}x{wt}> to memref<*x{wt}>
  %s1 = arith.constant {seed(1)} : i64
  %s2 = arith.constant {seed(2)} : i64
  %s4 = arith.constant {seed(4)} : i64
  %s5 = arith.constant {seed(5)} : i64
  %m2 = arith.constant -2.0 : f32
  %p2 = arith.constant 2.0 : f32
  %mp = arith.constant {-a.phi_scale:e} : f32
  %pp = arith.constant {a.phi_scale:e} : f32
  %wl = arith.constant 0.5 : f32
  %wh = arith.constant 1.5 : f32
  call @{fill[xt]}(%xu, %s1, %m2, %p2) : (memref<*x{xt}>, i64, f32, f32) -> ()
  call @{fill[pt]}(%pu, %s2, %mp, %pp) : (memref<*x{pt}>, i64, f32, f32) -> ()
  call @mhcFillRandomF32(%bu, %s4, %m2, %p2) : (memref<*xf32>, i64, f32, f32) -> ()
  call @{fill[wt]}(%wu, %s5, %wl, %wh) : (memref<*x{wt}>, i64, f32, f32) -> ()
"""
for k, value in enumerate(a.alpha):
    fills += f"""  %a{k} = arith.constant {a.equivalence_alpha if a.static_equivalence else value:e} : f32
  %i{k} = arith.constant {k} : index
  memref.store %a{k}, %am[%i{k}] : memref<3xf32>
"""
for token, value, whole in ((a.zero_token, "0.0", 1), (a.nan_token, "0x7FC00000", 0)):
    if token >= 0:
        fills += f"""  %t{whole} = arith.constant {token} : i64
  %v{whole} = arith.constant {value} : f32
  %all{whole} = arith.constant {whole} : i64
  %bf{whole} = arith.constant {is_bf16[xt]} : i64
  call @mhcSetToken(%xu, %bf{whole}, %t{whole}, %v{whole}, %all{whole}) : (memref<*x{xt}>, i64, i64, f32, i64) -> ()
"""

tensors = f"""
  %xt = bufferization.to_tensor %xm restrict : memref<{b}x{n}x{c}x{xt}> to tensor<{b}x{n}x{c}x{xt}>
  %pt = bufferization.to_tensor %pm restrict : memref<{n * c}x{m}x{pt}> to tensor<{n * c}x{m}x{pt}>
  %at = bufferization.to_tensor %am restrict : memref<3xf32> to tensor<3xf32>
  %bt = bufferization.to_tensor %bm restrict : memref<{m}xf32> to tensor<{m}xf32>
  %wt = bufferization.to_tensor %wm restrict : memref<{c}x{wt}> to tensor<{c}x{wt}>
  %xd = tensor.cast %xt : tensor<{b}x{n}x{c}x{xt}> to {x_dyn}
  %pd = tensor.cast %pt : tensor<{n * c}x{m}x{pt}> to {phi_dyn}
  %wd = tensor.cast %wt : tensor<{c}x{wt}> to {w_dyn}
  %o = call @layer(%xd, %pd, %at, %bt, %wd) : ({x_dyn}, {phi_dyn}, tensor<3xf32>, tensor<{m}xf32>, {w_dyn}) -> {x_dyn}
  %om = bufferization.to_buffer %o : {x_dyn} to memref<?x{n}x?x{xt}>
  %ou = memref.cast %om : memref<?x{n}x?x{xt}> to memref<*x{xt}>
"""

if a.static_equivalence:
    if xt != "f32":
        sys.exit("--static-equivalence compares f32 layers")
    static = static_layer_function("static_layer", n, None, wt, eps=a.eps, **conventions)
    # h_pre, h_post and h_res are the bias's three parts.
    check = f"""
  %hp = tensor.extract_slice %bt[0] [{n}] [1] : tensor<{m}xf32> to tensor<{n}xf32>
  %hq = tensor.extract_slice %bt[{n}] [{n}] [1] : tensor<{m}xf32> to tensor<{n}xf32>
  %hr0 = tensor.extract_slice %bt[{2 * n}] [{n * n}] [1] : tensor<{m}xf32> to tensor<{n * n}xf32>
  %hr = tensor.expand_shape %hr0 [[0, 1]] output_shape [{n}, {n}] : tensor<{n * n}xf32> into tensor<{n}x{n}xf32>
  %so = call @static_layer(%xd, %hr, %hp, %hq, %wd) : ({x_dyn}, tensor<{n}x{n}xf32>, tensor<{n}xf32>, tensor<{n}xf32>, {w_dyn}) -> {x_dyn}
  %sm = bufferization.to_buffer %so : {x_dyn} to memref<?x{n}x?xf32>
  %su = memref.cast %sm : memref<?x{n}x?xf32> to memref<*xf32>
  call @mhcCheckEqualF32(%ou, %su) : (memref<*xf32>, memref<*xf32>) -> ()
"""
    layer += static
else:
    check = f"""
  %xb = arith.constant {is_bf16[xt]} : i64
  %pb = arith.constant {is_bf16[pt]} : i64
  %wb = arith.constant {is_bf16[wt]} : i64
  %eps = arith.constant {a.eps:e} : f32
  %ceps = arith.constant {a.coefficient_eps:e} : f32
  %peps = arith.constant {a.pre_eps:e} : f32
  %iters = arith.constant {a.iters} : i64
  %init = arith.constant {1 if a.init == "softmax" else 0} : i64
  %seps = arith.constant {a.sinkhorn_eps:e} : f32
  %tr = arith.constant {1 if a.orientation == "transposed" else 0} : i64
  %bound = arith.constant {a.bound:e} : f32
  call @mhcCheckDynamicLayer(%xu, %pu, %au, %bu, %wu, %ou, %xb, %pb, %wb, %eps, %ceps, %peps, %iters, %init, %seps, %tr, %bound)
      : (memref<*x{xt}>, memref<*x{pt}>, memref<*xf32>, memref<*xf32>, memref<*x{wt}>, memref<*x{xt}>, i64, i64, i64, f32, f32, f32, i64, i64, f32, i64, f32) -> ()
"""

print(decls + layer + "\nfunc.func @main() {" + fills + tensors + check + "  return\n}")
