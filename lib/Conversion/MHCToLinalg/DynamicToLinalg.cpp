//===- DynamicToLinalg.cpp - the dynamic-H ops -> linalg on tensors -------===//
//
// mhc.coefficients: the row's sum of squares and its projection onto phi
// (one generic each, summed over the n C flattened values in index order),
// the scaled logits, the gates, and the res logits as [B, n, n] handed to a
// per-token mhc.sinkhorn (SinkhornToLinalg.cpp). mhc.pre and mhc.post: one
// contraction over the streams each, in f32, rounded once to bf16 where the
// activations are bf16.
//
//===----------------------------------------------------------------------===//

#include "LinalgBuilders.h"

#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::linalg_lowering;

namespace {

/// `result` (f32) rounded to the element type of `like` where that is not
/// f32: one elementwise generic.
Value roundTo(ImplicitLocOpBuilder &b, Value result, Value like) {
  auto type = cast<RankedTensorType>(result.getType());
  Type element = cast<RankedTensorType>(like.getType()).getElementType();
  if (element.isF32())
    return result;
  unsigned rank = type.getRank();
  SmallVector<unsigned> all;
  SmallVector<int64_t> dims;
  for (unsigned d = 0; d < rank; ++d) {
    all.push_back(d);
    dims.push_back(d);
  }
  MLIRContext *ctx = b.getContext();
  SmallVector<utils::IteratorType> iterators(rank, par);
  return generic(b, result,
                 emptyTensor(b, type.getShape(), element, result, dims),
                 {map(ctx, rank, all), map(ctx, rank, all)}, iterators,
                 [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
                   return arith::TruncFOp::create(nb, element, a[0]);
                 });
}

struct CoefficientsToLinalg : OpRewritePattern<CoefficientsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CoefficientsOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MLIRContext *ctx = b.getContext();
    Type f32 = b.getF32Type();
    RankedTensorType xType = op.getX().getType();
    int64_t n = xType.getDimSize(1);
    int64_t m = n * n + 2 * n;

    // xf [B, n C]: the token's streams flattened (row-major: stream, channel).
    Value xf = tensor::CollapseShapeOp::create(
        b, op.getX(), ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    int64_t width = cast<RankedTensorType>(xf.getType()).getDimSize(1);

    // Sum of squares per token, in index order.
    Value sums = rowSumOfSquares(b, xf);
    // proj[b, j] = sum_k xf[b, k] phi[k, j], k in index order.
    Value proj = filled(
        b, emptyTensor(b, {xType.getDimSize(0), m}, f32, xf, {0, 0}), 0.0f);
    proj = generic(
        b, {xf, op.getPhi()}, proj,
        {map(ctx, 3, {0, 2}), map(ctx, 3, {2, 1}), map(ctx, 3, {0, 1})},
        {par, par, red}, [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
          Value xv = toF32(nb, a[0]);
          Value phi = toF32(nb, a[1]);
          Value product = arith::MulFOp::create(nb, xv, phi);
          return arith::AddFOp::create(nb, a[2], product);
        });

    // logits[b, j] = alpha(j) * proj[b, j] * r[b] + bias[j], with
    // r[b] = rsqrt(sums[b] / (n C) + eps) and alpha(j) the pre, post or res
    // scale of column j.
    Value count;
    if (ShapedType::isDynamic(width)) {
      Value w = tensor::DimOp::create(b, xf, 1);
      count = arith::UIToFPOp::create(
          b, f32, arith::IndexCastUIOp::create(b, b.getI64Type(), w));
    } else {
      count = arith::ConstantOp::create(b, b.getF32FloatAttr(float(width)));
    }
    Value eps = arith::ConstantOp::create(
        b, b.getF32FloatAttr(op.getEps().convertToFloat()));
    SmallVector<Value> alpha;
    for (int64_t k = 0; k < 3; ++k) {
      Value at = arith::ConstantIndexOp::create(b, k);
      alpha.push_back(tensor::ExtractOp::create(b, op.getAlpha(), at));
    }
    Value logits = generic(
        b, {proj, sums, op.getBias()},
        emptyTensor(b, {xType.getDimSize(0), m}, f32, xf, {0, 0}),
        {map(ctx, 2, {0, 1}), map(ctx, 2, {0}), map(ctx, 2, {1}),
         map(ctx, 2, {0, 1})},
        {par, par}, [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
          Value mean = arith::DivFOp::create(nb, a[1], count);
          Value r =
              math::RsqrtOp::create(nb, arith::AddFOp::create(nb, mean, eps));
          Value mix = arith::MulFOp::create(nb, a[0], r);
          Value j = linalg::IndexOp::create(nb, 1);
          Value pre =
              arith::CmpIOp::create(nb, arith::CmpIPredicate::ult, j,
                                    arith::ConstantIndexOp::create(nb, n));
          Value post =
              arith::CmpIOp::create(nb, arith::CmpIPredicate::ult, j,
                                    arith::ConstantIndexOp::create(nb, 2 * n));
          Value scale = arith::SelectOp::create(
              nb, pre, alpha[0],
              arith::SelectOp::create(nb, post, alpha[1], alpha[2]));
          return arith::AddFOp::create(
              nb, arith::MulFOp::create(nb, scale, mix), a[2]);
        });

    // The logits' three parts, [B, n], [B, n] and [B, n, n] (row-major
    // [out, in]).
    OpFoldResult batch = tensor::getMixedSize(b, b.getLoc(), logits, 0);
    auto part = [&](int64_t offset, int64_t count) -> Value {
      SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0),
                                           b.getIndexAttr(offset)};
      SmallVector<OpFoldResult> sizes = {batch, b.getIndexAttr(count)};
      SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
      auto type = RankedTensorType::get({xType.getDimSize(0), count}, f32);
      return tensor::ExtractSliceOp::create(b, type, logits, offsets, sizes,
                                            strides);
    };
    // The gates: h_pre = sigmoid(logits[:, i]) + pre_eps,
    // h_post = 2 sigmoid(logits[:, n + i]).
    Value preEps = arith::ConstantOp::create(
        b, b.getF32FloatAttr(op.getPreEps().convertToFloat()));
    Value two = arith::ConstantOp::create(b, b.getF32FloatAttr(2.0f));
    auto coeffs = [&](int64_t offset, bool isPre) {
      Value in = part(offset, n);
      return generic(b, in,
                     emptyTensor(b, {xType.getDimSize(0), n}, f32, xf, {0, 0}),
                     {map(ctx, 2, {0, 1}), map(ctx, 2, {0, 1})}, {par, par},
                     [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
                       Value s = sigmoid(nb, a[0]);
                       if (isPre)
                         return arith::AddFOp::create(nb, s, preEps);
                       return arith::MulFOp::create(nb, two, s);
                     });
    };
    Value hPre = coeffs(0, /*isPre=*/true);
    Value hPost = coeffs(n, /*isPre=*/false);
    SmallVector<OpFoldResult> resShape = {batch, b.getIndexAttr(n),
                                          b.getIndexAttr(n)};
    Value resLogits = tensor::ExpandShapeOp::create(
        b, RankedTensorType::get({xType.getDimSize(0), n, n}, f32),
        part(2 * n, n * n), ArrayRef<ReassociationIndices>{{0}, {1, 2}},
        resShape);
    Value matrix =
        SinkhornOp::create(b, resLogits, op.getSinkhornIters(),
                           op.getSinkhornInit(), op.getSinkhornEps());
    rewriter.replaceOp(op, {hPre, hPost, matrix});
    return success();
  }
};

struct PreToLinalg : OpRewritePattern<PreOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(PreOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value y = aggregateStreams(b, op.getX(), op.getHPre(), {0, 2});
    rewriter.replaceOp(op, roundTo(b, y, op.getX()));
    return success();
  }
};

struct PostToLinalg : OpRewritePattern<PostOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(PostOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    bool transposed = op.getOrientation() == MixOrientation::Transposed;
    Value out = mixStreams(b, op.getX(), op.getMatrix(),
                           mixMatrixDims(transposed, /*perToken=*/true),
                           op.getHPost(), {0, 1}, op.getF());
    rewriter.replaceOp(op, roundTo(b, out, op.getX()));
    return success();
  }
};

} // namespace

void mlir::mhc::linalg_lowering::populateDynamicToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<CoefficientsToLinalg, PreToLinalg, PostToLinalg>(
      patterns.getContext());
}
