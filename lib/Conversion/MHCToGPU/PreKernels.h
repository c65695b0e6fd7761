//===- PreKernels.h - the dynamic-H pre kernels -----------------*- C++ -*-===//
//
// The two kernels convert-mhc-to-gpu emits for an mhc.fused_pre (contract:
// include/mhc/Contract/DynamicPre.h): the split-K projection on tensor
// cores (PreProjection.cpp) and the per-token pre (PreKernels.cpp), and the
// launches that replace the unit.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_CONVERSION_MHCTOGPU_PREKERNELS_H
#define MHC_LIB_CONVERSION_MHCTOGPU_PREKERNELS_H

#include "KernelContract.h"

#include "mhc/Contract/DynamicPre.h"
#include "mhc/Conversion/MHCToGPU/MHCToGPU.h"
#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::mhc::gpu_lowering {

namespace dpre = ::mhc::contract::dynamic_pre;

/// The static shape of a pre unit's kernels.
struct PreShape {
  int64_t streams;
  Type activation; // x and y
  Type projection; // phi
  int64_t vector;  // elements per vector access of the pre kernel
  int64_t threads; // of the pre kernel
  bool portable;   // element-wise, guarded accesses: any C

  /// The kernels for x and phi under `options`: `vector-width=1` gives the
  /// portable kernels (element-wise accesses, any C), anything else the
  /// vector ones (16-byte accesses of x and y, rows of whole steps).
  static PreShape get(RankedTensorType x, RankedTensorType phi,
                      const ConvertMHCToGPUOptions &options);
  bool bf16Multiply() const {
    return dpre::bf16Multiply(activation.isBF16(), projection.isBF16());
  }
  dpre::ProjectionVariant projectionVariant() const;
  /// phi is the contract's Weight, x and y its Activation.
  ContractElements elements() const;
  dpre::PreVariant preVariant() const;
};

/// The projection kernel of `shape` in the kernel module (PreProjection.cpp).
gpu::GPUFuncOp getOrCreateProjectionKernel(ModuleOp module,
                                           const PreShape &shape, Location loc);
/// The pre kernel of `shape` in the kernel module (PreKernels.cpp).
gpu::GPUFuncOp getOrCreatePreKernel(ModuleOp module, const PreShape &shape,
                                    Location loc);

/// Whether the kernels take the unit (n up to dpre::kMaxStreams; for the
/// vector kernels a static C whose rows are whole steps and vectors); a
/// diagnostic if not.
LogicalResult verifyPreUnitLowerable(FusedPreOp op,
                                     const ConvertMHCToGPUOptions &options);

/// Patterns that lower mhc.fused_pre to its two kernels and launches.
void populatePreToGPUPatterns(RewritePatternSet &patterns,
                              const ConvertMHCToGPUOptions &options);

} // namespace mlir::mhc::gpu_lowering

#endif // MHC_LIB_CONVERSION_MHCTOGPU_PREKERNELS_H
