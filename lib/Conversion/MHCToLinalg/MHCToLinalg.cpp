//===- MHCToLinalg.cpp - mhc parts -> linalg on tensors -------------------===//
//
// The portable lowering: every part becomes linalg.generic ops on tensors.
// Reductions run in index order, so the CPU result does not depend on
// scheduling. This file has the pass and the static layer's parts;
// SinkhornToLinalg.cpp the Sinkhorn rounds, DynamicToLinalg.cpp the dynamic-H
// ops; LinalgBuilders.h what they share.
//
//===----------------------------------------------------------------------===//

#include "LinalgBuilders.h"

#include "mhc/Conversion/ConversionUtils.h"
#include "mhc/Conversion/MHCToLinalg/MHCToLinalg.h"
#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::mhc {
#define GEN_PASS_DEF_CONVERTMHCTOLINALG
#include "mhc/Conversion/Passes.h.inc"
} // namespace mlir::mhc

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::linalg_lowering;

namespace {
//===----------------------------------------------------------------------===//
// Gate, aggregate, RMSNorm, mix
//===----------------------------------------------------------------------===//

struct GateToLinalg : OpRewritePattern<GateOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GateOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MLIRContext *ctx = b.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    Value scale = arith::ConstantOp::create(
        b, b.getF32FloatAttr(op.getScale().convertToFloat()));
    Value bias = arith::ConstantOp::create(
        b, b.getF32FloatAttr(op.getBias().convertToFloat()));
    Value result = generic(
        b, op.getLogits(),
        tensor::EmptyOp::create(b, type.getShape(), b.getF32Type()),
        {map(ctx, 1, {0}), map(ctx, 1, {0})}, {par},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
          Value one = arith::ConstantOp::create(nb, nb.getF32FloatAttr(1));
          Value e = math::ExpOp::create(nb, arith::NegFOp::create(nb, a[0]));
          Value s =
              arith::DivFOp::create(nb, one, arith::AddFOp::create(nb, one, e));
          return arith::AddFOp::create(nb, arith::MulFOp::create(nb, scale, s),
                                       bias);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct AggregateToLinalg : OpRewritePattern<AggregateOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AggregateOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    rewriter.replaceOp(op, aggregateStreams(b, op.getX(), op.getCoeffs(), {2}));
    return success();
  }
};

struct RMSNormToLinalg : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RMSNormOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MLIRContext *ctx = b.getContext();
    Value y = op.getInput();
    auto type = cast<RankedTensorType>(y.getType());
    Type f32 = b.getF32Type();
    Value sums = rowSumOfSquares(b, y);
    Value channels = tensor::DimOp::create(b, y, 1);
    Value count = arith::UIToFPOp::create(
        b, f32, arith::IndexCastUIOp::create(b, b.getI64Type(), channels));
    Value eps = arith::ConstantOp::create(
        b, b.getF32FloatAttr(op.getEps().convertToFloat()));
    Value result = generic(
        b, {y, sums, op.getWeight()},
        emptyTensor(b, type.getShape(), f32, y, {0, 1}),
        {map(ctx, 2, {0, 1}), map(ctx, 2, {0}), map(ctx, 2, {1}),
         map(ctx, 2, {0, 1})},
        {par, par}, [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
          Value mean = arith::DivFOp::create(nb, a[1], count);
          Value inv =
              math::RsqrtOp::create(nb, arith::AddFOp::create(nb, mean, eps));
          Value w = a[2];
          if (!w.getType().isF32())
            w = arith::ExtFOp::create(nb, nb.getF32Type(), w);
          return arith::MulFOp::create(nb, arith::MulFOp::create(nb, a[0], inv),
                                       w);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct MixToLinalg : OpRewritePattern<MixOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MixOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    bool transposed = op.getOrientation() == MixOrientation::Transposed;
    rewriter.replaceOp(
        op, mixStreams(b, op.getX(), op.getMatrix(),
                       mixMatrixDims(transposed, /*perToken=*/false),
                       op.getCoeffs(), {1}, op.getF()));
    return success();
  }
};

/// A fused unit (mhc.fused_layer, mhc.fused_pre) has no loop nest of its own
/// on the CPU: its body (the parts) is inlined in place of it, and the parts
/// are lowered like any others.
template <typename UnitOp>
struct FusedUnitToParts : OpRewritePattern<UnitOp> {
  using OpRewritePattern<UnitOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(UnitOp op,
                                PatternRewriter &rewriter) const override {
    Block &body = op.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    SmallVector<Value> results(yield.getValues());
    rewriter.inlineBlockBefore(&body, op, op->getOperands());
    rewriter.replaceOp(op, results);
    rewriter.eraseOp(yield);
    return success();
  }
};

struct ConvertMHCToLinalgPass
    : mhc::impl::ConvertMHCToLinalgBase<ConvertMHCToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMHCToLinalgPatterns(patterns);
    if (failed(applyMHCConversion(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::mhc::populateMHCToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<GateToLinalg, AggregateToLinalg, RMSNormToLinalg, MixToLinalg,
               FusedUnitToParts<FusedLayerOp>, FusedUnitToParts<FusedPreOp>>(
      patterns.getContext());
  populateSinkhornToLinalgPatterns(patterns);
  populateDynamicToLinalgPatterns(patterns);
}
