//===- MHCToGPU.h - mhc to gpu conversion -----------------------*- C++ -*-===//

#ifndef MHC_CONVERSION_MHCTOGPU_MHCTOGPU_H
#define MHC_CONVERSION_MHCTOGPU_MHCTOGPU_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace mhc {

#define GEN_PASS_DECL_CONVERTMHCTOGPU
#include "mhc/Conversion/Passes.h.inc"

/// The kernel mapping choices of the GPU lowering.
struct FusedKernelOptions {
  int64_t threadsPerBlock = 256;
  int64_t vectorWidth = 4;
  int64_t maxRowRegisters = 128;
  int64_t maxUnrolledStreams = 8;
  int64_t minBlocksPerSM = 0;
  bool pipelineRows = false;
  bool stageWeights = true;
  bool coefficientsInRegisters = true;
  bool doubleBufferRows = false;
  bool fuseMultiplyAdd = true;
  int64_t prefetchRows = 0;
  int64_t prefetchMaxRowBytes = 114688;
  bool prefetchAfterReduction = true;
  bool clusterRowSplit = false;
};

/// Name of the gpu.module that holds the fused kernels.
inline constexpr llvm::StringLiteral kKernelModuleName = "mhc_kernels";

/// Patterns that lower mhc.fused_layer to a gpu.func and its gpu.launch_func.
void populateMHCToGPUPatterns(RewritePatternSet &patterns,
                              const FusedKernelOptions &options);

} // namespace mhc
} // namespace mlir

#endif // MHC_CONVERSION_MHCTOGPU_MHCTOGPU_H
