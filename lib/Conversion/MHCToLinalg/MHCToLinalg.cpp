//===- MHCToLinalg.cpp - mhc parts -> linalg on tensors -------------------===//
//
// The portable lowering: every part becomes linalg.generic ops on tensors.
// Reductions run in index order, so the CPU result does not depend on
// scheduling.
//
//===----------------------------------------------------------------------===//

#include "mhc/Conversion/MHCToLinalg/MHCToLinalg.h"
#include "mhc/Conversion/ConversionUtils.h"
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

namespace {
using BodyFn = function_ref<Value(ImplicitLocOpBuilder &, ValueRange)>;

/// An empty tensor of `shape` whose dynamic dimensions are read from
/// `source` (dimension `sourceDims[d]` for result dimension d).
Value emptyTensor(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape,
                  Type element, Value source, ArrayRef<int64_t> sourceDims) {
  SmallVector<Value> sizes;
  for (auto [d, size] : llvm::enumerate(shape))
    if (ShapedType::isDynamic(size))
      sizes.push_back(tensor::DimOp::create(b, source, sourceDims[d]));
  return tensor::EmptyOp::create(b, shape, element, sizes);
}

Value filled(ImplicitLocOpBuilder &b, Value empty, float value) {
  Value c = arith::ConstantOp::create(b, b.getF32FloatAttr(value));
  return linalg::FillOp::create(b, c, empty).getResult(0);
}

/// One linalg.generic with a single output; `body` gets the scalars of the
/// inputs followed by the output's and returns the new output scalar.
Value generic(ImplicitLocOpBuilder &b, ValueRange inputs, Value init,
              ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iterators,
              BodyFn body) {
  auto op = linalg::GenericOp::create(
      b, init.getType(), inputs, init, maps, iterators,
      [&](OpBuilder &nested, Location loc, ValueRange args) {
        ImplicitLocOpBuilder nb(loc, nested);
        linalg::YieldOp::create(nb, body(nb, args));
      });
  return op.getResult(0);
}

AffineMap map(MLIRContext *ctx, unsigned dims, ArrayRef<unsigned> results) {
  SmallVector<AffineExpr> exprs;
  for (unsigned r : results)
    exprs.push_back(getAffineDimExpr(r, ctx));
  return AffineMap::get(dims, 0, exprs, ctx);
}

constexpr auto par = utils::IteratorType::parallel;
constexpr auto red = utils::IteratorType::reduction;

//===----------------------------------------------------------------------===//
// Sinkhorn
//===----------------------------------------------------------------------===//

/// Per-row (dim 0) or per-column (dim 1) reduction of an n x n matrix.
Value reduceMatrix(ImplicitLocOpBuilder &b, Value m, unsigned keep, float init,
                   bool isMax) {
  auto type = cast<RankedTensorType>(m.getType());
  int64_t n = type.getDimSize(0);
  Value acc = filled(
      b, tensor::EmptyOp::create(b, ArrayRef<int64_t>{n}, b.getF32Type()),
      init);
  MLIRContext *ctx = b.getContext();
  // Iterate (kept, reduced); the matrix is indexed [row, col].
  AffineMap matrixMap = keep == 0 ? map(ctx, 2, {0, 1}) : map(ctx, 2, {1, 0});
  return generic(b, m, acc, {matrixMap, map(ctx, 2, {0})}, {par, red},
                 [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
                   if (isMax)
                     return arith::MaximumFOp::create(nb, a[1], a[0]);
                   return arith::AddFOp::create(nb, a[1], a[0]);
                 });
}

/// m[i,j] / (sums[i or j] + addend); a zero divisor leaves the (zero) entry.
Value divideMatrix(ImplicitLocOpBuilder &b, Value m, Value sums, unsigned dim,
                   Value addend) {
  MLIRContext *ctx = b.getContext();
  AffineMap identity = map(ctx, 2, {0, 1});
  return generic(
      b, {m, sums},
      tensor::EmptyOp::create(b, cast<RankedTensorType>(m.getType()).getShape(),
                              b.getF32Type()),
      {identity, map(ctx, 2, {dim}), identity}, {par, par},
      [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
        Value divisor = arith::AddFOp::create(nb, a[1], addend);
        Value zero = arith::ConstantOp::create(nb, nb.getF32FloatAttr(0));
        Value one = arith::ConstantOp::create(nb, nb.getF32FloatAttr(1));
        Value positive =
            arith::CmpFOp::create(nb, arith::CmpFPredicate::OGT, divisor, zero);
        Value safe = arith::SelectOp::create(nb, positive, divisor, one);
        return arith::DivFOp::create(nb, a[0], safe);
      });
}

Value normalize(ImplicitLocOpBuilder &b, Value m, unsigned dim, Value addend) {
  return divideMatrix(b, m, reduceMatrix(b, m, dim, 0.0f, false), dim, addend);
}

struct SinkhornToLinalg : OpRewritePattern<SinkhornOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SinkhornOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MLIRContext *ctx = b.getContext();
    Value h = op.getLogits();
    auto type = cast<RankedTensorType>(h.getType());
    Value rowMax =
        reduceMatrix(b, h, 0, -std::numeric_limits<float>::infinity(), true);
    AffineMap identity = map(ctx, 2, {0, 1});
    Value m = generic(
        b, {h, rowMax},
        tensor::EmptyOp::create(b, type.getShape(), b.getF32Type()),
        {identity, map(ctx, 2, {0}), identity}, {par, par},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
          return math::ExpOp::create(nb, arith::SubFOp::create(nb, a[0], a[1]));
        });
    bool softmax = op.getInit() == SinkhornInit::Softmax;
    Value addend = arith::ConstantOp::create(
        b, b.getF32FloatAttr(softmax ? op.getEps().convertToFloat() : 0.0f));
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
    m = normalize(b, m, 0, zero);
    if (softmax)
      m = generic(b, m,
                  tensor::EmptyOp::create(b, type.getShape(), b.getF32Type()),
                  {identity, identity}, {par, par},
                  [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
                    return arith::AddFOp::create(nb, a[0], addend);
                  });
    m = normalize(b, m, 1, addend);
    Value lb = arith::ConstantIndexOp::create(b, 1);
    Value ub = arith::ConstantIndexOp::create(b, op.getIters());
    auto loop = scf::ForOp::create(
        b, lb, ub, lb, ValueRange{m},
        [&](OpBuilder &nested, Location loc, Value, ValueRange iter) {
          ImplicitLocOpBuilder nb(loc, nested);
          Value r = normalize(nb, iter[0], 0, addend);
          scf::YieldOp::create(nb, normalize(nb, r, 1, addend));
        });
    rewriter.replaceOp(op, loop.getResult(0));
    return success();
  }
};

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
    MLIRContext *ctx = b.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    Value init = filled(
        b, emptyTensor(b, type.getShape(), b.getF32Type(), op.getX(), {0, 2}),
        0.0f);
    // Iterate (b, c, i): y[b, c] += s[i] * x[b, i, c].
    Value y = generic(
        b, {op.getX(), op.getCoeffs()}, init,
        {map(ctx, 3, {0, 2, 1}), map(ctx, 3, {2}), map(ctx, 3, {0, 1})},
        {par, par, red}, [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
          return arith::AddFOp::create(nb, a[2],
                                       arith::MulFOp::create(nb, a[1], a[0]));
        });
    rewriter.replaceOp(op, y);
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
    Value sums =
        filled(b, emptyTensor(b, {type.getDimSize(0)}, f32, y, {0}), 0.0f);
    sums =
        generic(b, y, sums, {map(ctx, 2, {0, 1}), map(ctx, 2, {0})}, {par, red},
                [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
                  return arith::AddFOp::create(
                      nb, a[1], arith::MulFOp::create(nb, a[0], a[0]));
                });
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
    MLIRContext *ctx = b.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    // Iterate (b, i, c): out[b, i, c] = s[i] * f[b, c].
    Value init = generic(
        b, {op.getCoeffs(), op.getF()},
        emptyTensor(b, type.getShape(), b.getF32Type(), op.getX(), {0, 1, 2}),
        {map(ctx, 3, {1}), map(ctx, 3, {0, 2}), map(ctx, 3, {0, 1, 2})},
        {par, par, par}, [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
          return arith::MulFOp::create(nb, a[0], a[1]);
        });
    // Iterate (b, i, c, j): out[b, i, c] += M'[i, j] * x[b, j, c].
    bool transposed = op.getOrientation() == MixOrientation::Transposed;
    AffineMap matrixMap =
        transposed ? map(ctx, 4, {3, 1}) : map(ctx, 4, {1, 3});
    Value out =
        generic(b, {op.getX(), op.getMatrix()}, init,
                {map(ctx, 4, {0, 3, 2}), matrixMap, map(ctx, 4, {0, 1, 2})},
                {par, par, par, red},
                [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
                  return arith::AddFOp::create(
                      nb, a[2], arith::MulFOp::create(nb, a[1], a[0]));
                });
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// A fused unit has no loop nest of its own on the CPU: its body (the parts)
/// is inlined in place of it, and the parts are lowered like any others.
struct FusedLayerToParts : OpRewritePattern<FusedLayerOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(FusedLayerOp op,
                                PatternRewriter &rewriter) const override {
    Block &body = op.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    Value result = yield.getValues().front();
    rewriter.inlineBlockBefore(&body, op, op.getInputs());
    rewriter.replaceOp(op, result);
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
  patterns.add<SinkhornToLinalg, GateToLinalg, AggregateToLinalg,
               RMSNormToLinalg, MixToLinalg, FusedLayerToParts>(
      patterns.getContext());
}
