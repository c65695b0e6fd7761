//===- MHCOps.cpp - mhc operations ----------------------------------------===//
//
// Verifiers and folders. The shape rules live in free functions that every op
// shares, so a rule has one wording wherever it applies.
//
//===----------------------------------------------------------------------===//

#include "mhc/Dialect/MHC/IR/MHC.h"
#include "mhc/Support/Reference.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace mlir::mhc;

//===----------------------------------------------------------------------===//
// Shared verification
//===----------------------------------------------------------------------===//

namespace {
/// The dimensions every mhc op agrees on. A dynamic one is
/// ShapedType::kDynamic.
struct LayerDims {
  int64_t batch;
  int64_t streams;
  int64_t channels;
};
} // namespace

static bool dimsConflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

static std::string dimString(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

static LogicalResult verifyPositiveFinite(Operation *op, StringRef name,
                                          float value) {
  if (!(value > 0.0f) || !std::isfinite(value))
    return op->emitOpError() << "requires '" << name
                             << "' to be positive and finite, got " << value;
  return success();
}

static LogicalResult verifyFinite(Operation *op, StringRef name, float value) {
  if (!std::isfinite(value))
    return op->emitOpError()
           << "requires '" << name << "' to be finite, got " << value;
  return success();
}

/// x : [B, n, C]. n must be static and at least 1; a static C at least 1.
static FailureOr<LayerDims> verifyStreams(Operation *op, StringRef name,
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
static LogicalResult verifyCoeffs(Operation *op, StringRef name,
                                  RankedTensorType type, int64_t streams) {
  if (type.getDimSize(0) != streams)
    return op->emitOpError()
           << "requires '" << name << "' to have one entry per stream ("
           << streams << "), got " << type;
  return success();
}

/// A mixing matrix or its logits: [n, n].
static LogicalResult verifyMatrix(Operation *op, StringRef name,
                                  RankedTensorType type, int64_t streams) {
  if (type.getDimSize(0) != streams || type.getDimSize(1) != streams)
    return op->emitOpError()
           << "requires '" << name << "' to be " << streams << "x" << streams
           << " (streams x streams), got " << type;
  return success();
}

/// A per-token row: [B, C], compatible with the streams' B and C.
static LogicalResult verifyRows(Operation *op, StringRef name,
                                RankedTensorType type, const LayerDims &dims) {
  if (dimsConflict(type.getDimSize(0), dims.batch) ||
      dimsConflict(type.getDimSize(1), dims.channels))
    return op->emitOpError()
           << "requires '" << name << "' to be " << dimString(dims.batch) << "x"
           << dimString(dims.channels)
           << " (tokens x channels, as the streams), got " << type;
  return success();
}

/// The RMSNorm weight: [C].
static LogicalResult verifyWeight(Operation *op, RankedTensorType type,
                                  int64_t channels) {
  if (dimsConflict(type.getDimSize(0), channels))
    return op->emitOpError() << "requires 'weight' to have one entry per "
                                "channel ("
                             << dimString(channels) << "), got " << type;
  return success();
}

static LogicalResult verifySquareLogits(Operation *op, RankedTensorType type) {
  int64_t n = type.getDimSize(0);
  if (ShapedType::isDynamic(n) || n < 1)
    return op->emitOpError()
           << "requires a static, non-empty square matrix, got " << type;
  return verifyMatrix(op, "logits", type, n);
}

//===----------------------------------------------------------------------===//
// StaticLayerOp
//===----------------------------------------------------------------------===//

LogicalResult StaticLayerOp::verify() {
  FailureOr<LayerDims> dims = verifyStreams(*this, "x", getX().getType());
  if (failed(dims))
    return failure();
  Operation *op = *this;
  if (failed(verifyMatrix(op, "h_res", getHRes().getType(), dims->streams)) ||
      failed(verifyCoeffs(op, "h_pre", getHPre().getType(), dims->streams)) ||
      failed(verifyCoeffs(op, "h_post", getHPost().getType(), dims->streams)) ||
      failed(verifyWeight(op, getWeight().getType(), dims->channels)))
    return failure();
  if (failed(verifyPositiveFinite(op, "eps", getEps().convertToFloat())) ||
      failed(verifyPositiveFinite(op, "sinkhorn_eps",
                                  getSinkhornEps().convertToFloat())))
    return failure();
  float preEps = getPreEps().convertToFloat();
  if (failed(verifyFinite(op, "pre_eps", preEps)))
    return failure();
  if (preEps < 0.0f)
    return emitOpError() << "requires 'pre_eps' to be non-negative, got "
                         << preEps;
  return success();
}

//===----------------------------------------------------------------------===//
// SinkhornOp
//===----------------------------------------------------------------------===//

LogicalResult SinkhornOp::verify() {
  if (failed(verifySquareLogits(*this, getLogits().getType())))
    return failure();
  return verifyPositiveFinite(*this, "eps", getEps().convertToFloat());
}

static ::mhc::reference::SinkhornInit toReference(SinkhornInit init) {
  return init == SinkhornInit::Exp ? ::mhc::reference::SinkhornInit::Exp
                                   : ::mhc::reference::SinkhornInit::Softmax;
}

/// Evaluates `fn` over the f32 values of a constant operand, in double, and
/// returns the result as a constant of the same type. Non-finite constants are
/// left alone so the runtime behaviour is what the user sees.
template <typename Fn>
static OpFoldResult foldConstant(Attribute operand, Fn &&fn) {
  auto dense = dyn_cast_if_present<DenseElementsAttr>(operand);
  if (!dense)
    return {};
  SmallVector<double> in;
  for (APFloat v : dense.getValues<APFloat>()) {
    if (!v.isFinite())
      return {};
    in.push_back(v.convertToDouble());
  }
  SmallVector<double> out(in.size());
  fn(in, out);
  SmallVector<APFloat> result;
  for (double v : out)
    result.push_back(APFloat(static_cast<float>(v)));
  return DenseElementsAttr::get(dense.getType(), result);
}

OpFoldResult SinkhornOp::fold(FoldAdaptor adaptor) {
  int64_t n = getLogits().getType().getDimSize(0);
  return foldConstant(adaptor.getLogits(), [&](ArrayRef<double> in,
                                               MutableArrayRef<double> out) {
    ::mhc::reference::sinkhorn<double>(in.data(), n, getIters(),
                                       toReference(getInit()),
                                       getEps().convertToDouble(), out.data());
  });
}

//===----------------------------------------------------------------------===//
// GateOp
//===----------------------------------------------------------------------===//

LogicalResult GateOp::verify() {
  if (getLogits().getType().getDimSize(0) == 0)
    return emitOpError("requires at least one stream");
  if (failed(verifyFinite(*this, "scale", getScale().convertToFloat())))
    return failure();
  return verifyFinite(*this, "bias", getBias().convertToFloat());
}

OpFoldResult GateOp::fold(FoldAdaptor adaptor) {
  double scale = getScale().convertToDouble();
  double bias = getBias().convertToDouble();
  return foldConstant(adaptor.getLogits(), [&](ArrayRef<double> in,
                                               MutableArrayRef<double> out) {
    for (size_t i = 0; i < in.size(); ++i)
      out[i] = ::mhc::reference::gate<double>(in[i], scale, bias);
  });
}

//===----------------------------------------------------------------------===//
// AggregateOp
//===----------------------------------------------------------------------===//

LogicalResult AggregateOp::verify() {
  FailureOr<LayerDims> dims = verifyStreams(*this, "x", getX().getType());
  if (failed(dims) ||
      failed(
          verifyCoeffs(*this, "coeffs", getCoeffs().getType(), dims->streams)))
    return failure();
  return verifyRows(*this, "result", getResult().getType(), *dims);
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  RankedTensorType type = getInput().getType();
  if (!ShapedType::isDynamic(type.getDimSize(1)) && type.getDimSize(1) < 1)
    return emitOpError() << "requires at least one channel, got " << type;
  if (failed(verifyWeight(*this, getWeight().getType(), type.getDimSize(1))))
    return failure();
  return verifyPositiveFinite(*this, "eps", getEps().convertToFloat());
}

//===----------------------------------------------------------------------===//
// MixOp
//===----------------------------------------------------------------------===//

LogicalResult MixOp::verify() {
  FailureOr<LayerDims> dims = verifyStreams(*this, "x", getX().getType());
  if (failed(dims))
    return failure();
  Operation *op = *this;
  if (failed(
          verifyMatrix(op, "matrix", getMatrix().getType(), dims->streams)) ||
      failed(verifyCoeffs(op, "coeffs", getCoeffs().getType(), dims->streams)))
    return failure();
  return verifyRows(op, "f", getF().getType(), *dims);
}

//===----------------------------------------------------------------------===//
// FusedLayerOp
//===----------------------------------------------------------------------===//

LogicalResult FusedLayerOp::verify() {
  if (getInputs().empty())
    return emitOpError("requires the streams 'x' as its first input");
  auto x = dyn_cast<RankedTensorType>(getInputs().front().getType());
  if (!x || x != getResult().getType())
    return emitOpError() << "requires the first input (the streams) to have "
                            "the result type "
                         << getResult().getType();
  return success();
}

LogicalResult FusedLayerOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getArgumentTypes() != getInputs().getTypes())
    return emitOpError(
        "requires one block argument per input, with the input's type");
  auto yield = cast<YieldOp>(body.getTerminator());
  if (yield.getValues().getTypes() != TypeRange(getResult().getType()))
    return emitOpError() << "requires the body to yield one value of type "
                         << getResult().getType();
  return success();
}

#define GET_OP_CLASSES
#include "mhc/Dialect/MHC/IR/MHCOps.cpp.inc"
