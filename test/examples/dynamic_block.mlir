// The dynamic-H block example: the pre unit forms around the coefficients
// and the pre, the sublayer's call stays between the units, and the GPU
// pipeline emits its three kernels (test/Pipelines/ptxas.test assembles
// the same kernels from the runtime's library).
// RUN: mhc-opt --mhc-fuse %mhc_src_root/examples/dynamic_block.mlir | FileCheck %s --check-prefix=UNITS
// RUN: rm -rf %t && mkdir -p %t
// RUN: mhc-opt %mhc_src_root/examples/dynamic_block.mlir --mhc-gpu-pipeline="output-prefix=%t/" | FileCheck %s --check-prefix=HOST
// RUN: FileCheck %s --check-prefix=PTX < %t/mhc_kernels_sm_90.ptx

// UNITS: %[[Y:[^,]*]], %{{[^,]*}}, %[[HQ:[^,]*]], %[[M:[^ ]*]] = mhc.fused_pre ins(%arg0, %arg1, %arg2, %arg3
// UNITS: mhc.coefficients
// UNITS-NEXT: mhc.pre
// UNITS: %[[F:.*]] = call @sublayer(%[[Y]])
// UNITS-NEXT: mhc.post %arg0, %[[F]], %[[M]], %[[HQ]] {orientation = #mhc.orientation<transposed>}

// HOST: gpu.launch_func @mhc_kernels::@mhc_proj_n4_xbf16_pbf16_v8_t128
// HOST: gpu.launch_func @mhc_kernels::@mhc_pre_n4_xbf16_v8_t256
// HOST: call @sublayer
// HOST: gpu.launch_func @mhc_kernels::@mhc_post_n4_xbf16_fbf16_v8_t256
// HOST: gpu.binary @mhc_kernels

// PTX-DAG: .visible .entry mhc_proj_n4_xbf16_pbf16_v8_t128(
// PTX-DAG: .visible .entry mhc_pre_n4_xbf16_v8_t256(
// PTX-DAG: .visible .entry mhc_post_n4_xbf16_fbf16_v8_t256(
// PTX-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
