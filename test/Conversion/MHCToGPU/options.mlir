// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="threads-per-block=128 vector-width=2" | FileCheck %s
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="max-row-registers=16" | FileCheck %s --check-prefix=STREAM

// The mapping follows the options: 128 threads (4 warp partials), 8-byte
// accesses, 4096 / (128 * 2) = 16 chunks per thread held in registers.
// CHECK: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c4096_v2_wbf16_t128
// CHECK: workgroup({{.*}}, %{{.*}} : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-COUNT-64: vector.load {{.*}} {alignment = 8 : i64} : memref<?x4x4096xf32>, vector<2xf32>

// With a small register budget the row streams instead (two passes).
// STREAM: gpu.func @mhc_fused_n4_c4096_v4_wbf16_t256
// STREAM: arith.ceildivui
func.func @layer(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}
