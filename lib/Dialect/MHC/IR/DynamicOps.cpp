//===- DynamicOps.cpp - verifiers of the dynamic-H ops --------------------===//
//
// mhc.coefficients, mhc.pre, mhc.post and mhc.dynamic_layer, with the rules
// of ShapeRules.h they share with the static ops.
//
//===----------------------------------------------------------------------===//

#include "ShapeRules.h"

#include "mhc/Dialect/MHC/IR/MHC.h"

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::detail;

/// The columns of the projection for n streams: pre (n), post (n), res (n^2).
static int64_t projectionWidth(int64_t streams) {
  return streams * streams + 2 * streams;
}

/// phi [n C, m], alpha [3] and bias [m], for the streams of `dims`.
static LogicalResult verifyProjection(Operation *op, RankedTensorType phi,
                                      RankedTensorType alpha,
                                      RankedTensorType bias,
                                      const LayerDims &dims) {
  int64_t m = projectionWidth(dims.streams);
  int64_t rows = ShapedType::isDynamic(dims.channels)
                     ? ShapedType::kDynamic
                     : dims.streams * dims.channels;
  if (dimsConflict(phi.getDimSize(0), rows) || phi.getDimSize(1) != m)
    return op->emitOpError()
           << "requires 'phi' to be " << dimString(rows) << "x" << m
           << " (streams * channels x streams^2 + 2 streams), got " << phi;
  if (alpha.getDimSize(0) != 3)
    return op->emitOpError()
           << "requires 'alpha' to hold the 3 scales (pre, post, res), got "
           << alpha;
  if (bias.getDimSize(0) != m)
    return op->emitOpError() << "requires 'bias' to have one entry per column "
                                "of 'phi' ("
                             << m << "), got " << bias;
  return success();
}

/// What mhc.coefficients and mhc.dynamic_layer check alike: the streams, the
/// projection, the coefficients' eps (named `epsName`), Sinkhorn's eps and
/// pre_eps.
static FailureOr<LayerDims>
verifyCoefficientInputs(Operation *op, RankedTensorType x, RankedTensorType phi,
                        RankedTensorType alpha, RankedTensorType bias,
                        StringRef epsName, float eps, float sinkhornEps,
                        float preEps) {
  FailureOr<LayerDims> dims = verifyStreams(op, "x", x);
  if (failed(dims) || failed(verifyProjection(op, phi, alpha, bias, *dims)) ||
      failed(verifyPositiveFinite(op, epsName, eps)) ||
      failed(verifySinkhornEps(op, sinkhornEps)) ||
      failed(verifyNonNegativeFinite(op, "pre_eps", preEps)))
    return failure();
  return dims;
}

LogicalResult CoefficientsOp::verify() {
  Operation *op = *this;
  FailureOr<LayerDims> dims = verifyCoefficientInputs(
      op, getX().getType(), getPhi().getType(), getAlpha().getType(),
      getBias().getType(), "eps", getEps().convertToFloat(),
      getSinkhornEps().convertToFloat(), getPreEps().convertToFloat());
  if (failed(dims) ||
      failed(verifyTokenCoeffs(op, "h_pre", getHPre().getType(), *dims)) ||
      failed(verifyTokenCoeffs(op, "h_post", getHPost().getType(), *dims)))
    return failure();
  return verifyTokenMatrices(op, "matrix", getMatrix().getType(), *dims);
}

LogicalResult PreOp::verify() {
  FailureOr<LayerDims> dims = verifyStreams(*this, "x", getX().getType());
  if (failed(dims) ||
      failed(verifyTokenCoeffs(*this, "h_pre", getHPre().getType(), *dims)) ||
      failed(verifyRows(*this, "y", getY().getType(), *dims)))
    return failure();
  if (getY().getType().getElementType() != getX().getType().getElementType())
    return emitOpError() << "requires 'y' to have the element type of 'x' ("
                         << getX().getType().getElementType() << "), got "
                         << getY().getType();
  return success();
}

LogicalResult PostOp::verify() {
  FailureOr<LayerDims> dims = verifyStreams(*this, "x", getX().getType());
  if (failed(dims))
    return failure();
  Operation *op = *this;
  if (failed(verifyRows(op, "f", getF().getType(), *dims)) ||
      failed(verifyTokenMatrices(op, "matrix", getMatrix().getType(), *dims)))
    return failure();
  return verifyTokenCoeffs(op, "h_post", getHPost().getType(), *dims);
}

LogicalResult DynamicLayerOp::verify() {
  Operation *op = *this;
  FailureOr<LayerDims> dims = verifyCoefficientInputs(
      op, getX().getType(), getPhi().getType(), getAlpha().getType(),
      getBias().getType(), "coefficient_eps",
      getCoefficientEps().convertToFloat(), getSinkhornEps().convertToFloat(),
      getPreEps().convertToFloat());
  if (failed(dims) ||
      failed(verifyWeight(op, getWeight().getType(), dims->channels)))
    return failure();
  return verifyPositiveFinite(op, "eps", getEps().convertToFloat());
}

FailureOr<std::pair<CoefficientsOp, PreOp>> FusedPreOp::getUnitOps() {
  Block &body = getBody().front();
  auto yield = cast<YieldOp>(body.getTerminator());
  if (yield.getValues().size() != 4)
    return failure();
  auto pre = yield.getValues()[0].getDefiningOp<PreOp>();
  auto coefficients = yield.getValues()[1].getDefiningOp<CoefficientsOp>();
  if (!pre || !coefficients ||
      !llvm::equal(coefficients->getResults(),
                   yield.getValues().drop_front()) ||
      pre.getHPre() != coefficients.getHPre() ||
      !llvm::equal(coefficients->getOperands(), body.getArguments()) ||
      pre.getX() != body.getArgument(0) ||
      body.getOperations().size() != 3)
    return failure();
  return std::make_pair(coefficients, pre);
}

LogicalResult FusedPreOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getArgumentTypes() != getOperandTypes())
    return emitOpError(
        "requires one block argument per input, with the input's type");
  auto yield = cast<YieldOp>(body.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError() << "requires the body to yield values of the "
                            "result types (y, h_pre, h_post, matrix)";
  if (failed(getUnitOps()))
    return emitOpError(
        "requires the body to be mhc.coefficients of the block arguments and "
        "mhc.pre of the first with its h_pre, yielding (y, h_pre, h_post, "
        "matrix)");
  return success();
}
