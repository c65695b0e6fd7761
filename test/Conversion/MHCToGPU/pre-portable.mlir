// RUN: mhc-opt %s --mhc-fuse --convert-mhc-to-gpu="vector-width=1" | FileCheck %s

// vector-width=1: the element-wise pre kernels take any C (here n C = 148,
// not a multiple of the step): no host assert; the projection covers
// ceil(n C / 32) steps, loading each element with a guard (zeros past the
// row and past B), phi's rows past n C as zeros; the pre kernel reads and
// writes one element at a time.
// CHECK-LABEL: func.func @pre_any_channels
// CHECK-NOT: cf.assert
// CHECK: gpu.launch_func @mhc_kernels::@mhc_proj_n4_xbf16_pbf16_v1_t128
// CHECK: gpu.launch_func @mhc_kernels::@mhc_pre_n4_xbf16_v1_t256
// CHECK: gpu.func @mhc_proj_n4_xbf16_pbf16_v1_t128
// CHECK: arith.ceildivui %{{.*}}, %c32
// CHECK: scf.for
// CHECK-NOT: vector.load
// CHECK: memref.load %{{.*}} : memref<?x?xbf16>
// CHECK: arith.select
// CHECK: vector.from_elements {{.*}} : vector<8xbf16>
// CHECK: nvvm.mma.sync
// CHECK: gpu.func @mhc_pre_n4_xbf16_v1_t256
// CHECK: vector.load {{.*}} : memref<?x4x?xbf16>, vector<1xbf16>
// CHECK: vector.store {{.*}} : memref<?x?xbf16>, vector<1xbf16>
func.func @pre_any_channels(%x: tensor<?x4x37xbf16>, %phi: tensor<148x24xbf16>, %alpha: tensor<3xf32>,
                            %bias: tensor<24xf32>) -> tensor<?x37xbf16> {
  %hp, %hq, %m = mhc.coefficients %x, %phi, %alpha, %bias {eps = 1.0e-06 : f32}
      : tensor<?x4x37xbf16>, tensor<148x24xbf16>, tensor<3xf32>, tensor<24xf32>
        -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  %y = mhc.pre %x, %hp : tensor<?x4x37xbf16>, tensor<?x4xf32> -> tensor<?x37xbf16>
  return %y : tensor<?x37xbf16>
}
