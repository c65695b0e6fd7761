//===- Passes.td - mhc conversion passes -------------------*- tablegen -*-===//

#ifndef MHC_CONVERSION_PASSES_TD
#define MHC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertMHCToGPU : Pass<"convert-mhc-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower mhc.fused_layer, mhc.fused_pre and mhc.post to GPU "
                "kernels and their launches";
  let description = [{
    Turns every `mhc.fused_layer` into a `gpu.func` kernel in the
    `gpu.module @mhc_kernels` and a `gpu.launch_func` on buffers of its
    operands. The kernel is emitted already outlined, because its name and
    parameter list are the contract the runtime launches
    (include/mhc/Contract/FusedLayer.h): `(x, h_res, h_pre, h_post, weight,
    out : memref, eps, sinkhorn_addend, pre_scale, pre_bias, post_scale,
    post_bias : f32, sinkhorn_iters, transposed : i32, cache :
    memref<?xi32>)`. Every convention of the layer is a scalar parameter, so
    one kernel per (n, C, weight type, block size) serves all of them.
    `cache` is the coefficient cache (`coefficient-cache`): given the words
    the contract's layout takes, the kernel memoizes M' there across blocks
    and launches; the launch this pass emits passes an empty one.

    Mapping: a block of `threads-per-block` threads per token row, in a
    grid-stride loop over rows (or, with `cluster-row-split`, a cluster of
    blocks per row). The prologue runs once per block: for
    n <= `max-unrolled-streams`, warp 0 runs Sinkhorn on the n x n matrix in
    registers (one approximate reciprocal per line), threads 32..32+n compute
    the gates meanwhile, and M' and the gates are published in shared memory
    behind one barrier; for larger n, thread i owns row i then column i in
    shared memory. Each thread owns the channel chunks
    `c = (k * threads + tid) * vector-width` and accesses them with
    `vector-width`-wide loads and stores that state their alignment. When C
    is static and the row fits in `max-row-registers` floats per thread, the
    row is loaded once into registers (the block's first row before the
    prologue, each next row after the current one is stored, alternating
    warp partials: one barrier per row), and the weight is staged in shared
    memory; otherwise the row is read twice (sum of squares, then output).
    With more than `max-unrolled-streams` streams, the stream loops stay
    loops (the code would grow as n^2). The row reduction is a warp
    butterfly (`gpu.shuffle xor`) and one shared-memory exchange summed in
    warp order: fixed order, no atomics, bit-identical results run to run.

    Features of sm_90 and newer (the L2 bulk prefetches, programmatic
    dependent launch, clusters) follow `chip`: for older chips the prefetches
    and programmatic launch are left out and `cluster-row-split` is an error.
    docs/DESIGN.md maps each part of the kernel to the file that emits it.

    `mhc.post` (dynamic H, include/mhc/Contract/DynamicPost.h) becomes a
    kernel `(x, f, matrix, h_post, out : memref, transposed : i32)` per
    (n, activation type, sublayer-output type, vector, block size), C taken
    at run time: tiles of `threads-per-block` x V columns of one row, blocks
    looping over the tiles with the grid's stride; each thread loads the
    token's n^2 + n coefficients, its V columns of f and of every stream
    once, and stores every output stream once (f32 sums in stream order,
    one rounding). V is 16 bytes of x (`vector-width` f32 or twice as many
    bf16; 1 element at `vector-width=1`); n above `max-unrolled-streams` is
    read from x at run time with the stream loops rolled.

    `mhc.fused_pre` (dynamic H, include/mhc/Contract/DynamicPre.h) becomes
    two kernels: the projection of the tokens' flattened streams onto phi as
    a split-K GEMM on tensor cores (`nvvm.mma.sync`: bf16 m16n8k16 when x
    and phi are bf16, else tf32 m16n8k8 with operands rounded to nearest),
    64-token tiles of 4 warps, each block one K slice, writing its partial
    logits and sums of squares into a partials buffer [splits, B, m + 1]
    (no atomics); then the pre kernel, which per group of 32 tokens sums
    the partials in slice order, computes r, the gates and Sinkhorn (one
    token per lane of warp 0, in registers) and writes h_pre, h_post, M and
    y. n is at most 8. The vector kernels need n C a multiple of the
    projection's step (32 for bf16, 16 for tf32) and C of the 16-byte
    vector: a static shape that is not gets a diagnostic, a dynamic C a
    host-side `cf.assert`; `vector-width=1` gives element-wise kernels that
    take any C.

    All other mhc ops are illegal: run `--mhc-decompose --mhc-fuse` first
    (an `mhc.coefficients` or `mhc.pre` outside a pre unit gets a
    diagnostic naming the CPU pipeline).
  }];
  let options = [
    Option<"chip", "chip", "std::string", "\"sm_90\"",
           "Target chip (sm_80, sm_90, sm_100, ...): which features the "
           "kernels may use">,
    Option<"threadsPerBlock", "threads-per-block", "int64_t", "256",
           "Threads per block (a multiple of 32); an enclosing op's "
           "mhc.threads_per_block takes precedence">,
    Option<"vectorWidth", "vector-width", "int64_t", "4",
           "Widest f32 vector per access (1, 2 or 4); narrowed to divide C">,
    Option<"maxRowRegisters", "max-row-registers", "int64_t", "128",
           "Most floats of x per thread to keep the row in registers">,
    Option<"maxUnrolledStreams", "max-unrolled-streams", "int64_t", "8",
           "Most streams for which the stream loops are unrolled; more streams "
           "use loops, coefficients in shared memory, and re-read x">,
    Option<"sinkhornReplicatedMaxStreams", "sinkhorn-replicated-max-streams",
           "int64_t", "4",
           "With unrolled streams, largest n for which every lane of warp 0 "
           "holds the whole n x n matrix and runs the Sinkhorn rounds on it "
           "(no shuffle in a round), where the block's row in registers and "
           "2 n^2 floats take at most three quarters of the registers per "
           "thread min-blocks-per-sm leaves; otherwise lane i holds row i "
           "and columns are summed by butterflies. Both give the same bits "
           "(bench/NOTES.md, attempt 34)">,
    Option<"minBlocksPerSM", "min-blocks-per-sm", "int64_t", "-1",
           "Blocks per SM the register allocation must allow "
           "(nvvm.minctasm); 0 leaves registers unconstrained; -1 "
           "(automatic): 2 where the row is held in registers (not split "
           "over a cluster) in a quarter to a half of the registers per "
           "thread that two blocks get, min(max-row-registers, "
           "64K / (2 x threads)), else unconstrained">,
    Option<"prefetchRows", "prefetch-rows", "int64_t", "1",
           "With the row in registers and 16-byte vectors (sm_90+), thread 0 "
           "asks for the block's row `prefetch-rows` rows ahead to be brought "
           "into L2 (one cp.async.bulk.prefetch per row), after the current "
           "row's reduction; 0 disables">,
    Option<"prefetchMaxRowBytes", "prefetch-max-row-bytes", "int64_t",
           "114688",
           "Rows of x larger than this many bytes are not prefetched (0: no "
           "limit)">,
    Option<"prefetchEarlyMaxRowBytes", "prefetch-early-max-row-bytes",
           "int64_t", "32768",
           "Rows of x of at most this many bytes are prefetched at the start "
           "of the row's loop iteration instead: a small row reaches its "
           "reduction too soon after its loads for a prefetch issued there "
           "to lead by much (0: none)">,
    Option<"missPrefetchRows", "miss-prefetch-rows", "int64_t", "1",
           "With the row in registers and 16-byte vectors (sm_90+), when "
           "warp 0 is about to run the Sinkhorn rounds (a cache miss, or "
           "every call without the cache), its first thread asks for the "
           "block's next this many rows to be brought into L2 (one "
           "cp.async.bulk.prefetch each): grid strides apart where the "
           "blocks loop, else %nsmid x max(min-blocks-per-sm, 1) rows apart "
           "(one wave). The block's warps wait on the rounds with their rows "
           "in registers, so the DRAM would otherwise idle (bench/NOTES.md, "
           "attempt 39); 0 disables">,
    Option<"clusterRowSplit", "cluster-row-split", "bool", "false",
           "One thread-block cluster per row (sm_90+; for small batches): "
           "block k of the cluster holds chunk k of every thread's row "
           "chunks, and the blocks exchange their sums of squares through "
           "distributed shared memory. Needs a static C whose row is held in "
           "registers in 2..8 chunks per thread">,
    Option<"coefficientCache", "coefficient-cache", "bool", "true",
           "Memoize M' across blocks and launches in the kernel's `cache` "
           "parameter (the runtime's workspace; layout in the kernel contract): warp 0 "
           "compares the key (kernel, Sinkhorn addend and rounds, "
           "orientation, H_res bits) and its 64-bit seal with the cached "
           "ones and on a match loads M' instead of running the rounds; on "
           "a miss it publishes the M' it computed, the seal last. A cache "
           "memref with fewer words disables it at run time">,
    Option<"programmaticLaunch", "programmatic-launch", "bool", "true",
           "Programmatic dependent launch (sm_90+): the kernel waits for the "
           "grids it depends on (griddepcontrol.wait) before its first "
           "global memory access and then lets its own dependents launch "
           "(griddepcontrol.launch_dependents), so a launch with programmatic "
           "stream serialization overlaps the kernel's start with the end of "
           "the kernel before it. Both are no-ops under an ordinary launch. "
           "The kernel states which it is in the i32 global "
           "`<kernel>_programmatic_launch` (1 or 0)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::gpu::GPUDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"
  ];
}

def ConvertMHCToLinalg : Pass<"convert-mhc-to-linalg"> {
  let summary = "Lower the mhc parts to linalg on tensors";
  let description = [{
        Lowers `mhc.sinkhorn` (on one matrix or one per token), `mhc.gate`,
    `mhc.aggregate`, `mhc.rms_norm`, `mhc.mix`, and the dynamic-H ops
    `mhc.coefficients`, `mhc.pre` and `mhc.post` to `linalg.generic` /
    `linalg.fill` on tensors (Sinkhorn's rounds as an `scf.for`; every
    reduction in index order, in f32, bf16 activations widened on load and
    rounded once on store), the portable path that runs on a CPU and
    composes with linalg-based compilers. An `mhc.fused_layer` is inlined and
    its parts lowered the same way. `mhc.static_layer` and
    `mhc.dynamic_layer` are decomposed first by `--mhc-decompose`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // MHC_CONVERSION_PASSES_TD
