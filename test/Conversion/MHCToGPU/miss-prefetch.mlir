// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="prefetch-rows=0 min-blocks-per-sm=2" | FileCheck %s --check-prefix=MISS
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="min-blocks-per-sm=0 coefficient-cache=0" | FileCheck %s --check-prefix=NOCACHE
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="miss-prefetch-rows=2" | FileCheck %s --check-prefix=MISS2
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="miss-prefetch-rows=0 prefetch-rows=0" | FileCheck %s --check-prefix=OFF
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="chip=sm_80" | FileCheck %s --check-prefix=OFF
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="vector-width=2" | FileCheck %s --check-prefix=OFF
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="cluster-row-split=1" | FileCheck %s --check-prefix=OFF
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu | FileCheck %s --check-prefix=STRIDE

// miss-prefetch-rows (bench/NOTES.md, attempt 39; 1 by default for sm_90+):
// on a cache miss, before warp 0 runs the Sinkhorn rounds, thread 0
// asks L2 for the block's next row: the grid stride where the grid
// loops over the rows, else the row one wave later, %nsmid x the blocks per
// SM of min-blocks-per-sm (2 here) after the block's own; the whole row
// (4 x 4096 x 4 = 65536 bytes), only if it exists.
// MISS-LABEL: gpu.func @mhc_fused_n4_c4096
// MISS: %[[ROWS:.*]] = memref.dim %arg0, %c0
// MISS: %[[VOTE:.*]] = nvvm.vote.sync any
// MISS: %[[MISS:.*]] = arith.xori %{{.*}}, %true : i1
// MISS-NEXT: scf.if %[[MISS]] {
// MISS-NEXT: %[[BLOCK:.*]] = gpu.block_id x
// MISS-NEXT: %[[SMS:.*]] = nvvm.read.ptx.sreg.nsmid : i32
// MISS-NEXT: %[[SMSI:.*]] = arith.index_castui %[[SMS]] : i32 to index
// MISS-NEXT: %[[TWO:.*]] = arith.constant 2 : index
// MISS-NEXT: %[[PERWAVE:.*]] = arith.muli %[[SMSI]], %[[TWO]] : index
// MISS-NEXT: %[[LOOPS:.*]] = arith.cmpi ult, %grid_dim_x, %[[ROWS]] : index
// MISS-NEXT: %[[AHEAD:.*]] = arith.select %[[LOOPS]], %grid_dim_x, %[[PERWAVE]] : index
// MISS-NEXT: %[[ROW:.*]] = arith.addi %[[BLOCK]], %[[AHEAD]] : index
// MISS: %[[T0:.*]] = arith.cmpi eq, %thread_id_x, %{{.*}} : index
// MISS-NEXT: %[[IN:.*]] = arith.cmpi ult, %[[ROW]], %[[ROWS]] : index
// MISS-NEXT: %[[BOTH:.*]] = arith.andi %[[T0]], %[[IN]] : i1
// MISS-NEXT: scf.if %[[BOTH]] {
// MISS: %[[R64:.*]] = arith.index_castui %[[ROW]] : index to i64
// MISS-NEXT: arith.muli %[[R64]], %c65536_i64
// MISS: nvvm.cp.async.bulk.prefetch %{{.*}}, %c65536_i32
// The rounds come after it, in the same branch: H_res's exps.
// MISS: math.exp
// MISS: gpu.barrier
// MISS-NOT: nvvm.cp.async.bulk.prefetch
// With miss-prefetch-rows = 2, the row two strides (or waves) ahead too.
// MISS2-LABEL: gpu.func @mhc_fused_n4_c4096
// MISS2: nvvm.read.ptx.sreg.nsmid
// MISS2: %[[AHEAD:.*]] = arith.select %{{.*}}, %grid_dim_x, %{{.*}} : index
// MISS2-NEXT: %[[ROW1:.*]] = arith.addi %{{.*}}, %[[AHEAD]] : index
// MISS2: arith.index_castui %[[ROW1]] : index to i64
// MISS2: nvvm.cp.async.bulk.prefetch
// MISS2: %[[ROW2:.*]] = arith.addi %[[ROW1]], %[[AHEAD]] : index
// MISS2: arith.index_castui %[[ROW2]] : index to i64
// MISS2: nvvm.cp.async.bulk.prefetch
// MISS2-NOT: nvvm.cp.async.bulk.prefetch
// MISS2: math.exp
// Without the cache every launch runs the rounds, so it prefetches every
// time; without a register budget the wave is %nsmid blocks.
// NOCACHE-LABEL: gpu.func @mhc_fused_n4_c4096
// NOCACHE-NOT: nvvm.vote.sync
// NOCACHE: %[[SMS:.*]] = nvvm.read.ptx.sreg.nsmid : i32
// NOCACHE-NEXT: %[[SMSI:.*]] = arith.index_castui %[[SMS]] : i32 to index
// NOCACHE-NEXT: %[[ONE:.*]] = arith.constant 1 : index
// NOCACHE-NEXT: arith.muli %[[SMSI]], %[[ONE]] : index
// NOCACHE: nvvm.cp.async.bulk.prefetch
// NOCACHE: math.exp
// Off when asked, before sm_90, and where the bulk prefetch cannot take the
// row (8-byte vectors) or the block holds a part of it (clusters).
// OFF-NOT: nvvm.read.ptx.sreg.nsmid
// OFF-NOT: nvvm.cp.async.bulk.prefetch

// The prefetch after each row's reduction (prefetch-rows) takes the grid
// stride alone, never the wave (a block per row has no next row; the next
// wave's row instead was faster for some kernels and slower for others,
// attempt 39).
// STRIDE: scf.for %[[R:.*]] = %block_id_x to %{{.*}} step %grid_dim_x
// STRIDE: math.rsqrt
// STRIDE-NOT: nvvm.read.ptx.sreg.nsmid
// STRIDE: arith.addi %[[R]], %grid_dim_x : index
// STRIDE: nvvm.cp.async.bulk.prefetch
// STRIDE-NOT: nvvm.read.ptx.sreg.nsmid
func.func @n4(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}
