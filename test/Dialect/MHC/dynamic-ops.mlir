// RUN: mhc-opt %s | mhc-opt | FileCheck %s
// RUN: mhc-opt %s --mlir-print-op-generic | mhc-opt | FileCheck %s

// The dynamic-H ops round-trip, with their defaults elided.

// CHECK-LABEL: func.func @coefficients
// CHECK: %{{.*}}, %{{.*}}, %{{.*}} = mhc.coefficients %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {eps = 9.99999997E-7 : f32} : tensor<?x4x4096xbf16>, tensor<16384x24xbf16>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
func.func @coefficients(%x: tensor<?x4x4096xbf16>, %phi: tensor<16384x24xbf16>, %a: tensor<3xf32>,
    %b: tensor<24xf32>) -> tensor<?x4x4xf32> {
  %hp, %hq, %m = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xbf16>, tensor<16384x24xbf16>, tensor<3xf32>, tensor<24xf32>
        -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return %m : tensor<?x4x4xf32>
}

// Every convention, a dynamic C (phi's rows dynamic too) and f32.
// CHECK-LABEL: func.func @coefficients_conventions
// CHECK: mhc.coefficients {{.*}} {eps = 1.000000e-03 : f32, pre_eps = 9.99999997E-7 : f32, sinkhorn_eps = 1.000000e-03 : f32, sinkhorn_init = #mhc.sinkhorn_init<softmax>, sinkhorn_iters = 7 : i64} : tensor<3x2x?xf32>, tensor<?x8xf32>
func.func @coefficients_conventions(%x: tensor<3x2x?xf32>, %phi: tensor<?x8xf32>, %a: tensor<3xf32>,
    %b: tensor<8xf32>) -> tensor<3x2xf32> {
  %hp, %hq, %m = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-03 : f32, pre_eps = 1.0e-06 : f32,
      sinkhorn_iters = 7, sinkhorn_init = #mhc.sinkhorn_init<softmax>, sinkhorn_eps = 1.0e-03 : f32}
      : tensor<3x2x?xf32>, tensor<?x8xf32>, tensor<3xf32>, tensor<8xf32>
        -> tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2x2xf32>
  return %hp : tensor<3x2xf32>
}

// CHECK-LABEL: func.func @pre_post
// CHECK: %[[Y:.*]] = mhc.pre %{{.*}}, %{{.*}} : tensor<?x4x4096xbf16>, tensor<?x4xf32> -> tensor<?x4096xbf16>
// CHECK: mhc.post %{{.*}}, %[[Y]], %{{.*}}, %{{.*}} {orientation = #mhc.orientation<transposed>} : tensor<?x4x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4x4xf32>, tensor<?x4xf32>
func.func @pre_post(%x: tensor<?x4x4096xbf16>, %hp: tensor<?x4xf32>, %hq: tensor<?x4xf32>,
    %m: tensor<?x4x4xf32>) -> tensor<?x4x4096xbf16> {
  %y = mhc.pre %x, %hp : tensor<?x4x4096xbf16>, tensor<?x4xf32> -> tensor<?x4096xbf16>
  %o = mhc.post %x, %y, %m, %hq {orientation = #mhc.orientation<transposed>}
      : tensor<?x4x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4x4xf32>, tensor<?x4xf32>
  return %o : tensor<?x4x4096xbf16>
}

// The sublayer's output may be f32 while the streams are bf16.
// CHECK-LABEL: func.func @post_f32_f
// CHECK: mhc.post {{.*}} : tensor<8x2x16xbf16>, tensor<8x16xf32>, tensor<8x2x2xf32>, tensor<8x2xf32>
func.func @post_f32_f(%x: tensor<8x2x16xbf16>, %f: tensor<8x16xf32>, %m: tensor<8x2x2xf32>,
    %hq: tensor<8x2xf32>) -> tensor<8x2x16xbf16> {
  %o = mhc.post %x, %f, %m, %hq : tensor<8x2x16xbf16>, tensor<8x16xf32>, tensor<8x2x2xf32>, tensor<8x2xf32>
  return %o : tensor<8x2x16xbf16>
}

// CHECK-LABEL: func.func @dynamic_layer
// CHECK: mhc.dynamic_layer {{.*}} {coefficient_eps = 9.99999997E-7 : f32, eps = 9.99999997E-7 : f32, orientation = #mhc.orientation<transposed>} : tensor<?x4x?xf32>, tensor<?x24xbf16>, tensor<3xf32>, tensor<24xf32>, tensor<?xbf16>
func.func @dynamic_layer(%x: tensor<?x4x?xf32>, %phi: tensor<?x24xbf16>, %a: tensor<3xf32>,
    %b: tensor<24xf32>, %w: tensor<?xbf16>) -> tensor<?x4x?xf32> {
  %o = mhc.dynamic_layer %x, %phi, %a, %b, %w {eps = 1.0e-06 : f32, coefficient_eps = 1.0e-06 : f32,
      orientation = #mhc.orientation<transposed>}
      : tensor<?x4x?xf32>, tensor<?x24xbf16>, tensor<3xf32>, tensor<24xf32>, tensor<?xbf16>
  return %o : tensor<?x4x?xf32>
}

// Sinkhorn on one matrix per token.
// CHECK-LABEL: func.func @sinkhorn_per_token
// CHECK: mhc.sinkhorn %{{.*}} : tensor<?x4x4xf32>
func.func @sinkhorn_per_token(%h: tensor<?x4x4xf32>) -> tensor<?x4x4xf32> {
  %m = mhc.sinkhorn %h : tensor<?x4x4xf32>
  return %m : tensor<?x4x4xf32>
}

// The pre unit that mhc-fuse forms.
// CHECK-LABEL: func.func @fused_pre
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} = mhc.fused_pre ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x2x8xbf16>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32>) -> tensor<?x8xbf16>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32> {
// CHECK: mhc.coefficients {{.*}} {eps = 9.99999997E-7 : f32, sinkhorn_iters = 5 : i64}
// CHECK: mhc.pre
// CHECK: mhc.yield
func.func @fused_pre(%x: tensor<?x2x8xbf16>, %phi: tensor<16x8xf32>, %a: tensor<3xf32>,
    %b: tensor<8xf32>) -> tensor<?x8xbf16> {
  %y, %hp, %hq, %m = mhc.fused_pre ins(%x, %phi, %a, %b
      : tensor<?x2x8xbf16>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32>)
      -> tensor<?x8xbf16>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32> {
  ^bb0(%bx: tensor<?x2x8xbf16>, %bphi: tensor<16x8xf32>, %ba: tensor<3xf32>, %bb: tensor<8xf32>):
    %p, %q, %bm = mhc.coefficients %bx, %bphi, %ba, %bb {eps = 1.0e-06 : f32, sinkhorn_iters = 5 : i64}
        : tensor<?x2x8xbf16>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32>
          -> tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32>
    %by = mhc.pre %bx, %p : tensor<?x2x8xbf16>, tensor<?x2xf32> -> tensor<?x8xbf16>
    mhc.yield %by, %p, %q, %bm : tensor<?x8xbf16>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32>
  }
  return %y : tensor<?x8xbf16>
}
