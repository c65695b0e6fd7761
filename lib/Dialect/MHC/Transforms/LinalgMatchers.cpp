//===- LinalgMatchers.cpp - reading mHC math out of linalg ----------------===//
//
// The building blocks of --mhc-raise-from-linalg (LinalgMatchers.h).
//
//===----------------------------------------------------------------------===//

#include "LinalgMatchers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::mhc::raising;

bool mlir::mhc::raising::isElementwise(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op->getNumResults() != 1 ||
      op.getNumReductionLoops() != 0)
    return false;
  OpOperand *init = op.getDpsInitOperand(0);
  if (!op.getMatchingIndexingMap(init).isIdentity() ||
      !op.getMatchingBlockArgument(init).use_empty())
    return false;
  return op.getBody()->getOps<linalg::IndexOp>().empty();
}

FusedBody::FusedBody(linalg::GenericOp root) : rootOp(root) {
  for (OpOperand *in : root.getDpsInputOperands())
    leaves[root.getMatchingBlockArgument(in)] = {in->get(),
                                                 root.getMatchingIndexingMap(in)};
}

Value FusedBody::yielded() const {
  return rootOp.getBody()->getTerminator()->getOperand(0);
}

bool FusedBody::isAccumulator(Value v) const {
  return rootOp.getNumDpsInits() == 1 &&
         v == rootOp.getMatchingBlockArgument(rootOp.getDpsInitOperand(0));
}

std::optional<Leaf> FusedBody::leaf(Value v) const {
  auto it = leaves.find(v);
  if (it == leaves.end())
    return std::nullopt;
  return it->second;
}

Value FusedBody::resolve(Value v) {
  while (std::optional<Leaf> l = leaf(v)) {
    auto producer = l->tensor.getDefiningOp<linalg::GenericOp>();
    if (!producer || !isElementwise(producer) || !l->tensor.hasOneUse())
      return v;
    // The producer's loops are its result's indices, read at l->map.
    for (OpOperand *in : producer.getDpsInputOperands())
      leaves[producer.getMatchingBlockArgument(in)] = {
          in->get(), producer.getMatchingIndexingMap(in).compose(l->map)};
    v = producer.getBody()->getTerminator()->getOperand(0);
  }
  return v;
}

std::optional<double> mlir::mhc::raising::constantValue(Value v) {
  FloatAttr attr;
  if (matchPattern(v, m_Constant(&attr)))
    return attr.getValueAsDouble();
  DenseFPElementsAttr dense;
  if (matchPattern(v, m_Constant(&dense)) && dense.isSplat())
    return dense.getSplatValue<APFloat>().convertToDouble();
  return std::nullopt;
}

bool mlir::mhc::raising::isFilledWith(Value v, double value) {
  // A maximum may start from -inf or from the lowest finite f32.
  auto same = [&](std::optional<double> c) {
    return c && (*c == value ||
                 (std::isinf(value) && value < 0 &&
                  *c == -double(std::numeric_limits<float>::max())));
  };
  if (auto fill = v.getDefiningOp<linalg::FillOp>())
    return same(constantValue(fill.getInputs()[0]));
  return same(constantValue(v));
}

bool mlir::mhc::raising::isDimSize(Value v, Value tensor, int64_t dim) {
  auto type = dyn_cast<RankedTensorType>(tensor.getType());
  if (!type || dim >= type.getRank())
    return false;
  if (std::optional<double> c = constantValue(v))
    return !type.isDynamicDim(dim) && *c == double(type.getDimSize(dim));
  Operation *toFloat = v.getDefiningOp();
  if (!isa_and_nonnull<arith::SIToFPOp, arith::UIToFPOp>(toFloat))
    return false;
  // Through i64 only: a narrower integer would wrap a large C.
  Operation *cast = toFloat->getOperand(0).getDefiningOp();
  if (!isa_and_nonnull<arith::IndexCastOp, arith::IndexCastUIOp>(cast) ||
      !cast->getResult(0).getType().isInteger(64))
    return false;
  auto dimOp = cast->getOperand(0).getDefiningOp<tensor::DimOp>();
  std::optional<int64_t> index = dimOp ? dimOp.getConstantIndex() : std::nullopt;
  return dimOp && dimOp.getSource() == tensor && index && *index == dim;
}

bool mlir::mhc::raising::eitherOrder(Operation *op,
                                     function_ref<bool(Value, Value)> f) {
  if (!op || op->getNumOperands() != 2)
    return false;
  return f(op->getOperand(0), op->getOperand(1)) ||
         f(op->getOperand(1), op->getOperand(0));
}

/// The dimension of a rank-2 source that a reduction over `reduced` (a loop
/// dimension) keeps, given the source's map: the other one.
static std::optional<unsigned> keptDimension(AffineMap sourceMap,
                                             unsigned reduced) {
  if (sourceMap.getNumResults() != 2 || !sourceMap.isPermutation())
    return std::nullopt;
  return sourceMap.getDimPosition(0) == reduced ? 1u : 0u;
}

static bool combines(Operation *op, LineCombiner kind) {
  if (kind == LineCombiner::Max)
    return isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp>(op);
  return isa_and_nonnull<arith::AddFOp>(op);
}

static std::optional<LineReduction> matchGenericReduction(linalg::GenericOp op,
                                                          LineCombiner kind) {
  if (op.getNumDpsInits() != 1 || op.getNumLoops() != 2 ||
      op.getNumReductionLoops() != 1)
    return std::nullopt;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (out.getNumResults() != 1 || !out.isProjectedPermutation())
    return std::nullopt;
  unsigned reduced = 1 - out.getDimPosition(0);
  FusedBody body(op);
  Operation *combine = body.yielded().getDefiningOp();
  if (!combines(combine, kind))
    return std::nullopt;
  std::optional<LineReduction> result;
  eitherOrder(combine, [&](Value acc, Value term) {
    if (!body.isAccumulator(acc))
      return false;
    std::optional<Leaf> in;
    if (kind == LineCombiner::SumOfSquares) {
      auto square = body.resolve(term).getDefiningOp<arith::MulFOp>();
      if (!square || square.getLhs() != square.getRhs())
        return false;
      in = body.leaf(square.getLhs());
    } else {
      in = body.leaf(term);
    }
    auto type = in ? dyn_cast<RankedTensorType>(in->tensor.getType())
                   : RankedTensorType();
    if (!type || type.getRank() != 2)
      return false;
    std::optional<unsigned> kept = keptDimension(in->map, reduced);
    if (!kept || in->map.getDimPosition(*kept) != out.getDimPosition(0))
      return false;
    result = LineReduction{in->tensor, *kept};
    return true;
  });
  return result;
}

static std::optional<LineReduction> matchNamedReduction(linalg::ReduceOp op,
                                                        LineCombiner kind) {
  if (kind == LineCombiner::SumOfSquares || op.getInputs().size() != 1 ||
      op.getDimensions().size() != 1)
    return std::nullopt;
  Value source = op.getInputs()[0];
  auto type = dyn_cast<RankedTensorType>(source.getType());
  if (!type || type.getRank() != 2)
    return std::nullopt;
  Block &body = op.getCombiner().front();
  Operation *combine = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!combines(combine, kind) ||
      !eitherOrder(combine, [&](Value a, Value b) {
        return a == body.getArgument(0) && b == body.getArgument(1);
      }))
    return std::nullopt;
  return LineReduction{source, unsigned(1 - op.getDimensions()[0])};
}

std::optional<LineReduction>
mlir::mhc::raising::matchLineReduction(Value v, LineCombiner kind) {
  Operation *op = v.getDefiningOp();
  if (!op || op->getNumResults() != 1)
    return std::nullopt;
  std::optional<LineReduction> reduction;
  Value init;
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    reduction = matchGenericReduction(generic, kind);
    init = generic.getDpsInits()[0];
  } else if (auto reduce = dyn_cast<linalg::ReduceOp>(op)) {
    reduction = matchNamedReduction(reduce, kind);
    init = reduce.getInits()[0];
  }
  double start = kind == LineCombiner::Max
                     ? -std::numeric_limits<double>::infinity()
                     : 0.0;
  if (!reduction || !isFilledWith(init, start))
    return std::nullopt;
  return reduction;
}

namespace mlir::mhc::raising {

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

} // namespace mlir::mhc::raising
