func.func @f(%h: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = mhc.sinkhorn_knopp %h : tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}
