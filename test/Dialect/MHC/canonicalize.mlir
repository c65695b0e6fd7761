// RUN: mhc-opt %s -canonicalize -split-input-file | FileCheck %s

// Expected values were computed independently in Python (float64, rounded
// to f32) from the definitions in docs/DESIGN.md.

// exp(H) of [[0,1],[1,0]] already has equal row and column sums:
// M = [[1, e], [e, 1]] / (1 + e).
// CHECK-LABEL: func.func @fold_sinkhorn_exp_2x2
// CHECK: %[[C:.*]] = arith.constant dense<{{\[}}[0.268941{{[0-9]*}}, 0.731058{{[0-9]*}}], [0.731058{{[0-9]*}}, 0.268941{{[0-9]*}}]]> : tensor<2x2xf32>
// CHECK-NOT: mhc.sinkhorn
// CHECK: return %[[C]]
func.func @fold_sinkhorn_exp_2x2() -> tensor<2x2xf32> {
  %h = arith.constant dense<[[0.0, 1.0], [1.0, 0.0]]> : tensor<2x2xf32>
  %m = mhc.sinkhorn %h : tensor<2x2xf32>
  return %m : tensor<2x2xf32>
}

// -----

// A general 3x3 matrix, 20 rounds.
// CHECK-LABEL: func.func @fold_sinkhorn_exp_3x3
// CHECK: arith.constant dense<{{\[}}[0.034577{{[0-9]*}}, 0.482711{{[0-9]*}}, 0.482711{{[0-9]*}}], [0.303778{{[0-9]*}}, 0.348110{{[0-9]*}}, 0.348110{{[0-9]*}}], [0.661644{{[0-9]*}}, 0.169177{{[0-9]*}}, 0.169177{{[0-9]*}}]]> : tensor<3x3xf32>
// CHECK-NOT: mhc.sinkhorn
func.func @fold_sinkhorn_exp_3x3() -> tensor<3x3xf32> {
  %h = arith.constant dense<[[0.0, 1.0, 2.0], [0.5, -1.0, 0.0], [3.0, 0.0, 1.0]]> : tensor<3x3xf32>
  %m = mhc.sinkhorn %h : tensor<3x3xf32>
  return %m : tensor<3x3xf32>
}

// -----

// The softmax convention with one round: softmax rows + eps, then columns
// divided by (colsum + eps).
// CHECK-LABEL: func.func @fold_sinkhorn_softmax
// CHECK: arith.constant dense<{{\[}}[0.491195{{[0-9]*}}, 0.496649{{[0-9]*}}], [0.491195{{[0-9]*}}, 0.496649{{[0-9]*}}]]> : tensor<2x2xf32>
func.func @fold_sinkhorn_softmax() -> tensor<2x2xf32> {
  %h = arith.constant dense<[[0.0, 1.0], [2.0, 3.0]]> : tensor<2x2xf32>
  %m = mhc.sinkhorn %h {init = #mhc.sinkhorn_init<softmax>, iters = 1, eps = 0.01 : f32} : tensor<2x2xf32>
  return %m : tensor<2x2xf32>
}

// -----

// Large logits do not overflow; an all-underflowing column stays zero
// instead of becoming NaN.
// CHECK-LABEL: func.func @fold_sinkhorn_extreme
// CHECK: arith.constant dense<{{\[}}[5.000000e-01, 0.000000e+00], [5.000000e-01, 0.000000e+00]]> : tensor<2x2xf32>
// CHECK: arith.constant dense<{{\[}}[0.268941{{[0-9]*}}, 0.731058{{[0-9]*}}], [0.731058{{[0-9]*}}, 0.268941{{[0-9]*}}]]> : tensor<2x2xf32>
func.func @fold_sinkhorn_extreme() -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %u = arith.constant dense<[[0.0, -1000.0], [0.0, -1000.0]]> : tensor<2x2xf32>
  %m = mhc.sinkhorn %u : tensor<2x2xf32>
  %l = arith.constant dense<[[1000.0, 1001.0], [1001.0, 1000.0]]> : tensor<2x2xf32>
  %m2 = mhc.sinkhorn %l : tensor<2x2xf32>
  return %m, %m2 : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// NaN logits are not folded: the runtime behaviour is what the user sees.
// CHECK-LABEL: func.func @no_fold_nan
// CHECK: mhc.sinkhorn
func.func @no_fold_nan() -> tensor<2x2xf32> {
  %h = arith.constant dense<[[0.0, 0x7FC00000], [1.0, 0.0]]> : tensor<2x2xf32>
  %m = mhc.sinkhorn %h : tensor<2x2xf32>
  return %m : tensor<2x2xf32>
}

// -----

// CHECK-LABEL: func.func @no_fold_argument
// CHECK: %[[M:.*]] = mhc.sinkhorn %arg0
// CHECK: return %[[M]]
func.func @no_fold_argument(%h: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = mhc.sinkhorn %h : tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}

// -----

// 2 * sigmoid(h) + 0.25 for h = 0, 1, -100.
// CHECK-LABEL: func.func @fold_gate
// CHECK: %[[C:.*]] = arith.constant dense<[1.250000e+00, 1.712117{{[0-9]*}}, 2.500000e-01]> : tensor<3xf32>
// CHECK-NOT: mhc.gate
// CHECK: return %[[C]]
func.func @fold_gate() -> tensor<3xf32> {
  %h = arith.constant dense<[0.0, 1.0, -100.0]> : tensor<3xf32>
  %g = mhc.gate %h {scale = 2.0 : f32, bias = 0.25 : f32} : tensor<3xf32>
  return %g : tensor<3xf32>
}

// -----

// Unused mhc ops are pure and disappear.
// CHECK-LABEL: func.func @dead_parts
// CHECK-NEXT: return %arg0
func.func @dead_parts(%x: tensor<?x4x64xf32>, %s: tensor<4xf32>, %w: tensor<64xbf16>) -> tensor<?x4x64xf32> {
  %y = mhc.aggregate %x, %s : tensor<?x4x64xf32>, tensor<4xf32> -> tensor<?x64xf32>
  %f = mhc.rms_norm %y, %w {eps = 1.0e-6 : f32} : tensor<?x64xf32>, tensor<64xbf16>
  return %x : tensor<?x4x64xf32>
}
