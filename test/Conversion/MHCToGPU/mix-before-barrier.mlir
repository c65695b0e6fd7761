// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="mix-before-barrier=1" | FileCheck %s --check-prefix=EARLY
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu | FileCheck %s --check-prefix=LATE

// mix-before-barrier (off by default; bench/NOTES.md attempt 41): once a
// warp has stored its part of the row's sum of squares, it computes
// sum_j M'[i][j] x_j for its 4 chunks x 4 streams (one multiply and three
// fused multiply-adds each) before the block's barrier; after the barrier
// each output is one fused multiply-add (+ s_post[i] * f) and a store.
// EARLY-LABEL: gpu.func @mhc_fused_n4_c4096
// EARLY: scf.for
// EARLY: gpu.shuffle xor %{{.*}}, %c1_i32
// EARLY: memref.store
// EARLY-COUNT-48: math.fma
// EARLY-NOT: math.fma
// EARLY: gpu.barrier
// EARLY: math.rsqrt
// EARLY: math.fma
// EARLY-NOT: math.fma
// EARLY: vector.store %{{.*}}, %arg5
// By default the barrier follows the partial's store, and each output's
// four fused multiply-adds come after it.
// LATE-LABEL: gpu.func @mhc_fused_n4_c4096
// LATE: scf.for
// LATE: gpu.shuffle xor %{{.*}}, %c1_i32
// LATE: memref.store
// LATE-NOT: math.fma
// LATE: gpu.barrier
// LATE: math.rsqrt
// LATE-COUNT-4: math.fma
// LATE: vector.store %{{.*}}, %arg5
func.func @n4(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}
