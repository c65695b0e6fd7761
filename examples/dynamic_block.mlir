// One transformer block's residual as trained mHC models have it (dynamic
// H, DeepSeek-V4 conventions): n = 4 streams of width C = 7168 in bf16, the
// per-token coefficients projected from the streams by phi, the block's
// sublayer (attention or MLP) an opaque call between the pre and the post.
//
//   mhc-opt --mhc-gpu-pipeline examples/dynamic_block.mlir
//     -> three kernels: mhc_proj_* (the projection on tensor cores),
//        mhc_pre_* (coefficients, Sinkhorn, y), mhc_post_* (the write back);
//        @sublayer stays a call between them
func.func private @sublayer(tensor<?x7168xbf16>) -> tensor<?x7168xbf16>

func.func @block(%x: tensor<?x4x7168xbf16>, %phi: tensor<28672x24xbf16>,
                 %alpha: tensor<3xf32>, %bias: tensor<24xf32>) -> tensor<?x4x7168xbf16> {
  %h_pre, %h_post, %m = mhc.coefficients %x, %phi, %alpha, %bias
      {eps = 1.0e-06 : f32, pre_eps = 1.0e-06 : f32,
       sinkhorn_init = #mhc.sinkhorn_init<softmax>, sinkhorn_eps = 1.0e-06 : f32}
      : tensor<?x4x7168xbf16>, tensor<28672x24xbf16>, tensor<3xf32>, tensor<24xf32>
        -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  %y = mhc.pre %x, %h_pre : tensor<?x4x7168xbf16>, tensor<?x4xf32> -> tensor<?x7168xbf16>
  %f = func.call @sublayer(%y) : (tensor<?x7168xbf16>) -> tensor<?x7168xbf16>
  %out = mhc.post %x, %f, %m, %h_post {orientation = #mhc.orientation<transposed>}
      : tensor<?x4x7168xbf16>, tensor<?x7168xbf16>, tensor<?x4x4xf32>, tensor<?x4xf32>
  return %out : tensor<?x4x7168xbf16>
}
