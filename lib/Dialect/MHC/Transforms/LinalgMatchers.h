//===- LinalgMatchers.h - reading mHC math out of linalg --------*- C++ -*-===//
//
// What --mhc-raise-from-linalg recognizes, in pieces: the scalar body of a
// linalg.generic seen through the elementwise generics that feed it (as
// linalg's elementwise fusion would merge them, without rewriting
// anything), float constants, zero-filled accumulators and line reductions
// (a sum, a maximum or a sum of squares of every row or column of a
// matrix, written as a linalg.generic or a linalg.reduce).
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_DIALECT_MHC_TRANSFORMS_LINALGMATCHERS_H
#define MHC_LIB_DIALECT_MHC_TRANSFORMS_LINALGMATCHERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"

#include <optional>

namespace mlir::mhc::raising {

/// A scalar of a body that reads `tensor` at `map` of the root's loops.
struct Leaf {
  Value tensor;
  AffineMap map;
};

/// The body of a root linalg.generic with one result, extended through the
/// elementwise linalg.generic ops that produce its inputs when each such
/// producer has the root as its only user.
class FusedBody {
public:
  explicit FusedBody(linalg::GenericOp root);

  linalg::GenericOp root() const { return rootOp; }
  /// The scalar the root yields.
  Value yielded() const;
  /// Whether `v` is the root's accumulator (its output block argument).
  bool isAccumulator(Value v) const;
  /// `v` itself, or, when `v` reads the result of a producer that can be
  /// looked through, that producer's yielded scalar (repeatedly).
  Value resolve(Value v);
  /// The tensor and map `v` reads, when `v` is an input block argument of
  /// the root or of a looked-through producer. Does not look through.
  std::optional<Leaf> leaf(Value v) const;

private:
  mutable linalg::GenericOp rootOp; // op handles are not const-correct
  llvm::DenseMap<Value, Leaf> leaves;
};

/// Whether `op` is elementwise: parallel loops only, one result whose map is
/// the identity, a body that neither reads its output nor asks for indices.
bool isElementwise(linalg::GenericOp op);

/// The value of a scalar f32/f64 arith.constant (or a splat of one).
std::optional<double> constantValue(Value v);

/// Whether `v` is filled with `value` everywhere (linalg.fill of a constant,
/// or a splat constant tensor).
bool isFilledWith(Value v, double value);

/// Whether `v` is the number of elements of dimension `dim` of `tensor` as a
/// float: a constant equal to its static size, or sitofp/uitofp of an
/// index_cast of tensor.dim.
bool isDimSize(Value v, Value tensor, int64_t dim);

/// `a` and `b` as the operands of the commutative `op` in either order:
/// calls `f(lhs, rhs)` with both orders and returns whether one held.
bool eitherOrder(Operation *op, function_ref<bool(Value, Value)> f);

enum class LineCombiner { Sum, Max, SumOfSquares };

/// A reduction of every line of a rank-2 `source`: `kept` is the dimension
/// of `source` that indexes the result (0: one value per row).
struct LineReduction {
  Value source;
  unsigned kept;
};

/// `v` as a line reduction of the given kind, its accumulator initialized
/// with 0 (sums) or -inf (maximum).
std::optional<LineReduction> matchLineReduction(Value v, LineCombiner kind);

/// Tensor kinds: f32 of `rank`; f32 or bf16 (activations) of `rank`; bf16.
bool isF32Tensor(Value v, int64_t rank);
bool isActivationTensor(Value v, int64_t rank);
bool isBF16Tensor(Value v);

/// `v` as a leaf, or as the exact f32 widening (arith.extf) of a bf16 leaf.
std::optional<Leaf> widenedLeaf(FusedBody &body, Value v);

/// Whether `map` reads exactly the loop dimensions `dims`, in order.
bool reads(AffineMap map, ArrayRef<unsigned> dims);

/// An elementwise generic of `rank` loops producing an f32 tensor.
bool isElementwiseRoot(linalg::GenericOp op, int64_t rank);

/// `op` as acc + a * b with a zero-filled accumulator: the leaves a and b
/// (bf16 ones through their widening).
std::optional<std::pair<Leaf, Leaf>> matchContraction(linalg::GenericOp op);

/// Whether an `OpT` built from `args` at `loc` would pass its verifier (the
/// rules of the mhc ops: static stream counts, sizes that agree, eps > 0,
/// ...): built unlinked, verified with its diagnostics dropped, destroyed.
/// A pattern raises only what verifies.
template <typename OpT, typename... Args>
bool wouldVerify(MLIRContext *ctx, Location loc, Args &&...args) {
  OpBuilder builder(ctx);
  OpT op = OpT::create(builder, loc, std::forward<Args>(args)...);
  ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &) { return success(); });
  bool ok = succeeded(mlir::verify(op));
  op->destroy();
  return ok;
}

/// Replaces `root` with an `OpT` built from `args` if that op verifies.
template <typename OpT, typename... Args>
LogicalResult replaceIfValid(PatternRewriter &rewriter, Operation *root,
                             Args &&...args) {
  if (!wouldVerify<OpT>(root->getContext(), root->getLoc(), args...))
    return rewriter.notifyMatchFailure(root, "the mhc op would not verify");
  rewriter.replaceOpWithNewOp<OpT>(root, std::forward<Args>(args)...);
  return success();
}

/// The stream sums and products: mhc.aggregate, mhc.pre, mhc.mix, mhc.post
/// (RaiseStreams.cpp).
void populateRaiseStreamsPatterns(RewritePatternSet &patterns);

/// The Sinkhorn chains (RaiseSinkhorn.cpp).
void populateRaiseSinkhornPatterns(RewritePatternSet &patterns);

} // namespace mlir::mhc::raising

#endif // MHC_LIB_DIALECT_MHC_TRANSFORMS_LINALGMATCHERS_H
