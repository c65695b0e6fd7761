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

/// Every kernel states how many bytes of dynamic shared memory it needs (0
/// for most) in the i32 global `<kernel name><kDynamicSharedBytesSuffix>` of
/// the kernel module; the runtime reads it when it loads the kernel.
inline constexpr llvm::StringLiteral kDynamicSharedBytesSuffix =
    "_dynamic_shared_bytes";

/// Every kernel states whether it waits for the grids it depends on
/// (`programmatic-launch`: 1, else 0) in the i32 global
/// `<kernel name><kProgrammaticLaunchSuffix>`; the runtime launches it with
/// programmatic stream serialization only when it does.
inline constexpr llvm::StringLiteral kProgrammaticLaunchSuffix =
    "_programmatic_launch";

/// Patterns that lower mhc.fused_layer to a gpu.func and its gpu.launch_func,
/// with the kernel mapping of the pass's options (Passes.td).
void populateMHCToGPUPatterns(RewritePatternSet &patterns,
                              const ConvertMHCToGPUOptions &options);

} // namespace mhc
} // namespace mlir

#endif // MHC_CONVERSION_MHCTOGPU_MHCTOGPU_H
