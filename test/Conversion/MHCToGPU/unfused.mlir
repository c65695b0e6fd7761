// RUN: mhc-opt %s --mhc-fuse --convert-mhc-to-gpu -verify-diagnostics -split-input-file

// Only fused layers have a GPU lowering: an unfusable chain is reported,
// with what would make it fusable.
func.func private @attention(tensor<?x64xf32>) -> tensor<?x64xf32>
func.func @opaque_sublayer(%x: tensor<?x4x64xf32>, %sp: tensor<4xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{'mhc.aggregate' op is lowered to the GPU only inside an mhc.fused_layer}}
  %y = mhc.aggregate %x, %sp : tensor<?x4x64xf32>, tensor<4xf32> -> tensor<?x64xf32>
  %f = func.call @attention(%y) : (tensor<?x64xf32>) -> tensor<?x64xf32>
  return %f : tensor<?x64xf32>
}

// -----

// A dynamic-H pre on its own (its coefficients come from elsewhere): the
// GPU takes it only in a pre unit; said so, with where it does run.
func.func @pre(%x: tensor<?x4x64xf32>, %h: tensor<?x4xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{'mhc.pre' op is lowered to the GPU only as a pre unit: mhc-fuse makes an mhc.fused_pre of an mhc.coefficients and the mhc.pre of the same streams; --mhc-cpu-pipeline runs it alone}}
  %y = mhc.pre %x, %h : tensor<?x4x64xf32>, tensor<?x4xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Coefficients whose pre reads other streams: no unit forms, and the
// coefficients alone have no kernel.
func.func @coefficients_alone(%x: tensor<?x4x64xf32>, %x2: tensor<?x4x64xf32>, %phi: tensor<256x24xf32>,
                              %a: tensor<3xf32>, %b: tensor<24xf32>) -> tensor<?x4x4xf32> {
  // expected-error @+1 {{'mhc.coefficients' op is lowered to the GPU only as a pre unit}}
  %hp, %hq, %m = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-06 : f32}
      : tensor<?x4x64xf32>, tensor<256x24xf32>, tensor<3xf32>, tensor<24xf32>
        -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return %m : tensor<?x4x4xf32>
}
