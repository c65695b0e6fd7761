//===- Decompose.cpp - whole layers -> their parts (mhc-decompose) --------===//

#include "mhc/Dialect/MHC/Transforms/Passes.h"
#include "mhc/Support/Reference.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::mhc {
#define GEN_PASS_DEF_MHCDECOMPOSE
#include "mhc/Dialect/MHC/Transforms/Passes.h.inc"
} // namespace mlir::mhc

using namespace mlir;
using namespace mlir::mhc;

namespace {
struct DecomposeStaticLayer : OpRewritePattern<StaticLayerOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(StaticLayerOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType xType = op.getX().getType();
    auto rowsType = RankedTensorType::get(
        {xType.getDimSize(0), xType.getDimSize(2)}, xType.getElementType());

    Value m =
        SinkhornOp::create(rewriter, loc, op.getHRes(), op.getSinkhornIters(),
                           op.getSinkhornInit(), op.getSinkhornEps());
    // The gates of the static layer (::mhc::reference::staticLayer).
    Value sPre = GateOp::create(rewriter, loc, op.getHPre(),
                                APFloat(float(::mhc::reference::kPreGateScale)),
                                op.getPreEps());
    Value sPost =
        GateOp::create(rewriter, loc, op.getHPost(),
                       APFloat(float(::mhc::reference::kPostGateScale)),
                       APFloat(float(::mhc::reference::kPostGateBias)));
    Value y = AggregateOp::create(rewriter, loc, rowsType, op.getX(), sPre);
    Value f = RMSNormOp::create(rewriter, loc, y, op.getWeight(), op.getEps());
    rewriter.replaceOpWithNewOp<MixOp>(op, op.getX(), m, sPost, f,
                                       op.getOrientation());
    return success();
  }
};

/// coefficients -> pre -> F -> post, with F = RMSNorm(y) * weight computed in
/// f32: a bf16 y is widened for it and its output rounded back.
struct DecomposeDynamicLayer : OpRewritePattern<DynamicLayerOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DynamicLayerOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType xType = op.getX().getType();
    int64_t b = xType.getDimSize(0), n = xType.getDimSize(1),
            c = xType.getDimSize(2);
    Type f32 = rewriter.getF32Type();
    auto coeffsType = RankedTensorType::get({b, n}, f32);
    auto matrixType = RankedTensorType::get({b, n, n}, f32);
    auto coefficients = CoefficientsOp::create(
        rewriter, loc, coeffsType, coeffsType, matrixType, op.getX(),
        op.getPhi(), op.getAlpha(), op.getBias(), op.getCoefficientEps(),
        op.getPreEps(), op.getSinkhornIters(), op.getSinkhornInit(),
        op.getSinkhornEps());
    auto rowsType = RankedTensorType::get({b, c}, xType.getElementType());
    Value y = PreOp::create(rewriter, loc, rowsType, op.getX(),
                            coefficients.getHPre());
    auto f32Rows = RankedTensorType::get({b, c}, f32);
    if (rowsType != f32Rows)
      y = arith::ExtFOp::create(rewriter, loc, f32Rows, y);
    Value f = RMSNormOp::create(rewriter, loc, y, op.getWeight(), op.getEps());
    if (rowsType != f32Rows)
      f = arith::TruncFOp::create(rewriter, loc, rowsType, f);
    rewriter.replaceOpWithNewOp<PostOp>(
        op, op.getX(), f, coefficients.getMatrix(), coefficients.getHPost(),
        op.getOrientation());
    return success();
  }
};

struct MHCDecomposePass : mlir::mhc::impl::MHCDecomposeBase<MHCDecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMHCDecomposePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::mhc::populateMHCDecomposePatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeStaticLayer, DecomposeDynamicLayer>(
      patterns.getContext());
}
