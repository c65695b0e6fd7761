// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu | FileCheck %s --check-prefix=AUTO
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="max-row-registers=96" | FileCheck %s --check-prefix=SMALL
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="threads-per-block=512" | FileCheck %s --check-prefix=WIDE
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="min-blocks-per-sm=0" | FileCheck %s --check-prefix=NONE
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="min-blocks-per-sm=3" | FileCheck %s --check-prefix=THREE
// RUN: not mhc-opt %s --convert-mhc-to-gpu="min-blocks-per-sm=-2" 2>&1 | FileCheck %s --check-prefix=INVALID

// The automatic register budget (min-blocks-per-sm=-1, the default) asks
// for two blocks per SM where each thread holds at most max-row-registers /
// 2 floats of the row: 4 streams x 4 chunks of 4 (4096 / (256 threads x 4))
// = 64 floats, and 8 x 2 x 4 = 64 floats at n = 8, C = 1280. 4 x 7 x 4 =
// 112 floats (C = 7168) would spill under it, and a kernel for a C known
// only at run time streams the row: neither asks. (Cluster kernels hold one
// chunk of the row and do not ask either: options.mlir, CLUSTER.)
// AUTO-LABEL: gpu.func @mhc_fused_n4_c4096_v4_wbf16_t256(
// AUTO-SAME: nvvm.minctasm = 2 : i32
// AUTO-LABEL: gpu.func @mhc_fused_n4_c7168_v4_wbf16_t256(
// AUTO-NOT: minctasm
// AUTO-LABEL: gpu.func @mhc_fused_n8_c1280_v4_wbf16_t256(
// AUTO-SAME: nvvm.minctasm = 2 : i32
// AUTO-LABEL: gpu.func @mhc_fused_n4_cdyn_v4_wbf16_t256(
// AUTO-NOT: minctasm

// A smaller row budget (96 floats) keeps the 64-float rows in registers but
// no longer asks for two blocks (2 x 64 > 96).
// SMALL-LABEL: gpu.func @mhc_fused_n4_c4096_v4_wbf16_t256(
// SMALL-NOT: minctasm
// SMALL-NOT: arith.ceildivui
// SMALL-LABEL: gpu.func @mhc_fused_n4_c7168_v4_wbf16_t256(
// SMALL-NOT: minctasm

// At 512 threads two blocks leave 64 registers per thread (64K in the
// register file): rows of 16 to 32 floats ask. n = 4, C = 4096 and n = 8,
// C = 1280 hold 32 floats and ask; n = 4, C = 7168 holds 64 and does not.
// WIDE-LABEL: gpu.func @mhc_fused_n4_c4096_v4_wbf16_t512(
// WIDE-SAME: nvvm.minctasm = 2 : i32
// WIDE-LABEL: gpu.func @mhc_fused_n4_c7168_v4_wbf16_t512(
// WIDE-NOT: minctasm
// WIDE-LABEL: gpu.func @mhc_fused_n8_c1280_v4_wbf16_t512(
// WIDE-SAME: nvvm.minctasm = 2 : i32

// A row under a quarter of the share does not ask: at 320 threads (102
// registers each for two blocks), n = 4, C = 1280 holds 16 floats, and
// ptxas fits three blocks without a budget.
// AUTO-LABEL: gpu.func @mhc_fused_n4_c1280_v4_wbf16_t320(
// AUTO-NOT: minctasm
// AUTO: gpu.return

// 0 leaves registers unconstrained; an explicit count applies everywhere.
// NONE-NOT: minctasm
// THREE-COUNT-5: nvvm.minctasm = 3 : i32

// INVALID: error: min-blocks-per-sm must be -1 (automatic), 0 (unconstrained) or a block count, got -2

func.func @c4096(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}

func.func @c7168(%x: tensor<?x4x7168xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<7168xbf16>) -> tensor<?x4x7168xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x7168xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<7168xbf16>
  return %0 : tensor<?x4x7168xf32>
}

func.func @n8c1280(%x: tensor<?x8x1280xf32>, %hr: tensor<8x8xf32>, %hp: tensor<8xf32>,
    %hq: tensor<8xf32>, %w: tensor<1280xbf16>) -> tensor<?x8x1280xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x8x1280xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<1280xbf16>
  return %0 : tensor<?x8x1280xf32>
}

func.func @dynamic(%x: tensor<?x4x?xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<?xbf16>) -> tensor<?x4x?xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x?xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<?xbf16>
  return %0 : tensor<?x4x?xf32>
}

func.func @c1280_t320(%x: tensor<?x4x1280xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<1280xbf16>) -> tensor<?x4x1280xf32>
    attributes {mhc.threads_per_block = 320 : i64} {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x1280xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<1280xbf16>
  return %0 : tensor<?x4x1280xf32>
}
