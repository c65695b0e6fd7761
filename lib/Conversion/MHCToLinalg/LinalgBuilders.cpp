//===- LinalgBuilders.cpp - what the mhc -> linalg patterns share ---------===//

#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace mlir::mhc::linalg_lowering {

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

Value toF32(ImplicitLocOpBuilder &b, Value v) {
  if (v.getType().isF32())
    return v;
  return arith::ExtFOp::create(b, b.getF32Type(), v);
}

Value sigmoid(ImplicitLocOpBuilder &b, Value v) {
  Value one = arith::ConstantOp::create(b, b.getF32FloatAttr(1));
  Value e = math::ExpOp::create(b, arith::NegFOp::create(b, v));
  Value denominator = arith::AddFOp::create(b, one, e);
  return arith::DivFOp::create(b, one, denominator);
}

Value rowSumOfSquares(ImplicitLocOpBuilder &b, Value rows) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(rows.getType());
  Value sums = filled(
      b, emptyTensor(b, {type.getDimSize(0)}, b.getF32Type(), rows, {0}), 0.0f);
  return generic(b, rows, sums, {map(ctx, 2, {0, 1}), map(ctx, 2, {0})},
                 {par, red},
                 [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
                   Value v = toF32(nb, a[0]);
                   Value square = arith::MulFOp::create(nb, v, v);
                   return arith::AddFOp::create(nb, a[1], square);
                 });
}

Value aggregateStreams(ImplicitLocOpBuilder &b, Value x, Value coeffs,
                       ArrayRef<unsigned> coeffDims) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(x.getType());
  Value init = filled(b,
                      emptyTensor(b, {type.getDimSize(0), type.getDimSize(2)},
                                  b.getF32Type(), x, {0, 2}),
                      0.0f);
  // Iterate (b, c, i): y[b, c] += s * x[b, i, c].
  return generic(
      b, {x, coeffs}, init,
      {map(ctx, 3, {0, 2, 1}), map(ctx, 3, coeffDims), map(ctx, 3, {0, 1})},
      {par, par, red}, [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
        Value product = arith::MulFOp::create(nb, a[1], toF32(nb, a[0]));
        return arith::AddFOp::create(nb, a[2], product);
      });
}

Value mixStreams(ImplicitLocOpBuilder &b, Value x, Value matrix,
                 ArrayRef<unsigned> matrixDims, Value coeffs,
                 ArrayRef<unsigned> coeffDims, Value f) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(x.getType());
  // Iterate (b, i, c): out[b, i, c] = s * f[b, c].
  Value init = generic(
      b, {coeffs, f},
      emptyTensor(b, type.getShape(), b.getF32Type(), x, {0, 1, 2}),
      {map(ctx, 3, coeffDims), map(ctx, 3, {0, 2}), map(ctx, 3, {0, 1, 2})},
      {par, par, par}, [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
        return arith::MulFOp::create(nb, a[0], toF32(nb, a[1]));
      });
  // Iterate (b, i, c, j): out[b, i, c] += m * x[b, j, c].
  return generic(
      b, {x, matrix}, init,
      {map(ctx, 4, {0, 3, 2}), map(ctx, 4, matrixDims), map(ctx, 4, {0, 1, 2})},
      {par, par, par, red},
      [&](ImplicitLocOpBuilder &nb, ValueRange a) -> Value {
        Value product = arith::MulFOp::create(nb, a[1], toF32(nb, a[0]));
        return arith::AddFOp::create(nb, a[2], product);
      });
}

} // namespace mlir::mhc::linalg_lowering

SmallVector<unsigned>
mlir::mhc::linalg_lowering::mixMatrixDims(bool transposed, bool perToken) {
  // The loop is (b, i, c, j).
  SmallVector<unsigned> dims = transposed ? SmallVector<unsigned>{3, 1}
                                          : SmallVector<unsigned>{1, 3};
  if (perToken)
    dims.insert(dims.begin(), 0);
  return dims;
}
