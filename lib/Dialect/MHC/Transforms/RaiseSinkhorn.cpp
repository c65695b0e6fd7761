//===- RaiseSinkhorn.cpp - Sinkhorn written in linalg -> mhc.sinkhorn -----===//
//
// Reads a Sinkhorn-Knopp projection back from its end: a chain of steps on
// one n x n f32 matrix, each a linalg op (or an scf.for that repeats a row
// and a column normalization), down to the exp of the logits:
//
//   exp(H) or exp(H - rowmax(H)), or linalg.softmax over rows
//   M / (rowsum(M) [+ a])          a line normalization (rows or columns)
//   M + a                          the softmax convention's addend
//
// The chain is mhc.sinkhorn exactly when, in order, it is: exp, rows (+0),
// [+ eps], columns (+a), then any number of (rows (+a), columns (+a)), with
// a = 0 and no addend (init = exp), or a = eps for every normalization
// (init = softmax, eps). iters counts the (rows, columns) pairs. A shift by
// anything but the row maximum, a reduction over the other dimension than
// the division broadcasts, a second eps, or an intermediate with a user
// outside the chain leaves the chain as it is.
//
//===----------------------------------------------------------------------===//

#include "LinalgMatchers.h"

#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::raising;

namespace {

struct Step {
  enum Kind { Exp, Normalize, Add } kind;
  unsigned dim = 0;    // Normalize: 0 rows, 1 columns
  double addend = 0.0; // Normalize: added to each line sum; Add: added
};

/// A static square f32 matrix.
bool isMatrix(Value v) {
  if (!isF32Tensor(v, 2))
    return false;
  auto type = cast<RankedTensorType>(v.getType());
  return type.hasStaticShape() && type.getDimSize(0) == type.getDimSize(1);
}

/// The elementwise generic of two loops on `v`'s matrix, or null.
linalg::GenericOp matrixMap(Value v) {
  auto op = v.getDefiningOp<linalg::GenericOp>();
  if (!op || !isElementwise(op) || op.getNumLoops() != 2 || !isMatrix(v))
    return {};
  return op;
}

bool isIdentityLeaf(const std::optional<Leaf> &l) {
  return l && l->map.isIdentity() && isMatrix(l->tensor);
}

/// M / (linesum(M) + a): the step, and M. M must have no other users than
/// the sum and the division.
std::optional<std::pair<Step, Value>> matchNormalize(linalg::GenericOp op) {
  FusedBody body(op);
  auto div = body.yielded().getDefiningOp<arith::DivFOp>();
  if (!div)
    return std::nullopt;
  std::optional<Leaf> m = body.leaf(div.getLhs());
  if (!isIdentityLeaf(m))
    return std::nullopt;
  Value divisor = div.getRhs();
  double addend = 0.0;
  if (auto add = divisor.getDefiningOp<arith::AddFOp>()) {
    bool matched = eitherOrder(add, [&](Value sum, Value c) {
      std::optional<double> a = constantValue(c);
      if (!a || !body.leaf(sum))
        return false;
      addend = *a, divisor = sum;
      return true;
    });
    if (!matched)
      return std::nullopt;
  }
  std::optional<Leaf> sums = body.leaf(divisor);
  if (!sums || sums->map.getNumResults() != 1 ||
      !sums->map.isProjectedPermutation() || !sums->tensor.hasOneUse())
    return std::nullopt;
  std::optional<LineReduction> r =
      matchLineReduction(sums->tensor, LineCombiner::Sum);
  // The sums must be those of M's lines that the division broadcasts along.
  if (!r || r->source != m->tensor ||
      sums->map.getDimPosition(0) != r->kept)
    return std::nullopt;
  auto users = m->tensor.getUsers();
  if (std::distance(users.begin(), users.end()) != 2)
    return std::nullopt;
  return std::make_pair(Step{Step::Normalize, r->kept, addend}, m->tensor);
}

/// M + a: the step, and M (which has no other user).
std::optional<std::pair<Step, Value>> matchAdd(linalg::GenericOp op) {
  FusedBody body(op);
  std::optional<std::pair<Step, Value>> result;
  eitherOrder(body.yielded().getDefiningOp<arith::AddFOp>(),
              [&](Value m, Value c) {
                std::optional<Leaf> l = body.leaf(m);
                std::optional<double> a = constantValue(c);
                if (!isIdentityLeaf(l) || !a || !l->tensor.hasOneUse())
                  return false;
                result = {Step{Step::Add, 0, *a}, l->tensor};
                return true;
              });
  return result;
}

/// exp(H) or exp(H - rowmax(H)): H.
std::optional<Value> matchExp(linalg::GenericOp op) {
  FusedBody body(op);
  auto exp = body.yielded().getDefiningOp<math::ExpOp>();
  if (!exp)
    return std::nullopt;
  // exp(H) of a tensor H as it is read (H may itself be computed), or
  // exp(H - rowmax(H)) with the shift possibly in a producer.
  if (std::optional<Leaf> h = body.leaf(exp.getOperand()))
    if (isIdentityLeaf(h))
      return h->tensor;
  auto sub = body.resolve(exp.getOperand()).getDefiningOp<arith::SubFOp>();
  if (!sub)
    return std::nullopt;
  std::optional<Leaf> h = body.leaf(sub.getLhs());
  std::optional<Leaf> max = body.leaf(sub.getRhs());
  if (!isIdentityLeaf(h) || !max || max->map.getNumResults() != 1 ||
      !max->map.isProjectedPermutation() || max->map.getDimPosition(0) != 0 ||
      !max->tensor.hasOneUse())
    return std::nullopt;
  std::optional<LineReduction> r =
      matchLineReduction(max->tensor, LineCombiner::Max);
  if (!r || r->source != h->tensor || r->kept != 0)
    return std::nullopt;
  return h->tensor;
}

/// Prepends to `steps` (kept in reverse order) the chain that ends in `v`,
/// back to `stop` (a loop's iteration argument) or to the logits; returns
/// where it stopped.
FailureOr<Value> parseBack(Value v, SmallVectorImpl<Step> &steps,
                           Value stop = {});

/// The most Sinkhorn rounds a chain may have (a loop of more is left alone).
constexpr int64_t kMaxRounds = 1 << 16;

/// An scf.for that repeats (rows, columns) a constant number of times and
/// does nothing else (raising it removes the loop).
FailureOr<Value> parseLoop(scf::ForOp loop, SmallVectorImpl<Step> &steps) {
  if (loop.getNumRegionIterArgs() != 1 || !loop->getResult(0).hasOneUse())
    return failure();
  std::optional<APInt> count = loop.getStaticTripCount();
  if (!count || count->getActiveBits() > 32 ||
      count->getZExtValue() > uint64_t(kMaxRounds))
    return failure();
  int64_t trips = count->getZExtValue();
  if (!llvm::all_of(loop.getBody()->without_terminator(),
                    [](Operation &op) { return isMemoryEffectFree(&op); }))
    return failure();
  SmallVector<Step> body;
  Value arg = loop.getRegionIterArgs()[0];
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  FailureOr<Value> start = parseBack(yield.getOperand(0), body, arg);
  // Reverse order: columns then rows.
  if (failed(start) || *start != arg || body.size() != 2 ||
      body[0].kind != Step::Normalize || body[0].dim != 1 ||
      body[1].kind != Step::Normalize || body[1].dim != 0 ||
      body[0].addend != body[1].addend)
    return failure();
  if (int64_t(steps.size()) + 2 * trips > 2 * kMaxRounds + 4)
    return failure();
  for (int64_t i = 0; i < trips; ++i)
    steps.append(body);
  return loop.getInitArgs()[0];
}

FailureOr<Value> parseBack(Value v, SmallVectorImpl<Step> &steps, Value stop) {
  while (v != stop) {
    if (auto loop = v.getDefiningOp<scf::ForOp>()) {
      FailureOr<Value> init = parseLoop(loop, steps);
      if (failed(init))
        return failure();
      v = *init;
      continue;
    }
    if (auto softmax = v.getDefiningOp<linalg::SoftmaxOp>()) {
      if (softmax.getDimension() != 1 || !isMatrix(softmax.getInput()))
        return failure();
      steps.push_back({Step::Normalize, 0, 0.0});
      steps.push_back({Step::Exp});
      return softmax.getInput();
    }
    linalg::GenericOp op = matrixMap(v);
    if (!op)
      return failure();
    if (auto norm = matchNormalize(op)) {
      steps.push_back(norm->first);
      v = norm->second;
    } else if (auto add = matchAdd(op)) {
      steps.push_back(add->first);
      v = add->second;
    } else if (std::optional<Value> h = matchExp(op)) {
      steps.push_back({Step::Exp});
      return *h;
    } else {
      return failure();
    }
  }
  return v;
}

/// The Sinkhorn op the steps (in order) compute, if any.
struct Convention {
  int64_t iters;
  SinkhornInit init;
  double eps;
};
std::optional<Convention> classify(ArrayRef<Step> steps) {
  if (steps.size() < 3 || steps[0].kind != Step::Exp ||
      steps[1].kind != Step::Normalize || steps[1].dim != 0 ||
      steps[1].addend != 0.0)
    return std::nullopt;
  bool softmax = steps[2].kind == Step::Add;
  double eps = softmax ? steps[2].addend : 0.0;
  if (softmax && eps <= 0.0)
    return std::nullopt;
  ArrayRef<Step> rounds = steps.drop_front(softmax ? 3 : 2);
  // columns, then (rows, columns) pairs, every addend eps.
  if (rounds.size() % 2 != 1)
    return std::nullopt;
  for (auto [i, step] : llvm::enumerate(rounds))
    if (step.kind != Step::Normalize || step.dim != (i % 2 == 0 ? 1u : 0u) ||
        step.addend != eps)
      return std::nullopt;
  return Convention{int64_t(rounds.size() / 2 + 1),
                    softmax ? SinkhornInit::Softmax : SinkhornInit::Exp, eps};
}

/// Whether `user` continues a Sinkhorn chain on `v` (so `v` is not its end):
/// a loop that takes `v` in, a normalization or an addend step on `v`, or a
/// line sum of `v` that such a normalization divides by.
bool continuesChain(Value v, Operation *user) {
  if (auto loop = dyn_cast<scf::ForOp>(user))
    return loop.getNumRegionIterArgs() == 1 && loop.getInitArgs()[0] == v;
  if (isa<linalg::SoftmaxOp>(user))
    return true;
  auto steps = [&](Operation *op) {
    auto g = dyn_cast_or_null<linalg::GenericOp>(op);
    if (!g || g->getNumResults() != 1 || !matrixMap(g->getResult(0)))
      return false;
    auto norm = matchNormalize(g);
    auto add = matchAdd(g);
    return (norm && norm->second == v) || (add && add->second == v);
  };
  if (steps(user))
    return true;
  if (user->getNumResults() != 1 || !user->getResult(0).hasOneUse())
    return false;
  std::optional<LineReduction> sum =
      matchLineReduction(user->getResult(0), LineCombiner::Sum);
  return sum && sum->source == v &&
         steps(*user->getResult(0).getUsers().begin());
}

LogicalResult raise(Operation *end, PatternRewriter &rewriter) {
  if (end->getNumResults() != 1)
    return failure();
  Value v = end->getResult(0);
  if (!isMatrix(v) || llvm::any_of(v.getUsers(), [&](Operation *user) {
        return continuesChain(v, user);
      }))
    return failure();
  SmallVector<Step> steps;
  FailureOr<Value> logits = parseBack(v, steps);
  if (failed(logits))
    return failure();
  std::reverse(steps.begin(), steps.end());
  std::optional<Convention> c = classify(steps);
  if (!c)
    return rewriter.notifyMatchFailure(end, "not one Sinkhorn convention");
  return replaceIfValid<SinkhornOp>(
      rewriter, end, *logits, rewriter.getI64IntegerAttr(c->iters),
      SinkhornInitAttr::get(rewriter.getContext(), c->init),
      rewriter.getF32FloatAttr(c->init == SinkhornInit::Softmax ? c->eps
                                                                : 1.0e-6));
}

struct RaiseSinkhornFromGeneric : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    return raise(op, rewriter);
  }
};

struct RaiseSinkhornFromLoop : OpRewritePattern<scf::ForOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(scf::ForOp op,
                                PatternRewriter &rewriter) const override {
    if (op->getNumResults() != 1)
      return failure();
    return raise(op, rewriter);
  }
};

} // namespace

void mlir::mhc::raising::populateRaiseSinkhornPatterns(
    RewritePatternSet &patterns) {
  patterns.add<RaiseSinkhornFromGeneric, RaiseSinkhornFromLoop>(
      patterns.getContext());
}
