// RUN: mhc-opt %s --mhc-decompose --mhc-fuse -split-input-file | FileCheck %s

// The decomposed static layer becomes one fused unit: x first, the prologue
// (Sinkhorn, gates) inside, one mix yielded.
// CHECK-LABEL: func.func @static_layer
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x4096xf32>, %[[HR:.*]]: tensor<4x4xf32>, %[[HP:.*]]: tensor<4xf32>, %[[HQ:.*]]: tensor<4xf32>, %[[W:.*]]: tensor<4096xbf16>)
// CHECK-NOT: mhc.sinkhorn
// CHECK: %[[R:.*]] = mhc.fused_layer ins(%[[X]], %[[HR]], %[[HP]], %[[HQ]], %[[W]] : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
// CHECK: ^bb0(%[[BX:.*]]: tensor<?x4x4096xf32>, %[[BR:.*]]: tensor<4x4xf32>, %[[BP:.*]]: tensor<4xf32>, %[[BQ:.*]]: tensor<4xf32>, %[[BW:.*]]: tensor<4096xbf16>):
// CHECK-NEXT: %[[M:.*]] = mhc.sinkhorn %[[BR]]
// CHECK-NEXT: %[[SP:.*]] = mhc.gate %[[BP]]
// CHECK-NEXT: %[[SQ:.*]] = mhc.gate %[[BQ]] {scale
// CHECK-NEXT: %[[Y:.*]] = mhc.aggregate %[[BX]], %[[SP]]
// CHECK-NEXT: %[[F:.*]] = mhc.rms_norm %[[Y]], %[[BW]]
// CHECK-NEXT: %[[O:.*]] = mhc.mix %[[BX]], %[[M]], %[[SQ]], %[[F]]
// CHECK-NEXT: mhc.yield %[[O]] : tensor<?x4x4096xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[R]]
func.func @static_layer(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}

// -----

// One gate serving both coefficients is cloned once; a Sinkhorn with another
// user outside stays for that user.
// CHECK-LABEL: func.func @shared_prologue
// CHECK: %[[M:.*]] = mhc.sinkhorn
// CHECK: mhc.fused_layer ins(%arg0, %arg1, %arg2, %arg3 :
// CHECK-NEXT: ^bb0
// CHECK-NEXT: mhc.sinkhorn
// CHECK-NEXT: mhc.gate
// CHECK-NEXT: mhc.aggregate
// CHECK-NEXT: mhc.rms_norm
// CHECK-NEXT: mhc.mix
// CHECK: return %{{.*}}, %[[M]]
func.func @shared_prologue(%x: tensor<8x2x16xf32>, %hr: tensor<2x2xf32>, %h: tensor<2xf32>,
    %w: tensor<16xf32>) -> (tensor<8x2x16xf32>, tensor<2x2xf32>) {
  %m = mhc.sinkhorn %hr : tensor<2x2xf32>
  %s = mhc.gate %h : tensor<2xf32>
  %y = mhc.aggregate %x, %s : tensor<8x2x16xf32>, tensor<2xf32> -> tensor<8x16xf32>
  %f = mhc.rms_norm %y, %w {eps = 1.0e-06 : f32} : tensor<8x16xf32>, tensor<16xf32>
  %o = mhc.mix %x, %m, %s, %f : tensor<8x2x16xf32>, tensor<2x2xf32>, tensor<2xf32>, tensor<8x16xf32>
  return %o, %m : tensor<8x2x16xf32>, tensor<2x2xf32>
}

// -----

// F is an opaque call: nothing is fused, the parts stay as they are.
// CHECK-LABEL: func.func @opaque_sublayer
// CHECK-NOT: mhc.fused_layer
// CHECK: mhc.aggregate
// CHECK: call @attention
// CHECK: mhc.mix
func.func private @attention(tensor<?x64xf32>) -> tensor<?x64xf32>
func.func @opaque_sublayer(%x: tensor<?x4x64xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>) -> tensor<?x4x64xf32> {
  %m = mhc.sinkhorn %hr : tensor<4x4xf32>
  %sp = mhc.gate %hp : tensor<4xf32>
  %sq = mhc.gate %hq {scale = 2.0 : f32} : tensor<4xf32>
  %y = mhc.aggregate %x, %sp : tensor<?x4x64xf32>, tensor<4xf32> -> tensor<?x64xf32>
  %f = func.call @attention(%y) : (tensor<?x64xf32>) -> tensor<?x64xf32>
  %o = mhc.mix %x, %m, %sq, %f : tensor<?x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x64xf32>
  return %o : tensor<?x4x64xf32>
}

// -----

// The aggregate is also returned: it must stay materialized, so no fusion.
// CHECK-LABEL: func.func @materialized_intermediate
// CHECK-NOT: mhc.fused_layer
// CHECK: %[[Y:.*]] = mhc.aggregate
// CHECK: mhc.rms_norm %[[Y]]
// CHECK: mhc.mix
// CHECK: return %{{.*}}, %[[Y]]
func.func @materialized_intermediate(%x: tensor<?x4x64xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<64xf32>) -> (tensor<?x4x64xf32>, tensor<?x64xf32>) {
  %m = mhc.sinkhorn %hr : tensor<4x4xf32>
  %sp = mhc.gate %hp : tensor<4xf32>
  %sq = mhc.gate %hq {scale = 2.0 : f32} : tensor<4xf32>
  %y = mhc.aggregate %x, %sp : tensor<?x4x64xf32>, tensor<4xf32> -> tensor<?x64xf32>
  %f = mhc.rms_norm %y, %w {eps = 1.0e-06 : f32} : tensor<?x64xf32>, tensor<64xf32>
  %o = mhc.mix %x, %m, %sq, %f : tensor<?x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x64xf32>
  return %o, %y : tensor<?x4x64xf32>, tensor<?x64xf32>
}

// -----

// The aggregate reads other streams than the mix: not one pass over x.
// CHECK-LABEL: func.func @different_streams
// CHECK-NOT: mhc.fused_layer
// CHECK: mhc.mix
func.func @different_streams(%x: tensor<8x4x64xf32>, %x2: tensor<8x4x64xf32>, %hr: tensor<4x4xf32>,
    %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<64xf32>) -> tensor<8x4x64xf32> {
  %m = mhc.sinkhorn %hr : tensor<4x4xf32>
  %sp = mhc.gate %hp : tensor<4xf32>
  %sq = mhc.gate %hq {scale = 2.0 : f32} : tensor<4xf32>
  %y = mhc.aggregate %x2, %sp : tensor<8x4x64xf32>, tensor<4xf32> -> tensor<8x64xf32>
  %f = mhc.rms_norm %y, %w {eps = 1.0e-06 : f32} : tensor<8x64xf32>, tensor<64xf32>
  %o = mhc.mix %x, %m, %sq, %f : tensor<8x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<8x64xf32>
  return %o : tensor<8x4x64xf32>
}

// -----

// A precomputed mixing matrix (no Sinkhorn in the chain) is left unfused:
// the fused kernel computes its prologue itself.
// CHECK-LABEL: func.func @precomputed_matrix
// CHECK-NOT: mhc.fused_layer
func.func @precomputed_matrix(%x: tensor<8x4x64xf32>, %m: tensor<4x4xf32>,
    %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<64xf32>) -> tensor<8x4x64xf32> {
  %sp = mhc.gate %hp : tensor<4xf32>
  %sq = mhc.gate %hq {scale = 2.0 : f32} : tensor<4xf32>
  %y = mhc.aggregate %x, %sp : tensor<8x4x64xf32>, tensor<4xf32> -> tensor<8x64xf32>
  %f = mhc.rms_norm %y, %w {eps = 1.0e-06 : f32} : tensor<8x64xf32>, tensor<64xf32>
  %o = mhc.mix %x, %m, %sq, %f : tensor<8x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<8x64xf32>
  return %o : tensor<8x4x64xf32>
}
