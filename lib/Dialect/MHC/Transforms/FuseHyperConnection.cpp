//===- FuseHyperConnection.cpp - form mhc.fused_layer and mhc.fused_pre ---===//
//
// Groups `mix(x, sinkhorn(.), gate(.), rms_norm(aggregate(x, gate(.)), w))`
// into one mhc.fused_layer, the unit the GPU lowering turns into one kernel,
// and `pre(x, coefficients(x, ...).h_pre)` into one mhc.fused_pre.
//
//===----------------------------------------------------------------------===//

#include "mhc/Dialect/MHC/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::mhc {
#define GEN_PASS_DEF_MHCFUSE
#include "mhc/Dialect/MHC/Transforms/Passes.h.inc"
} // namespace mlir::mhc

using namespace mlir;
using namespace mlir::mhc;

namespace {
/// The ops of one fusable chain, in the order they are cloned.
struct Chain {
  SinkhornOp sinkhorn;
  GateOp preGate;
  GateOp postGate;
  AggregateOp aggregate;
  RMSNormOp rmsNorm;
  MixOp mix;

  /// Each op once (the two gates may be one op), prologue first.
  SmallVector<Operation *> ops() {
    llvm::SetVector<Operation *> unique;
    for (Operation *op : {sinkhorn.getOperation(), preGate.getOperation(),
                          postGate.getOperation(), aggregate.getOperation(),
                          rmsNorm.getOperation(), mix.getOperation()})
      unique.insert(op);
    return unique.takeVector();
  }
};
} // namespace

/// Matches the chain ending in `mix`, or fails when fusing it would change
/// what other users see or when F is not a row-local op the fused kernel knows.
static FailureOr<Chain> matchChain(MixOp mix) {
  Chain chain;
  chain.mix = mix;
  chain.rmsNorm = mix.getF().getDefiningOp<RMSNormOp>();
  if (!chain.rmsNorm || !chain.rmsNorm->hasOneUse())
    return failure();
  chain.aggregate = chain.rmsNorm.getInput().getDefiningOp<AggregateOp>();
  if (!chain.aggregate || !chain.aggregate->hasOneUse() ||
      chain.aggregate.getX() != mix.getX())
    return failure();
  chain.sinkhorn = mix.getMatrix().getDefiningOp<SinkhornOp>();
  chain.preGate = chain.aggregate.getCoeffs().getDefiningOp<GateOp>();
  chain.postGate = mix.getCoeffs().getDefiningOp<GateOp>();
  if (!chain.sinkhorn || !chain.preGate || !chain.postGate)
    return failure();
  return chain;
}

static void fuse(Chain &chain, RewriterBase &rewriter) {
  SmallVector<Operation *> ops = chain.ops();
  llvm::SmallPtrSet<Operation *, 8> inChain(ops.begin(), ops.end());

  // The streams come first; then every other value the chain reads.
  llvm::SetVector<Value> inputs;
  inputs.insert(chain.mix.getX());
  for (Operation *op : ops)
    for (Value operand : op->getOperands())
      if (!inChain.contains(operand.getDefiningOp()))
        inputs.insert(operand);

  MixOp mix = chain.mix;
  rewriter.setInsertionPoint(mix);
  auto fused = FusedLayerOp::create(rewriter, mix.getLoc(), mix.getType(),
                                    inputs.getArrayRef());
  Block *body = rewriter.createBlock(&fused.getBody());
  IRMapping mapping;
  for (Value input : inputs)
    mapping.map(input, body->addArgument(input.getType(), input.getLoc()));
  for (Operation *op : ops)
    rewriter.clone(*op, mapping);
  YieldOp::create(rewriter, mix.getLoc(), mapping.lookup(mix.getResult()));

  rewriter.replaceAllUsesWith(mix.getResult(), fused.getResult());
  // Erase from the mix backwards; prologue ops may still serve other users.
  std::reverse(ops.begin(), ops.end());
  for (Operation *op : ops)
    if (op->use_empty())
      rewriter.eraseOp(op);
}

/// Replaces `pre` and the mhc.coefficients that computes its h_pre from the
/// same streams by one mhc.fused_pre at the coefficients' place (all of the
/// pre's operands are defined there), whose results replace both ops'.
static LogicalResult fusePre(PreOp pre, RewriterBase &rewriter) {
  auto coefficients = pre.getHPre().getDefiningOp<CoefficientsOp>();
  if (!coefficients || coefficients.getX() != pre.getX())
    return failure();
  rewriter.setInsertionPoint(coefficients);
  SmallVector<Type> types{pre.getType()};
  llvm::append_range(types, coefficients->getResultTypes());
  Location loc = rewriter.getFusedLoc({coefficients.getLoc(), pre.getLoc()});
  auto fused = FusedPreOp::create(
      rewriter, loc, types, coefficients.getX(), coefficients.getPhi(),
      coefficients.getAlpha(), coefficients.getBias());
  Block *body = rewriter.createBlock(&fused.getBody());
  IRMapping mapping;
  for (Value input : coefficients->getOperands())
    mapping.map(input, body->addArgument(input.getType(), input.getLoc()));
  Operation *innerCoefficients = rewriter.clone(*coefficients, mapping);
  Operation *innerPre = rewriter.clone(*pre, mapping);
  SmallVector<Value> yielded{innerPre->getResult(0)};
  llvm::append_range(yielded, innerCoefficients->getResults());
  YieldOp::create(rewriter, loc, yielded);

  rewriter.replaceOp(pre, fused.getY());
  rewriter.replaceOp(coefficients, fused->getResults().drop_front());
  return success();
}

namespace {
struct MHCFusePass : mhc::impl::MHCFuseBase<MHCFusePass> {
  void runOnOperation() override {
    SmallVector<Chain> chains;
    getOperation()->walk([&](MixOp mix) {
      if (mix->getParentOfType<FusedLayerOp>())
        return;
      if (FailureOr<Chain> chain = matchChain(mix); succeeded(chain))
        chains.push_back(*chain);
    });
    IRRewriter rewriter(&getContext());
    for (Chain &chain : chains)
      fuse(chain, rewriter);

    SmallVector<PreOp> pres;
    getOperation()->walk([&](PreOp pre) {
      if (!pre->getParentOfType<FusedPreOp>())
        pres.push_back(pre);
    });
    for (PreOp pre : pres)
      (void)fusePre(pre, rewriter);
  }
};
} // namespace
