func.func @f(%h: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = mhc.sinkhorn %h {iters = "twenty"} : tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}
