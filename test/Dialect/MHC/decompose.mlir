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
