//===- RaiseFromLinalg.cpp - mHC math written in linalg -> mhc ops --------===//
//
// The pass --mhc-raise-from-linalg and its patterns for the gates
// (scale * sigmoid(h) + bias) and RMSNorm. The stream sums and products
// (aggregate, pre, mix, post) are raised in RaiseStreams.cpp, Sinkhorn
// chains in RaiseSinkhorn.cpp. Every pattern rewrites only a computation it
// has proven equal to the mhc op; anything else (another eps, a reduction
// over another dimension, an intermediate with another user) is left as it
// is. The ops the raised computation no longer needs die with the greedy
// driver's dead-code elimination.
//
//===----------------------------------------------------------------------===//

#include "LinalgMatchers.h"

#include "mhc/Dialect/MHC/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::mhc {
#define GEN_PASS_DEF_MHCRAISEFROMLINALG
#include "mhc/Dialect/MHC/Transforms/Passes.h.inc"
} // namespace mlir::mhc

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::raising;

namespace {

/// sigmoid(h) = 1 / (1 + exp(-h)) for a rank-1 f32 leaf h read in order.
std::optional<Value> matchSigmoid(FusedBody &body, Value v) {
  auto div = body.resolve(v).getDefiningOp<arith::DivFOp>();
  if (!div || constantValue(div.getLhs()) != 1.0)
    return std::nullopt;
  std::optional<Value> h;
  auto add = body.resolve(div.getRhs()).getDefiningOp<arith::AddFOp>();
  eitherOrder(add, [&](Value one, Value e) {
    auto exp = body.resolve(e).getDefiningOp<math::ExpOp>();
    auto neg = exp ? body.resolve(exp.getOperand()).getDefiningOp<arith::NegFOp>()
                   : arith::NegFOp();
    std::optional<Leaf> l = neg ? body.leaf(neg.getOperand()) : std::nullopt;
    if (constantValue(one) != 1.0 || !l || !isF32Tensor(l->tensor, 1) ||
        !reads(l->map, {0}))
      return false;
    h = l->tensor;
    return true;
  });
  return h;
}

struct GateMatch {
  Value logits;
  double scale = 1.0, bias = 0.0;
};

/// s = scale * sigmoid(h) + bias (scale and bias optional constants, in
/// either operand order).
std::optional<GateMatch> matchGate(linalg::GenericOp op) {
  if (!isElementwiseRoot(op, 1))
    return std::nullopt;
  FusedBody body(op);
  GateMatch gate;
  Value v = body.resolve(body.yielded());
  eitherOrder(v.getDefiningOp<arith::AddFOp>(), [&](Value rest, Value c) {
    std::optional<double> b = constantValue(c);
    if (!b)
      return false;
    gate.bias = *b, v = body.resolve(rest);
    return true;
  });
  eitherOrder(v.getDefiningOp<arith::MulFOp>(), [&](Value rest, Value c) {
    std::optional<double> s = constantValue(c);
    if (!s)
      return false;
    gate.scale = *s, v = rest;
    return true;
  });
  std::optional<Value> h = matchSigmoid(body, v);
  if (!h || h->getType() != op->getResult(0).getType())
    return std::nullopt;
  gate.logits = *h;
  return gate;
}

/// A gate -> mhc.gate, unless its only user is a larger gate (the same
/// sigmoid scaled or shifted in another generic), which is raised instead.
struct RaiseGate : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<GateMatch> gate = matchGate(op);
    if (!gate)
      return rewriter.notifyMatchFailure(op, "not scale * sigmoid(h) + bias");
    Value result = op->getResult(0);
    if (result.hasOneUse())
      if (auto user = dyn_cast<linalg::GenericOp>(*result.getUsers().begin()))
        if (matchGate(user))
          return rewriter.notifyMatchFailure(op, "part of a larger gate");
    return replaceIfValid<GateOp>(rewriter, op, gate->logits,
                                  rewriter.getF32FloatAttr(gate->scale),
                                  rewriter.getF32FloatAttr(gate->bias));
  }
};

/// Collects the factors of a product (through mulf, and divf as a factor of
/// its numerator and a reciprocal of its denominator).
void factors(FusedBody &body, Value v, SmallVectorImpl<Value> &num,
             SmallVectorImpl<Value> &den) {
  Value r = body.resolve(v);
  if (auto mul = r.getDefiningOp<arith::MulFOp>()) {
    factors(body, mul.getLhs(), num, den);
    factors(body, mul.getRhs(), num, den);
  } else if (auto div = r.getDefiningOp<arith::DivFOp>()) {
    factors(body, div.getLhs(), num, den);
    den.push_back(div.getRhs());
  } else if (constantValue(r) != 1.0) {
    // A tensor read as it is (say a weight computed elementwise) stays one.
    num.push_back(body.leaf(v) ? v : r);
  }
}

/// f[b, c] = y[b, c] / sqrt(sum_c(y[b, :]^2) / C + eps) * w[c]
/// (or * rsqrt(...), or * (1/C), in any order of the factors) -> mhc.rms_norm.
struct RaiseRMSNorm : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  /// mean(y^2) + eps, with y the rows of `y`: eps, or nothing.
  static std::optional<double> matchMeanPlusEps(FusedBody &body, Value v,
                                                Value y) {
    std::optional<double> eps;
    eitherOrder(body.resolve(v).getDefiningOp<arith::AddFOp>(),
                [&](Value mean, Value c) {
                  std::optional<double> e = constantValue(c);
                  Operation *m = body.resolve(mean).getDefiningOp();
                  bool isMean = eitherOrder(m, [&](Value ss, Value k) {
                    std::optional<Leaf> l = body.leaf(ss);
                    if (!l || !reads(l->map, {0}) || !l->tensor.hasOneUse())
                      return false;
                    std::optional<LineReduction> r = matchLineReduction(
                        l->tensor, LineCombiner::SumOfSquares);
                    if (!r || r->source != y || r->kept != 0)
                      return false;
                    if (isa<arith::DivFOp>(m))
                      return ss == m->getOperand(0) && isDimSize(k, y, 1);
                    auto size = cast<RankedTensorType>(y.getType()).getDimSize(1);
                    return isa<arith::MulFOp>(m) && !ShapedType::isDynamic(size) &&
                           constantValue(k) == double(float(1.0 / size));
                  });
                  if (!e || !isMean)
                    return false;
                  eps = e;
                  return true;
                });
    return eps;
  }

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!isElementwiseRoot(op, 2))
      return failure();
    FusedBody body(op);
    SmallVector<Value> num, den;
    factors(body, body.yielded(), num, den);
    if (num.size() + den.size() != 3)
      return failure();
    Value y, w;
    SmallVector<Value> inverse; // what multiplies by 1 / sqrt(mean + eps)
    for (Value f : num) {
      Value r = body.leaf(f) ? f : body.resolve(f);
      if (std::optional<Leaf> l = body.leaf(r)) {
        if (!y && isF32Tensor(l->tensor, 2) && reads(l->map, {0, 1}))
          y = l->tensor;
        else if (!w && reads(l->map, {1}) && isF32Tensor(l->tensor, 1))
          w = l->tensor;
        else
          return failure();
      } else if (auto ext = r.getDefiningOp<arith::ExtFOp>()) {
        std::optional<Leaf> l = body.leaf(ext.getIn());
        auto type = l ? dyn_cast<RankedTensorType>(l->tensor.getType())
                      : RankedTensorType();
        if (w || !type || type.getRank() != 1 || !reads(l->map, {1}) ||
            !type.getElementType().isBF16())
          return failure();
        w = l->tensor;
      } else if (auto rsqrt = r.getDefiningOp<math::RsqrtOp>()) {
        inverse.push_back(rsqrt.getOperand());
      } else {
        return failure();
      }
    }
    for (Value d : den) {
      auto sqrt = body.resolve(d).getDefiningOp<math::SqrtOp>();
      if (!sqrt)
        return failure();
      inverse.push_back(sqrt.getOperand());
    }
    if (!y || !w || inverse.size() != 1)
      return rewriter.notifyMatchFailure(op, "not y * w / sqrt(mean + eps)");
    std::optional<double> eps = matchMeanPlusEps(body, inverse[0], y);
    if (!eps)
      return rewriter.notifyMatchFailure(op, "not the mean of y^2 plus eps");
    auto wType = cast<RankedTensorType>(w.getType());
    auto yType = cast<RankedTensorType>(y.getType());
    if (!wType.isDynamicDim(0) && !yType.isDynamicDim(1) &&
        wType.getDimSize(0) != yType.getDimSize(1))
      return failure();
    if (y.getType() != op->getResult(0).getType())
      return rewriter.notifyMatchFailure(op, "y and the result differ in type");
    return replaceIfValid<RMSNormOp>(rewriter, op, y, w,
                                     rewriter.getF32FloatAttr(*eps));
  }
};

struct MHCRaiseFromLinalgPass
    : mhc::impl::MHCRaiseFromLinalgBase<MHCRaiseFromLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMHCRaiseFromLinalgPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::mhc::populateMHCRaiseFromLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<RaiseGate, RaiseRMSNorm>(patterns.getContext());
  raising::populateRaiseStreamsPatterns(patterns);
  raising::populateRaiseSinkhornPatterns(patterns);
}
