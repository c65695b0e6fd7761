//===- LinalgBuilders.h - what the mhc -> linalg patterns share -*- C++ -*-===//
//
// Small builders of linalg on tensors (empty and filled tensors, a generic
// with one output, identity-like affine maps) and the pattern sets of the
// files of this conversion.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_CONVERSION_MHCTOLINALG_LINALGBUILDERS_H
#define MHC_LIB_CONVERSION_MHCTOLINALG_LINALGBUILDERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::mhc::linalg_lowering {

using BodyFn = function_ref<Value(ImplicitLocOpBuilder &, ValueRange)>;

/// An empty tensor of `shape` whose dynamic dimensions are read from
/// `source` (dimension `sourceDims[d]` for result dimension d).
Value emptyTensor(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape,
                  Type element, Value source, ArrayRef<int64_t> sourceDims);

/// `empty` filled with the f32 `value`.
Value filled(ImplicitLocOpBuilder &b, Value empty, float value);

/// One linalg.generic with a single output; `body` gets the scalars of the
/// inputs followed by the output's and returns the new output scalar.
Value generic(ImplicitLocOpBuilder &b, ValueRange inputs, Value init,
              ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iterators,
              BodyFn body);

/// The map of `dims` loop dimensions to the dimensions `results`.
AffineMap map(MLIRContext *ctx, unsigned dims, ArrayRef<unsigned> results);

/// `v` as f32 (widened when it is narrower).
Value toF32(ImplicitLocOpBuilder &b, Value v);

/// sigmoid(v) = 1 / (1 + exp(-v)); exp overflowing to inf gives 0 exactly.
Value sigmoid(ImplicitLocOpBuilder &b, Value v);

/// The f32 sum of squares of each row of a [B, K] tensor, in index order.
Value rowSumOfSquares(ImplicitLocOpBuilder &b, Value rows);

/// y[b, c] = sum_i s * x[b, i, c] (f32, i in order) for x [B, n, C], with s
/// the entry of `coeffs` at `coeffDims` of the loop (b, c, i): {2} for one
/// coefficient per stream, {0, 2} for one per token and stream.
Value aggregateStreams(ImplicitLocOpBuilder &b, Value x, Value coeffs,
                       ArrayRef<unsigned> coeffDims);

/// The `matrixDims` of mixStreams for M'[i, j] = M[i, j] (or M[j, i] when
/// `transposed`), with a leading token dimension when `perToken`.
SmallVector<unsigned> mixMatrixDims(bool transposed, bool perToken);

/// out[b, i, c] = s * f[b, c] + sum_j m * x[b, j, c] (f32, j in order) for x
/// [B, n, C], with s the entry of `coeffs` at `coeffDims` of the loop
/// (b, i, c) and m that of `matrix` at `matrixDims` of the loop (b, i, c, j).
Value mixStreams(ImplicitLocOpBuilder &b, Value x, Value matrix,
                 ArrayRef<unsigned> matrixDims, Value coeffs,
                 ArrayRef<unsigned> coeffDims, Value f);

constexpr auto par = utils::IteratorType::parallel;
constexpr auto red = utils::IteratorType::reduction;

/// mhc.sinkhorn, on one matrix or one per token (SinkhornToLinalg.cpp).
void populateSinkhornToLinalgPatterns(RewritePatternSet &patterns);
/// mhc.coefficients, mhc.pre, mhc.post (DynamicToLinalg.cpp).
void populateDynamicToLinalgPatterns(RewritePatternSet &patterns);

} // namespace mlir::mhc::linalg_lowering

#endif // MHC_LIB_CONVERSION_MHCTOLINALG_LINALGBUILDERS_H
