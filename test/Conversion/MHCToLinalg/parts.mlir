// RUN: mhc-opt %s --convert-mhc-to-linalg -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @aggregate
// CHECK: %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%arg0, %arg1 : tensor<?x4x64xf32>, tensor<4xf32>) outs(%[[INIT]] : tensor<?x64xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @aggregate(%x: tensor<?x4x64xf32>, %s: tensor<4xf32>) -> tensor<?x64xf32> {
  %y = mhc.aggregate %x, %s : tensor<?x4x64xf32>, tensor<4xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Sum of squares per row, then y * rsqrt(mean + eps) * w (bf16 upcast).
// CHECK-LABEL: func.func @rms_norm
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%arg0, %{{.*}}, %arg1 : tensor<?x64xf32>, tensor<?xf32>, tensor<64xbf16>)
// CHECK: math.rsqrt
// CHECK: arith.extf %{{.*}} : bf16 to f32
func.func @rms_norm(%y: tensor<?x64xf32>, %w: tensor<64xbf16>) -> tensor<?x64xf32> {
  %f = mhc.rms_norm %y, %w {eps = 1.0e-06 : f32} : tensor<?x64xf32>, tensor<64xbf16>
  return %f : tensor<?x64xf32>
}

// -----

// Direct and transposed mixing differ only in how M is indexed.
// CHECK-DAG: #[[MIJ:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3)>
// CHECK-DAG: #[[MJI:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d1)>
// CHECK-LABEL: func.func @mix
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[MIJ]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[MJI]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
func.func @mix(%x: tensor<?x4x64xf32>, %m: tensor<4x4xf32>, %s: tensor<4xf32>, %f: tensor<?x64xf32>)
    -> (tensor<?x4x64xf32>, tensor<?x4x64xf32>) {
  %o = mhc.mix %x, %m, %s, %f : tensor<?x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x64xf32>
  %t = mhc.mix %x, %m, %s, %f {orientation = #mhc.orientation<transposed>}
      : tensor<?x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x64xf32>
  return %o, %t : tensor<?x4x64xf32>, tensor<?x4x64xf32>
}

// -----

// Row max, exp, a row normalization, then iters - 1 more rounds in a loop.
// CHECK-LABEL: func.func @sinkhorn
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: scf.for %{{.*}} = %c1 to %c20 step %c1 iter_args(%{{.*}} = %{{.*}}) -> (tensor<4x4xf32>)
// CHECK: linalg.generic
// CHECK: scf.yield
func.func @sinkhorn(%h: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = mhc.sinkhorn %h : tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}

// -----

// CHECK-LABEL: func.func @gate
// CHECK: %[[SCALE:.*]] = arith.constant 2.000000e+00 : f32
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: arith.mulf %[[SCALE]]
func.func @gate(%h: tensor<4xf32>) -> tensor<4xf32> {
  %s = mhc.gate %h {scale = 2.0 : f32} : tensor<4xf32>
  return %s : tensor<4xf32>
}

// -----

// A fused unit is inlined and its parts lowered: no mhc op is left.
// CHECK-LABEL: func.func @fused
// CHECK-NOT: mhc.
// CHECK: math.exp
// CHECK: math.rsqrt
// CHECK-NOT: mhc.
// CHECK: return
func.func @fused(%x: tensor<?x2x8xf32>, %hr: tensor<2x2xf32>, %hp: tensor<2xf32>,
    %hq: tensor<2xf32>, %w: tensor<8xf32>) -> tensor<?x2x8xf32> {
  %out = mhc.fused_layer ins(%x, %hr, %hp, %hq, %w : tensor<?x2x8xf32>, tensor<2x2xf32>,
      tensor<2xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<?x2x8xf32> {
  ^bb0(%bx: tensor<?x2x8xf32>, %br: tensor<2x2xf32>, %bp: tensor<2xf32>, %bq: tensor<2xf32>, %bw: tensor<8xf32>):
    %m = mhc.sinkhorn %br : tensor<2x2xf32>
    %sp = mhc.gate %bp : tensor<2xf32>
    %sq = mhc.gate %bq {scale = 2.0 : f32} : tensor<2xf32>
    %y = mhc.aggregate %bx, %sp : tensor<?x2x8xf32>, tensor<2xf32> -> tensor<?x8xf32>
    %f = mhc.rms_norm %y, %bw {eps = 1.0e-06 : f32} : tensor<?x8xf32>, tensor<8xf32>
    %o = mhc.mix %bx, %m, %sq, %f : tensor<?x2x8xf32>, tensor<2x2xf32>, tensor<2xf32>, tensor<?x8xf32>
    mhc.yield %o : tensor<?x2x8xf32>
  }
  return %out : tensor<?x2x8xf32>
}
