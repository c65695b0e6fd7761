//===- PostKernel.h - the dynamic-H post kernel -----------------*- C++ -*-===//
//
// The kernel convert-mhc-to-gpu emits for an mhc.post (contract:
// include/mhc/Contract/DynamicPost.h): its shape (PostShape), the gpu.func
// and the launch that replaces the op.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_CONVERSION_MHCTOGPU_POSTKERNEL_H
#define MHC_LIB_CONVERSION_MHCTOGPU_POSTKERNEL_H

#include "mhc/Contract/DynamicPost.h"
#include "mhc/Conversion/MHCToGPU/MHCToGPU.h"

#include "mlir/IR/BuiltinTypes.h"

namespace mlir::mhc::gpu_lowering {

namespace post = ::mhc::contract::dynamic_post;

/// The static shape of one post kernel.
struct PostShape {
  int64_t streams; // ShapedType::kDynamic: n taken from x at run time.
  Type activation; // x and out
  Type sublayer;   // f
  int64_t vector;  // elements per vector access
  int64_t threads;

  /// The kernel for an mhc.post over `x` and `f` under `options`: n static
  /// up to `max-unrolled-streams` (stream loops unrolled), else taken at run
  /// time; `vector-width` f32-sized accesses of x (twice as many bf16
  /// elements; 1: one element of either type), halved until it divides a
  /// static C; `threads-per-block` threads.
  static PostShape get(RankedTensorType x, RankedTensorType f,
                       const ConvertMHCToGPUOptions &options);

  bool unrolled() const { return !ShapedType::isDynamic(streams); }
  post::Variant variant() const;
  std::string kernelName() const { return post::kernelName(variant()); }
};

/// Patterns that lower mhc.post to the post kernel and its launch.
void populatePostToGPUPatterns(RewritePatternSet &patterns,
                               const ConvertMHCToGPUOptions &options);

} // namespace mlir::mhc::gpu_lowering

#endif // MHC_LIB_CONVERSION_MHCTOGPU_POSTKERNEL_H
