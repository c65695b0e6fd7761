// RUN: mhc-opt %s --convert-mhc-to-linalg -split-input-file | FileCheck %s

// mhc.coefficients: the flattened row's sum of squares and its projection
// (reductions over the n C values, bf16 widened on load), the scaled logits
// (column j takes alpha[0], [1] or [2] by its index), the two gates on the
// first 2n columns, and the last n^2 columns as [B, n, n] through a per-token
// Sinkhorn (3-D generics, the rounds in an scf.for).
// CHECK-DAG: #[[ROWS:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[TOKEN:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[PHI:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-LABEL: func.func @coefficients
// CHECK: %[[XF:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<?x2x3xbf16> into tensor<?x6xbf16>
// CHECK: %[[SQ:.*]] = linalg.generic {indexing_maps = [#[[ROWS]], #[[TOKEN]]], iterator_types = ["parallel", "reduction"]} ins(%[[XF]] : tensor<?x6xbf16>)
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[PROJ:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[PHI]], {{.*}}], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[XF]], %{{.*}} : tensor<?x6xbf16>, tensor<6x8xf32>)
// CHECK: %[[LOGITS:.*]] = linalg.generic {{.*}} ins(%[[PROJ]], %[[SQ]], %{{.*}} : tensor<?x8xf32>, tensor<?xf32>, tensor<8xf32>)
// CHECK: math.rsqrt
// CHECK: linalg.index 1
// CHECK: tensor.extract_slice %[[LOGITS]][0, 0] [%{{.*}}, 2] [1, 1]
// CHECK: math.exp
// CHECK: tensor.extract_slice %[[LOGITS]][0, 2] [%{{.*}}, 2] [1, 1]
// CHECK: %[[RES:.*]] = tensor.extract_slice %[[LOGITS]][0, 4] [%{{.*}}, 4] [1, 1]
// CHECK: tensor.expand_shape %[[RES]] {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 2, 2] : tensor<?x4xf32> into tensor<?x2x2xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<?x2x2xf32>)
// CHECK: scf.for {{.*}} -> (tensor<?x2x2xf32>)
// CHECK-NOT: mhc.
func.func @coefficients(%x: tensor<?x2x3xbf16>, %phi: tensor<6x8xf32>, %a: tensor<3xf32>, %b: tensor<8xf32>)
    -> (tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32>) {
  %hp, %hq, %m = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-06 : f32}
      : tensor<?x2x3xbf16>, tensor<6x8xf32>, tensor<3xf32>, tensor<8xf32>
        -> tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32>
  return %hp, %hq, %m : tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32>
}

// -----

// mhc.pre: y[b, c] = sum_i h_pre[b, i] x[b, i, c] in f32, iterating
// (b, c, i), then one rounding to bf16.
// CHECK-DAG: #[[XM:.*]] = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
// CHECK-DAG: #[[HM:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @pre
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[XM]], #[[HM]], {{.*}}], iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<?x4x?xbf16>, tensor<?x4xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[Y]] : tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?xbf16>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @pre(%x: tensor<?x4x?xbf16>, %h: tensor<?x4xf32>) -> tensor<?x?xbf16> {
  %y = mhc.pre %x, %h : tensor<?x4x?xbf16>, tensor<?x4xf32> -> tensor<?x?xbf16>
  return %y : tensor<?x?xbf16>
}

// -----

// mhc.post: out = h_post * f, then + M'[b, i, j] x[b, j, c] over j
// (transposed: M[b, j, i]); f32 streams need no rounding.
// CHECK-DAG: #[[MT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1)>
// CHECK-LABEL: func.func @post
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<3x2xf32>, tensor<3x5xf32>)
// CHECK: %[[OUT:.*]] = linalg.generic {indexing_maps = [{{.*}}, #[[MT]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<3x2x5xf32>, tensor<3x2x2xf32>) outs(%[[INIT]] : tensor<3x2x5xf32>)
// CHECK-NOT: arith.truncf
// CHECK: return %[[OUT]]
func.func @post(%x: tensor<3x2x5xf32>, %f: tensor<3x5xf32>, %m: tensor<3x2x2xf32>, %h: tensor<3x2xf32>)
    -> tensor<3x2x5xf32> {
  %o = mhc.post %x, %f, %m, %h {orientation = #mhc.orientation<transposed>}
      : tensor<3x2x5xf32>, tensor<3x5xf32>, tensor<3x2x2xf32>, tensor<3x2xf32>
  return %o : tensor<3x2x5xf32>
}
