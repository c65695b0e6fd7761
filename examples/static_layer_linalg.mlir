// The static mHC layer of examples/static_layer.mlir (n = 4, C = 4096, bf16
// RMSNorm weight) written the way a front end that lowers to linalg writes
// it: a Sinkhorn loop of row and column normalizations, sigmoid gates, the
// stream sum, RMSNorm and the mix, each a linalg.generic. mhc raises it to
// mhc ops and compiles it to the same kernel as the mhc op:
//
//   mhc-opt --mhc-raise-pipeline examples/static_layer_linalg.mlir   (mhc ops)
//   mhc-opt --mhc-gpu-pipeline examples/static_layer_linalg.mlir     (PTX)
//
// Written by test/Transforms/gen_linalg_layer.py --c 4096 --name static_layer.
func.func @static_layer(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %i1 = arith.constant 0 : index
  %b2 = tensor.dim %x, %i1 : tensor<?x4x4096xf32>
  %e3 = tensor.empty() : tensor<4x4xf32>
  %v4 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%hr : tensor<4x4xf32>) outs(%e3 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_x = math.exp %a0 : f32
      linalg.yield %l_x : f32
    } -> tensor<4x4xf32>
  %e5 = tensor.empty() : tensor<4xf32>
  %cst6 = arith.constant 0.000000000e+00 : f32
  %z7 = linalg.fill ins(%cst6 : f32) outs(%e5 : tensor<4xf32>) -> tensor<4xf32>
  %v8 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%v4 : tensor<4x4xf32>) outs(%z7 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_r = arith.addf %a0, %a1 : f32
      linalg.yield %l_r : f32
    } -> tensor<4xf32>
  %e9 = tensor.empty() : tensor<4x4xf32>
  %v10 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v4, %v8 : tensor<4x4xf32>, tensor<4xf32>) outs(%e9 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_q = arith.divf %a0, %a1 : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %e11 = tensor.empty() : tensor<4xf32>
  %cst12 = arith.constant 0.000000000e+00 : f32
  %z13 = linalg.fill ins(%cst12 : f32) outs(%e11 : tensor<4xf32>) -> tensor<4xf32>
  %v14 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%v10 : tensor<4x4xf32>) outs(%z13 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_r = arith.addf %a0, %a1 : f32
      linalg.yield %l_r : f32
    } -> tensor<4xf32>
  %e15 = tensor.empty() : tensor<4x4xf32>
  %v16 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v10, %v14 : tensor<4x4xf32>, tensor<4xf32>) outs(%e15 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_q = arith.divf %a0, %a1 : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %i17 = arith.constant 1 : index
  %i18 = arith.constant 20 : index
  %i19 = arith.constant 1 : index
  %loop21 = scf.for %k = %i17 to %i18 step %i19 iter_args(%it20 = %v16) -> (tensor<4x4xf32>) {
  %e22 = tensor.empty() : tensor<4xf32>
  %cst23 = arith.constant 0.000000000e+00 : f32
  %z24 = linalg.fill ins(%cst23 : f32) outs(%e22 : tensor<4xf32>) -> tensor<4xf32>
  %v25 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%it20 : tensor<4x4xf32>) outs(%z24 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_r = arith.addf %a0, %a1 : f32
      linalg.yield %l_r : f32
    } -> tensor<4xf32>
  %e26 = tensor.empty() : tensor<4x4xf32>
  %v27 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%it20, %v25 : tensor<4x4xf32>, tensor<4xf32>) outs(%e26 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_q = arith.divf %a0, %a1 : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
  %e28 = tensor.empty() : tensor<4xf32>
  %cst29 = arith.constant 0.000000000e+00 : f32
  %z30 = linalg.fill ins(%cst29 : f32) outs(%e28 : tensor<4xf32>) -> tensor<4xf32>
  %v31 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%v27 : tensor<4x4xf32>) outs(%z30 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_r = arith.addf %a0, %a1 : f32
      linalg.yield %l_r : f32
    } -> tensor<4xf32>
  %e32 = tensor.empty() : tensor<4x4xf32>
  %v33 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v27, %v31 : tensor<4x4xf32>, tensor<4xf32>) outs(%e32 : tensor<4x4xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_q = arith.divf %a0, %a1 : f32
      linalg.yield %l_q : f32
    } -> tensor<4x4xf32>
    scf.yield %v33 : tensor<4x4xf32>
  }
  %cst34 = arith.constant 1.000000000e+00 : f32
  %e35 = tensor.empty() : tensor<4xf32>
  %v36 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%hp : tensor<4xf32>) outs(%e35 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_ng = arith.negf %a0 : f32
      %l_ex = math.exp %l_ng : f32
      %l_dn = arith.addf %cst34, %l_ex : f32
      %l_sg = arith.divf %cst34, %l_dn : f32
      linalg.yield %l_sg : f32
    } -> tensor<4xf32>
  %cst37 = arith.constant 1.000000000e+00 : f32
  %cst38 = arith.constant 2.000000000e+00 : f32
  %e39 = tensor.empty() : tensor<4xf32>
  %v40 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%hq : tensor<4xf32>) outs(%e39 : tensor<4xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_ng = arith.negf %a0 : f32
      %l_ex = math.exp %l_ng : f32
      %l_dn = arith.addf %cst37, %l_ex : f32
      %l_sg = arith.divf %cst37, %l_dn : f32
      %l_sc = arith.mulf %l_sg, %cst38 : f32
      linalg.yield %l_sc : f32
    } -> tensor<4xf32>
  %e41 = tensor.empty(%b2) : tensor<?x4096xf32>
  %cst42 = arith.constant 0.000000000e+00 : f32
  %z43 = linalg.fill ins(%cst42 : f32) outs(%e41 : tensor<?x4096xf32>) -> tensor<?x4096xf32>
  %v44 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2, d1)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %v36 : tensor<?x4x4096xf32>, tensor<4xf32>) outs(%z43 : tensor<?x4096xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_p = arith.mulf %a0, %a1 : f32
      %l_r = arith.addf %a2, %l_p : f32
      linalg.yield %l_r : f32
    } -> tensor<?x4096xf32>
  %e45 = tensor.empty(%b2) : tensor<?xf32>
  %cst46 = arith.constant 0.000000000e+00 : f32
  %z47 = linalg.fill ins(%cst46 : f32) outs(%e45 : tensor<?xf32>) -> tensor<?xf32>
  %v48 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%v44 : tensor<?x4096xf32>) outs(%z47 : tensor<?xf32>) {
    ^bb0(%a0: f32, %a1: f32):
      %l_q = arith.mulf %a0, %a0 : f32
      %l_r = arith.addf %a1, %l_q : f32
      linalg.yield %l_r : f32
    } -> tensor<?xf32>
  %cst49 = arith.constant 1.000000000e-06 : f32
  %cst50 = arith.constant 2.441406250e-04 : f32
  %e51 = tensor.empty(%b2) : tensor<?x4096xf32>
  %v52 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%v44, %v48, %w : tensor<?x4096xf32>, tensor<?xf32>, tensor<4096xbf16>) outs(%e51 : tensor<?x4096xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: bf16, %a3: f32):
      %l_mean = arith.mulf %a1, %cst50 : f32
      %l_me = arith.addf %l_mean, %cst49 : f32
      %l_wf = arith.extf %a2 : bf16 to f32
      %l_r = math.rsqrt %l_me : f32
      %l_t = arith.mulf %a0, %l_r : f32
      %l_o = arith.mulf %l_t, %l_wf : f32
      linalg.yield %l_o : f32
    } -> tensor<?x4096xf32>
  %e53 = tensor.empty(%b2) : tensor<?x4x4096xf32>
  %cst54 = arith.constant 0.000000000e+00 : f32
  %z55 = linalg.fill ins(%cst54 : f32) outs(%e53 : tensor<?x4x4096xf32>) -> tensor<?x4x4096xf32>
  %v56 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>, affine_map<(d0, d1, d2, d3) -> (d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %loop21 : tensor<?x4x4096xf32>, tensor<4x4xf32>) outs(%z55 : tensor<?x4x4096xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32):
      %l_p = arith.mulf %a1, %a0 : f32
      %l_r = arith.addf %a2, %l_p : f32
      linalg.yield %l_r : f32
    } -> tensor<?x4x4096xf32>
  %e57 = tensor.empty(%b2) : tensor<?x4x4096xf32>
  %v58 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v56, %v40, %v52 : tensor<?x4x4096xf32>, tensor<4xf32>, tensor<?x4096xf32>) outs(%e57 : tensor<?x4x4096xf32>) {
    ^bb0(%a0: f32, %a1: f32, %a2: f32, %a3: f32):
      %l_p = arith.mulf %a1, %a2 : f32
      %l_o = arith.addf %a0, %l_p : f32
      linalg.yield %l_o : f32
    } -> tensor<?x4x4096xf32>
  return %v58 : tensor<?x4x4096xf32>
}
