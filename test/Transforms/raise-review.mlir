// RUN: mhc-opt %s --mhc-raise-from-linalg -split-input-file | FileCheck %s
// Review cases: inputs the raising once got wrong (raised though not equal,
// made IR its own ops reject, crashed on) or missed. Each is left alone, or
// raised, as its CHECK says.

// A generic on memrefs (no results): not a candidate, no crash.
// CHECK-LABEL: func.func @memref
// CHECK-NOT: mhc.
// CHECK: return
func.func @memref(%a: memref<4x4xf32>, %b: memref<4x4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0,d1)->(d0,d1)>, affine_map<(d0,d1)->(d0,d1)>], iterator_types = ["parallel","parallel"]}
    ins(%a : memref<4x4xf32>) outs(%b : memref<4x4xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

// Coefficients of dynamic size: mhc.aggregate would not verify.
// CHECK-LABEL: func.func @agg_dyn
// CHECK-NOT: mhc.
// CHECK: return
func.func @agg_dyn(%x: tensor<2x4x8xf32>, %s: tensor<?xf32>) -> tensor<2x8xf32> {
  %e = tensor.empty() : tensor<2x8xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x8xf32>) -> tensor<2x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(b,i,c)->(b,i,c)>, affine_map<(b,i,c)->(i)>, affine_map<(b,i,c)->(b,c)>], iterator_types = ["parallel","reduction","parallel"]}
    ins(%x, %s : tensor<2x4x8xf32>, tensor<?xf32>) outs(%f : tensor<2x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %b, %a : f32
    %o = arith.addf %acc, %m : f32
    linalg.yield %o : f32
  } -> tensor<2x8xf32>
  return %r : tensor<2x8xf32>
}

// -----

// A dynamic stream count: mhc.aggregate would not verify.
// CHECK-LABEL: func.func @agg_dyn2
// CHECK-NOT: mhc.
// CHECK: return
func.func @agg_dyn2(%x: tensor<?x?x?xf32>, %s: tensor<?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %d0 = tensor.dim %x, %c0 : tensor<?x?x?xf32>
  %d1 = tensor.dim %x, %c2 : tensor<?x?x?xf32>
  %e = tensor.empty(%d0, %d1) : tensor<?x?xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(b,i,c)->(b,i,c)>, affine_map<(b,i,c)->(i)>, affine_map<(b,i,c)->(b,c)>], iterator_types = ["parallel","reduction","parallel"]}
    ins(%x, %s : tensor<?x?x?xf32>, tensor<?xf32>) outs(%f : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %b, %a : f32
    %o = arith.addf %acc, %m : f32
    linalg.yield %o : f32
  } -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

// RMSNorm with eps = 0: mhc.rms_norm needs eps > 0.
// CHECK-LABEL: func.func @rms_eps0
// CHECK-NOT: mhc.
// CHECK: return
func.func @rms_eps0(%y: tensor<4x64xf32>, %w: tensor<64xf32>, %n: index) -> (tensor<4x64xf32>) {
  %e5 = tensor.empty() : tensor<4xf32>
  %cst6 = arith.constant 0.0 : f32
  %z7 = linalg.fill ins(%cst6 : f32) outs(%e5 : tensor<4xf32>) -> tensor<4xf32>
  %v8 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<4x64xf32>) outs(%z7 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %q = arith.mulf %a0, %a0 : f32
      %r = arith.addf %a1, %q : f32
      linalg.yield %r : f32
    } -> tensor<4xf32>
  %eps = arith.constant 0.0 : f32
  %k = arith.constant 64.0 : f32
  %e14 = tensor.empty() : tensor<4x64xf32>
  %v15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y, %v8, %w : tensor<4x64xf32>, tensor<4xf32>, tensor<64xf32>) outs(%e14 : tensor<4x64xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32, %a3: f32):
      %mean = arith.divf %a1, %k : f32
      %me = arith.addf %mean, %eps : f32
      %r = math.rsqrt %me : f32
      %t = arith.mulf %a0, %r : f32
      %o = arith.mulf %t, %a2 : f32
      linalg.yield %o : f32
    } -> tensor<4x64xf32>
  return %v15 : tensor<4x64xf32>
}

// -----

// The mean divides by C through an i8: it wraps for large C.
// CHECK-LABEL: func.func @rms_i8
// CHECK-NOT: mhc.
// CHECK: return
func.func @rms_i8(%y: tensor<?x?xf32>, %w: tensor<?xf32>) -> (tensor<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %y, %c0 : tensor<?x?xf32>
  %c = tensor.dim %y, %c1 : tensor<?x?xf32>
  %e5 = tensor.empty(%b) : tensor<?xf32>
  %cst6 = arith.constant 0.0 : f32
  %z7 = linalg.fill ins(%cst6 : f32) outs(%e5 : tensor<?xf32>) -> tensor<?xf32>
  %v8 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<?x?xf32>) outs(%z7 : tensor<?xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %q = arith.mulf %a0, %a0 : f32
      %r = arith.addf %a1, %q : f32
      linalg.yield %r : f32
    } -> tensor<?xf32>
  %eps = arith.constant 1.0e-06 : f32
  %i12 = arith.index_cast %c : index to i8
  %cf13 = arith.sitofp %i12 : i8 to f32
  %e14 = tensor.empty(%b, %c) : tensor<?x?xf32>
  %v15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y, %v8, %w : tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) outs(%e14 : tensor<?x?xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32, %a3: f32):
      %mean = arith.divf %a1, %cf13 : f32
      %me = arith.addf %mean, %eps : f32
      %r = math.rsqrt %me : f32
      %t = arith.mulf %a0, %r : f32
      %o = arith.mulf %t, %a2 : f32
      linalg.yield %o : f32
    } -> tensor<?x?xf32>
  return %v15 : tensor<?x?xf32>
}

// -----

// y is static, the result dynamic: mhc.rms_norm takes y's type.
// CHECK-LABEL: func.func @rms_ty
// CHECK-NOT: mhc.
// CHECK: return
func.func @rms_ty(%y: tensor<4x64xf32>, %w: tensor<64xf32>, %n: index) -> (tensor<?x64xf32>) {
  %e5 = tensor.empty() : tensor<4xf32>
  %cst6 = arith.constant 0.0 : f32
  %z7 = linalg.fill ins(%cst6 : f32) outs(%e5 : tensor<4xf32>) -> tensor<4xf32>
  %v8 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<4x64xf32>) outs(%z7 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %q = arith.mulf %a0, %a0 : f32
      %r = arith.addf %a1, %q : f32
      linalg.yield %r : f32
    } -> tensor<4xf32>
  %eps = arith.constant 1.0e-06 : f32
  %k = arith.constant 64.0 : f32
  %e14 = tensor.empty(%n) : tensor<?x64xf32>
  %v15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y, %v8, %w : tensor<4x64xf32>, tensor<4xf32>, tensor<64xf32>) outs(%e14 : tensor<?x64xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32, %a3: f32):
      %mean = arith.divf %a1, %k : f32
      %me = arith.addf %mean, %eps : f32
      %r = math.rsqrt %me : f32
      %t = arith.mulf %a0, %r : f32
      %o = arith.mulf %t, %a2 : f32
      linalg.yield %o : f32
    } -> tensor<?x64xf32>
  return %v15 : tensor<?x64xf32>
}

// -----

// The bf16 pre rounds toward zero, not to nearest even.
// CHECK-LABEL: func.func @pre_rz
// CHECK-NOT: mhc.
// CHECK: return
func.func @pre_rz(%x: tensor<2x4x8xbf16>, %h: tensor<2x4xf32>) -> tensor<2x8xbf16> {
  %e = tensor.empty() : tensor<2x8xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x8xf32>) -> tensor<2x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(b,i,c)->(b,i,c)>, affine_map<(b,i,c)->(b,i)>, affine_map<(b,i,c)->(b,c)>], iterator_types = ["parallel","reduction","parallel"]}
    ins(%x, %h : tensor<2x4x8xbf16>, tensor<2x4xf32>) outs(%f : tensor<2x8xf32>) {
  ^bb0(%a: bf16, %b: f32, %acc: f32):
    %w = arith.extf %a : bf16 to f32
    %m = arith.mulf %b, %w : f32
    %o = arith.addf %acc, %m : f32
    linalg.yield %o : f32
  } -> tensor<2x8xf32>
  %e2 = tensor.empty() : tensor<2x8xbf16>
  %t = linalg.generic {indexing_maps = [affine_map<(b,c)->(b,c)>, affine_map<(b,c)->(b,c)>], iterator_types = ["parallel","parallel"]}
    ins(%r : tensor<2x8xf32>) outs(%e2 : tensor<2x8xbf16>) {
  ^bb0(%a: f32, %o: bf16):
    %q = arith.truncf %a toward_zero : f32 to bf16
    linalg.yield %q : bf16
  } -> tensor<2x8xbf16>
  return %t : tensor<2x8xbf16>
}

// -----

// The Sinkhorn loop prints: raising it would drop the print.
// CHECK-LABEL: func.func @sk_print
// CHECK-NOT: mhc.
// CHECK: return
func.func @sk_print(%hr: tensor<4x4xf32>) -> (tensor<4x4xf32>) {
  %e1 = tensor.empty() : tensor<4x4xf32>
  %v2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%hr : tensor<4x4xf32>) outs(%e1 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_x = math.exp %a0 : f32
      linalg.yield %l_x : f32
    } -> tensor<4x4xf32>
  %e3 = tensor.empty() : tensor<4xf32>
  %cst4 = arith.constant 0.000000000e+00 : f32
  %z5 = linalg.fill ins(%cst4 : f32) outs(%e3 : tensor<4xf32>) -> tensor<4xf32>
  %v6 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%v2 : tensor<4x4xf32>) outs(%z5 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_r = arith.addf %a0, %a1 : f32
      linalg.yield %l_r : f32
    } -> tensor<4xf32>
  %e7 = tensor.empty() : tensor<4x4xf32>
  %v8 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v2, %v6 : tensor<4x4xf32>, tensor<4xf32>) outs(%e7 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_q = arith.divf %a0, %a1 : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %e9 = tensor.empty() : tensor<4xf32>
  %cst10 = arith.constant 0.000000000e+00 : f32
  %z11 = linalg.fill ins(%cst10 : f32) outs(%e9 : tensor<4xf32>) -> tensor<4xf32>
  %v12 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%v8 : tensor<4x4xf32>) outs(%z11 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_r = arith.addf %a0, %a1 : f32
      linalg.yield %l_r : f32
    } -> tensor<4xf32>
  %e13 = tensor.empty() : tensor<4x4xf32>
  %v14 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v8, %v12 : tensor<4x4xf32>, tensor<4xf32>) outs(%e13 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_q = arith.divf %a0, %a1 : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %i15 = arith.constant 1 : index
  %i16 = arith.constant 3 : index
  %i17 = arith.constant 1 : index
  %loop19 = scf.for %k = %i15 to %i16 step %i17 iter_args(%it18 = %v14) -> (tensor<4x4xf32>) {
  %e20 = tensor.empty() : tensor<4xf32>
  %cst21 = arith.constant 0.000000000e+00 : f32
  %z22 = linalg.fill ins(%cst21 : f32) outs(%e20 : tensor<4xf32>) -> tensor<4xf32>
  %v23 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%it18 : tensor<4x4xf32>) outs(%z22 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_r = arith.addf %a0, %a1 : f32
      linalg.yield %l_r : f32
    } -> tensor<4xf32>
  %e24 = tensor.empty() : tensor<4x4xf32>
  %v25 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%it18, %v23 : tensor<4x4xf32>, tensor<4xf32>) outs(%e24 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_q = arith.divf %a0, %a1 : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %e26 = tensor.empty() : tensor<4xf32>
  %cst27 = arith.constant 0.000000000e+00 : f32
  %z28 = linalg.fill ins(%cst27 : f32) outs(%e26 : tensor<4xf32>) -> tensor<4xf32>
  %v29 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%v25 : tensor<4x4xf32>) outs(%z28 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_r = arith.addf %a0, %a1 : f32
      linalg.yield %l_r : f32
    } -> tensor<4xf32>
  %e30 = tensor.empty() : tensor<4x4xf32>
  %v31 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v25, %v29 : tensor<4x4xf32>, tensor<4xf32>) outs(%e30 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_q = arith.divf %a0, %a1 : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
    vector.print %k : index
    scf.yield %v31 : tensor<4x4xf32>
  }
  return %loop19 : tensor<4x4xf32>
}

// -----

// The gate's logits computed in their own generic: raised, reading them.
// CHECK-LABEL: func.func @gate_prod
// CHECK: mhc.gate
func.func @gate_prod(%raw: tensor<4xf32>) -> tensor<4xf32> {
  %one = arith.constant 1.0 : f32
  %two = arith.constant 2.0 : f32
  %e0 = tensor.empty() : tensor<4xf32>
  %h = linalg.generic {indexing_maps = [affine_map<(d0)->(d0)>, affine_map<(d0)->(d0)>], iterator_types = ["parallel"]}
    ins(%raw : tensor<4xf32>) outs(%e0 : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %p = arith.mulf %a, %two : f32
    linalg.yield %p : f32
  } -> tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0)->(d0)>, affine_map<(d0)->(d0)>], iterator_types = ["parallel"]}
    ins(%h : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    %x = math.exp %n : f32
    %d = arith.addf %one, %x : f32
    %q = arith.divf %one, %d : f32
    linalg.yield %q : f32
  } -> tensor<4xf32>
  return %s : tensor<4xf32>
}
