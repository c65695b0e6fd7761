// RUN: mhc-opt %s | mhc-opt | FileCheck %s
// RUN: mhc-opt %s --mlir-print-op-generic | mhc-opt | FileCheck %s

// Round trip of every op and attribute: print, parse, print again.

// CHECK-LABEL: func.func @static_layer_defaults
// CHECK: mhc.static_layer %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {eps = 9.99999997E-7 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
func.func @static_layer_defaults(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>,
    %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}

// CHECK-LABEL: func.func @static_layer_deepseek_v4
// CHECK: mhc.static_layer
// CHECK-SAME: orientation = #mhc.orientation<transposed>
// CHECK-SAME: pre_eps = 9.99999997E-7 : f32
// CHECK-SAME: sinkhorn_eps = 9.99999974E-6 : f32
// CHECK-SAME: sinkhorn_init = #mhc.sinkhorn_init<softmax>
// CHECK-SAME: sinkhorn_iters = 7 : i64
// CHECK-SAME: : tensor<8x4x1280xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<1280xf32>
func.func @static_layer_deepseek_v4(%x: tensor<8x4x1280xf32>, %hr: tensor<4x4xf32>,
    %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<1280xf32>) -> tensor<8x4x1280xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32,
      sinkhorn_iters = 7, sinkhorn_init = #mhc.sinkhorn_init<softmax>,
      sinkhorn_eps = 1.0e-05 : f32, pre_eps = 1.0e-06 : f32,
      orientation = #mhc.orientation<transposed>}
      : tensor<8x4x1280xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<1280xf32>
  return %0 : tensor<8x4x1280xf32>
}

// Dynamic tokens and channels; a single stream.
// CHECK-LABEL: func.func @static_layer_dynamic
// CHECK: mhc.static_layer {{.*}} : tensor<?x1x?xf32>, tensor<1x1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<?xbf16>
func.func @static_layer_dynamic(%x: tensor<?x1x?xf32>, %hr: tensor<1x1xf32>,
    %hp: tensor<1xf32>, %hq: tensor<1xf32>, %w: tensor<?xbf16>) -> tensor<?x1x?xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-05 : f32}
      : tensor<?x1x?xf32>, tensor<1x1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<?xbf16>
  return %0 : tensor<?x1x?xf32>
}

// CHECK-LABEL: func.func @parts
// CHECK: %[[M:.*]] = mhc.sinkhorn %{{.*}} : tensor<4x4xf32>
// CHECK: %[[M2:.*]] = mhc.sinkhorn %{{.*}} {eps = 9.99999974E-6 : f32, init = #mhc.sinkhorn_init<softmax>, iters = 3 : i64} : tensor<4x4xf32>
// CHECK: %[[SPRE:.*]] = mhc.gate %{{.*}} : tensor<4xf32>
// CHECK: %[[SPOST:.*]] = mhc.gate %{{.*}} {bias = 5.000000e-01 : f32, scale = 2.000000e+00 : f32} : tensor<4xf32>
// CHECK: %[[Y:.*]] = mhc.aggregate %{{.*}}, %[[SPRE]] : tensor<?x4x4096xf32>, tensor<4xf32> -> tensor<?x4096xf32>
// CHECK: %[[F:.*]] = mhc.rms_norm %[[Y]], %{{.*}} {eps = 9.99999997E-7 : f32} : tensor<?x4096xf32>, tensor<4096xbf16>
// CHECK: mhc.mix %{{.*}}, %[[M]], %[[SPOST]], %[[F]] : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x4096xf32>
// CHECK: mhc.mix %{{.*}}, %[[M2]], %[[SPOST]], %[[F]] {orientation = #mhc.orientation<transposed>}
func.func @parts(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> (tensor<?x4x4096xf32>, tensor<?x4x4096xf32>) {
  %m = mhc.sinkhorn %hr : tensor<4x4xf32>
  %m2 = mhc.sinkhorn %hr {iters = 3, init = #mhc.sinkhorn_init<softmax>, eps = 1.0e-05 : f32} : tensor<4x4xf32>
  %s_pre = mhc.gate %hp : tensor<4xf32>
  %s_post = mhc.gate %hq {scale = 2.0 : f32, bias = 0.5 : f32} : tensor<4xf32>
  %y = mhc.aggregate %x, %s_pre : tensor<?x4x4096xf32>, tensor<4xf32> -> tensor<?x4096xf32>
  %f = mhc.rms_norm %y, %w {eps = 1.0e-06 : f32} : tensor<?x4096xf32>, tensor<4096xbf16>
  %o = mhc.mix %x, %m, %s_post, %f : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x4096xf32>
  %o2 = mhc.mix %x, %m2, %s_post, %f {orientation = #mhc.orientation<transposed>}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x4096xf32>
  return %o, %o2 : tensor<?x4x4096xf32>, tensor<?x4x4096xf32>
}

// The defaults, spelled out, are elided on print.
// CHECK-LABEL: func.func @explicit_defaults
// CHECK: mhc.sinkhorn %{{.*}} : tensor<2x2xf32>
// CHECK: mhc.mix %{{.*}} : tensor<3x2x5xf32>, tensor<2x2xf32>, tensor<2xf32>, tensor<3x5xf32>
func.func @explicit_defaults(%x: tensor<3x2x5xf32>, %h: tensor<2x2xf32>, %s: tensor<2xf32>,
    %f: tensor<3x5xf32>) -> tensor<3x2x5xf32> {
  %m = mhc.sinkhorn %h {iters = 20, init = #mhc.sinkhorn_init<exp>, eps = 1.0e-06 : f32} : tensor<2x2xf32>
  %o = mhc.mix %x, %m, %s, %f {orientation = #mhc.orientation<direct>}
      : tensor<3x2x5xf32>, tensor<2x2xf32>, tensor<2xf32>, tensor<3x5xf32>
  return %o : tensor<3x2x5xf32>
}

// Static and dynamic dimensions mix freely as long as they agree.
// CHECK-LABEL: func.func @mixed_static_dynamic
// CHECK: mhc.aggregate {{.*}} : tensor<3x2x?xf32>, tensor<2xf32> -> tensor<?x7xf32>
func.func @mixed_static_dynamic(%x: tensor<3x2x?xf32>, %s: tensor<2xf32>) -> tensor<?x7xf32> {
  %y = mhc.aggregate %x, %s : tensor<3x2x?xf32>, tensor<2xf32> -> tensor<?x7xf32>
  return %y : tensor<?x7xf32>
}

// CHECK-LABEL: func.func @fused_layer
// CHECK: mhc.fused_layer ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<64xbf16>) -> tensor<?x4x64xf32> {
// CHECK: mhc.yield %{{.*}} : tensor<?x4x64xf32>
func.func @fused_layer(%x: tensor<?x4x64xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<64xbf16>) -> tensor<?x4x64xf32> {
  %out = mhc.fused_layer ins(%x, %hr, %hp, %hq, %w : tensor<?x4x64xf32>, tensor<4x4xf32>,
      tensor<4xf32>, tensor<4xf32>, tensor<64xbf16>) -> tensor<?x4x64xf32> {
  ^bb0(%bx: tensor<?x4x64xf32>, %br: tensor<4x4xf32>, %bp: tensor<4xf32>, %bq: tensor<4xf32>, %bw: tensor<64xbf16>):
    %m = mhc.sinkhorn %br : tensor<4x4xf32>
    %s_pre = mhc.gate %bp : tensor<4xf32>
    %s_post = mhc.gate %bq {scale = 2.0 : f32} : tensor<4xf32>
    %y = mhc.aggregate %bx, %s_pre : tensor<?x4x64xf32>, tensor<4xf32> -> tensor<?x64xf32>
    %f = mhc.rms_norm %y, %bw {eps = 1.0e-06 : f32} : tensor<?x64xf32>, tensor<64xbf16>
    %o = mhc.mix %bx, %m, %s_post, %f : tensor<?x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x64xf32>
    mhc.yield %o : tensor<?x4x64xf32>
  }
  return %out : tensor<?x4x64xf32>
}
