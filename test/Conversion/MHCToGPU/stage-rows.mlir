// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="stage-rows=2 stage-copy-bytes=32768" | FileCheck %s
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu | FileCheck %s --check-prefix=OFF
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="stage-rows=2 max-shared-memory-bytes=100000" | FileCheck %s --check-prefix=SMALL
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="stage-rows=2 max-shared-memory-bytes=70000" | FileCheck %s --check-prefix=NOROOM
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="stage-rows=2 max-shared-memory-bytes=60000" | FileCheck %s --check-prefix=NONE

// stage-rows=2 at n = 4, C = 4096 (64 KiB rows): two row buffers in dynamic
// shared memory (128 KiB, stated on the launch and in a global), one mbarrier
// each, set up by thread 0 before the prologue, which then requests the
// block's first two rows, each as two 32 KiB bulk copies on the row's
// mbarrier (which expects all 64 KiB).
// CHECK: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c4096_v4_wbf16_t256 {{.*}} dynamic_shared_memory_size %c131072_i32
// CHECK: gpu.module @mhc_kernels
// CHECK-NEXT: llvm.mlir.global external @mhc_dynamic_shared_memory() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK: gpu.func @mhc_fused_n4_c4096_v4_wbf16_t256
// CHECK-SAME: memref<4096xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<2xi64, #gpu.address_space<workgroup>>
// CHECK: %[[DYN:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[ROWS:.*]] = memref.view %[[DYN]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x4x4096xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-2: nvvm.mbarrier.init %{{.*}}, %c1_i32{{.*}} : !llvm.ptr<3>, i32
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[B0:.*]], %c65536_i32
// CHECK: llvm.addrspacecast %{{.*}} : !llvm.ptr<3> to !llvm.ptr<7>
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %[[B0]], %c32768_i32
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %[[B0]], %c32768_i32
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[B1:.*]], %c65536_i32
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %[[B1]], %c32768_i32
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %[[B1]], %c32768_i32
// The Sinkhorn prologue runs while the rows are in flight.
// CHECK: math.exp
// The row loop carries (buffer, mbarrier phase, warp-partial set). It waits
// for its buffer, moves the row into registers from shared memory, and after
// the reduction's barrier refills the buffer with the row two strides ahead.
// CHECK: scf.for %[[ROW:.*]] = %block_id_x to %{{.*}} step %grid_dim_x iter_args(%[[SLOT:.*]] = %{{.*}}, %[[PHASE:.*]] = %{{.*}}, %{{.*}} = %{{.*}}) -> (index, i32, index)
// CHECK: nvvm.mbarrier.try_wait.parity %{{.*}}, %[[PHASE]], %{{.*}} : !llvm.ptr<3>, i32, i32
// CHECK-COUNT-16: vector.load %[[ROWS]][%[[SLOT]], {{.*}} {alignment = 16 : i64} : memref<2x4x4096xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK-NOT: vector.load %arg0
// CHECK: gpu.barrier
// CHECK: %[[AHEAD:.*]] = arith.muli %grid_dim_x, %c2
// CHECK: arith.addi %[[ROW]], %[[AHEAD]]
// CHECK: nvvm.mbarrier.arrive.expect_tx
// CHECK-COUNT-2: nvvm.cp.async.bulk.shared.cluster.global
// No L2 prefetch beside the staged rows.
// CHECK-NOT: cp.async.bulk.prefetch
// CHECK: vector.store
// The next buffer, and the phase flipped when the buffers wrap.
// CHECK: %[[NEXT:.*]] = arith.addi %[[SLOT]], %c1
// CHECK: %[[WRAP:.*]] = arith.cmpi eq, %[[NEXT]], %c2
// CHECK: %[[FLIP:.*]] = arith.xori %[[PHASE]], %c1_i32
// CHECK: arith.select %[[WRAP]], %{{.*}}, %[[NEXT]] : index
// CHECK: arith.select %[[WRAP]], %[[FLIP]], %[[PHASE]] : i32
// CHECK: llvm.mlir.global external constant @mhc_fused_n4_c4096_v4_wbf16_t256_dynamic_shared_bytes(131072 : i32) {addr_space = 1 : i32, alignment = 4 : i64} : i32

// Without the option: no dynamic shared memory, and the kernel says so.
// OFF-NOT: dynamic_shared_memory_size
// OFF-NOT: mbarrier
// OFF: llvm.mlir.global external constant @mhc_fused_n4_c4096_v4_wbf16_t256_dynamic_shared_bytes(0 : i32)

// Room for one 64 KiB buffer only: one buffer, one mbarrier, and the row one
// stride ahead; the weight (16 KiB) still fits beside it.
// SMALL: dynamic_shared_memory_size %c65536_i32
// SMALL: memref<4096xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<1xi64, #gpu.address_space<workgroup>>
// SMALL: memref.view {{.*}} to memref<1x4x4096xf32, #gpu.address_space<workgroup>>
// SMALL-COUNT-1: nvvm.mbarrier.init
// SMALL-NOT: nvvm.mbarrier.init
// SMALL: @mhc_fused_n4_c4096_v4_wbf16_t256_dynamic_shared_bytes(65536 : i32)

// Room for one buffer without the staged weight: the weight stays in global
// memory (read after each reduction).
// NOROOM: dynamic_shared_memory_size %c65536_i32
// NOROOM: workgroup(%{{.*}} : memref<16xf32, {{.*}}, %{{.*}} : memref<4xf32, {{.*}}, %{{.*}} : memref<4xf32, {{.*}}, %{{.*}} : memref<16xf32, {{.*}}, %{{.*}} : memref<1xi64, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// NOROOM: vector.load %arg4

// No room for a row: rows are not staged (the kernel of the default options,
// with its L2 prefetch when asked for).
// NONE-NOT: dynamic_shared_memory_size
// NONE-NOT: mbarrier
// NONE: @mhc_fused_n4_c4096_v4_wbf16_t256_dynamic_shared_bytes(0 : i32)
func.func @layer(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}
