//===- RaiseFromLinalg.cpp - mHC math written in linalg -> mhc ops --------===//
//
// The pass --mhc-raise-from-linalg and its row-level patterns: the gates
// (scale * sigmoid(h) + bias), the aggregation of the streams, RMSNorm and
// the mix (a contraction with M or M^T plus s * f). Sinkhorn chains are
// raised in RaiseSinkhorn.cpp. Every pattern rewrites only a computation it
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

bool isF32Tensor(Value v, int64_t rank) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.getRank() == rank && type.getElementType().isF32();
}

/// A tensor of `rank` with f32 or bf16 elements (activations).
bool isActivationTensor(Value v, int64_t rank) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.getRank() == rank &&
         (type.getElementType().isF32() || type.getElementType().isBF16());
}

bool isBF16Tensor(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.getElementType().isBF16();
}

/// `v` as a leaf, or as the exact f32 widening (arith.extf) of a bf16 leaf.
std::optional<Leaf> widenedLeaf(FusedBody &body, Value v) {
  if (std::optional<Leaf> l = body.leaf(v))
    return l;
  auto ext = v.getDefiningOp<arith::ExtFOp>();
  if (!ext || !ext.getType().isF32())
    return std::nullopt;
  std::optional<Leaf> l = body.leaf(ext.getIn());
  if (!l || !isBF16Tensor(l->tensor))
    return std::nullopt;
  return l;
}

/// Whether `map` reads exactly the loop dimensions `dims`, in order.
bool reads(AffineMap map, ArrayRef<unsigned> dims) {
  if (map.getNumResults() != dims.size() || !map.isProjectedPermutation())
    return false;
  for (auto [i, d] : llvm::enumerate(dims))
    if (map.getDimPosition(i) != d)
      return false;
  return true;
}

/// An elementwise root of `rank` loops producing an f32 tensor.
bool isElementwiseRoot(linalg::GenericOp op, int64_t rank) {
  return isElementwise(op) && op.getNumLoops() == rank &&
         isF32Tensor(op->getResult(0), rank);
}

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
    std::optional<Leaf> l =
        neg ? body.resolvedLeaf(neg.getOperand()) : std::nullopt;
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
    rewriter.replaceOpWithNewOp<GateOp>(op, gate->logits,
                                        rewriter.getF32FloatAttr(gate->scale),
                                        rewriter.getF32FloatAttr(gate->bias));
    return success();
  }
};

/// `op` as acc + a * b with a zero-filled accumulator: the leaves a and b.
std::optional<std::pair<Leaf, Leaf>> matchContraction(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op->getNumResults() != 1 ||
      !isFilledWith(op.getDpsInits()[0], 0.0))
    return std::nullopt;
  FusedBody body(op);
  std::optional<std::pair<Leaf, Leaf>> result;
  eitherOrder(body.yielded().getDefiningOp<arith::AddFOp>(), [&](Value acc,
                                                                 Value term) {
    auto mul = body.resolve(term).getDefiningOp<arith::MulFOp>();
    if (!body.isAccumulator(acc) || !mul)
      return false;
    // The factors are leaves (bf16 ones widened): what produces them is
    // raised on its own.
    std::optional<Leaf> a = widenedLeaf(body, mul.getLhs());
    std::optional<Leaf> b = widenedLeaf(body, mul.getRhs());
    if (!a || !b)
      return false;
    result = {*a, *b};
    return true;
  });
  return result;
}

/// sum_i s * x[b, i, c] in f32 over f32 or bf16 streams: x, the
/// coefficients (s[i], or h[b, i] per token) and which.
struct StreamSum {
  Value x, coeffs;
  bool perToken;
};

std::optional<StreamSum> matchStreamSum(linalg::GenericOp op) {
  if (op.getNumLoops() != 3 || op.getNumReductionLoops() != 1 ||
      !isF32Tensor(op->getResult(0), 2))
    return std::nullopt;
  std::optional<std::pair<Leaf, Leaf>> terms = matchContraction(op);
  if (!terms)
    return std::nullopt;
  auto [x, s] = *terms;
  if (!isActivationTensor(x.tensor, 3))
    std::swap(x, s);
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!isActivationTensor(x.tensor, 3) || x.map.getNumResults() != 3 ||
      !x.map.isPermutation() ||
      !reads(out, {x.map.getDimPosition(0), x.map.getDimPosition(2)}) ||
      !linalg::isReductionIterator(
          op.getIteratorTypesArray()[x.map.getDimPosition(1)]))
    return std::nullopt;
  unsigned b = x.map.getDimPosition(0), i = x.map.getDimPosition(1);
  if (isF32Tensor(s.tensor, 1) && reads(s.map, {i}))
    return StreamSum{x.tensor, s.tensor, false};
  if (isF32Tensor(s.tensor, 2) && reads(s.map, {b, i}))
    return StreamSum{x.tensor, s.tensor, true};
  return std::nullopt;
}

/// y[b, c] = sum_i s[i] * x[b, i, c] -> mhc.aggregate, and with one
/// coefficient per token, sum_i h[b, i] * x[b, i, c] -> mhc.pre (f32; bf16
/// streams are raised from the rounding of the sum, RaiseRoundedPre).
struct RaiseAggregate : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<StreamSum> sum = matchStreamSum(op);
    if (!sum || !isF32Tensor(sum->x, 3))
      return rewriter.notifyMatchFailure(op, "not sum_i s * x[b, i, c] in f32");
    Type type = op->getResult(0).getType();
    if (sum->perToken)
      rewriter.replaceOpWithNewOp<PreOp>(op, type, sum->x, sum->coeffs);
    else
      rewriter.replaceOpWithNewOp<AggregateOp>(op, type, sum->x, sum->coeffs);
    return success();
  }
};

/// y = bf16(sum_i h[b, i] * f32(x[b, i, c])): the bf16 pre, summed in f32
/// and rounded once -> mhc.pre.
struct RaiseRoundedPre : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!isElementwise(op) || op.getNumLoops() != 2 ||
        !isActivationTensor(op->getResult(0), 2) ||
        !isBF16Tensor(op->getResult(0)))
      return failure();
    FusedBody body(op);
    auto trunc = body.yielded().getDefiningOp<arith::TruncFOp>();
    std::optional<Leaf> l = trunc ? body.leaf(trunc.getIn()) : std::nullopt;
    if (!l || !l->map.isIdentity() || !l->tensor.hasOneUse())
      return failure();
    auto contraction = l->tensor.getDefiningOp<linalg::GenericOp>();
    std::optional<StreamSum> sum =
        contraction ? matchStreamSum(contraction) : std::nullopt;
    if (!sum || !sum->perToken || !isBF16Tensor(sum->x))
      return rewriter.notifyMatchFailure(op, "not bf16(sum_i h[b, i] x)");
    rewriter.replaceOpWithNewOp<PreOp>(op, op->getResult(0).getType(), sum->x,
                                       sum->coeffs);
    return success();
  }
};

/// Collects the factors of a product (through mulf, and divf as a factor of
/// its numerator and a reciprocal of its denominator).
void factors(FusedBody &body, Value v, SmallVectorImpl<Value> &num,
             SmallVectorImpl<Value> &den) {
  v = body.resolve(v);
  if (auto mul = v.getDefiningOp<arith::MulFOp>()) {
    factors(body, mul.getLhs(), num, den);
    factors(body, mul.getRhs(), num, den);
  } else if (auto div = v.getDefiningOp<arith::DivFOp>()) {
    factors(body, div.getLhs(), num, den);
    den.push_back(div.getRhs());
  } else if (constantValue(v) != 1.0) {
    num.push_back(v);
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
                    std::optional<Leaf> l = body.resolvedLeaf(ss);
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
      Value r = body.resolve(f);
      if (std::optional<Leaf> l = body.leaf(r)) {
        if (!y && isF32Tensor(l->tensor, 2) && reads(l->map, {0, 1}))
          y = l->tensor;
        else if (!w && reads(l->map, {1}) && isF32Tensor(l->tensor, 1))
          w = l->tensor;
        else
          return failure();
      } else if (auto ext = r.getDefiningOp<arith::ExtFOp>()) {
        std::optional<Leaf> l = body.resolvedLeaf(ext.getIn());
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
    rewriter.replaceOpWithNewOp<RMSNormOp>(op, y, w,
                                           rewriter.getF32FloatAttr(*eps));
    return success();
  }
};

/// sum_j M'[(b,) i, j] * x[b, j, c] as a contraction: the matrix M ([n, n],
/// or [B, n, n] per token), x and whether M' is M^T.
struct StreamProduct {
  Value matrix, x;
  bool transposed;
  bool perToken() const {
    return cast<RankedTensorType>(matrix.getType()).getRank() == 3;
  }
};

/// The lhs of a batch_matmul: a [n, n] matrix broadcast over tokens
/// (linalg.broadcast, or a generic that copies it), or per-token matrices
/// [B, n, n] as they are; either possibly through linalg.transpose of the
/// matrix dimensions. The matrix and whether it is read transposed.
std::optional<std::pair<Value, bool>> matchBatchLhs(Value v) {
  std::optional<std::pair<Value, bool>> result;
  if (auto b = v.getDefiningOp<linalg::BroadcastOp>()) {
    if (b.getDimensions() == ArrayRef<int64_t>{0} && v.hasOneUse())
      result = {b.getInput(), false};
  } else if (auto g = v.getDefiningOp<linalg::GenericOp>()) {
    FusedBody body(g);
    std::optional<Leaf> l = body.leaf(body.yielded());
    if (isElementwise(g) && g.getNumLoops() == 3 && l && v.hasOneUse()) {
      if (reads(l->map, {1, 2}))
        result = {l->tensor, false};
      else if (reads(l->map, {2, 1}))
        result = {l->tensor, true};
    }
  }
  if (!result && isF32Tensor(v, 3))
    result = {v, false};
  if (!result)
    return std::nullopt;
  Value m = result->first;
  int64_t rank = isF32Tensor(m, 2) ? 2 : isF32Tensor(m, 3) ? 3 : 0;
  if (!rank)
    return std::nullopt;
  if (auto t = m.getDefiningOp<linalg::TransposeOp>()) {
    SmallVector<int64_t> swap =
        rank == 2 ? SmallVector<int64_t>{1, 0} : SmallVector<int64_t>{0, 2, 1};
    if (t.getPermutation() == ArrayRef<int64_t>(swap) && t->hasOneUse())
      result = {t.getInput(), !result->second};
  }
  return result;
}

std::optional<StreamProduct> matchStreamProduct(Value v) {
  if (!v.hasOneUse())
    return std::nullopt;
  if (auto bmm = v.getDefiningOp<linalg::BatchMatmulOp>()) {
    auto defaults = linalg::BatchMatmulOp::getDefaultIndexingMaps(
        bmm.getContext());
    if (bmm.getIndexingMapsArray() != ArrayRef<AffineMap>(defaults) ||
        !isFilledWith(bmm.getDpsInits()[0], 0.0))
      return std::nullopt;
    std::optional<std::pair<Value, bool>> m =
        matchBatchLhs(bmm.getDpsInputs()[0]);
    if (!m)
      return std::nullopt;
    return StreamProduct{m->first, bmm.getDpsInputs()[1], m->second};
  }
  auto op = v.getDefiningOp<linalg::GenericOp>();
  if (!op || op.getNumLoops() != 4 || op.getNumReductionLoops() != 1)
    return std::nullopt;
  std::optional<std::pair<Leaf, Leaf>> terms = matchContraction(op);
  if (!terms)
    return std::nullopt;
  auto [x, m] = *terms;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (out.getNumResults() != 3 || !out.isProjectedPermutation())
    return std::nullopt;
  unsigned b = out.getDimPosition(0), c = out.getDimPosition(2);
  // x is read at (b, j, c); the matrix at (i, j) or (b, i, j), transposed or not.
  auto isStreams = [&](const Leaf &l) {
    return isActivationTensor(l.tensor, 3) && l.map.getNumResults() == 3 &&
           l.map.isProjectedPermutation() && l.map.getDimPosition(0) == b &&
           l.map.getDimPosition(2) == c;
  };
  if (!isStreams(x))
    std::swap(x, m);
  if (!isStreams(x) || !m.map.isProjectedPermutation())
    return std::nullopt;
  unsigned j = x.map.getDimPosition(1);
  if (!linalg::isReductionIterator(op.getIteratorTypesArray()[j]))
    return std::nullopt;
  unsigned i = out.getDimPosition(1);
  if (isF32Tensor(m.tensor, 2)) {
    if (reads(m.map, {i, j}))
      return StreamProduct{m.tensor, x.tensor, false};
    if (reads(m.map, {j, i}))
      return StreamProduct{m.tensor, x.tensor, true};
  } else if (isF32Tensor(m.tensor, 3)) {
    if (reads(m.map, {b, i, j}))
      return StreamProduct{m.tensor, x.tensor, false};
    if (reads(m.map, {b, j, i}))
      return StreamProduct{m.tensor, x.tensor, true};
  }
  return std::nullopt;
}

/// out[b, i, c] = sum_j M'[i, j] x[b, j, c] + s[i] * f[b, c] -> mhc.mix,
/// and with per-token M[b] and h[b, i] -> mhc.post, whose bf16 form widens
/// x and f, sums in f32 and rounds the result once.
struct RaiseMix : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!isElementwise(op) || op.getNumLoops() != 3 ||
        !isActivationTensor(op->getResult(0), 3))
      return failure();
    FusedBody body(op);
    Value sum = body.yielded();
    if (auto trunc = sum.getDefiningOp<arith::TruncFOp>())
      sum = body.resolve(trunc.getIn());
    std::optional<StreamProduct> product;
    Value s, f;
    eitherOrder(sum.getDefiningOp<arith::AddFOp>(), [&](Value mm, Value sf) {
      std::optional<Leaf> l = body.leaf(mm);
      auto mul = body.resolve(sf).getDefiningOp<arith::MulFOp>();
      if (!l || !reads(l->map, {0, 1, 2}) || !mul)
        return false;
      product = matchStreamProduct(l->tensor);
      if (!product)
        return false;
      SmallVector<unsigned> coeffDims =
          product->perToken() ? SmallVector<unsigned>{0, 1}
                              : SmallVector<unsigned>{1};
      return eitherOrder(mul, [&](Value a, Value b) {
        std::optional<Leaf> ls = body.leaf(a);
        std::optional<Leaf> lf = widenedLeaf(body, b);
        if (!ls || !lf || !isF32Tensor(ls->tensor, coeffDims.size()) ||
            !reads(ls->map, coeffDims) || !isActivationTensor(lf->tensor, 2) ||
            !reads(lf->map, {0, 2}))
          return false;
        s = ls->tensor, f = lf->tensor;
        return true;
      });
    });
    // The result is x's type: f32 as computed, or bf16 rounded once.
    if (!product || !s || product->x.getType() != op->getResult(0).getType())
      return rewriter.notifyMatchFailure(op, "not M' x + s * f");
    auto orientation = product->transposed ? MixOrientation::Transposed
                                           : MixOrientation::Direct;
    if (product->perToken()) {
      rewriter.replaceOpWithNewOp<PostOp>(op, product->x, f, product->matrix,
                                          s, orientation);
      return success();
    }
    if (!isF32Tensor(product->x, 3) || !isF32Tensor(f, 2))
      return rewriter.notifyMatchFailure(op, "mhc.mix is f32");
    rewriter.replaceOpWithNewOp<MixOp>(op, product->x, product->matrix, s, f,
                                       orientation);
    return success();
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
  patterns.add<RaiseGate, RaiseAggregate, RaiseRoundedPre, RaiseRMSNorm,
               RaiseMix>(
      patterns.getContext());
  raising::populateRaiseSinkhornPatterns(patterns);
}
