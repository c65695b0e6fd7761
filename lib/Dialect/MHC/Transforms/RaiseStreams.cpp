//===- RaiseStreams.cpp - stream sums and products -> mhc ops -------------===//
//
// The patterns of --mhc-raise-from-linalg that read and write the streams:
// sum_i s * x[b, i, c] (mhc.aggregate, or mhc.pre with one coefficient per
// token) and sum_j M'[i, j] x[b, j, c] + s[i] * f[b, c] (mhc.mix, or
// mhc.post with per-token matrices), as contraction generics or
// batch_matmul, in f32 or with bf16 activations summed in f32 and rounded
// once.
//
//===----------------------------------------------------------------------===//

#include "LinalgMatchers.h"

#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::raising;

namespace {

/// Whether `trunc` rounds to nearest even, as the mhc ops' one rounding
/// does (no rounding mode given is that).
bool roundsToNearestEven(arith::TruncFOp trunc) {
  if (!trunc)
    return false;
  std::optional<arith::RoundingMode> mode = trunc.getRoundingmode();
  return !mode || *mode == arith::RoundingMode::to_nearest_even;
}

/// sum_i s * x[b, i, c] in f32 over f32 or bf16 streams: x, the
/// coefficients (s[i], or h[b, i] per token) and which.
struct StreamSum {
  Value x, coeffs;
  bool perToken;
};

std::optional<StreamSum> matchStreamSum(linalg::GenericOp op) {
  if (op->getNumResults() != 1 || op.getNumLoops() != 3 ||
      op.getNumReductionLoops() != 1 ||
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
      return replaceIfValid<PreOp>(rewriter, op, type, sum->x, sum->coeffs);
    return replaceIfValid<AggregateOp>(rewriter, op, type, sum->x,
                                       sum->coeffs);
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
    if (!roundsToNearestEven(trunc))
      return failure();
    std::optional<Leaf> l = body.leaf(trunc.getIn());
    if (!l || !l->map.isIdentity() || !l->tensor.hasOneUse())
      return failure();
    auto contraction = l->tensor.getDefiningOp<linalg::GenericOp>();
    std::optional<StreamSum> sum =
        contraction ? matchStreamSum(contraction) : std::nullopt;
    if (!sum || !sum->perToken || !isBF16Tensor(sum->x))
      return rewriter.notifyMatchFailure(op, "not bf16(sum_i h[b, i] x)");
    return replaceIfValid<PreOp>(rewriter, op, op->getResult(0).getType(),
                                 sum->x, sum->coeffs);
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
    if (auto trunc = sum.getDefiningOp<arith::TruncFOp>()) {
      if (!roundsToNearestEven(trunc))
        return failure();
      sum = body.resolve(trunc.getIn());
    }
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
    if (product->perToken())
      return replaceIfValid<PostOp>(rewriter, op, product->x, f,
                                    product->matrix, s, orientation);
    if (!isF32Tensor(product->x, 3) || !isF32Tensor(f, 2))
      return rewriter.notifyMatchFailure(op, "mhc.mix is f32");
    return replaceIfValid<MixOp>(rewriter, op, product->x, product->matrix, s,
                                 f, orientation);
  }
};

} // namespace

void mlir::mhc::raising::populateRaiseStreamsPatterns(
    RewritePatternSet &patterns) {
  patterns.add<RaiseAggregate, RaiseRoundedPre, RaiseMix>(
      patterns.getContext());
}
