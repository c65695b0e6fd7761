// RUN: mhc-opt %s --mhc-fuse --convert-mhc-to-gpu -split-input-file -verify-diagnostics | FileCheck %s

// The pre unit (bf16 x and phi, n = 4, C at run time): the host checks that
// n C and C fit the kernels, allocates the partials [splits, B, 25] (the
// contract's split rule), launches the projection over (tiles x splits)
// blocks of 128 threads, then the pre over the groups of 32 tokens with the
// conventions as scalars, and frees the partials.
// CHECK-LABEL: func.func @pre_bf16
// CHECK: cf.assert %{{.*}}, "mhc.fused_pre on the GPU needs n * C to be a multiple of 32 and C of 8 (vector-width=1 takes any C)"
// CHECK: %[[P:.*]] = memref.alloc(%[[S:.*]], %[[B:.*]]) : memref<?x?x25xf32>
// CHECK: %[[G:.*]] = arith.muli %{{.*}}, %[[S]] : index
// CHECK: gpu.launch_func @mhc_kernels::@mhc_proj_n4_xbf16_pbf16_v8_t128 blocks in (%[[G]], %{{.*}}, %{{.*}}) threads in (%c128, {{.*}}) args(%{{.*}} : memref<?x4x?xbf16>, %{{.*}} : memref<?x24xbf16>, %[[P]] : memref<?x?x25xf32>)
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<?x?xbf16>
// CHECK: %[[HP:.*]] = memref.alloc(%[[B]]) : memref<?x4xf32>
// CHECK: %[[HQ:.*]] = memref.alloc(%[[B]]) : memref<?x4xf32>
// CHECK: %[[M:.*]] = memref.alloc(%[[B]]) : memref<?x4x4xf32>
// CHECK: %[[EPS:.*]] = arith.constant 2.000000e-06 : f32
// CHECK: %[[PRE:.*]] = arith.constant 1.000000e-03 : f32
// CHECK: %[[ADD:.*]] = arith.constant 9.99999997E-7 : f32
// CHECK: %[[IT:.*]] = arith.constant 7 : i32
// CHECK: gpu.launch_func @mhc_kernels::@mhc_pre_n4_xbf16_v8_t256 blocks in ({{.*}}) threads in (%c256, {{.*}}) args(%{{.*}} : memref<?x4x?xbf16>, %[[P]] : memref<?x?x25xf32>, %{{.*}} : memref<3xf32>, %{{.*}} : memref<24xf32>, %{{.*}} : memref<?x?xbf16>, %[[HP]] : memref<?x4xf32>, %[[HQ]] : memref<?x4xf32>, %[[M]] : memref<?x4x4xf32>, %[[EPS]] : f32, %[[PRE]] : f32, %[[ADD]] : f32, %[[IT]] : i32)
// CHECK: memref.dealloc %[[P]]

// The projection: nothing for an empty batch; each thread loads 16 bytes
// of its two rows per step (rows past B read as zeros), squares them into
// the sums of squares, and feeds 2 steps x 3 column tiles of bf16
// m16n8k16 mmas (6 per step), f32 accumulation.
// CHECK: gpu.func @mhc_proj_n4_xbf16_pbf16_v8_t128(%{{.*}}: memref<?x4x?xbf16>, %[[PHI:.*]]: memref<?x24xbf16>, %[[PART:.*]]: memref<?x?x25xf32>) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK: scf.if
// CHECK: memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : memref<?x4x?xbf16> into memref<?x?xbf16>
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, vector<8xf32>, vector<8xf32>)
// CHECK: vector.load {{.*}} {alignment = 16 : i64} : memref<?x?xbf16>, vector<8xbf16>
// CHECK: math.fma {{.*}} : vector<8xf32>
// CHECK-COUNT-6: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK: vector.reduction <add>
// CHECK: gpu.shuffle  xor
// CHECK: memref.store {{.*}}, %[[PART]]
// CHECK: gpu.return

// The pre: shared memory for 32 tokens' partial rows and h_pre; the
// partials summed in slice order; Sinkhorn in a loop of rounds; y stored
// with 16-byte vectors.
// CHECK: gpu.func @mhc_pre_n4_xbf16_v8_t256({{.*}}) workgroup(%{{.*}} : memref<800xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<128xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: math.rsqrt
// CHECK: math.exp
// CHECK: scf.for
// CHECK: nvvm.rcp.approx.ftz.f
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store {{.*}} {alignment = 16 : i64} : memref<?x?xbf16>, vector<8xbf16>
func.func @pre_bf16(%x: tensor<?x4x?xbf16>, %phi: tensor<?x24xbf16>, %alpha: tensor<3xf32>,
                    %bias: tensor<24xf32>) -> (tensor<?x?xbf16>, tensor<?x4xf32>, tensor<?x4x4xf32>) {
  %hp, %hq, %m = mhc.coefficients %x, %phi, %alpha, %bias
      {eps = 2.0e-06 : f32, pre_eps = 1.0e-03 : f32, sinkhorn_iters = 7 : i64,
       sinkhorn_init = #mhc.sinkhorn_init<softmax>}
      : tensor<?x4x?xbf16>, tensor<?x24xbf16>, tensor<3xf32>, tensor<24xf32>
        -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  %y = mhc.pre %x, %hp : tensor<?x4x?xbf16>, tensor<?x4xf32> -> tensor<?x?xbf16>
  return %y, %hq, %m : tensor<?x?xbf16>, tensor<?x4xf32>, tensor<?x4x4xf32>
}

// -----

// f32 x with bf16 phi: tf32 m16n8k8 (phi widened, both rounded to tf32 to
// nearest); a static C needs no assert. n = 2: m = 8, one column tile.
// CHECK-LABEL: func.func @pre_tf32
// CHECK-NOT: cf.assert
// CHECK: gpu.launch_func @mhc_kernels::@mhc_proj_n2_xf32_pbf16_v4_t128
// CHECK: gpu.launch_func @mhc_kernels::@mhc_pre_n2_xf32_v4_t256
// CHECK: gpu.func @mhc_proj_n2_xf32_pbf16_v4_t128
// CHECK: vector.load {{.*}} : memref<?x?xf32>, vector<4xf32>
// CHECK: nvvm.convert.float.to.tf32 {{.*}} {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK: arith.extf {{.*}} : bf16 to f32
// CHECK-COUNT-2: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>, shape = #nvvm.shape<m = 16, n = 8, k = 8>
// CHECK-NOT: nvvm.mma.sync
func.func @pre_tf32(%x: tensor<?x2x64xf32>, %phi: tensor<128x8xbf16>, %alpha: tensor<3xf32>,
                    %bias: tensor<8xf32>) -> tensor<?x64xf32> {
  %hp, %hq, %m = mhc.coefficients %x, %phi, %alpha, %bias {eps = 1.0e-06 : f32}
      : tensor<?x2x64xf32>, tensor<128x8xbf16>, tensor<3xf32>, tensor<8xf32>
        -> tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32>
  %y = mhc.pre %x, %hp : tensor<?x2x64xf32>, tensor<?x2xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// A static C the vector kernels cannot take: a diagnostic, not a wrong
// answer (pre-portable.mlir: vector-width=1 takes it).
func.func @pre_bad_channels(%x: tensor<?x4x37xbf16>, %phi: tensor<148x24xbf16>, %alpha: tensor<3xf32>,
                            %bias: tensor<24xf32>) -> tensor<?x37xbf16> {
  // expected-error @+1 {{'mhc.fused_pre' op needs n * C to be a multiple of 32 and C of 8 for the vector kernels, got n = 4, C = 37 (vector-width=1 takes any C)}}
  %hp, %hq, %m = mhc.coefficients %x, %phi, %alpha, %bias {eps = 1.0e-06 : f32}
      : tensor<?x4x37xbf16>, tensor<148x24xbf16>, tensor<3xf32>, tensor<24xf32>
        -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  %y = mhc.pre %x, %hp : tensor<?x4x37xbf16>, tensor<?x4xf32> -> tensor<?x37xbf16>
  return %y : tensor<?x37xbf16>
}

// -----

// More streams than the tensor-core projection takes.
func.func @pre_many_streams(%x: tensor<?x12x64xf32>, %phi: tensor<768x168xf32>, %alpha: tensor<3xf32>,
                            %bias: tensor<168xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{'mhc.fused_pre' op has no GPU kernel for 12 streams (the tensor-core projection takes up to 8); --mhc-cpu-pipeline runs it}}
  %hp, %hq, %m = mhc.coefficients %x, %phi, %alpha, %bias {eps = 1.0e-06 : f32}
      : tensor<?x12x64xf32>, tensor<768x168xf32>, tensor<3xf32>, tensor<168xf32>
        -> tensor<?x12xf32>, tensor<?x12xf32>, tensor<?x12x12xf32>
  %y = mhc.pre %x, %hp : tensor<?x12x64xf32>, tensor<?x12xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
