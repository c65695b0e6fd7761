// RUN: mhc-opt %s --mhc-fuse --convert-mhc-to-gpu -verify-diagnostics

// Only fused layers have a GPU lowering: an unfusable chain is reported.
func.func private @attention(tensor<?x64xf32>) -> tensor<?x64xf32>
func.func @opaque_sublayer(%x: tensor<?x4x64xf32>, %sp: tensor<4xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{failed to legalize operation 'mhc.aggregate'}}
  %y = mhc.aggregate %x, %sp : tensor<?x4x64xf32>, tensor<4xf32> -> tensor<?x64xf32>
  %f = func.call @attention(%y) : (tensor<?x64xf32>) -> tensor<?x64xf32>
  return %f : tensor<?x64xf32>
}
