//===- MHCOps.cpp - mhc operations ----------------------------------------===//
//
// Verifiers and folders of the static layer and its parts. The shape rules
// live in ShapeRules.h, shared with the dynamic-H ops (DynamicOps.cpp), so a
// rule has one wording wherever it applies.
//
//===----------------------------------------------------------------------===//

#include "ShapeRules.h"

#include "mhc/Dialect/MHC/IR/MHC.h"
#include "mhc/Support/Reference.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::detail;

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
  return verifyNonNegativeFinite(op, "pre_eps", getPreEps().convertToFloat());
}

//===----------------------------------------------------------------------===//
// SinkhornOp
//===----------------------------------------------------------------------===//

LogicalResult SinkhornOp::verify() {
  if (failed(verifySquareLogits(*this, "logits", getLogits().getType())))
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
  RankedTensorType type = getLogits().getType();
  if (type.getRank() != 2)
    return {};
  int64_t n = type.getDimSize(0);
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
