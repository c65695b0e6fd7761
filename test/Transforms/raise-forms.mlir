// RUN: mhc-opt %s --mhc-raise-pipeline -split-input-file | FileCheck %s
// The forms of test/Transforms/gen_linalg_layer.py written out, one per
// case: what a front end hands mhc and the mhc op it becomes.

// DeepSeek-V4's Sinkhorn, unrolled (3 rounds), max-shifted, named reductions.
// CHECK-LABEL: func.func @sinkhorn_v4
// CHECK-NEXT: %[[M:.*]] = mhc.sinkhorn %arg0 {init = #mhc.sinkhorn_init<softmax>, iters = 3 : i64} : tensor<4x4xf32>
// CHECK-NEXT: return %[[M]]
func.func @sinkhorn_v4(%hr: tensor<4x4xf32>) -> (tensor<4x4xf32>) {
  %e1 = tensor.empty() : tensor<4xf32>
  %cst2 = arith.constant 0xFF800000 : f32
  %z3 = linalg.fill ins(%cst2 : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %v4 = linalg.reduce ins(%hr : tensor<4x4xf32>) outs(%z3 : tensor<4xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %r = arith.maximumf %in, %init : f32
      linalg.yield %r : f32
    }
  %e5 = tensor.empty() : tensor<4x4xf32>
  %v6 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%hr, %v4 : tensor<4x4xf32>, tensor<4xf32>) outs(%e5 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_s = arith.subf %a0, %a1 : f32
      %l_x = math.exp %l_s : f32
      linalg.yield %l_x : f32
    } -> tensor<4x4xf32>
  %e7 = tensor.empty() : tensor<4xf32>
  %cst8 = arith.constant 0.000000000e+00 : f32
  %z9 = linalg.fill ins(%cst8 : f32) outs(%e7 : tensor<4xf32>) -> tensor<4xf32>
  %v10 = linalg.reduce ins(%v6 : tensor<4x4xf32>) outs(%z9 : tensor<4xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %r = arith.addf %in, %init : f32
      linalg.yield %r : f32
    }
  %e11 = tensor.empty() : tensor<4x4xf32>
  %v12 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v6, %v10 : tensor<4x4xf32>, tensor<4xf32>) outs(%e11 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_q = arith.divf %a0, %a1 : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %cst13 = arith.constant 1.000000000e-06 : f32
  %e14 = tensor.empty() : tensor<4x4xf32>
  %v15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v12 : tensor<4x4xf32>) outs(%e14 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_p = arith.addf %a0, %cst13 : f32
      linalg.yield %l_p : f32
    } -> tensor<4x4xf32>
  %e16 = tensor.empty() : tensor<4xf32>
  %cst17 = arith.constant 0.000000000e+00 : f32
  %z18 = linalg.fill ins(%cst17 : f32) outs(%e16 : tensor<4xf32>) -> tensor<4xf32>
  %v19 = linalg.reduce ins(%v15 : tensor<4x4xf32>) outs(%z18 : tensor<4xf32>) dimensions = [0]
    (%in: f32, %init: f32) {
      %r = arith.addf %in, %init : f32
      linalg.yield %r : f32
    }
  %e20 = tensor.empty() : tensor<4x4xf32>
  %cst21 = arith.constant 1.000000000e-06 : f32
  %v22 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v15, %v19 : tensor<4x4xf32>, tensor<4xf32>) outs(%e20 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_s = arith.addf %a1, %cst21 : f32
      %l_q = arith.divf %a0, %l_s : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %e23 = tensor.empty() : tensor<4xf32>
  %cst24 = arith.constant 0.000000000e+00 : f32
  %z25 = linalg.fill ins(%cst24 : f32) outs(%e23 : tensor<4xf32>) -> tensor<4xf32>
  %v26 = linalg.reduce ins(%v22 : tensor<4x4xf32>) outs(%z25 : tensor<4xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %r = arith.addf %in, %init : f32
      linalg.yield %r : f32
    }
  %e27 = tensor.empty() : tensor<4x4xf32>
  %cst28 = arith.constant 1.000000000e-06 : f32
  %v29 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v22, %v26 : tensor<4x4xf32>, tensor<4xf32>) outs(%e27 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_s = arith.addf %a1, %cst28 : f32
      %l_q = arith.divf %a0, %l_s : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %e30 = tensor.empty() : tensor<4xf32>
  %cst31 = arith.constant 0.000000000e+00 : f32
  %z32 = linalg.fill ins(%cst31 : f32) outs(%e30 : tensor<4xf32>) -> tensor<4xf32>
  %v33 = linalg.reduce ins(%v29 : tensor<4x4xf32>) outs(%z32 : tensor<4xf32>) dimensions = [0]
    (%in: f32, %init: f32) {
      %r = arith.addf %in, %init : f32
      linalg.yield %r : f32
    }
  %e34 = tensor.empty() : tensor<4x4xf32>
  %cst35 = arith.constant 1.000000000e-06 : f32
  %v36 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v29, %v33 : tensor<4x4xf32>, tensor<4xf32>) outs(%e34 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_s = arith.addf %a1, %cst35 : f32
      %l_q = arith.divf %a0, %l_s : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %e37 = tensor.empty() : tensor<4xf32>
  %cst38 = arith.constant 0.000000000e+00 : f32
  %z39 = linalg.fill ins(%cst38 : f32) outs(%e37 : tensor<4xf32>) -> tensor<4xf32>
  %v40 = linalg.reduce ins(%v36 : tensor<4x4xf32>) outs(%z39 : tensor<4xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %r = arith.addf %in, %init : f32
      linalg.yield %r : f32
    }
  %e41 = tensor.empty() : tensor<4x4xf32>
  %cst42 = arith.constant 1.000000000e-06 : f32
  %v43 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v36, %v40 : tensor<4x4xf32>, tensor<4xf32>) outs(%e41 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_s = arith.addf %a1, %cst42 : f32
      %l_q = arith.divf %a0, %l_s : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %e44 = tensor.empty() : tensor<4xf32>
  %cst45 = arith.constant 0.000000000e+00 : f32
  %z46 = linalg.fill ins(%cst45 : f32) outs(%e44 : tensor<4xf32>) -> tensor<4xf32>
  %v47 = linalg.reduce ins(%v43 : tensor<4x4xf32>) outs(%z46 : tensor<4xf32>) dimensions = [0]
    (%in: f32, %init: f32) {
      %r = arith.addf %in, %init : f32
      linalg.yield %r : f32
    }
  %e48 = tensor.empty() : tensor<4x4xf32>
  %cst49 = arith.constant 1.000000000e-06 : f32
  %v50 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v43, %v47 : tensor<4x4xf32>, tensor<4xf32>) outs(%e48 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_s = arith.addf %a1, %cst49 : f32
      %l_q = arith.divf %a0, %l_s : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  return %v50 : tensor<4x4xf32>
}

// -----

// A gate with a scale and a bias: sigmoid, scale and bias in three generics.
// CHECK-LABEL: func.func @gate
// CHECK-NEXT: %[[S:.*]] = mhc.gate %arg0 {bias = 9.99999974E-5 : f32, scale = 2.000000e+00 : f32} : tensor<4xf32>
// CHECK-NEXT: return %[[S]]
func.func @gate(%h: tensor<4xf32>) -> (tensor<4xf32>) {
  %cst1 = arith.constant 1.000000000e+00 : f32
  %cst2 = arith.constant 2.000000000e+00 : f32
  %cst3 = arith.constant 1.000000000e-04 : f32
  %e4 = tensor.empty() : tensor<4xf32>
  %v5 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%h : tensor<4xf32>) outs(%e4 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_ng = arith.negf %a0 : f32
      %l_ex = math.exp %l_ng : f32
      %l_dn = arith.addf %cst1, %l_ex : f32
      %l_sg = arith.divf %cst1, %l_dn : f32
      linalg.yield %l_sg : f32
    } -> tensor<4xf32>
  %e6 = tensor.empty() : tensor<4xf32>
  %v7 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%v5 : tensor<4xf32>) outs(%e6 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_p = arith.mulf %cst2, %a0 : f32
      linalg.yield %l_p : f32
    } -> tensor<4xf32>
  %e8 = tensor.empty() : tensor<4xf32>
  %v9 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%v7 : tensor<4xf32>) outs(%e8 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_p = arith.addf %a0, %cst3 : f32
      linalg.yield %l_p : f32
    } -> tensor<4xf32>
  return %v9 : tensor<4xf32>
}

// -----

// The dynamic-H post with M^T as batch_matmul.
// CHECK-LABEL: func.func @post
// CHECK-NOT: linalg.
// CHECK: %[[O:.*]] = mhc.post %arg0, %arg3, %arg1, %arg2 {orientation = #mhc.orientation<transposed>} : tensor<?x4x64xf32>, tensor<?x64xf32>, tensor<?x4x4xf32>, tensor<?x4xf32>
// CHECK-NEXT: return %[[O]]
func.func @post(%x: tensor<?x4x64xf32>, %m: tensor<?x4x4xf32>, %s: tensor<?x4xf32>, %f: tensor<?x64xf32>) -> (tensor<?x4x64xf32>) {
  %i1 = arith.constant 0 : index
  %b2 = tensor.dim %x, %i1 : tensor<?x4x64xf32>
  %e3 = tensor.empty(%b2) : tensor<?x4x64xf32>
  %cst4 = arith.constant 0.000000000e+00 : f32
  %z5 = linalg.fill ins(%cst4 : f32) outs(%e3 : tensor<?x4x64xf32>) -> tensor<?x4x64xf32>
  %e6 = tensor.empty(%b2) : tensor<?x4x4xf32>
  %v7 = linalg.transpose ins(%m : tensor<?x4x4xf32>) outs(%e6 : tensor<?x4x4xf32>) permutation = [0, 2, 1]
  %v8 = linalg.batch_matmul ins(%v7, %x : tensor<?x4x4xf32>, tensor<?x4x64xf32>) outs(%z5 : tensor<?x4x64xf32>) -> tensor<?x4x64xf32>
  %e9 = tensor.empty(%b2) : tensor<?x4x64xf32>
  %v10 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v8, %s, %f : tensor<?x4x64xf32>, tensor<?x4xf32>, tensor<?x64xf32>) outs(%e9 : tensor<?x4x64xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32, %a3: f32):
      %l_p = arith.mulf %a1, %a2 : f32
      %l_o = arith.addf %a0, %l_p : f32
      linalg.yield %l_o : f32
    } -> tensor<?x4x64xf32>
  return %v10 : tensor<?x4x64xf32>
}

// -----

// RMSNorm over a dynamic C: the mean divides by tensor.dim.
// CHECK-LABEL: func.func @rms_norm
// CHECK-NOT: linalg.
// CHECK: %[[F:.*]] = mhc.rms_norm %arg1, %arg2 {eps = 9.99999997E-7 : f32} : tensor<?x?xf32>, tensor<?xbf16>
// CHECK-NEXT: return %[[F]]
func.func @rms_norm(%x: tensor<?x4x?xf32>, %y: tensor<?x?xf32>, %w: tensor<?xbf16>) -> (tensor<?x?xf32>) {
  %i1 = arith.constant 0 : index
  %b2 = tensor.dim %x, %i1 : tensor<?x4x?xf32>
  %i3 = arith.constant 2 : index
  %c4 = tensor.dim %x, %i3 : tensor<?x4x?xf32>
  %e5 = tensor.empty(%b2) : tensor<?xf32>
  %cst6 = arith.constant 0.000000000e+00 : f32
  %z7 = linalg.fill ins(%cst6 : f32) outs(%e5 : tensor<?xf32>) -> tensor<?xf32>
  %v8 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<?x?xf32>) outs(%z7 : tensor<?xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_q = arith.mulf %a0, %a0 : f32
      %l_r = arith.addf %a1, %l_q : f32
      linalg.yield %l_r : f32
    } -> tensor<?xf32>
  %cst9 = arith.constant 1.000000000e-06 : f32
  %i10 = arith.constant 1 : index
  %d11 = tensor.dim %y, %i10 : tensor<?x?xf32>
  %i12 = arith.index_cast %d11 : index to i64
  %cf13 = arith.sitofp %i12 : i64 to f32
  %e14 = tensor.empty(%b2, %c4) : tensor<?x?xf32>
  %v15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y, %v8, %w : tensor<?x?xf32>, tensor<?xf32>, tensor<?xbf16>) outs(%e14 : tensor<?x?xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: bf16, %a3: f32):
      %l_mean = arith.divf %a1, %cf13 : f32
      %l_me = arith.addf %l_mean, %cst9 : f32
      %l_wf = arith.extf %a2 : bf16 to f32
      %l_r = math.rsqrt %l_me : f32
      %l_t = arith.mulf %a0, %l_r : f32
      %l_o = arith.mulf %l_t, %l_wf : f32
      linalg.yield %l_o : f32
    } -> tensor<?x?xf32>
  return %v15 : tensor<?x?xf32>
}

// -----

// A near miss: the column sums divide along the rows. Left as it is.
// CHECK-LABEL: func.func @wrong_dim
// CHECK-NOT: mhc.
// CHECK: scf.for
// CHECK-NOT: mhc.
func.func @wrong_dim(%hr: tensor<4x4xf32>) -> (tensor<4x4xf32>) {
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
  %v14 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v8, %v12 : tensor<4x4xf32>, tensor<4xf32>) outs(%e13 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_q = arith.divf %a0, %a1 : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %i15 = arith.constant 1 : index
  %i16 = arith.constant 20 : index
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
    scf.yield %v31 : tensor<4x4xf32>
  }
  return %loop19 : tensor<4x4xf32>
}

// -----

// Near misses with constant indexing: each line divided by the first line's
// sum, and exp shifted by the first row's maximum. Left as they are (and no
// crash on maps that are not projections).
// CHECK-LABEL: func.func @constant_maps
// CHECK-NOT: mhc.
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
#first = affine_map<(d0, d1) -> (0)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @constant_maps(%h: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e4 = tensor.empty() : tensor<4xf32>
  %e44 = tensor.empty() : tensor<4x4xf32>
  %mx0 = linalg.fill ins(%ninf : f32) outs(%e4 : tensor<4xf32>) -> tensor<4xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%h : tensor<4x4xf32>) outs(%mx0 : tensor<4xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.maximumf %a, %acc : f32
      linalg.yield %r : f32
  } -> tensor<4xf32>
  %m0 = linalg.generic {indexing_maps = [#id, #first, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %mx : tensor<4x4xf32>, tensor<4xf32>) outs(%e44 : tensor<4x4xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.subf %a, %b : f32
      %x = math.exp %s : f32
      linalg.yield %x : f32
  } -> tensor<4x4xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<4xf32>) -> tensor<4xf32>
  %rs = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%m0 : tensor<4x4xf32>) outs(%z0 : tensor<4xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.addf %a, %acc : f32
      linalg.yield %r : f32
  } -> tensor<4xf32>
  %m1 = linalg.generic {indexing_maps = [#id, #first, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m0, %rs : tensor<4x4xf32>, tensor<4xf32>) outs(%e44 : tensor<4x4xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %q = arith.divf %a, %b : f32
      linalg.yield %q : f32
  } -> tensor<4x4xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<4xf32>) -> tensor<4xf32>
  %cs = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]}
      ins(%m1 : tensor<4x4xf32>) outs(%z1 : tensor<4xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.addf %a, %acc : f32
      linalg.yield %r : f32
  } -> tensor<4xf32>
  %m2 = linalg.generic {indexing_maps = [#id, #first, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m1, %cs : tensor<4x4xf32>, tensor<4xf32>) outs(%e44 : tensor<4x4xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %q = arith.divf %a, %b : f32
      linalg.yield %q : f32
  } -> tensor<4x4xf32>
  return %m2 : tensor<4x4xf32>
}
