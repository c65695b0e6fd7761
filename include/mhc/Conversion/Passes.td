//===- Passes.td - mhc conversion passes -------------------*- tablegen -*-===//

#ifndef MHC_CONVERSION_PASSES_TD
#define MHC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertMHCToGPU : Pass<"convert-mhc-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower mhc.fused_layer to one GPU kernel and its launch";
  let description = [{
    Turns every `mhc.fused_layer` into a `gpu.func` kernel in the
    `gpu.module @mhc_kernels` and a `gpu.launch_func` on buffers of its
    operands. The kernel is emitted already outlined, because its parameter
    list is the ABI the runtime launches: `(x, h_res, h_pre, h_post, weight,
    out : memref, eps, sinkhorn_addend, pre_scale, pre_bias, post_scale,
    post_bias : f32, sinkhorn_iters, transposed : i32, cache :
    memref<?xi32>)`. Every convention of the layer is a scalar parameter, so
    one kernel per (n, C, weight type) serves all of them. `cache` is the
    coefficient cache (`coefficient-cache`): with at least 6 + 2 n^2 words
    the kernel memoizes M' there across blocks and launches; the launch this
    pass emits passes an empty one.

    Mapping: a block of `threads-per-block` threads per token row, in a
    grid-stride loop over rows. The prologue runs once per block: for
    n <= `max-unrolled-streams`, warp 0 runs Sinkhorn on the n x n matrix in
    registers (approximate reciprocal per line), threads 32..32+n compute the
    gates meanwhile, and M' and the gates are published in shared memory
    behind one barrier; for larger n, thread i owns row i then column i in
    shared memory. Each
    thread owns the channel chunks `c = (k * threads + tid) * vector-width`
    and accesses them with `vector-width`-wide loads and stores that state
    their alignment. When C is static and the row fits in
    `max-row-registers` floats per thread, the row is loaded once into
    registers; otherwise it is read twice (sum of squares, then output).
    With the row in registers, the block's first row and the weight are
    loaded before the prologue, each loop iteration loads the next row after
    storing the current one, and consecutive rows use alternating warp
    partials (one barrier per row).
    With `stage-rows`, rows reach registers through shared memory instead:
    the kernel's dynamic shared memory holds that many row buffers, filled by
    bulk copies (TMA) that complete on one mbarrier per buffer, so the next
    rows are on their way while the block reduces, mixes and stores the
    current one. Every kernel states the dynamic shared memory it needs (0
    without staged rows) as the i32 global `<kernel>_dynamic_shared_bytes`,
    and its launch passes that amount.
    With more than `max-unrolled-streams` streams, the stream loops stay
    loops (the code would grow as n^2) and the row streams.
    The row reduction is a warp butterfly (`gpu.shuffle xor`) and one
    shared-memory exchange summed in warp order: fixed order, no atomics,
    bit-identical results run to run.

    All other mhc ops are illegal: run `--mhc-decompose --mhc-fuse` first.
  }];
  let options = [
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
           "and columns are summed by "
           "butterflies. Both give the same bits (bench/NOTES.md, attempt "
           "34)">,
    Option<"sinkhornFtzReciprocal", "sinkhorn-ftz-reciprocal", "bool",
           "true",
           "With unrolled streams, the Sinkhorn rounds multiply by "
           "rcp.approx.ftz (one MUFU.RCP) of each divisor of at least the "
           "smallest normal float and leave a line with a smaller divisor "
           "as it is, instead of rcp.approx of each positive divisor "
           "(denormal and range checks around the MUFU.RCP; the reciprocal "
           "of a denormal divisor can overflow, and the next round then "
           "gives NaN). Same bits for divisors up to 2^126 (bench/NOTES.md, "
           "attempt 35)">,
    Option<"sinkhornRowsPerLane", "sinkhorn-rows-per-lane", "int64_t", "1",
           "Where the Sinkhorn rounds are not replicated, each lane of warp 0 "
           "holds this many rows of the matrix (a power of two, at most the "
           "next power of two >= n): a column is summed within the lane "
           "first, so a round takes log2 of that fewer shuffles. The same "
           "bits for every value (bench/NOTES.md, attempt 38)">,
    Option<"sinkhornNewtonReciprocal", "sinkhorn-newton-reciprocal", "bool",
           "false",
           "With sinkhorn-ftz-reciprocal, each reciprocal of the rounds is "
           "an integer estimate refined by three Newton steps (fused "
           "multiply-adds) instead of the MUFU.RCP (bench/NOTES.md, "
           "attempt 37)">,
    Option<"latePrologueWarpRow", "late-prologue-warp-row", "bool", "false",
           "With the row in registers and the prologue in registers, warp 0 "
           "asks for its part of the block's first row after its prologue "
           "(the cache lookup and, on a miss, the Sinkhorn rounds) instead "
           "of before it: a warp's own loads in flight slow each of its "
           "dependent shuffles and reciprocals (bench/queue_probe.cu; "
           "bench/NOTES.md, attempt 36)">,
    Option<"minBlocksPerSM", "min-blocks-per-sm", "int64_t", "-1",
           "Blocks per SM the register allocation must allow "
           "(nvvm.minctasm); 0 leaves registers unconstrained; -1 "
           "(automatic): 2 where the row is held in registers (not split "
           "over a cluster, not staged) in a quarter to a half of the "
           "registers per thread that two blocks get, min(max-row-registers, "
           "64K / (2 x threads)), else unconstrained">,
    Option<"pipelineRows", "pipeline-rows", "bool", "false",
           "With the row in registers, load each chunk of the block's next "
           "row as the same chunk of the current row is stored">,
    Option<"stageWeights", "stage-weights", "bool", "true",
           "With the row in registers, copy the weight (as f32) into shared "
           "memory once per block instead of loading it from global memory "
           "after every row's reduction">,
    Option<"coefficientsInRegisters", "coefficients-in-registers", "bool",
           "true",
           "With unrolled streams, hold M', s_pre and s_post in registers for "
           "the whole kernel (n^2 + 2n of them); false reads them from shared "
           "memory where used">,
    Option<"doubleBufferRows", "double-buffer-rows", "bool", "false",
           "When two rows of x fit in max-row-registers floats per thread, "
           "load the block's next row before the current row's reduction, so "
           "its loads are in flight during the reduction and the stores">,
    Option<"fuseMultiplyAdd", "fuse-multiply-add", "bool", "true",
           "Emit the row arithmetic's multiply-adds (aggregation, sum of "
           "squares, mixing) as fused multiply-adds (one rounding each); "
           "false keeps separately rounded multiplies and adds">,
    Option<"mixBeforeBarrier", "mix-before-barrier", "bool", "false",
           "With the row in registers, each warp computes sum_j M'[i][j] x_j "
           "(the part of the outputs the RMS does not scale) after it has "
           "published its part of the row's sum of squares and before the "
           "block's barrier, instead of after it: a block's warps wait at "
           "that barrier for the last warp's loads. The same bits "
           "(bench/NOTES.md, attempt 41)">,
    Option<"prefetchRows", "prefetch-rows", "int64_t", "0",
           "With the row in registers and 16-byte vectors, thread 0 asks for "
           "the block's row `prefetch-rows` rows ahead to be brought into L2 "
           "(one cp.async.bulk.prefetch per row, sm_90+); 0 disables">,
    Option<"prefetchMaxRowBytes", "prefetch-max-row-bytes", "int64_t",
           "114688",
           "Rows of x larger than this many bytes are not prefetched (0: no "
           "limit)">,
    Option<"prefetchAfterReduction", "prefetch-after-reduction", "bool",
           "true",
           "Issue each row's prefetch after its reduction instead of at the "
           "start of the row's loop iteration">,
    Option<"prefetchEarlyMaxRowBytes", "prefetch-early-max-row-bytes",
           "int64_t", "32768",
           "With prefetch-after-reduction, rows of x of at most this many "
           "bytes are still prefetched at the start of the row's loop "
           "iteration: a small row reaches its reduction too soon after its "
           "loads for a prefetch issued there to lead by much (0: none)">,
    Option<"prefetchNextWave", "prefetch-next-wave", "bool", "false",
           "With prefetch-rows, where a block has no next row (the grid has "
           "a block per row), the row it prefetches is the one a block of "
           "the next wave will take instead: this row + %nsmid x "
           "max(min-blocks-per-sm, 1), an estimate of the blocks resident "
           "at once (bench/NOTES.md, attempt 39)">,
    Option<"missPrefetchRows", "miss-prefetch-rows", "int64_t", "0",
           "With the row in registers and 16-byte vectors (sm_90+), when "
           "warp 0 is about to run the Sinkhorn rounds (a cache miss, or "
           "every call without the cache), its first thread asks for the "
           "block's next this many rows to be brought into L2 (one "
           "cp.async.bulk.prefetch each): grid strides or, with a block per "
           "row, waves apart as in prefetch-next-wave. The block's warps "
           "wait on the rounds with their rows in registers, so the DRAM "
           "would otherwise idle (1 in the GPU pipeline for sm_90+; "
           "bench/NOTES.md, attempt 39); 0 disables">,
    Option<"clusterRowSplit", "cluster-row-split", "bool", "false",
           "One thread-block cluster per row (sm_90+; for small batches): "
           "block k of the cluster holds chunk k of every thread's row "
           "chunks, and the blocks exchange their sums of squares through "
           "distributed shared memory. Needs a static C whose row is held in "
           "registers in 2..8 chunks per thread">,
    Option<"stageRows", "stage-rows", "int64_t", "0",
           "With the row in registers and 16-byte vectors, keep up to this "
           "many of the block's rows in flight through shared memory (sm_90+): "
           "thread 0 brings each row in with one cp.async.bulk copy that "
           "completes on an mbarrier, the block moves the row into registers, "
           "and after the row's reduction the buffer is refilled with the row "
           "`stage-rows` rows ahead. Fewer buffers are used when "
           "max-shared-memory-bytes cannot hold them; replaces prefetch-rows, "
           "pipeline-rows and double-buffer-rows. 0 disables">,
    Option<"stageCopyBytes", "stage-copy-bytes", "int64_t", "0",
           "With stage-rows, bring a row in as bulk copies of at most this "
           "many bytes (a multiple of 16), all completing on the row's "
           "mbarrier; 0: one copy per row">,
    Option<"maxSharedMemoryBytes", "max-shared-memory-bytes", "int64_t",
           "232448",
           "Shared memory one block may use, static and dynamic (227 KiB on "
           "sm_90); bounds stage-rows">,
    Option<"coefficientCache", "coefficient-cache", "bool", "true",
           "Memoize M' across blocks and launches in the kernel's `cache` "
           "parameter (the runtime's workspace, 6 + 2 n^2 i32 words): warp 0 "
           "compares the key (kernel, Sinkhorn addend and rounds, "
           "orientation, H_res bits) and its 64-bit seal with the cached "
           "ones and on a match loads M' instead of running the rounds; on "
           "a miss it publishes the M' it computed, the seal last. A cache "
           "memref with fewer words disables it at run time">,
    Option<"earlyCacheLookup", "early-cache-lookup", "bool", "false",
           "With coefficient-cache, warp 0 prefetches into L2 the lines its "
           "prologue reads (the cache entry, H_res, h_pre, h_post) at the "
           "kernel's start, before the block requests its first row, so the "
           "lookup does not wait in DRAM behind the row's bytes and a miss "
           "starts its rounds while the row is loading (sm_90+; measured "
           "in bench/NOTES.md, attempt 33)">,
    Option<"programmaticLaunch", "programmatic-launch", "bool", "false",
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
    "::mlir::gpu::GPUDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"
  ];
}

def ConvertMHCToLinalg : Pass<"convert-mhc-to-linalg"> {
  let summary = "Lower the mhc parts to linalg on tensors";
  let description = [{
    Lowers `mhc.sinkhorn`, `mhc.gate`, `mhc.aggregate`, `mhc.rms_norm` and
    `mhc.mix` to `linalg.generic` / `linalg.fill` on tensors (Sinkhorn's
    rounds as an `scf.for`), the portable path that runs on a CPU and
    composes with linalg-based compilers. An `mhc.fused_layer` is inlined and
    its parts lowered the same way. `mhc.static_layer` is decomposed first by
    `--mhc-decompose`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // MHC_CONVERSION_PASSES_TD
