// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="late-prologue-warp-row=1" | FileCheck %s --check-prefix=LATE
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu | FileCheck %s --check-prefix=EARLY

// late-prologue-warp-row (off by default; bench/NOTES.md attempt 36): the
// warps other than warp 0 ask for the block's first row before the
// prologue; warp 0 asks for its part after the prologue's barrier, and the
// other warps keep theirs.
// LATE-LABEL: gpu.func @mhc_fused_n4_c4096
// LATE: %[[WARP:.*]] = arith.divui %thread_id_x, %c32
// LATE: %[[EXISTS:.*]] = arith.cmpi ult, %block_id_x, %[[ROWS:.*]] : index
// LATE: %[[OTHER:.*]] = arith.cmpi ne, %[[WARP]], %c0{{.*}} : index
// LATE-NEXT: %[[ASKED:.*]] = arith.andi %[[EXISTS]], %[[OTHER]] : i1
// LATE-NEXT: %[[ROW:.*]]:16 = scf.if %[[ASKED]]
// LATE-COUNT-16: vector.load %arg0[%block_id_x
// LATE: math.exp
// LATE: gpu.barrier
// LATE-NEXT: %[[EXISTS2:.*]] = arith.cmpi ult, %block_id_x, %[[ROWS]] : index
// LATE: %[[FIRST:.*]] = arith.cmpi eq, %[[WARP]], %c0{{.*}} : index
// LATE-NEXT: %[[AFTER:.*]] = arith.andi %[[EXISTS2]], %[[FIRST]] : i1
// LATE-NEXT: %{{.*}}:16 = scf.if %[[AFTER]]
// LATE-COUNT-16: vector.load %arg0[%block_id_x
// LATE: } else {
// LATE-NEXT: scf.yield %[[ROW]]#0, %[[ROW]]#1,
// By default every warp asks for its part before the prologue, once.
// EARLY-LABEL: gpu.func @mhc_fused_n4_c4096
// EARLY: %[[EXISTS:.*]] = arith.cmpi ult, %block_id_x, %{{.*}} : index
// EARLY-NEXT: %{{.*}}:16 = scf.if %[[EXISTS]]
// EARLY-COUNT-16: vector.load %arg0[%block_id_x
// EARLY: math.exp
// EARLY-NOT: vector.load %arg0[%block_id_x
// EARLY: scf.for
func.func @n4(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}
