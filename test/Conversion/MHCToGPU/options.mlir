// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="threads-per-block=128 vector-width=2" | FileCheck %s
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="max-row-registers=16" | FileCheck %s --check-prefix=STREAM

// The mapping follows the options: 128 threads (2 x 4 warp partials), 8-byte
// accesses, 4096 / (128 * 2) = 16 chunks per thread held in registers.
// CHECK: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c4096_v2_wbf16_t128
// CHECK: workgroup({{.*}}, %{{.*}} : memref<8xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4096xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
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

// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu | FileCheck %s --check-prefix=PFRED
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="chip=sm_80" | FileCheck %s --check-prefix=NOPF
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="prefetch-rows=0 miss-prefetch-rows=0" | FileCheck %s --check-prefix=NOPF
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="prefetch-max-row-bytes=65535 miss-prefetch-rows=0" | FileCheck %s --check-prefix=NOPF
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="vector-width=2" | FileCheck %s --check-prefix=NOPF
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="prefetch-rows=2 prefetch-early-max-row-bytes=65536 miss-prefetch-rows=0" | FileCheck %s --check-prefix=PF2
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="prefetch-early-max-row-bytes=65536" | FileCheck %s --check-prefix=PFEARLY
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="prefetch-early-max-row-bytes=65535" | FileCheck %s --check-prefix=PFRED
// No bulk prefetch before sm_90, when neither kind is asked for, for rows
// over prefetch-max-row-bytes (and no miss prefetch), or without 16-byte
// vectors.
// NOPF-NOT: nvvm.cp.async.bulk.prefetch
// With prefetch-rows = 2 (at the start of each iteration: rows up to 64 KiB
// are early), the row one stride ahead is prefetched before the prologue
// and each iteration prefetches the row two strides after its own:
// thread 0 only, rows that exist only, the whole 4 x 4096 x 4 = 65536 bytes.
// PF2: %[[T:.*]] = gpu.thread_id x
// PF2: %[[ROWS:.*]] = memref.dim %arg0, %c0
// PF2: %[[AHEAD:.*]] = arith.addi %block_id_x, %grid_dim_x
// PF2: %[[T0:.*]] = arith.cmpi eq, %[[T]], %c0
// PF2: %[[IN:.*]] = arith.cmpi ult, %[[AHEAD]], %[[ROWS]] : index
// PF2: %[[BOTH:.*]] = arith.andi %[[T0]], %[[IN]]
// PF2: scf.if %[[BOTH]] {
// PF2: %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %arg0
// PF2: %[[B64:.*]] = arith.index_castui %[[BASE]] : index to i64
// PF2: %[[R:.*]] = arith.index_castui %[[AHEAD]] : index to i64
// PF2: %[[OFF:.*]] = arith.muli %[[R]], %c65536_i64
// PF2: %[[ADDR:.*]] = arith.addi %[[B64]], %[[OFF]] : i64
// PF2: %[[PTR:.*]] = llvm.inttoptr %[[ADDR]] : i64 to !llvm.ptr<1>
// PF2: nvvm.cp.async.bulk.prefetch %[[PTR]], %c65536_i32 : <1>
// PF2: math.exp
// PF2: scf.for %[[ROW:.*]] = %block_id_x to %{{.*}} step %grid_dim_x iter_args(
// PF2: %[[TWO:.*]] = arith.muli %grid_dim_x, %c2
// PF2: arith.addi %[[ROW]], %[[TWO]]
// PF2: nvvm.cp.async.bulk.prefetch
// PF2-NOT: nvvm.cp.async.bulk.prefetch
// PF2: gpu.shuffle
// PF2: scf.yield
// Rows of at most prefetch-early-max-row-bytes (here 65536, the whole row)
// are prefetched at the start of the iteration even so; larger rows, and by
// default those over 32 KiB, after the reduction.
// PFEARLY: scf.for %[[ROW:.*]] = %block_id_x to
// PFEARLY: nvvm.cp.async.bulk.prefetch
// PFEARLY-NOT: nvvm.cp.async.bulk.prefetch
// PFEARLY: gpu.shuffle
// PFEARLY: gpu.barrier
// PFEARLY: vector.store
// After the reduction instead: the prefetch follows the row's barrier.
// PFRED: scf.for %[[ROW:.*]] = %block_id_x to
// PFRED-NOT: nvvm.cp.async.bulk.prefetch
// PFRED: gpu.barrier
// PFRED: nvvm.cp.async.bulk.prefetch
// PFRED: vector.store

// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu | FileCheck %s --check-prefix=FMA
// Per chunk of 4 columns: 3 fused multiply-adds aggregate the 4 streams, 1
// adds the square, then each of the 4 outputs takes 3 (mixing) + 1 (post);
// the first product of each sum stays a multiply.
// FMA: scf.for %{{.*}} = %block_id_x to
// FMA-COUNT-3: math.fma %{{.*}} : vector<4xf32>
// FMA: math.fma %[[Y:.*]], %[[Y]], %{{.*}} : vector<4xf32>
// FMA: gpu.barrier
// FMA: arith.mulf %{{.*}} : vector<4xf32>
// FMA-COUNT-4: math.fma %{{.*}} : vector<4xf32>
// FMA-NOT: arith.addf
// FMA: vector.store

// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="cluster-row-split=1" | FileCheck %s --check-prefix=CLUSTER
// One 4-block cluster per row (4096 / (256 x 4) = 4 chunks): the launch has
// B x 4 blocks in clusters of 4; block k of the cluster holds chunk k (one
// 16-byte load per stream and thread), reduces its squares, publishes the
// sum in shared memory, and after a cluster barrier adds the 4 sums in rank
// order through distributed shared memory; its shared memory stays alive
// until the final cluster wait. No weight staging, no grid-stride loop.
// CLUSTER: %[[BLOCKS:.*]] = arith.muli %{{.*}}, %c4 : index
// CLUSTER: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c4096_v4_wbf16_t256_k4 clusters in (%c4, %c1{{.*}}, %c1{{.*}}) blocks in (%[[BLOCKS]],
// CLUSTER: gpu.func @mhc_fused_n4_c4096_v4_wbf16_t256_k4(
// CLUSTER-SAME: %[[SUM:[^ ]*]] : memref<1xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CLUSTER-SAME: known_block_size = array<i32: 256, 1, 1>
// CLUSTER-SAME: known_cluster_size = array<i32: 4, 1, 1>
// CLUSTER-NOT: nvvm.minctasm
// CLUSTER: %[[ROW:.*]] = gpu.cluster_id x
// CLUSTER: %[[PART:.*]] = gpu.cluster_block_id x
// CLUSTER: arith.muli %[[PART]], %c256
// CLUSTER: arith.cmpi ult, %[[ROW]],
// CLUSTER-COUNT-4: vector.load %arg0[%[[ROW]],
// CLUSTER-NOT: vector.load %arg0
// CLUSTER: math.exp
// Every block of the cluster looks M' up in the coefficient cache.
// CLUSTER: llvm.load %{{.*}} atomic syncscope("device") monotonic {{.*}} -> i64
// CLUSTER: nvvm.vote.sync  any
// CLUSTER: gpu.shuffle
// CLUSTER: gpu.barrier
// CLUSTER: memref.store %{{.*}}, %[[SUM]][%c0
// CLUSTER: nvvm.cluster.arrive {aligned}
// CLUSTER-NEXT: nvvm.cluster.wait {aligned}
// CLUSTER: memref.extract_aligned_pointer_as_index %[[SUM]]
// CLUSTER: nvvm.mapa %{{.*}}, %c0_i32
// CLUSTER: llvm.load
// CLUSTER: nvvm.mapa %{{.*}}, %c1_i32
// CLUSTER: nvvm.mapa %{{.*}}, %c2_i32
// CLUSTER: nvvm.mapa %{{.*}}, %c3_i32
// CLUSTER-NOT: nvvm.mapa
// CLUSTER: nvvm.cluster.arrive {aligned}
// CLUSTER: math.rsqrt
// CLUSTER: vector.load %arg4
// CLUSTER-COUNT-4: vector.store %{{.*}}, %arg5[%[[ROW]],
// CLUSTER: nvvm.cluster.wait {aligned}
// CLUSTER-NEXT: gpu.return
// CLUSTER-NOT: scf.for %{{.*}} = %block_id_x

// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu | FileCheck %s --check-prefix=PDL
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="programmatic-launch=0" | FileCheck %s --check-prefix=NOPDL
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="chip=sm_80" | FileCheck %s --check-prefix=NOPDL
// Programmatic dependent launch (on by default for sm_90+): the kernel's
// first operations wait for the grids it depends on and then release its
// own dependents; no memory access comes before them. The kernel states it
// in a global (0 when off, and before sm_90).
// PDL: gpu.func @mhc_fused_n4_c4096_v4_wbf16_t256
// PDL-NEXT: nvvm.griddepcontrol wait
// PDL-NEXT: nvvm.griddepcontrol launch_dependents
// PDL-NOT: nvvm.griddepcontrol
// PDL: llvm.mlir.global external constant @mhc_fused_n4_c4096_v4_wbf16_t256_programmatic_launch(1 : i32) {addr_space = 1 : i32, alignment = 4 : i64} : i32
// NOPDL-NOT: nvvm.griddepcontrol
// NOPDL: llvm.mlir.global external constant @mhc_fused_n4_c4096_v4_wbf16_t256_programmatic_launch(0 : i32)
