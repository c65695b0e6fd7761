// RUN: mhc-opt %s --mhc-decompose -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @defaults
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x4096xf32>, %[[HR:.*]]: tensor<4x4xf32>, %[[HP:.*]]: tensor<4xf32>, %[[HQ:.*]]: tensor<4xf32>, %[[W:.*]]: tensor<4096xbf16>)
// CHECK: %[[M:.*]] = mhc.sinkhorn %[[HR]] : tensor<4x4xf32>
// CHECK: %[[SPRE:.*]] = mhc.gate %[[HP]] : tensor<4xf32>
// CHECK: %[[SPOST:.*]] = mhc.gate %[[HQ]] {scale = 2.000000e+00 : f32} : tensor<4xf32>
// CHECK: %[[Y:.*]] = mhc.aggregate %[[X]], %[[SPRE]] : tensor<?x4x4096xf32>, tensor<4xf32> -> tensor<?x4096xf32>
// CHECK: %[[F:.*]] = mhc.rms_norm %[[Y]], %[[W]] {eps = 9.99999997E-7 : f32} : tensor<?x4096xf32>, tensor<4096xbf16>
// CHECK: %[[O:.*]] = mhc.mix %[[X]], %[[M]], %[[SPOST]], %[[F]] : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x4096xf32>
// CHECK-NOT: mhc.static_layer
// CHECK: return %[[O]]
func.func @defaults(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}

// -----

// Every convention attribute carries over to the part that owns it.
// CHECK-LABEL: func.func @deepseek_v4
// CHECK: mhc.sinkhorn %{{.*}} {eps = 9.99999974E-6 : f32, init = #mhc.sinkhorn_init<softmax>, iters = 7 : i64} : tensor<2x2xf32>
// CHECK: mhc.gate %{{.*}} {bias = 9.99999974E-6 : f32} : tensor<2xf32>
// CHECK: mhc.gate %{{.*}} {scale = 2.000000e+00 : f32} : tensor<2xf32>
// CHECK: mhc.aggregate
// CHECK: mhc.rms_norm %{{.*}}, %{{.*}} {eps = 1.000000e-03 : f32} : tensor<3x5xf32>, tensor<5xf32>
// CHECK: mhc.mix {{.*}} {orientation = #mhc.orientation<transposed>}
func.func @deepseek_v4(%x: tensor<3x2x5xf32>, %hr: tensor<2x2xf32>, %hp: tensor<2xf32>,
    %hq: tensor<2xf32>, %w: tensor<5xf32>) -> tensor<3x2x5xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-03 : f32, sinkhorn_iters = 7,
      sinkhorn_init = #mhc.sinkhorn_init<softmax>, sinkhorn_eps = 1.0e-05 : f32,
      pre_eps = 1.0e-05 : f32, orientation = #mhc.orientation<transposed>}
      : tensor<3x2x5xf32>, tensor<2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<5xf32>
  return %0 : tensor<3x2x5xf32>
}

// -----

// The dynamic layer: coefficients (with the layer's coefficient_eps), pre,
// the stand-in RMSNorm (eps), post (orientation); the Sinkhorn conventions
// and pre_eps go to the coefficients.
// CHECK-LABEL: func.func @dynamic_layer
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x?xf32>, %[[PHI:.*]]: tensor<?x24xf32>, %[[A:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<24xf32>, %[[W:.*]]: tensor<?xbf16>)
// CHECK: %[[HP:.*]], %[[HQ:.*]], %[[M:.*]] = mhc.coefficients %[[X]], %[[PHI]], %[[A]], %[[B]] {eps = 1.000000e-03 : f32, pre_eps = 9.99999997E-7 : f32, sinkhorn_init = #mhc.sinkhorn_init<softmax>} : tensor<?x4x?xf32>, tensor<?x24xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
// CHECK: %[[Y:.*]] = mhc.pre %[[X]], %[[HP]] : tensor<?x4x?xf32>, tensor<?x4xf32> -> tensor<?x?xf32>
// CHECK-NOT: arith.extf
// CHECK: %[[F:.*]] = mhc.rms_norm %[[Y]], %[[W]] {eps = 9.99999974E-6 : f32}
// CHECK: %[[O:.*]] = mhc.post %[[X]], %[[F]], %[[M]], %[[HQ]] {orientation = #mhc.orientation<transposed>}
// CHECK: return %[[O]]
func.func @dynamic_layer(%x: tensor<?x4x?xf32>, %phi: tensor<?x24xf32>, %a: tensor<3xf32>,
    %b: tensor<24xf32>, %w: tensor<?xbf16>) -> tensor<?x4x?xf32> {
  %o = mhc.dynamic_layer %x, %phi, %a, %b, %w {eps = 1.0e-05 : f32, coefficient_eps = 1.0e-03 : f32,
      pre_eps = 1.0e-06 : f32, sinkhorn_init = #mhc.sinkhorn_init<softmax>,
      orientation = #mhc.orientation<transposed>}
      : tensor<?x4x?xf32>, tensor<?x24xf32>, tensor<3xf32>, tensor<24xf32>, tensor<?xbf16>
  return %o : tensor<?x4x?xf32>
}

// -----

// bf16 activations: the stand-in sublayer runs in f32 between a widening
// of y and a rounding of its output.
// CHECK-LABEL: func.func @dynamic_layer_bf16
// CHECK: %[[Y:.*]] = mhc.pre {{.*}} -> tensor<7x16xbf16>
// CHECK: %[[YF:.*]] = arith.extf %[[Y]] : tensor<7x16xbf16> to tensor<7x16xf32>
// CHECK: %[[F:.*]] = mhc.rms_norm %[[YF]]
// CHECK: %[[FB:.*]] = arith.truncf %[[F]] : tensor<7x16xf32> to tensor<7x16xbf16>
// CHECK: mhc.post %{{.*}}, %[[FB]], %{{.*}}, %{{.*}} : tensor<7x2x16xbf16>, tensor<7x16xbf16>
func.func @dynamic_layer_bf16(%x: tensor<7x2x16xbf16>, %phi: tensor<32x8xbf16>, %a: tensor<3xf32>,
    %b: tensor<8xf32>, %w: tensor<16xf32>) -> tensor<7x2x16xbf16> {
  %o = mhc.dynamic_layer %x, %phi, %a, %b, %w {eps = 1.0e-06 : f32, coefficient_eps = 1.0e-06 : f32}
      : tensor<7x2x16xbf16>, tensor<32x8xbf16>, tensor<3xf32>, tensor<8xf32>, tensor<16xf32>
  return %o : tensor<7x2x16xbf16>
}
