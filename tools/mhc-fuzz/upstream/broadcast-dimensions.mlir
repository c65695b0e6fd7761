func.func @f(%m: tensor<4x4xf32>, %e: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  %b = linalg.broadcast ins(%m : tensor<4x4xf32>) outs(%e : tensor<2x4x4xf32>) dimensions = x
  return %b : tensor<2x4x4xf32>
}
