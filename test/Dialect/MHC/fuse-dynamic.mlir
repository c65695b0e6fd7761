// RUN: mhc-opt %s --mhc-decompose --mhc-fuse -split-input-file | FileCheck %s

// The decomposed dynamic layer: coefficients and pre of the same streams
// become one mhc.fused_pre at the coefficients' place; its coefficients feed
// the post; the stand-in sublayer stays between the two units.
// CHECK-LABEL: func.func @dynamic_layer
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x64xbf16>, %[[PHI:[^:]*]]: tensor<256x24xf32>, %[[A:[^:]*]]: tensor<3xf32>, %[[B:[^:]*]]: tensor<24xf32>, %[[W:[^:]*]]: tensor<64xf32>)
// CHECK-NOT: mhc.coefficients
// CHECK: %[[Y:[^,]*]], %[[HP:[^,]*]], %[[HQ:[^,]*]], %[[M:[^ ]*]] = mhc.fused_pre ins(%[[X]], %[[PHI]], %[[A]], %[[B]] : tensor<?x4x64xbf16>, tensor<256x24xf32>, tensor<3xf32>, tensor<24xf32>) -> tensor<?x64xbf16>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32> {
// CHECK-NEXT: ^bb0(%[[BX:[^:]*]]: tensor<?x4x64xbf16>, %[[BPHI:[^:]*]]: tensor<256x24xf32>, %[[BA:[^:]*]]: tensor<3xf32>, %[[BB:[^:]*]]: tensor<24xf32>):
// CHECK-NEXT: %[[C0:[^,]*]], %[[C1:[^,]*]], %[[C2:[^ ]*]] = mhc.coefficients %[[BX]], %[[BPHI]], %[[BA]], %[[BB]] {eps = 2.000000e-06 : f32, pre_eps = 1.000000e-03 : f32, sinkhorn_iters = 7 : i64}
// CHECK-NEXT: %[[BY:.*]] = mhc.pre %[[BX]], %[[C0]]
// CHECK-NEXT: mhc.yield %[[BY]], %[[C0]], %[[C1]], %[[C2]] : tensor<?x64xbf16>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
// CHECK-NEXT: }
// CHECK: arith.extf %[[Y]]
// CHECK: mhc.rms_norm
// CHECK: %[[F:.*]] = arith.truncf
// CHECK: %[[O:.*]] = mhc.post %[[X]], %[[F]], %[[M]], %[[HQ]]
// CHECK-NEXT: return %[[O]]
func.func @dynamic_layer(%x: tensor<?x4x64xbf16>, %phi: tensor<256x24xf32>, %alpha: tensor<3xf32>,
    %bias: tensor<24xf32>, %w: tensor<64xf32>) -> tensor<?x4x64xbf16> {
  %0 = mhc.dynamic_layer %x, %phi, %alpha, %bias, %w
      {eps = 1.0e-05 : f32, coefficient_eps = 2.0e-06 : f32, pre_eps = 1.0e-03 : f32,
       sinkhorn_iters = 7 : i64}
      : tensor<?x4x64xbf16>, tensor<256x24xf32>, tensor<3xf32>, tensor<24xf32>, tensor<64xf32>
  return %0 : tensor<?x4x64xbf16>
}

// -----

// A real sublayer: F is an opaque call between the units. The pre unit and
// the post are formed; nothing is fused across F.
// CHECK-LABEL: func.func @opaque_sublayer
// CHECK: %[[Y:[^,]*]], %[[HP:[^,]*]], %[[HQ:[^,]*]], %[[M:[^ ]*]] = mhc.fused_pre
// CHECK: mhc.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[F:.*]] = call @attention(%[[Y]])
// CHECK-NEXT: %[[O:.*]] = mhc.post %arg0, %[[F]], %[[M]], %[[HQ]] {orientation = #mhc.orientation<transposed>}
// CHECK-NEXT: return %[[O]]
func.func private @attention(tensor<?x64xf32>) -> tensor<?x64xf32>
func.func @opaque_sublayer(%x: tensor<?x4x64xf32>, %phi: tensor<256x24xbf16>, %alpha: tensor<3xf32>,
    %bias: tensor<24xf32>) -> tensor<?x4x64xf32> {
  %hp, %hq, %m = mhc.coefficients %x, %phi, %alpha, %bias {eps = 1.0e-06 : f32}
      : tensor<?x4x64xf32>, tensor<256x24xbf16>, tensor<3xf32>, tensor<24xf32>
        -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  %y = mhc.pre %x, %hp : tensor<?x4x64xf32>, tensor<?x4xf32> -> tensor<?x64xf32>
  %f = func.call @attention(%y) : (tensor<?x64xf32>) -> tensor<?x64xf32>
  %o = mhc.post %x, %f, %m, %hq {orientation = #mhc.orientation<transposed>}
      : tensor<?x4x64xf32>, tensor<?x64xf32>, tensor<?x4x4xf32>, tensor<?x4xf32>
  return %o : tensor<?x4x64xf32>
}

// -----

// Every user of the coefficients (here h_pre, returned for a backward pass,
// and M used before the pre) reads the unit's results.
// CHECK-LABEL: func.func @coefficients_with_other_users
// CHECK-NOT: mhc.coefficients
// CHECK: %[[Y:[^,]*]], %[[HP:[^,]*]], %[[HQ:[^,]*]], %[[M:[^ ]*]] = mhc.fused_pre
// CHECK: mhc.yield
// CHECK-NEXT: }
// CHECK-NOT: mhc.coefficients
// CHECK: %[[T:.*]] = tensor.dim %[[M]]
// CHECK: return %[[Y]], %[[HP]], %[[T]]
func.func @coefficients_with_other_users(%x: tensor<?x2x8xf32>, %phi: tensor<16x8xf32>,
    %alpha: tensor<3xf32>, %bias: tensor<8xf32>) -> (tensor<?x8xf32>, tensor<?x2xf32>, index) {
  %hp, %hq, %m = mhc.coefficients %x, %phi, %alpha, %bias {eps = 1.0e-06 : f32}
      : tensor<?x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32>
        -> tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32>
  %c0 = arith.constant 0 : index
  %t = tensor.dim %m, %c0 : tensor<?x2x2xf32>
  %y = mhc.pre %x, %hp : tensor<?x2x8xf32>, tensor<?x2xf32> -> tensor<?x8xf32>
  return %y, %hp, %t : tensor<?x8xf32>, tensor<?x2xf32>, index
}

// -----

// The pre reads other streams than the coefficients: not one unit.
// CHECK-LABEL: func.func @other_streams
// CHECK-NOT: mhc.fused_pre
// CHECK: mhc.coefficients %arg0
// CHECK: mhc.pre %arg1
func.func @other_streams(%x: tensor<?x2x8xf32>, %x2: tensor<?x2x8xf32>, %phi: tensor<16x8xf32>,
    %alpha: tensor<3xf32>, %bias: tensor<8xf32>) -> tensor<?x8xf32> {
  %hp, %hq, %m = mhc.coefficients %x, %phi, %alpha, %bias {eps = 1.0e-06 : f32}
      : tensor<?x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32>
        -> tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32>
  %y = mhc.pre %x2, %hp : tensor<?x2x8xf32>, tensor<?x2xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// h_pre is changed between the coefficients and the pre: not one unit.
// CHECK-LABEL: func.func @changed_coefficients
// CHECK-NOT: mhc.fused_pre
// CHECK: mhc.coefficients
// CHECK: arith.mulf
// CHECK: mhc.pre
func.func @changed_coefficients(%x: tensor<4x2x8xf32>, %phi: tensor<16x8xf32>,
    %alpha: tensor<3xf32>, %bias: tensor<8xf32>) -> tensor<4x8xf32> {
  %hp, %hq, %m = mhc.coefficients %x, %phi, %alpha, %bias {eps = 1.0e-06 : f32}
      : tensor<4x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32>
        -> tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2x2xf32>
  %h2 = arith.mulf %hp, %hp : tensor<4x2xf32>
  %y = mhc.pre %x, %h2 : tensor<4x2x8xf32>, tensor<4x2xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Two pres of one h_pre: the first forms the unit, the second reads the
// unit's h_pre and stays a pre of its own (correct, not fused twice).
// CHECK-LABEL: func.func @two_pres
// CHECK: %[[Y:[^,]*]], %[[HP:[^,]*]], %[[HQ:[^,]*]], %[[M:[^ ]*]] = mhc.fused_pre
// CHECK: %[[Y2:.*]] = mhc.pre %arg0, %[[HP]]
// CHECK: return %[[Y]], %[[Y2]]
func.func @two_pres(%x: tensor<4x2x8xf32>, %phi: tensor<16x8xf32>,
    %alpha: tensor<3xf32>, %bias: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %hp, %hq, %m = mhc.coefficients %x, %phi, %alpha, %bias {eps = 1.0e-06 : f32}
      : tensor<4x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32>
        -> tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2x2xf32>
  %y = mhc.pre %x, %hp : tensor<4x2x8xf32>, tensor<4x2xf32> -> tensor<4x8xf32>
  %y2 = mhc.pre %x, %hp : tensor<4x2x8xf32>, tensor<4x2xf32> -> tensor<4x8xf32>
  return %y, %y2 : tensor<4x8xf32>, tensor<4x8xf32>
}
