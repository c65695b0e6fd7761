//===- DecomposeStaticLayer.cpp - mhc.static_layer -> parts ---------------===//

#include "mhc/Dialect/MHC/Transforms/Passes.h"
#include "mhc/Support/Reference.h"

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
  patterns.add<DecomposeStaticLayer>(patterns.getContext());
}
