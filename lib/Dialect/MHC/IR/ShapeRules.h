//===- ShapeRules.h - the shape and attribute rules of the mhc ops -*- C++
//-*-===//
//
// The rules the verifiers of the static (MHCOps.cpp) and dynamic-H
// (DynamicOps.cpp) ops share, one function per rule, so each rule has one
// wording wherever it applies. Each emits the op's error and fails.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_DIALECT_MHC_IR_SHAPERULES_H
#define MHC_LIB_DIALECT_MHC_IR_SHAPERULES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

namespace mlir::mhc::detail {

/// The dimensions every mhc op agrees on. A dynamic one is
/// ShapedType::kDynamic.
struct LayerDims {
  int64_t batch;
  int64_t streams;
  int64_t channels;
};

/// Two dimensions that are both static and differ.
bool dimsConflict(int64_t a, int64_t b);
std::string dimString(int64_t d);

LogicalResult verifyPositiveFinite(Operation *op, StringRef name, float value);
LogicalResult verifyFinite(Operation *op, StringRef name, float value);
/// Finite and >= 0.
LogicalResult verifyNonNegativeFinite(Operation *op, StringRef name,
                                      float value);

/// x : [B, n, C]. n must be static and at least 1; a static C at least 1.
FailureOr<LayerDims> verifyStreams(Operation *op, StringRef name,
                                   RankedTensorType type);
/// A coefficient vector: [n].
LogicalResult verifyCoeffs(Operation *op, StringRef name, RankedTensorType type,
                           int64_t streams);
/// A mixing matrix or its logits: [n, n].
LogicalResult verifyMatrix(Operation *op, StringRef name, RankedTensorType type,
                           int64_t streams);
/// A per-token row: [B, C], compatible with the streams' B and C.
LogicalResult verifyRows(Operation *op, StringRef name, RankedTensorType type,
                         const LayerDims &dims);
/// The RMSNorm weight: [C].
LogicalResult verifyWeight(Operation *op, RankedTensorType type,
                           int64_t channels);
/// Sinkhorn's logits: a static, non-empty [n, n], or [B, n, n] per token.
LogicalResult verifySquareLogits(Operation *op, StringRef name,
                                 RankedTensorType type);
/// Per-token coefficients: [B, n], compatible with the streams' B.
LogicalResult verifyTokenCoeffs(Operation *op, StringRef name,
                                RankedTensorType type, const LayerDims &dims);
/// Per-token matrices: [B, n, n], compatible with the streams' B.
LogicalResult verifyTokenMatrices(Operation *op, StringRef name,
                                  RankedTensorType type, const LayerDims &dims);
/// The Sinkhorn attributes every op that runs it carries.
LogicalResult verifySinkhornEps(Operation *op, float sinkhornEps);

} // namespace mlir::mhc::detail

#endif // MHC_LIB_DIALECT_MHC_IR_SHAPERULES_H
