// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu | FileCheck %s
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="max-unrolled-streams=16" | FileCheck %s --check-prefix=UNROLL

// n = 16 > max-unrolled-streams: the stream loops stay loops, so x is loaded
// at three places in the code (aggregate for the sum of squares, aggregate
// for the output, the mixing loop), each inside a loop over the streams.
// CHECK: gpu.func @mhc_fused_n16_c1000_v4_wbf16_t256
// CHECK: scf.for %[[ROW:.*]] = %block_id_x
// CHECK: scf.for %[[I:.*]] = %c0{{.*}} to %c16
// CHECK: vector.load %{{.*}}[%[[ROW]], %[[I]], %{{.*}}] {alignment = 16 : i64}
// CHECK: gpu.shuffle
// CHECK: scf.for %[[I2:.*]] = %c0{{.*}} to %c16
// CHECK: vector.load %{{.*}}[%[[ROW]], %[[I2]], %{{.*}}] {alignment = 16 : i64}
// CHECK: scf.for %[[OI:.*]] = %c0{{.*}} to %c16
// CHECK: scf.for %[[J:.*]] = %c0{{.*}} to %c16
// CHECK: vector.load %{{.*}}[%[[ROW]], %[[J]], %{{.*}}] {alignment = 16 : i64}
// CHECK: vector.store %{{.*}}, %{{.*}}[%[[ROW]], %[[OI]], %{{.*}}] {alignment = 16 : i64}
// CHECK-NOT: vector.load
// CHECK: gpu.return
// With max-unrolled-streams=16 the same layer is unrolled: no loop over the
// streams, the block's first row loaded as 16 vectors (one chunk of each
// stream) before the prologue, which runs in warp 0's registers.
// UNROLL: gpu.func @mhc_fused_n16_c1000_v4_wbf16_t256
// UNROLL-NOT: to %c16
// UNROLL-COUNT-16: vector.load %{{.*}}[%block_id_x, %c{{[0-9_]+}}, %{{.*}}] {alignment = 16 : i64}
// UNROLL: nvvm.rcp.approx.ftz.f
// UNROLL-NOT: to %c16
// UNROLL: gpu.return
func.func @layer(%x: tensor<?x16x1000xf32>, %hr: tensor<16x16xf32>, %hp: tensor<16xf32>,
    %hq: tensor<16xf32>, %w: tensor<1000xbf16>) -> tensor<?x16x1000xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x16x1000xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<1000xbf16>
  return %0 : tensor<?x16x1000xf32>
}
