//===- Pipelines.h - mhc named pipelines ------------------------*- C++ -*-===//

#ifndef MHC_PIPELINES_PIPELINES_H
#define MHC_PIPELINES_PIPELINES_H

#include "mhc/Conversion/MHCToGPU/MHCToGPU.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace mhc {

/// The GPU lowering's own defaults (Passes.td); the pipeline repeats its
/// options with these, except prefetch-rows, miss-prefetch-rows and
/// programmatic-launch, which it turns on for sm_90+.
inline const ConvertMHCToGPUOptions kLoweringDefaults{};

/// mhc ops -> one fused kernel per layer -> NVVM -> PTX / cubin / fatbin.
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("Target chip (sm_80, sm_90, sm_100, ...)"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features (+ptx80 or newer)"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<unsigned> optLevel{
      *this, "opt-level", llvm::cl::desc("LLVM optimization level for NVPTX"),
      llvm::cl::init(3)};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Object format: isa (PTX text), bin (cubin) or fatbin; "
                     "bin and fatbin need ptxas"),
      llvm::cl::init("isa")};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit", llvm::cl::desc("CUDA Toolkit root (libdevice, ptxas)"),
      llvm::cl::init(MHC_DEFAULT_CUDA_HOME)};
  PassOptions::Option<int64_t> threadsPerBlock{
      *this, "threads-per-block", llvm::cl::desc("Threads per block"),
      llvm::cl::init(kLoweringDefaults.threadsPerBlock)};
  PassOptions::Option<int64_t> vectorWidth{
      *this, "vector-width", llvm::cl::desc("Widest f32 vector per access"),
      llvm::cl::init(kLoweringDefaults.vectorWidth)};
  PassOptions::Option<int64_t> maxRowRegisters{
      *this, "max-row-registers",
      llvm::cl::desc("Most floats of x per thread to keep the row on chip"),
      llvm::cl::init(kLoweringDefaults.maxRowRegisters)};
  PassOptions::Option<int64_t> maxUnrolledStreams{
      *this, "max-unrolled-streams",
      llvm::cl::desc("Most streams with unrolled stream loops"),
      llvm::cl::init(kLoweringDefaults.maxUnrolledStreams)};
  PassOptions::Option<int64_t> sinkhornReplicatedMaxStreams{
      *this, "sinkhorn-replicated-max-streams",
      llvm::cl::desc("Largest n whose Sinkhorn rounds run on the whole "
                     "matrix in every lane of warp 0"),
      llvm::cl::init(kLoweringDefaults.sinkhornReplicatedMaxStreams)};
  PassOptions::Option<bool> sinkhornFtzReciprocal{
      *this, "sinkhorn-ftz-reciprocal",
      llvm::cl::desc("Sinkhorn rounds by rcp.approx.ftz of normal divisors"),
      llvm::cl::init(kLoweringDefaults.sinkhornFtzReciprocal)};
  PassOptions::Option<int64_t> sinkhornRowsPerLane{
      *this, "sinkhorn-rows-per-lane",
      llvm::cl::desc("Rows of the Sinkhorn matrix per lane of warp 0 where "
                     "the rounds are not replicated"),
      llvm::cl::init(kLoweringDefaults.sinkhornRowsPerLane)};
  PassOptions::Option<bool> sinkhornNewtonReciprocal{
      *this, "sinkhorn-newton-reciprocal",
      llvm::cl::desc("Sinkhorn reciprocals by Newton steps, not MUFU.RCP"),
      llvm::cl::init(kLoweringDefaults.sinkhornNewtonReciprocal)};
  PassOptions::Option<bool> latePrologueWarpRow{
      *this, "late-prologue-warp-row",
      llvm::cl::desc("Warp 0 loads its part of the first row after its "
                     "prologue"),
      llvm::cl::init(kLoweringDefaults.latePrologueWarpRow)};
  PassOptions::Option<int64_t> minBlocksPerSM{
      *this, "min-blocks-per-sm",
      llvm::cl::desc("Blocks per SM the register allocation must allow "
                     "(0: unconstrained, -1: automatic)"),
      llvm::cl::init(kLoweringDefaults.minBlocksPerSM)};
  PassOptions::Option<bool> pipelineRows{
      *this, "pipeline-rows",
      llvm::cl::desc("Load the next row while storing the current one"),
      llvm::cl::init(kLoweringDefaults.pipelineRows)};
  PassOptions::Option<bool> stageWeights{
      *this, "stage-weights",
      llvm::cl::desc("Keep the weight in shared memory (row in registers)"),
      llvm::cl::init(kLoweringDefaults.stageWeights)};
  PassOptions::Option<bool> coefficientsInRegisters{
      *this, "coefficients-in-registers",
      llvm::cl::desc("Hold the mixing coefficients in registers (small n)"),
      llvm::cl::init(kLoweringDefaults.coefficientsInRegisters)};
  PassOptions::Option<bool> doubleBufferRows{
      *this, "double-buffer-rows",
      llvm::cl::desc("Load the next row before the current row's reduction "
                     "when two rows fit in max-row-registers"),
      llvm::cl::init(kLoweringDefaults.doubleBufferRows)};
  PassOptions::Option<bool> fuseMultiplyAdd{
      *this, "fuse-multiply-add",
      llvm::cl::desc("Fused multiply-adds in the row arithmetic"),
      llvm::cl::init(kLoweringDefaults.fuseMultiplyAdd)};
  PassOptions::Option<bool> mixBeforeBarrier{
      *this, "mix-before-barrier",
      llvm::cl::desc("Mix the streams before the row's RMS barrier"),
      llvm::cl::init(kLoweringDefaults.mixBeforeBarrier)};
  PassOptions::Option<int64_t> prefetchRows{
      *this, "prefetch-rows",
      llvm::cl::desc("Bulk-prefetch the block's row this many rows ahead "
                     "into L2 (0: off; sm_90 and newer)"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> prefetchMaxRowBytes{
      *this, "prefetch-max-row-bytes",
      llvm::cl::desc("Rows larger than this are not prefetched (0: no limit)"),
      llvm::cl::init(kLoweringDefaults.prefetchMaxRowBytes)};
  PassOptions::Option<bool> clusterRowSplit{
      *this, "cluster-row-split",
      llvm::cl::desc("One thread-block cluster per row (sm_90+)"),
      llvm::cl::init(kLoweringDefaults.clusterRowSplit)};
  PassOptions::Option<bool> prefetchAfterReduction{
      *this, "prefetch-after-reduction",
      llvm::cl::desc("Prefetch after the row's reduction, not at its start"),
      llvm::cl::init(kLoweringDefaults.prefetchAfterReduction)};
  PassOptions::Option<int64_t> prefetchEarlyMaxRowBytes{
      *this, "prefetch-early-max-row-bytes",
      llvm::cl::desc("With prefetch-after-reduction, rows of at most this "
                     "many bytes are prefetched at their start (0: none)"),
      llvm::cl::init(kLoweringDefaults.prefetchEarlyMaxRowBytes)};
  PassOptions::Option<bool> prefetchNextWave{
      *this, "prefetch-next-wave",
      llvm::cl::desc("With a block per row, prefetch the row one wave later"),
      llvm::cl::init(kLoweringDefaults.prefetchNextWave)};
  PassOptions::Option<int64_t> missPrefetchRows{
      *this, "miss-prefetch-rows",
      llvm::cl::desc("Rows of the block's next (grid strides or waves "
                     "apart) prefetched while warp 0 runs the Sinkhorn "
                     "rounds (0: off; sm_90 and newer)"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> stageRows{
      *this, "stage-rows",
      llvm::cl::desc("Rows kept in flight through shared memory by bulk "
                     "copies (0: off; sm_90 and newer)"),
      llvm::cl::init(kLoweringDefaults.stageRows)};
  PassOptions::Option<int64_t> stageCopyBytes{
      *this, "stage-copy-bytes",
      llvm::cl::desc("Largest bulk copy of a staged row (0: the whole row)"),
      llvm::cl::init(kLoweringDefaults.stageCopyBytes)};
  PassOptions::Option<int64_t> maxSharedMemoryBytes{
      *this, "max-shared-memory-bytes",
      llvm::cl::desc("Shared memory one block may use (bounds stage-rows)"),
      llvm::cl::init(kLoweringDefaults.maxSharedMemoryBytes)};
  PassOptions::Option<bool> coefficientCache{
      *this, "coefficient-cache",
      llvm::cl::desc("Memoize M' in the kernel's cache parameter"),
      llvm::cl::init(kLoweringDefaults.coefficientCache)};
  PassOptions::Option<bool> earlyCacheLookup{
      *this, "early-cache-lookup",
      llvm::cl::desc("Prefetch the lines of the coefficient cache lookup "
                     "into L2 before the block's first row (sm_90 and "
                     "newer)"),
      llvm::cl::init(kLoweringDefaults.earlyCacheLookup)};
  PassOptions::Option<bool> programmaticLaunch{
      *this, "programmatic-launch",
      llvm::cl::desc("Wait for the grids the kernel depends on and let its "
                     "dependents launch early (griddepcontrol; sm_90 and "
                     "newer)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> outputPrefix{
      *this, "output-prefix",
      llvm::cl::desc("When set, write each kernel binary to "
                     "<prefix><module>_<chip>.<ptx|cubin|fatbin>"),
      llvm::cl::init("")};
};

/// mhc ops -> linalg -> loops -> LLVM dialect, runnable with mlir-runner.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {};

void buildGPUPipeline(OpPassManager &pm, const GPUPipelineOptions &options);
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Registers --mhc-gpu-pipeline and --mhc-cpu-pipeline.
void registerPipelines();

} // namespace mhc
} // namespace mlir

#endif // MHC_PIPELINES_PIPELINES_H
