func.func @f(%m: tensor<4x4xf32>, %e: tensor<4xf32>) -> tensor<4xf32> {
  %b = linalg.reduce ins(%m : tensor<4x4xf32>) outs(%e : tensor<4xf32>) dimensions = [x]
 (%in: f32, %init: f32) {
 %r = arith.addf %in, %init : f32
 linalg.yield %r : f32
 }
  return %b : tensor<4xf32>
}
