// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu | FileCheck %s
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="threads-per-block=128" | FileCheck %s --check-prefix=OPT

// `mhc.threads_per_block` on a function sets the block size of the kernels
// lowered from the layers in it; the pass option covers the others. One
// module then holds kernels of both sizes under different names. At
// C = 1280 (320 chunks of 4 channels), 320 threads hold one whole chunk per
// stream: 4 loads of the row (and 4 of the next row's prefetch target) per
// thread, where 256 threads need a second, partial chunk (16 loads).

// CHECK-LABEL: func.func @whole_chunks
// CHECK: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c1280_v4_wbf16_t320 blocks in ({{.*}}) threads in (%c320,
// CHECK-LABEL: func.func @option
// CHECK: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c1280_v4_wbf16_t256 blocks in ({{.*}}) threads in (%c256,
// CHECK-LABEL: func.func @from_module
// CHECK: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c2560_v4_wbf16_t320
// CHECK-LABEL: func.func @innermost
// CHECK: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c2560_v4_wbf16_t256

// The per-thread work: one chunk per stream at 320 threads.
// CHECK-LABEL: gpu.func @mhc_fused_n4_c1280_v4_wbf16_t320(
// CHECK-SAME: known_block_size = array<i32: 320, 1, 1>
// CHECK-COUNT-8: vector.load %arg0
// CHECK-NOT: vector.load %arg0
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @mhc_fused_n4_c1280_v4_wbf16_t256(
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-COUNT-16: vector.load %arg0
// CHECK-NOT: vector.load %arg0
// CHECK: gpu.return

// The option changes only the layers without the attribute.
// OPT: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c1280_v4_wbf16_t320
// OPT: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c1280_v4_wbf16_t128
// OPT: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c2560_v4_wbf16_t320
// OPT: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c2560_v4_wbf16_t256

func.func @whole_chunks(%x: tensor<?x4x1280xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<1280xbf16>) -> tensor<?x4x1280xf32> attributes {mhc.threads_per_block = 320 : i64} {
  %o = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32} : tensor<?x4x1280xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<1280xbf16>
  return %o : tensor<?x4x1280xf32>
}

func.func @option(%x: tensor<?x4x1280xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<1280xbf16>) -> tensor<?x4x1280xf32> {
  %o = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32} : tensor<?x4x1280xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<1280xbf16>
  return %o : tensor<?x4x1280xf32>
}

// The innermost op that states it applies: the module's 320 where the
// function states nothing, the function's 256 over the module's.
module attributes {mhc.threads_per_block = 320 : i64} {
  func.func @from_module(%x: tensor<?x4x2560xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<2560xbf16>) -> tensor<?x4x2560xf32> {
    %o = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32} : tensor<?x4x2560xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2560xbf16>
    return %o : tensor<?x4x2560xf32>
  }
  func.func @innermost(%x: tensor<?x4x2560xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<2560xbf16>) -> tensor<?x4x2560xf32> attributes {mhc.threads_per_block = 256 : i64} {
    %o = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32} : tensor<?x4x2560xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2560xbf16>
    return %o : tensor<?x4x2560xf32>
  }
}
