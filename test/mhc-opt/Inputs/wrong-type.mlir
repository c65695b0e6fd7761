func.func @f(%x: tensor<?x4x4096xi32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xi32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xi32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xi32>
}
