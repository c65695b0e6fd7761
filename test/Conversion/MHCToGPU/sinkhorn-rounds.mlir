// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="sinkhorn-replicated-max-streams=0" -split-input-file | FileCheck %s --check-prefix=ROWS
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu -split-input-file | FileCheck %s --check-prefix=REPL
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="sinkhorn-replicated-max-streams=3" -split-input-file | FileCheck %s --check-prefix=ROWS
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="threads-per-block=512 min-blocks-per-sm=2" -split-input-file | FileCheck %s --check-prefix=BUDGET
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="threads-per-block=896" -split-input-file | FileCheck %s --check-prefix=ROOM
// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu -split-input-file | FileCheck %s --check-prefix=FTZ

// The Sinkhorn rounds of warp 0 in registers, n = 4.
// By rows (sinkhorn-replicated-max-streams below n): lane i holds row i (4 exps), a round normalizes the
// lane's row with one reciprocal and each column with a butterfly across the
// lanes (two shuffles for width 4) and a reciprocal; lane i stores row i.
// (The gates' exps come first, in the second warp.)
// ROWS-LABEL: gpu.func @mhc_fused_n4_c1280
// ROWS: arith.maximumf
// ROWS-COUNT-4: math.exp
// ROWS-NOT: math.exp
// ROWS: scf.for %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32) {
// ROWS-COUNT-5: nvvm.rcp.approx.ftz.f %{{.*}} : f32
// ROWS: gpu.shuffle  xor
// ROWS: scf.yield %{{.*}} : f32, f32, f32, f32
//
// Replicated: every lane exponentiates all 16 entries and runs each round
// on the whole matrix, 4 row and 4 column reciprocals and no shuffle; lane 0
// stores M' (M^T when transposed).
// REPL-LABEL: gpu.func @mhc_fused_n4_c1280
// REPL: arith.maximumf
// REPL-COUNT-16: math.exp
// REPL-NOT: math.exp
// REPL: scf.for %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// REPL-COUNT-8: nvvm.rcp.approx.ftz.f %{{.*}} : f32
// REPL-NOT: gpu.shuffle
// REPL-NOT: nvvm.rcp.approx
// REPL: scf.yield
// REPL: %[[LANE0:.*]] = arith.cmpi eq, %{{.*}}, %c0
// REPL-NEXT: scf.if %[[LANE0]] {
// REPL-COUNT-16: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<16xf32, #gpu.address_space<workgroup>>
//
// The row held in registers during the rounds and two copies of the matrix
// may take three quarters of the register share: at 512 threads and two
// blocks per SM (64 registers) C = 1280 holds 16 floats (16 + 32 <= 48:
// replicated), C = 4096 holds 32 (32 + 32 > 48: by rows). At 896 threads
// without a budget (73 registers) C = 4096 holds 32 (64 > 54: by rows;
// it did not spill, but its misses were slower, bench/NOTES.md attempt
// 34); C = 1280 there asks for two blocks (36 registers: by rows).
// BUDGET-LABEL: gpu.func @mhc_fused_n4_c1280
// BUDGET: arith.maximumf
// BUDGET-COUNT-16: math.exp
// BUDGET-LABEL: gpu.func @mhc_fused_n4_c4096
// BUDGET: arith.maximumf
// BUDGET-COUNT-4: math.exp
// BUDGET-NOT: math.exp
// BUDGET: gpu.shuffle  xor
// ROOM-LABEL: gpu.func @mhc_fused_n4_c1280
// ROOM: arith.maximumf
// ROOM-COUNT-4: math.exp
// ROOM-NOT: math.exp
// ROOM: gpu.shuffle  xor
// ROOM-LABEL: gpu.func @mhc_fused_n4_c4096
// ROOM: arith.maximumf
// ROOM-COUNT-4: math.exp
// ROOM-NOT: math.exp
// ROOM: gpu.shuffle  xor
// A round's reciprocal: the bare rcp.approx.ftz of a divisor of at least the
// smallest normal float, else 1, which leaves the line as it is (no afn
// division: rcp.approx adds range checks; bench/NOTES.md, attempt 35).
// FTZ-LABEL: gpu.func @mhc_fused_n4_c1280
// FTZ: scf.for
// FTZ: %[[MIN:.*]] = arith.constant 1.17549435E-38 : f32
// FTZ-NEXT: %[[NORMAL:.*]] = arith.cmpf oge, %[[D:.*]], %[[MIN]] : f32
// FTZ-NEXT: %[[R:.*]] = nvvm.rcp.approx.ftz.f %[[D]] : f32
// FTZ-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// FTZ-NEXT: arith.select %[[NORMAL]], %[[R]], %[[ONE]] : f32
// FTZ-NOT: fastmath<afn>

func.func @n4(%x: tensor<?x4x1280xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<1280xbf16>) -> tensor<?x4x1280xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x1280xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<1280xbf16>
  return %0 : tensor<?x4x1280xf32>
}

// -----

func.func @n4(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %0 : tensor<?x4x4096xf32>
}
