// The rounds by rows here (sinkhorn-replicated-max-streams=0); the default
// replicated form and its register rule are in sinkhorn-rounds.mlir.
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="sinkhorn-replicated-max-streams=0" -split-input-file | FileCheck %s

// n = 4, C = 4096, 256 threads, vector 4: 4 chunks per thread, the row in
// registers. Host side: buffers of the inputs, the output allocated once,
// one launch with the conventions as scalars and an empty coefficient cache
// (0 words: the kernel computes M'), no other allocation.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @layer
// CHECK-DAG: %[[X:.*]] = bufferization.to_buffer %arg0 read_only : tensor<?x4x4096xf32> to memref<?x4x4096xf32>
// CHECK-DAG: %[[W:.*]] = bufferization.to_buffer %arg4 read_only : tensor<4096xbf16> to memref<4096xbf16>
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x4x4096xf32>
// CHECK-NOT: memref.alloc(
// CHECK: %[[NONE:.*]] = memref.alloca() : memref<0xi32>
// CHECK-NOT: memref.alloc(
// CHECK: %[[CACHE:.*]] = memref.cast %[[NONE]] : memref<0xi32> to memref<?xi32>
// CHECK-NOT: memref.alloc(
// CHECK: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c4096_v4_wbf16_t256
// CHECK-SAME: threads in (%c256
// CHECK-SAME: args(%[[X]] : memref<?x4x4096xf32>, %{{.*}} : memref<4x4xf32>, %{{.*}} : memref<4xf32>, %{{.*}} : memref<4xf32>, %[[W]] : memref<4096xbf16>, %[[OUT]] : memref<?x4x4096xf32>, %{{.*}} : f32, %{{.*}} : f32, %{{.*}} : f32, %{{.*}} : f32, %{{.*}} : f32, %{{.*}} : f32, %{{.*}} : i32, %{{.*}} : i32, %[[CACHE]] : memref<?xi32>)
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable

// The kernel: shared memory for M', the gates, two sets of 8 warp partials
// and the weight as f32 (staged); a register budget of two blocks per
// SM (the row is 64 floats per thread: register-budget.mlir).
// CHECK: gpu.module @mhc_kernels
// CHECK: gpu.func @mhc_fused_n4_c4096_v4_wbf16_t256(%[[KX:.*]]: memref<?x4x4096xf32>, %[[KHR:.*]]: memref<4x4xf32>, %[[KHP:.*]]: memref<4xf32>, %{{.*}}: memref<4xf32>, %[[KW:.*]]: memref<4096xbf16>, %[[KOUT:.*]]: memref<?x4x4096xf32>, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: memref<?xi32>)
// CHECK-SAME: workgroup(%[[M:.*]] : memref<16xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[PART:.*]] : memref<16xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[WS:.*]] : memref<4096xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 256, 1, 1>, nvvm.minctasm = 2 : i32}
// CHECK-NOT: memref.alloc

// Before the prologue: the block's first row (16 loads) and the thread's
// weight chunks are loaded, so their latency overlaps Sinkhorn.
// CHECK: %[[FIRST:.*]]:16 = scf.if %{{.*}} -> (vector<4xf32>
// CHECK-COUNT-16: vector.load %[[KX]][%block_id_x, %{{.*}}, %{{.*}}] {alignment = 16 : i64}
// CHECK: } else {
// CHECK-COUNT-4: vector.load %[[KW]][%{{.*}}] {alignment = 8 : i64} : memref<4096xbf16>, vector<4xbf16>

// Prologue: the first 4 threads of warp 1 compute the gates (exact
// division) while warp 0 runs Sinkhorn in registers, lane i < 4 holding row
// i (max-shifted exp of its row of H; other lanes zeros), then the rounds as
// a loop carrying the lane's 4 values: one approximate reciprocal for the
// row, and per column a butterfly over 4 lanes and one reciprocal. Lane i
// publishes row i of M' (transposed or not by address), one barrier.
// CHECK: %[[G:.*]] = arith.subi %thread_id_x, %c32
// CHECK: scf.if
// CHECK: memref.load %[[KHP]][%[[G]]]
// CHECK: arith.divf %{{.*}}, %{{.*}} : f32
// CHECK: %[[WARP0:.*]] = arith.cmpi eq, %{{.*}}, %c0
// CHECK: scf.if %[[WARP0]] {
// CHECK: %[[OWNER:.*]] = arith.cmpi ult, %[[LANE:.*]], %c4
// CHECK: %[[MYROW:.*]] = arith.select %[[OWNER]], %[[LANE]], %c0
// CHECK-COUNT-4: memref.load %[[KHR]][%[[MYROW]], %c{{[0-9]}}
// CHECK-NOT: memref.load %[[KHR]]
// CHECK: math.exp
// CHECK: scf.for %{{.*}} = %c1{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32)
// CHECK: nvvm.rcp.approx.ftz.f %{{.*}} : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-NEXT: arith.addf
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-NEXT: arith.addf
// CHECK: nvvm.rcp.approx.ftz.f %{{.*}} : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-NEXT: arith.addf
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-NEXT: arith.addf
// CHECK: nvvm.rcp.approx.ftz.f %{{.*}} : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-NEXT: arith.addf
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-NEXT: arith.addf
// CHECK: nvvm.rcp.approx.ftz.f %{{.*}} : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-NEXT: arith.addf
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-NEXT: arith.addf
// CHECK: nvvm.rcp.approx.ftz.f %{{.*}} : f32
// CHECK-NOT: gpu.shuffle
// CHECK: scf.yield
// CHECK: scf.if %[[OWNER]] {
// CHECK-COUNT-4: memref.store %{{.*}}, %[[M]]
// CHECK: gpu.barrier
// CHECK-COUNT-4: vector.store %{{.*}}, %[[WS]][%{{.*}}] {alignment = 16 : i64}

// The row loop carries the row in registers and the partials' parity: the
// sum of squares through the warp butterfly, one barrier, 16 stores of out
// (weight from shared memory), then the next row's 16 loads. No second
// barrier: consecutive rows use alternate sets of partials.
// CHECK: scf.for %[[ROW:.*]] = %block_id_x to %{{.*}} step %grid_dim_x iter_args(%{{.*}} = %[[FIRST]]#0,
// CHECK-NOT: vector.load %[[KX]]
// CHECK: vector.reduction <add>
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c8_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: memref.store %{{.*}}, %[[PART]]
// CHECK: gpu.barrier
// CHECK: math.rsqrt
// CHECK-NOT: gpu.barrier
// CHECK: vector.load %[[WS]][%{{.*}}] {alignment = 16 : i64}
// CHECK-NOT: gpu.barrier
// CHECK-COUNT-16: vector.store %{{.*}}, %[[KOUT]][%[[ROW]], %{{.*}}, %{{.*}}] {alignment = 16 : i64} : memref<?x4x4096xf32>, vector<4xf32>
// CHECK-NOT: gpu.barrier
// CHECK: scf.if
// CHECK-COUNT-16: vector.load %[[KX]][%{{.*}}, %{{.*}}, %{{.*}}] {alignment = 16 : i64}
// CHECK-NOT: gpu.barrier
// CHECK: arith.subi %c1{{.*}}, %{{.*}} : index
// CHECK-NEXT: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: gpu.return
func.func @layer(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}

// -----

// The conventions reach the kernel as scalars: eps, the Sinkhorn addend
// (sinkhorn_eps for softmax), pre scale/bias, post scale/bias, iters, M^T.
// CHECK-LABEL: func.func @conventions
// CHECK-DAG: %[[EPS:.*]] = arith.constant 1.000000e-03 : f32
// CHECK-DAG: %[[ADD:.*]] = arith.constant 2.500000e-01 : f32
// CHECK-DAG: %[[PB:.*]] = arith.constant 1.250000e-01 : f32
// CHECK-DAG: %[[ITERS:.*]] = arith.constant 7 : i32
// CHECK-DAG: %[[TR:.*]] = arith.constant 1 : i32
// CHECK: gpu.launch_func @mhc_kernels::@mhc_fused_n2_c8_v4_wf32_t256
// CHECK-SAME: %[[EPS]] : f32, %[[ADD]] : f32, %{{.*}} : f32, %[[PB]] : f32, %{{.*}} : f32, %{{.*}} : f32, %[[ITERS]] : i32, %[[TR]] : i32, %{{.*}} : memref<?xi32>)
func.func @conventions(%x: tensor<3x2x8xf32>, %hr: tensor<2x2xf32>, %hp: tensor<2xf32>,
    %hq: tensor<2xf32>, %w: tensor<8xf32>) -> tensor<3x2x8xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-03 : f32, sinkhorn_iters = 7,
      sinkhorn_init = #mhc.sinkhorn_init<softmax>, sinkhorn_eps = 0.25 : f32,
      pre_eps = 0.125 : f32, orientation = #mhc.orientation<transposed>}
      : tensor<3x2x8xf32>, tensor<2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<8xf32>
  return %0 : tensor<3x2x8xf32>
}

// -----

// C = 37 is odd: rows are only 4-byte aligned, so the vector narrows to 1.
// The only chunk is partial, so its loads (first row before the prologue,
// next rows in the loop), weight loads and stores are guarded.
// CHECK-LABEL: func.func @odd_channels
// CHECK: gpu.func @mhc_fused_n3_c37_v1_wbf16_t256
// CHECK: %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %c37
// CHECK: scf.if %[[IN]] -> (vector<1xf32>, vector<1xf32>, vector<1xf32>)
// CHECK-COUNT-3: vector.load %{{.*}}[%block_id_x, %{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<?x3x37xf32>, vector<1xf32>
// CHECK: } else {
// CHECK: %[[WIN:.*]] = arith.cmpi ult, %{{.*}}, %c37
// CHECK: scf.if %[[WIN]] -> (vector<1xf32>)
// CHECK: vector.load %{{.*}} {alignment = 2 : i64} : memref<37xbf16>, vector<1xbf16>
// CHECK: scf.for %[[ROW:.*]] = %block_id_x
// CHECK: scf.if
// CHECK-COUNT-3: vector.store {{.*}}[%[[ROW]], %{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<?x3x37xf32>, vector<1xf32>
// CHECK: scf.if %{{.*}} -> (vector<1xf32>, vector<1xf32>, vector<1xf32>)
// CHECK: scf.if %{{.*}} -> (vector<1xf32>, vector<1xf32>, vector<1xf32>)
// CHECK-COUNT-3: vector.load %{{.*}} {alignment = 4 : i64} : memref<?x3x37xf32>, vector<1xf32>
func.func @odd_channels(%x: tensor<?x3x37xf32>, %hr: tensor<3x3xf32>, %hp: tensor<3xf32>,
    %hq: tensor<3xf32>, %w: tensor<37xbf16>) -> tensor<?x3x37xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x3x37xf32>, tensor<3x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<37xbf16>
  return %0 : tensor<?x3x37xf32>
}

// -----

// Dynamic C: the row streams, a pass for the sum of squares and a pass for
// the output, each over ceil(C / (256 * 4)) chunks.
// CHECK-LABEL: func.func @dynamic_channels
// CHECK: memref.alloc(%{{.*}}, %{{.*}}) : memref<?x4x?xf32>
// CHECK: gpu.func @mhc_fused_n4_cdyn_v4_wbf16_t256
// CHECK: scf.for %[[ROW:.*]] = %block_id_x
// CHECK: arith.ceildivui
// CHECK: scf.for {{.*}} iter_args
// CHECK-COUNT-4: vector.load %{{.*}}[%[[ROW]], %{{.*}}, %{{.*}}] {alignment = 16 : i64} : memref<?x4x?xf32>, vector<4xf32>
// CHECK: gpu.shuffle
// CHECK: scf.for
// CHECK-COUNT-4: vector.load %{{.*}}[%[[ROW]], %{{.*}}, %{{.*}}] {alignment = 16 : i64} : memref<?x4x?xf32>, vector<4xf32>
// CHECK-COUNT-4: vector.store
func.func @dynamic_channels(%x: tensor<?x4x?xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<?xbf16>) -> tensor<?x4x?xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x?xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<?xbf16>
  return %0 : tensor<?x4x?xf32>
}

// -----

// Two layers of one shape share one kernel; a static batch is cast to the
// kernel's dynamic one.
// CHECK-LABEL: func.func @two_layers
// CHECK: memref.cast %{{.*}} : memref<8x4x64xf32> to memref<?x4x64xf32>
// CHECK: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c64_v4_wbf16_t256
// CHECK: gpu.launch_func @mhc_kernels::@mhc_fused_n4_c64_v4_wbf16_t256
// CHECK: gpu.module @mhc_kernels
// CHECK-COUNT-1: gpu.func
// CHECK-NOT: gpu.func
func.func @two_layers(%x: tensor<8x4x64xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<64xbf16>) -> tensor<8x4x64xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<8x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<64xbf16>
  %1 = mhc.static_layer %0, %hr, %hp, %hq, %w {eps = 1.0e-05 : f32}
      : tensor<8x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<64xbf16>
  return %1 : tensor<8x4x64xf32>
}
