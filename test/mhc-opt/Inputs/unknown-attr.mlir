func.func @f(%h: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = mhc.sinkhorn %h {init = #mhc.sinkhorn_mode<exp>} : tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}
