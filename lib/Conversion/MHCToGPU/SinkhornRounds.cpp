//===- SinkhornRounds.cpp - gates and Sinkhorn rounds in registers --------===//
//
// The KernelBuilder pieces every kernel that computes mHC coefficients uses:
// the sigmoid gate, and the Sinkhorn rounds on values held in registers
// (rows within a lane, columns within a lane or by butterflies across
// lanes), with one approximate reciprocal per line. The fused static
// layer's prologue (SinkhornPrologue.cpp) runs them on H_res, the dynamic
// pre (PreKernels.cpp) on each token's logits.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace mlir::mhc::gpu_lowering;

Value KernelBuilder::gate(Value logit, Value scale, Value bias) {
  // sigmoid(h) = 1 / (1 + exp(-h)); exp overflowing to inf gives 0, exactly.
  Value e = math::ExpOp::create(b, arith::NegFOp::create(b, logit));
  Value denominator = add(f32c(1.0f), e);
  Value s = arith::DivFOp::create(b, f32c(1.0f), denominator);
  return add(mul(scale, s), bias);
}

/// 1 / (sum + a) for the register rounds: the bare MUFU.RCP
/// (rcp.approx.ftz, 1 ulp) of a divisor of at least the smallest normal
/// float, else 1, which leaves a line whose sum is zero (only with a = 0)
/// or denormal as it is. The rounds are a chain of dependent reciprocals:
/// the exact one made the 20 rounds cost 7.5 us per block (bench/NOTES.md,
/// attempts 7 and 12), and rcp.approx without .ftz adds a range check and
/// two scaling multiplies to each (attempt 35). A denormal divisor's
/// reciprocal can exceed the float range, and multiplying by infinity gave
/// NaN in the next round (RuntimeGpuTest's UnderflowingColumnStaysFinite).
Value KernelBuilder::sinkhornReciprocal(Value sum, Value a) {
  Value divisor = add(sum, a);
  Value normal = arith::CmpFOp::create(b, arith::CmpFPredicate::OGE, divisor,
                                       f32c(std::numeric_limits<float>::min()));
  Value r = NVVM::RcpApproxFtzF32Op::create(b, f32, divisor);
  return arith::SelectOp::create(b, normal, r, f32c(1.0f));
}

/// A row's sum in registers: pairwise, an odd element carried to the next
/// level. For a power-of-two count this is the order of a butterfly over
/// the values (neighbours first, then pairs of pairs), which the column
/// sums rely on for their bits.
Value KernelBuilder::pairwiseSum(ArrayRef<Value> values) {
  SmallVector<Value> sums(values.begin(), values.end());
  while (sums.size() > 1) {
    SmallVector<Value> next;
    for (size_t k = 0; k + 1 < sums.size(); k += 2)
      next.push_back(add(sums[k], sums[k + 1]));
    if (sums.size() % 2)
      next.push_back(sums.back());
    sums = next;
  }
  return sums[0];
}

/// Rows 0 .. rows - 1 of `v` (n values each, row-major), each by its
/// pairwise sum + a.
void KernelBuilder::normalizeRowsInLane(SmallVector<Value> &v, int64_t n,
                                        int64_t rows, Value a) {
  for (int64_t k = 0; k < rows; ++k) {
    MutableArrayRef<Value> row(&v[k * n], n);
    Value scale = sinkhornReciprocal(pairwiseSum(row), a);
    for (Value &x : row)
      x = mul(x, scale);
  }
}

/// Columns 0 .. n - 1 of the `rows` rows the lane holds in `v`
/// (row-major), each by its sum + a: the lane's entries, padded with
/// zeros to `padded` (a power of two), pairwise, then butterflies across
/// `lanes` lanes. Both forms of the rounds add in the order of one
/// butterfly over the next power of two >= n rows, so they give the same
/// bits.
void KernelBuilder::normalizeColumnsInLane(SmallVector<Value> &v, int64_t n,
                                           int64_t rows, int64_t padded,
                                           int64_t lanes, Value a) {
  for (int64_t j = 0; j < n; ++j) {
    SmallVector<Value> entries;
    for (int64_t k = 0; k < padded; ++k)
      entries.push_back(k < rows ? v[k * n + j] : f32c(0.0f));
    Value sum = pairwiseSum(entries);
    for (int64_t offset = 1; offset < lanes; offset *= 2)
      sum = add(
          sum, gpu::ShuffleOp::create(b, sum, offset, 32, gpu::ShuffleMode::XOR)
                   .getShuffleResult());
    Value scale = sinkhornReciprocal(sum, a);
    for (int64_t k = 0; k < rows; ++k)
      v[k * n + j] = mul(v[k * n + j], scale);
  }
}

/// The schedule of the register rounds, on whatever part of the matrix
/// the lane holds: rows by their sums (a = 0), `plusAddend`, columns by
/// their sums + a (`addend`), then `itersI32` - 1 rounds of rows and
/// columns (+ a). Returns the loop; its results are the lane's values of
/// M'.
scf::ForOp KernelBuilder::sinkhornSchedule(
    SmallVector<Value> values, Value addend, Value itersI32, Normalize rows,
    Normalize columns, function_ref<void(SmallVector<Value> &)> plusAddend) {
  rows(values, f32c(0.0f));
  plusAddend(values);
  columns(values, addend);
  Value iters = arith::IndexCastOp::create(b, b.getIndexType(), itersI32);
  return forLoop(1, iters, 1, values,
                 [&](OpBuilder &, Location, Value, ValueRange iter) {
                   SmallVector<Value> next(iter.begin(), iter.end());
                   rows(next, addend);
                   columns(next, addend);
                   scf::YieldOp::create(b, next);
                 });
}

