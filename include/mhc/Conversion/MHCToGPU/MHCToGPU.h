//===- MHCToGPU.h - mhc to gpu conversion -----------------------*- C++ -*-===//

#ifndef MHC_CONVERSION_MHCTOGPU_MHCTOGPU_H
#define MHC_CONVERSION_MHCTOGPU_MHCTOGPU_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace mhc {

#define GEN_PASS_DECL_CONVERTMHCTOGPU
#include "mhc/Conversion/Passes.h.inc"

/// Name of the gpu.module that holds the fused kernels.
inline constexpr llvm::StringLiteral kKernelModuleName = "mhc_kernels";

/// Patterns that lower mhc.fused_layer to a gpu.func and its gpu.launch_func,
/// with the kernel mapping of the pass's options (Passes.td).
void populateMHCToGPUPatterns(RewritePatternSet &patterns,
                              const ConvertMHCToGPUOptions &options);

} // namespace mhc
} // namespace mlir

#endif // MHC_CONVERSION_MHCTOGPU_MHCTOGPU_H
