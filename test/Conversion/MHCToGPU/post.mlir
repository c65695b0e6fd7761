// RUN: mhc-opt %s --convert-mhc-to-gpu -split-input-file | FileCheck %s

// The dynamic-H post (bf16 streams and sublayer output, n = 4, C at run
// time, M^T): host side, buffers of the inputs in the contract's order, the
// output allocated once, `transposed` = 1, one block per tile of
// 256 threads x 8 columns (16-byte accesses of bf16).
// CHECK-LABEL: func.func @post_bf16
// CHECK-DAG: %[[X:.*]] = bufferization.to_buffer %arg0 read_only : tensor<?x4x?xbf16> to memref<?x4x?xbf16>
// CHECK-DAG: %[[F:.*]] = bufferization.to_buffer %arg1 read_only : tensor<?x?xbf16> to memref<?x?xbf16>
// CHECK-DAG: %[[M:.*]] = bufferization.to_buffer %arg2 read_only : tensor<?x4x4xf32> to memref<?x4x4xf32>
// CHECK-DAG: %[[H:.*]] = bufferization.to_buffer %arg3 read_only : tensor<?x4xf32> to memref<?x4xf32>
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x4x?xbf16>
// CHECK-NOT: memref.alloc
// CHECK: %[[TR:.*]] = arith.constant 1 : i32
// CHECK: %[[ROWS:.*]] = memref.dim %[[OUT]], %c0
// CHECK: %[[C:.*]] = memref.dim %[[OUT]], %c2
// CHECK: cf.assert %{{.*}}, "mhc.post on the GPU needs C to be a multiple of 8 (vector-width=1 takes any C)"
// CHECK: %[[TILES:.*]] = arith.ceildivui %[[C]], %c2048
// CHECK: %[[ALL:.*]] = arith.muli %[[ROWS]], %[[TILES]]
// CHECK: %[[GRID:.*]] = arith.maxui %[[ALL]], %c1
// CHECK: gpu.launch_func @mhc_kernels::@mhc_post_n4_xbf16_fbf16_v8_t256 blocks in (%[[GRID]], %c1{{.*}}, %c1{{.*}}) threads in (%c256, %c1{{.*}}, %c1{{.*}}) args(%[[X]] : memref<?x4x?xbf16>, %[[F]] : memref<?x?xbf16>, %[[M]] : memref<?x4x4xf32>, %[[H]] : memref<?x4xf32>, %[[OUT]] : memref<?x4x?xbf16>, %[[TR]] : i32)
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable

// The kernel: blocks loop over the tiles with the grid's stride; each thread
// loads the token's 16 + 4 coefficients, picks M' by value, loads f and the
// 4 streams once (16-byte vectors), and stores each mixed stream once,
// rounded to bf16.
// CHECK: gpu.module @mhc_kernels
// CHECK: gpu.func @mhc_post_n4_xbf16_fbf16_v8_t256(%[[KX:.*]]: memref<?x4x?xbf16>, %[[KF:.*]]: memref<?x?xbf16>, %[[KM:.*]]: memref<?x4x4xf32>, %[[KH:.*]]: memref<?x4xf32>, %[[KOUT:.*]]: memref<?x4x?xbf16>, %[[KTR:.*]]: i32) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: %[[T:.*]] = arith.cmpi ne, %[[KTR]], %c0_i32
// CHECK: scf.for %{{.*}} = %block_id_x to %{{.*}} step %grid_dim_x
// CHECK: scf.if
// CHECK-COUNT-4: memref.load %[[KM]]
// CHECK: memref.load %[[KH]]
// CHECK: arith.select %[[T]]
// CHECK: vector.load %[[KF]][{{.*}}] {alignment = 16 : i64} : memref<?x?xbf16>, vector<8xbf16>
// CHECK-COUNT-4: vector.load %[[KX]]
// CHECK: arith.mulf {{.*}} : vector<8xf32>
// CHECK-COUNT-4: math.fma
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store {{.*}}, %[[KOUT]][{{.*}}] {alignment = 16 : i64} : memref<?x4x?xbf16>, vector<8xbf16>
// CHECK-COUNT-3: vector.store {{.*}}, %[[KOUT]]
// CHECK-NOT: vector.store
// CHECK: gpu.return
// CHECK: llvm.mlir.global external constant @mhc_post_n4_xbf16_fbf16_v8_t256_dynamic_shared_bytes(0 : i32)
// CHECK: llvm.mlir.global external constant @mhc_post_n4_xbf16_fbf16_v8_t256_programmatic_launch(0 : i32)
func.func @post_bf16(%x: tensor<?x4x?xbf16>, %f: tensor<?x?xbf16>, %m: tensor<?x4x4xf32>,
                     %h: tensor<?x4xf32>) -> tensor<?x4x?xbf16> {
  %o = mhc.post %x, %f, %m, %h {orientation = #mhc.orientation<transposed>}
      : tensor<?x4x?xbf16>, tensor<?x?xbf16>, tensor<?x4x4xf32>, tensor<?x4xf32>
  return %o : tensor<?x4x?xbf16>
}

// -----

// f32 streams with a bf16 sublayer output, M as is (transposed = 0), a
// static C that is a multiple of 2 but not of 4: 8-byte accesses.
// CHECK-LABEL: func.func @post_mixed
// CHECK-NOT: cf.assert
// CHECK: %[[TR:.*]] = arith.constant 0 : i32
// CHECK: gpu.launch_func @mhc_kernels::@mhc_post_n2_xf32_fbf16_v2_t256
// CHECK-SAME: %[[TR]] : i32
// CHECK: gpu.func @mhc_post_n2_xf32_fbf16_v2_t256(%{{.*}}: memref<?x2x?xf32>, %{{.*}}: memref<?x?xbf16>, %{{.*}}: memref<?x2x2xf32>, %{{.*}}: memref<?x2xf32>, %{{.*}}: memref<?x2x?xf32>, %{{.*}}: i32)
// CHECK: vector.load {{.*}} {alignment = 4 : i64} : memref<?x?xbf16>, vector<2xbf16>
// CHECK: vector.load {{.*}} {alignment = 8 : i64} : memref<?x2x?xf32>, vector<2xf32>
// CHECK-NOT: arith.truncf
// CHECK: vector.store {{.*}} {alignment = 8 : i64} : memref<?x2x?xf32>, vector<2xf32>
func.func @post_mixed(%x: tensor<8x2x38xf32>, %f: tensor<8x38xbf16>, %m: tensor<8x2x2xf32>,
                      %h: tensor<8x2xf32>) -> tensor<8x2x38xf32> {
  %o = mhc.post %x, %f, %m, %h : tensor<8x2x38xf32>, tensor<8x38xbf16>, tensor<8x2x2xf32>, tensor<8x2xf32>
  return %o : tensor<8x2x38xf32>
}

// -----

// More streams than max-unrolled-streams (8): n is read from x at run time,
// the stream loops stay loops, M'[i, j] addressed through the flag.
// CHECK-LABEL: func.func @post_many_streams
// CHECK: gpu.launch_func @mhc_kernels::@mhc_post_ndyn_xf32_ff32_v4_t256
// CHECK-SAME: memref<?x?x?xf32>
// CHECK: gpu.func @mhc_post_ndyn_xf32_ff32_v4_t256(%[[KX:.*]]: memref<?x?x?xf32>, %{{.*}}: memref<?x?xf32>, %[[KM:.*]]: memref<?x?x?xf32>, %{{.*}}: memref<?x?xf32>, %{{.*}}: memref<?x?x?xf32>, %{{.*}}: i32)
// CHECK: %[[N:.*]] = memref.dim %[[KX]], %c1
// CHECK: scf.for %[[I:.*]] = %c0{{.*}} to %[[N]]
// CHECK: scf.for %[[J:.*]] = %c0{{.*}} to %[[N]]
// CHECK: %[[R:.*]] = arith.select %{{.*}}, %[[J]], %[[I]]
// CHECK: %[[Q:.*]] = arith.select %{{.*}}, %[[I]], %[[J]]
// CHECK: memref.load %[[KM]][%{{.*}}, %[[R]], %[[Q]]]
func.func @post_many_streams(%x: tensor<?x16x?xf32>, %f: tensor<?x?xf32>, %m: tensor<?x16x16xf32>,
                             %h: tensor<?x16xf32>) -> tensor<?x16x?xf32> {
  %o = mhc.post %x, %f, %m, %h : tensor<?x16x?xf32>, tensor<?x?xf32>, tensor<?x16x16xf32>, tensor<?x16xf32>
  return %o : tensor<?x16x?xf32>
}

// -----

// Two posts of one shape share one kernel.
// CHECK-LABEL: func.func @two_posts
// CHECK-COUNT-2: gpu.launch_func @mhc_kernels::@mhc_post_n4_xf32_ff32_v4_t256
// CHECK: gpu.module @mhc_kernels
// CHECK-COUNT-1: gpu.func @mhc_post_n4_xf32_ff32_v4_t256
// CHECK-NOT: gpu.func
func.func @two_posts(%x: tensor<?x4x64xf32>, %f: tensor<?x64xf32>, %m: tensor<?x4x4xf32>,
                     %h: tensor<?x4xf32>) -> tensor<?x4x64xf32> {
  %o = mhc.post %x, %f, %m, %h : tensor<?x4x64xf32>, tensor<?x64xf32>, tensor<?x4x4xf32>, tensor<?x4xf32>
  %p = mhc.post %o, %f, %m, %h : tensor<?x4x64xf32>, tensor<?x64xf32>, tensor<?x4x4xf32>, tensor<?x4xf32>
  return %p : tensor<?x4x64xf32>
}
