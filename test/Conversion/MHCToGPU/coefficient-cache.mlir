// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu -split-input-file | FileCheck %s
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="coefficient-cache=0" -split-input-file | FileCheck %s --check-prefix=OFF

// n = 4: a 2-word seal, the key (4 header words + 16 H_res words) and M'
// (16 words): the cache is used only when the kernel's `cache` memref has 38
// words or more. Warp 0 loads its key words, its M' words and the 64-bit
// seal at once (relaxed), compares the key words with this launch's (H_res
// bits, the conventions) and the seal with the seal of (this key, the loaded
// M') (a sum over the lanes), and votes. On a hit it stores the loaded M';
// on a miss it runs the rounds, and block 0 publishes M', the key and their
// seal (relaxed stores).
// CHECK-LABEL: gpu.func @mhc_fused_n4_c4096_v4_wbf16_t256
// CHECK-SAME: %[[ITERS:[^:]*]]: i32, %[[TR:[^:]*]]: i32, %[[CACHE:.*]]: memref<?xi32>)
// CHECK: %[[LANE:.*]] = arith.remui %thread_id_x, %c32
// CHECK: %[[WORDS:.*]] = memref.dim %[[CACHE]], %{{.*}} : memref<?xi32>
// CHECK: %[[ENOUGH:.*]] = arith.cmpi uge, %[[WORDS]], %c38
// CHECK: %[[HIT:.*]] = scf.if %[[ENOUGH]] -> (i1) {
// CHECK: arith.cmpi ult, %[[LANE]], %c20
// CHECK: arith.cmpi ult, %[[LANE]], %c16
// All loads are issued before any comparison: a key word, an M' word, the
// seal.
// CHECK: llvm.load %{{.*}} atomic syncscope("device") monotonic {alignment = 4 : i64} : !llvm.ptr<1> -> i32
// CHECK-NOT: arith.cmpi ne
// CHECK: llvm.load %{{.*}} atomic syncscope("device") monotonic {alignment = 4 : i64} : !llvm.ptr<1> -> i32
// CHECK-NOT: arith.cmpi ne
// CHECK: llvm.load %{{.*}} atomic syncscope("device") monotonic {alignment = 8 : i64} : !llvm.ptr<1> -> i64
// CHECK-NOT: acquire
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: arith.select %{{.*}}, %[[ITERS]], %{{.*}} : i32
// CHECK: arith.select %{{.*}}, %c{{-?[0-9]+}}_i32, %{{.*}} : i32
// CHECK: arith.cmpi ne
// CHECK-COUNT-10: gpu.shuffle  xor %{{.*}} : i32
// CHECK: %[[ANY:.*]] = nvvm.vote.sync  any %c-1_i32, %{{.*}} -> i1
// CHECK-NEXT: %[[GOT:.*]] = arith.xori %[[ANY]], %true
// CHECK-NEXT: scf.if %[[GOT]] {
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<16xf32, #gpu.address_space<workgroup>>
// CHECK: } else {
// CHECK-NEXT: scf.yield %false
// CHECK: %[[MISS:.*]] = arith.xori %[[HIT]], %true
// CHECK-NEXT: scf.if %[[MISS]] {
// CHECK: math.exp
// CHECK: scf.for
// CHECK: nvvm.rcp.approx.ftz.f %{{.*}} : f32
// Only the launch's first block publishes.
// CHECK: %[[BLOCK:.*]] = gpu.block_id  x
// CHECK-NEXT: %[[FIRST:.*]] = arith.cmpi eq, %[[BLOCK]], %c0
// CHECK: %[[PUBLISH:.*]] = arith.andi %{{.*}}, %[[FIRST]] : i1
// CHECK-NEXT: scf.if %[[PUBLISH]] {
// CHECK: nvvm.bar.warp.sync
// CHECK-COUNT-10: gpu.shuffle  xor %{{.*}} : i32
// CHECK-COUNT-2: llvm.store %{{.*}}, %{{.*}} atomic syncscope("device") monotonic {alignment = 4 : i64} : i32, !llvm.ptr<1>
// CHECK: llvm.store %{{.*}}, %{{.*}} atomic syncscope("device") monotonic {alignment = 8 : i64} : i64, !llvm.ptr<1>
// CHECK-NOT: release
// CHECK: gpu.barrier
// Without the option the rounds always run: no cache access at all.
// OFF-LABEL: gpu.func @mhc_fused_n4_c4096_v4_wbf16_t256
// OFF-SAME: memref<?xi32>)
// OFF-NOT: atomic
// OFF-NOT: nvvm.vote.sync
// OFF: math.exp
// OFF-NOT: atomic
// OFF: gpu.return
func.func @n4(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}

// -----

// n = 12 (the prologue in shared memory): 2 + 148 + 144 = 294 words; each
// lane reads key words lane, lane + 32, ..., lane + 128 (5 loads) and M'
// words lane, ..., lane + 128 (5 loads), then the seal.
// Warp 0 looks M' up, fills it on a hit and tells the block through a flag
// in shared memory; after a barrier the block runs the rounds only on a
// miss, and warp 0 then publishes.
// CHECK-LABEL: gpu.func @mhc_fused_n12_cdyn_v4_wbf16_t256
// CHECK-SAME: workgroup(%{{.*}} : memref<144xf32, #gpu.address_space<workgroup>>
// CHECK-SAME: %[[FLAG:[^ ]*]] : memref<1xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: arith.cmpi uge, %{{.*}}, %c294
// CHECK-COUNT-10: llvm.load %{{.*}} atomic syncscope("device") monotonic {{.*}} -> i32
// CHECK: llvm.load %{{.*}} atomic syncscope("device") monotonic {{.*}} -> i64
// CHECK: nvvm.vote.sync  any
// CHECK: memref.store %{{.*}}, %[[FLAG]][%{{.*}}]
// CHECK: gpu.barrier
// CHECK: %[[SEEN:.*]] = memref.load %[[FLAG]]
// CHECK: %[[MISS:.*]] = arith.cmpf oeq, %[[SEEN]], %cst
// CHECK: scf.if %[[MISS]] {
// CHECK: math.exp
// CHECK: gpu.barrier
// CHECK: llvm.store %{{.*}} atomic syncscope("device") monotonic {{.*}} i64
// 294 words: one prefetch per lane still covers them (lane 9 asks for 288).
// EARLY-LABEL: gpu.func @mhc_fused_n12_cdyn_v4_wbf16_t256
// EARLY: arith.minui %{{.*}}, %c293
// EARLY-NEXT: memref.extract_aligned_pointer_as_index %{{.*}} : memref<?xi32>
// EARLY: nvvm.prefetch level =  L2
// EARLY: arith.minui %{{.*}}, %c143
// EARLY: nvvm.prefetch level =  L2
// EARLY: nvvm.vote.sync  any
// OFF-LABEL: gpu.func @mhc_fused_n12_cdyn_v4_wbf16_t256
// OFF-NOT: memref<1xf32, #gpu.address_space<workgroup>>
// OFF-NOT: atomic
// OFF: gpu.return
func.func @n12(%x: tensor<?x12x?xf32>, %hr: tensor<12x12xf32>, %hp: tensor<12xf32>,
    %hq: tensor<12xf32>, %w: tensor<?xbf16>) -> tensor<?x12x?xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x12x?xf32>, tensor<12x12xf32>, tensor<12xf32>, tensor<12xf32>, tensor<?xbf16>
  return %0 : tensor<?x12x?xf32>
}
