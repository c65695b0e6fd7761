//===- SinkhornToLinalg.cpp - mhc.sinkhorn -> linalg on tensors -----------===//
//
// The Sinkhorn schedule (docs/DESIGN.md, "Sinkhorn conventions, one
// schedule") on one n x n matrix or on one per token ([B, n, n]: a leading
// parallel dimension): exp of the row-max-shifted logits, rows normalized,
// + addend, columns normalized (+ addend), then iters - 1 rounds of rows and
// columns in an scf.for. Every line sum runs in index order; a zero divisor
// leaves its (zero) line as it is.
//
//===----------------------------------------------------------------------===//

#include "LinalgBuilders.h"

#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::linalg_lowering;

namespace {

/// The loop dimensions of a matrix op: the leading (token) dimension, if
/// any, then the matrix's two.
struct MatrixLoops {
  unsigned lead; // 0 or 1
  unsigned count() const { return lead + 2; }
  /// The map (lead..., d0, d1) -> (lead..., r0[, r1]).
  AffineMap of(MLIRContext *ctx, ArrayRef<unsigned> matrixDims) const {
    SmallVector<unsigned> results;
    for (unsigned d = 0; d < lead; ++d)
      results.push_back(d);
    for (unsigned d : matrixDims)
      results.push_back(lead + d);
    return map(ctx, count(), results);
  }
  SmallVector<utils::IteratorType> iterators(bool reduceLast) const {
    SmallVector<utils::IteratorType> its(lead + 1, par);
    its.push_back(reduceLast ? red : par);
    return its;
  }
};

MatrixLoops loopsOf(Value m) {
  return {unsigned(cast<RankedTensorType>(m.getType()).getRank() - 2)};
}

/// An empty f32 tensor shaped like `m` without its last `drop` dimensions.
Value emptyLike(ImplicitLocOpBuilder &b, Value m, unsigned drop) {
  auto type = cast<RankedTensorType>(m.getType());
  SmallVector<int64_t> shape(type.getShape().drop_back(drop));
  SmallVector<int64_t> dims;
  for (unsigned d = 0; d < shape.size(); ++d)
    dims.push_back(d);
  return emptyTensor(b, shape, b.getF32Type(), m, dims);
}

/// Per-row (keep = 0) or per-column (keep = 1) sum or maximum of each
/// matrix: one value per line, in index order.
Value reduceLines(ImplicitLocOpBuilder &b, Value m, unsigned keep, float init,
                  bool isMax) {
  MatrixLoops loops = loopsOf(m);
  MLIRContext *ctx = b.getContext();
  Value acc = filled(b, emptyLike(b, m, 1), init);
  // Iterate (lead, kept, reduced); the matrix is indexed [row, col].
  AffineMap matrixMap =
      keep == 0 ? loops.of(ctx, {0, 1}) : loops.of(ctx, {1, 0});
  return generic(b, m, acc, {matrixMap, loops.of(ctx, {0})},
                 loops.iterators(/*reduceLast=*/true),
                 [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
                   if (isMax)
                     return arith::MaximumFOp::create(nb, a[1], a[0]);
                   return arith::AddFOp::create(nb, a[1], a[0]);
                 });
}

/// m[.., i, j] / (sums[.., i or j] + addend); a zero divisor leaves the
/// (zero) entry.
Value divideLines(ImplicitLocOpBuilder &b, Value m, Value sums, unsigned dim,
                  Value addend) {
  MatrixLoops loops = loopsOf(m);
  MLIRContext *ctx = b.getContext();
  AffineMap identity = loops.of(ctx, {0, 1});
  return generic(
      b, {m, sums}, emptyLike(b, m, 0),
      {identity, loops.of(ctx, {dim}), identity},
      loops.iterators(/*reduceLast=*/false),
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
  Value sums = reduceLines(b, m, dim, 0.0f, false);
  return divideLines(b, m, sums, dim, addend);
}

/// `m` with `f` applied to every entry; `f` also gets the matching entry of
/// `lines` (one per row) when given.
Value mapEntries(ImplicitLocOpBuilder &b, Value m, Value rows,
                 function_ref<Value(ImplicitLocOpBuilder &, ValueRange)> f) {
  MatrixLoops loops = loopsOf(m);
  MLIRContext *ctx = b.getContext();
  AffineMap identity = loops.of(ctx, {0, 1});
  SmallVector<Value> inputs = {m};
  SmallVector<AffineMap> maps = {identity};
  if (rows) {
    inputs.push_back(rows);
    maps.push_back(loops.of(ctx, {0}));
  }
  maps.push_back(identity);
  return generic(b, inputs, emptyLike(b, m, 0), maps,
                 loops.iterators(/*reduceLast=*/false), f);
}

struct SinkhornToLinalg : OpRewritePattern<SinkhornOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SinkhornOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value h = op.getLogits();
    Value rowMax =
        reduceLines(b, h, 0, -std::numeric_limits<float>::infinity(), true);
    Value m = mapEntries(
        b, h, rowMax, [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
          return math::ExpOp::create(nb, arith::SubFOp::create(nb, a[0], a[1]));
        });
    bool softmax = op.getInit() == SinkhornInit::Softmax;
    Value addend = arith::ConstantOp::create(
        b, b.getF32FloatAttr(softmax ? op.getEps().convertToFloat() : 0.0f));
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
    m = normalize(b, m, 0, zero);
    if (softmax)
      m = mapEntries(b, m, Value(),
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

} // namespace

void mlir::mhc::linalg_lowering::populateSinkhornToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<SinkhornToLinalg>(patterns.getContext());
}
