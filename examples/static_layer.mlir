// The static mHC layer of a transformer block with n = 4 streams of width
// C = 4096, a bf16 RMSNorm weight, and any number of tokens.
//
//   mhc-opt --mhc-gpu-pipeline examples/static_layer.mlir   (PTX)
//   mhc-opt --mhc-cpu-pipeline examples/static_layer.mlir   (LLVM for a CPU)
func.func @static_layer(%x: tensor<?x4x4096xf32>, %h_res: tensor<4x4xf32>,
                        %h_pre: tensor<4xf32>, %h_post: tensor<4xf32>,
                        %weight: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %out = mhc.static_layer %x, %h_res, %h_pre, %h_post, %weight {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %out : tensor<?x4x4096xf32>
}
