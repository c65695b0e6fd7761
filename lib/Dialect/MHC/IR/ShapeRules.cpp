//===- ShapeRules.cpp - the shape and attribute rules of the mhc ops ------===//

#include "ShapeRules.h"

#include <cmath>

using namespace mlir;

namespace mlir::mhc::detail {

bool dimsConflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

std::string dimString(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

LogicalResult verifyPositiveFinite(Operation *op, StringRef name, float value) {
  if (!(value > 0.0f) || !std::isfinite(value))
    return op->emitOpError() << "requires '" << name
                             << "' to be positive and finite, got " << value;
  return success();
}

LogicalResult verifyFinite(Operation *op, StringRef name, float value) {
  if (!std::isfinite(value))
    return op->emitOpError()
           << "requires '" << name << "' to be finite, got " << value;
  return success();
}

/// x : [B, n, C]. n must be static and at least 1; a static C at least 1.
FailureOr<LayerDims> verifyStreams(Operation *op, StringRef name,
                                   RankedTensorType type) {
  LayerDims dims{type.getDimSize(0), type.getDimSize(1), type.getDimSize(2)};
  if (ShapedType::isDynamic(dims.streams))
    return op->emitOpError() << "requires the stream count (dimension 1 of '"
                             << name << "') to be static, got " << type;
  if (dims.streams < 1)
    return op->emitOpError() << "requires at least one stream (dimension 1 of '"
                             << name << "'), got " << dims.streams;
  if (!ShapedType::isDynamic(dims.channels) && dims.channels < 1)
    return op->emitOpError()
           << "requires at least one channel (dimension 2 of '" << name
           << "'), got " << dims.channels;
  return dims;
}

/// A coefficient vector: [n].
LogicalResult verifyCoeffs(Operation *op, StringRef name, RankedTensorType type,
                           int64_t streams) {
  if (type.getDimSize(0) != streams)
    return op->emitOpError()
           << "requires '" << name << "' to have one entry per stream ("
           << streams << "), got " << type;
  return success();
}

/// A mixing matrix or its logits: [n, n].
LogicalResult verifyMatrix(Operation *op, StringRef name, RankedTensorType type,
                           int64_t streams) {
  if (type.getDimSize(0) != streams || type.getDimSize(1) != streams)
    return op->emitOpError()
           << "requires '" << name << "' to be " << streams << "x" << streams
           << " (streams x streams), got " << type;
  return success();
}

/// A per-token row: [B, C], compatible with the streams' B and C.
LogicalResult verifyRows(Operation *op, StringRef name, RankedTensorType type,
                         const LayerDims &dims) {
  if (dimsConflict(type.getDimSize(0), dims.batch) ||
      dimsConflict(type.getDimSize(1), dims.channels))
    return op->emitOpError()
           << "requires '" << name << "' to be " << dimString(dims.batch) << "x"
           << dimString(dims.channels)
           << " (tokens x channels, as the streams), got " << type;
  return success();
}

/// The RMSNorm weight: [C].
LogicalResult verifyWeight(Operation *op, RankedTensorType type,
                           int64_t channels) {
  if (dimsConflict(type.getDimSize(0), channels))
    return op->emitOpError() << "requires 'weight' to have one entry per "
                                "channel ("
                             << dimString(channels) << "), got " << type;
  return success();
}

LogicalResult verifySquareLogits(Operation *op, StringRef name,
                                 RankedTensorType type) {
  int64_t rank = type.getRank();
  int64_t n = type.getDimSize(rank - 1);
  if (ShapedType::isDynamic(n) || n < 1 || type.getDimSize(rank - 2) != n)
    return op->emitOpError()
           << "requires '" << name
           << "' to be a static, non-empty square matrix (n x n, or one per "
              "token: B x n x n), got "
           << type;
  return success();
}

LogicalResult verifyNonNegativeFinite(Operation *op, StringRef name,
                                      float value) {
  if (failed(verifyFinite(op, name, value)))
    return failure();
  if (value < 0.0f)
    return op->emitOpError()
           << "requires '" << name << "' to be non-negative, got " << value;
  return success();
}

LogicalResult verifyTokenCoeffs(Operation *op, StringRef name,
                                RankedTensorType type, const LayerDims &dims) {
  if (dimsConflict(type.getDimSize(0), dims.batch) ||
      type.getDimSize(1) != dims.streams)
    return op->emitOpError()
           << "requires '" << name << "' to be " << dimString(dims.batch) << "x"
           << dims.streams << " (tokens x streams), got " << type;
  return success();
}

LogicalResult verifyTokenMatrices(Operation *op, StringRef name,
                                  RankedTensorType type,
                                  const LayerDims &dims) {
  if (dimsConflict(type.getDimSize(0), dims.batch) ||
      type.getDimSize(1) != dims.streams || type.getDimSize(2) != dims.streams)
    return op->emitOpError()
           << "requires '" << name << "' to be " << dimString(dims.batch) << "x"
           << dims.streams << "x" << dims.streams
           << " (tokens x streams x streams), got " << type;
  return success();
}

LogicalResult verifySinkhornEps(Operation *op, float sinkhornEps) {
  return verifyPositiveFinite(op, "sinkhorn_eps", sinkhornEps);
}

} // namespace mlir::mhc::detail
