// The bundled example goes from mhc.static_layer to PTX in one command.
// RUN: mhc-opt %s --mhc-gpu-pipeline | FileCheck %s
// RUN: mhc-opt %s --mhc-gpu-pipeline="chip=sm_80 features=+ptx80" | FileCheck %s --check-prefix=SM80
// RUN: mhc-opt %s --mhc-gpu-pipeline="chip=sm_100 features=+ptx86" | FileCheck %s --check-prefix=SM100

// CHECK: gpu.binary @mhc_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// CHECK-SAME: assembly = "
// CHECK-SAME: .target sm_90
// CHECK-SAME: .entry mhc_fused_n4_c4096_v4_wbf16_t256
// CHECK-NOT: gpu.module
// SM80: .target sm_80
// SM100: .target sm_100
// RUN: rm -rf %t.cluster && mkdir -p %t.cluster
// RUN: mhc-opt %s --mhc-gpu-pipeline="cluster-row-split=1 output-prefix=%t.cluster/" > /dev/null
// RUN: FileCheck %s --input-file=%t.cluster/mhc_kernels_sm_90.ptx --check-prefix=PTXCL
// RUN: not mhc-opt %s --mhc-gpu-pipeline="chip=sm_80 cluster-row-split=1" 2>&1 | FileCheck %s --check-prefix=CLSM80
// The cluster kernel: a compile-time cluster of 4 blocks, two cluster
// barriers (arrive + wait each), the 4 block sums read through distributed
// shared memory. Before sm_90 there are no clusters: a diagnostic.
// PTXCL: .entry mhc_fused_n4_c4096_v4_wbf16_t256_k4(
// PTXCL: .explicitcluster
// PTXCL-NEXT: .reqnctapercluster 4, 1, 1
// PTXCL: barrier.cluster.arrive.aligned;
// PTXCL-NEXT: barrier.cluster.wait.aligned;
// PTXCL-COUNT-4: ld.shared::cluster.b32
// PTXCL-NOT: ld.shared::cluster
// PTXCL: barrier.cluster.arrive.aligned;
// PTXCL: st.global.v4.b32
// PTXCL: barrier.cluster.wait.aligned;
// CLSM80: error: 'mhc.fused_layer' op cluster-row-split needs thread-block clusters (sm_90 or newer); chip is sm_80
// The L2 bulk prefetch of the next row exists from sm_90 on: the pipeline
// drops it for older chips and keeps it for newer ones.
// SM80-NOT: cp.async.bulk.prefetch
// SM100: cp.async.bulk.prefetch.L2.global

// The PTX, written to a file, has 16-byte loads and stores and assembles.
// RUN: rm -rf %t && mkdir -p %t
// RUN: mhc-opt %s --mhc-gpu-pipeline="output-prefix=%t/" > /dev/null
// (The backend may place the row loop's stores before its loads in the text,
// so loads and stores are counted separately.)
// RUN: FileCheck %s --input-file=%t/mhc_kernels_sm_90.ptx --check-prefix=PTX
// RUN: FileCheck %s --input-file=%t/mhc_kernels_sm_90.ptx --check-prefix=PTXST
// RUN: FileCheck %s --input-file=%t/mhc_kernels_sm_90.ptx --check-prefix=PTXSH
// RUN: FileCheck %s --input-file=%t/mhc_kernels_sm_90.ptx --check-prefix=PTXRCP
// RUN: FileCheck %s --input-file=%t/mhc_kernels_sm_90.ptx --check-prefix=PTXMISS
// RUN: FileCheck %s --input-file=%t/mhc_kernels_sm_90.ptx --check-prefix=PTXNSMID
// RUN: mhc-opt %s --mhc-gpu-pipeline="output-prefix=%t/nomiss_ miss-prefetch-rows=0" > /dev/null
// RUN: FileCheck %s --input-file=%t/nomiss_mhc_kernels_sm_90.ptx --check-prefix=PTXPF
// RUN: FileCheck %s --input-file=%t/nomiss_mhc_kernels_sm_90.ptx --check-prefix=PTXNONSMID
// RUN: FileCheck %s --input-file=%t/mhc_kernels_sm_90.ptx --check-prefix=PTXCACHE
// RUN: mhc-opt %s --mhc-gpu-pipeline="chip=sm_80 features=+ptx80" | FileCheck %s --check-prefix=PTXCACHE
// RUN: mhc-opt %s --mhc-gpu-pipeline="output-prefix=%t/nopf_ prefetch-rows=0 miss-prefetch-rows=0" > /dev/null
// RUN: FileCheck %s --input-file=%t/nopf_mhc_kernels_sm_90.ptx --check-prefix=PTXNOPF
// RUN: FileCheck %s --input-file=%t/mhc_kernels_sm_90.ptx --check-prefix=PTXPDL
// RUN: FileCheck %s --input-file=%t.cluster/mhc_kernels_sm_90.ptx --check-prefix=PTXPDL
// RUN: mhc-opt %s --mhc-gpu-pipeline="output-prefix=%t/nopdl_ programmatic-launch=0" > /dev/null
// RUN: FileCheck %s --input-file=%t/nopdl_mhc_kernels_sm_90.ptx --check-prefix=PTXNOPDL
// Programmatic dependent launch (sm_90+): the kernel states that it waits
// (the runtime's condition for launching it with programmatic stream
// serialization) and waits before its first global memory access, then lets
// its dependents launch. Off, or before sm_90, neither instruction and the
// global says 0.
// PTXPDL: .visible .global .align 4 .u32 mhc_fused_n4_c4096_v4_wbf16_t256{{(_k4)?}}_programmatic_launch = 1;
// PTXPDL: .entry mhc_fused_n4_c4096_v4_wbf16_t256
// PTXPDL-NOT: {{ld|st|cp|atom|red}}.{{.*}}global
// PTXPDL: griddepcontrol.wait;
// PTXPDL-NEXT: griddepcontrol.launch_dependents;
// PTXPDL-NOT: griddepcontrol
// PTXNOPDL: .u32 mhc_fused_n4_c4096_v4_wbf16_t256_programmatic_launch;
// PTXNOPDL-NOT: griddepcontrol
// SM80-NOT: griddepcontrol
// The next row (65536 bytes) is prefetched into L2 once per row, after the
// row's reduction barrier (the prologue's barrier comes first), and the row
// arithmetic is fused multiply-adds (per thread and row: 16 x 4 lanes x 5
// for the outputs, 12 x 4 for the aggregation, 4 x 4 for the squares).
// PTXPF: bar.sync 0;
// PTXPF: bar.sync 0;
// PTXPF: mov.b32 %r[[SIZE:[0-9]+]], 65536;
// PTXPF: cp.async.bulk.prefetch.L2.global [%rd{{[0-9]+}}], %r[[SIZE]];
// PTXPF-NOT: cp.async.bulk.prefetch
// PTXNOPF-NOT: cp.async.bulk.prefetch
// With miss-prefetch-rows (1 for sm_90+), a second bulk prefetch of a
// whole row, on a cache miss before the Sinkhorn rounds; its stride needs
// %nsmid (one wave, where the grid has a block per row). The backend may
// place the miss branch after the row loop, so the two are counted.
// PTXMISS-COUNT-2: cp.async.bulk.prefetch.L2.global [%rd{{[0-9]+}}], %r{{[0-9]+}};
// PTXMISS-NOT: cp.async.bulk.prefetch
// PTXNSMID: mov.u32 %r{{[0-9]+}}, %nsmid;
// PTXNONSMID-NOT: %nsmid
// SM80-NOT: cp.async.bulk.prefetch
// The coefficient cache: relaxed GPU-scope loads and stores of the key, M'
// and the 64-bit seal (sm_70+, so sm_80 too), a warp vote; the check is on
// the contents, so no acquire, release or fence.
// PTXCACHE-DAG: ld.relaxed.gpu.global.b32
// PTXCACHE-DAG: ld.relaxed.gpu.global.b64
// PTXCACHE-DAG: vote.sync.any.pred
// PTXCACHE-DAG: st.relaxed.gpu.global.b32
// PTXCACHE-DAG: st.relaxed.gpu.global.b64
// PTXCACHE-NOT: ld.acquire
// PTXCACHE-NOT: st.release
// Each row is loaded by 16 16-byte loads per thread: once for the block's
// first row (before the prologue) and once in the loop for the next row.
// PTX: .visible .entry mhc_fused_n4_c4096_v4_wbf16_t256(
// PTX-NOT: call
// PTX-NOT: .local
// PTX-COUNT-32: ld.global.v4.b32
// PTX-NOT: ld.global.v4.b32
// PTXST-COUNT-16: st.global.v4.b32
// PTXST-NOT: st.global
// Shared arrays are 16-byte aligned: the backend forms 16-byte shared loads.
// (M', indexed by constants only, becomes scalars.) The weight is staged as
// f32 and read back with 16-byte shared loads.
// PTXSH: .shared .align 16 .b8 __wg_mhc_fused_n4_c4096_v4_wbf16_t256_3[64];
// PTXSH: .shared .align 16 .b8 __wg_mhc_fused_n4_c4096_v4_wbf16_t256_4[16384];
// PTXSH-COUNT-4: st.shared.v4.b32
// PTXSH-COUNT-4: ld.shared.v4.b32 {{.*}}[%rd{{[0-9]+}}{{(\+[0-9]+)?}}];
// Sinkhorn uses the approximate reciprocal (rcp.approx.ftz: one MUFU.RCP),
// every lane of warp 0 holding
// the whole matrix (sinkhorn-replicated-max-streams, 4 by default): 4 for
// the rows and 4 for the columns in the first round, then 8 per round in the
// loop over the remaining rounds, with no shuffle.
// PTXRCP-COUNT-8: rcp.approx.ftz.f32
// PTXRCP: $L__BB0_[[ROUNDS:[0-9]+]]:
// PTXRCP-COUNT-8: rcp.approx.ftz.f32
// PTXRCP-NOT: {{rcp|shfl}}
// PTXRCP: @%p{{[0-9]+}} bra {{.*}}$L__BB0_[[ROUNDS]];
func.func @static_layer(%x: tensor<?x4x4096xf32>, %h_res: tensor<4x4xf32>,
                        %h_pre: tensor<4xf32>, %h_post: tensor<4xf32>,
                        %weight: tensor<4096xbf16>) -> tensor<?x4x4096xf32> {
  %out = mhc.static_layer %x, %h_res, %h_pre, %h_post, %weight {eps = 1.0e-06 : f32}
      : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return %out : tensor<?x4x4096xf32>
}
