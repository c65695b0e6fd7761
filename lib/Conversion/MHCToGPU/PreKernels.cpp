//===- PreKernels.cpp - the dynamic-H pre kernel and the unit's launches --===//
//
// Kernel 2 of the pre unit (Contract/DynamicPre.h): blocks loop over groups
// of kPreGroupTokens tokens. Per group:
//  1. the block sums each token's partials over the K slices, in slice
//     order, into shared memory (the logits and the sum of squares);
//  2. warp 0 finishes the coefficients, one token per lane: r = 1 /
//     sqrt(sum of squares / (n C) + eps), the logits alpha (dot r) + bias,
//     the gates (h_pre = sigmoid + pre_eps, h_post = 2 sigmoid), and
//     Sinkhorn on the token's n x n logits in the lane's registers (the
//     schedule and approximate reciprocals of the static layer's rounds,
//     SinkhornRounds.cpp); it writes h_pre, h_post and M, and h_pre to
//     shared memory;
//  3. the block aggregates y[b, c] = sum_i h_pre[b, i] x[b, i, c] for the
//     group's tokens, 16-byte accesses, sums in f32 in stream order, one
//     rounding to x's type.
// The unit's launches: the projection over all tokens into the partials
// (a buffer of the launch; the runtime passes its workspace), then this
// kernel.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "KernelContract.h"
#include "PreKernels.h"

#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::gpu_lowering;
namespace contract = ::mhc::contract;
namespace pa = ::mhc::contract::dynamic_pre::pre;
namespace proj = ::mhc::contract::dynamic_pre::projection;

PreShape PreShape::get(RankedTensorType x, RankedTensorType phi,
                       const ConvertMHCToGPUOptions &options) {
  PreShape shape;
  shape.streams = x.getDimSize(1);
  shape.activation = x.getElementType();
  shape.projection = phi.getElementType();
  shape.threads = options.threadsPerBlock;
  shape.portable = options.vectorWidth == 1;
  // 16 bytes of x per access (the vector projection needs rows of whole
  // steps, so C is a multiple of it wherever those kernels run).
  shape.vector = shape.portable ? 1 : shape.activation.isBF16() ? 8 : 4;
  return shape;
}

dpre::ProjectionVariant PreShape::projectionVariant() const {
  dpre::ProjectionVariant v;
  v.streams = streams;
  v.bf16Activation = activation.isBF16();
  v.bf16Projection = projection.isBF16();
  v.vectorWidth = portable ? 1 : bf16Multiply() ? 8 : 4;
  return v;
}

ContractElements PreShape::elements() const {
  ContractElements e;
  e.activation = activation;
  e.weight = projection;
  return e;
}

dpre::PreVariant PreShape::preVariant() const {
  dpre::PreVariant v;
  v.streams = streams;
  v.bf16Activation = activation.isBF16();
  v.vectorWidth = vector;
  v.threads = threads;
  return v;
}

namespace {
class PreEmitter : public KernelBuilder {
public:
  PreEmitter(ImplicitLocOpBuilder &b, const PreShape &shape,
             gpu::GPUFuncOp func)
      : KernelBuilder(b, func), shape(shape), n(shape.streams),
        m(dpre::projectionWidth(n)), width(dpre::partialWidth(n)),
        vecType(VectorType::get({shape.vector}, b.getF32Type())) {}

  void emit();

private:
  void sumPartials(Value base);
  void coefficients(Value base);
  void aggregate(Value base);

  const PreShape &shape;
  const int64_t n, m, width;
  VectorType vecType;
  Value batch, channels, splits, mixMem, gateMem;
};
} // namespace

/// Step 1: mix[t * W + j] = sum over slices of partials[slice, base + t, j]
/// for the group's tokens (0 past B).
void PreEmitter::sumPartials(Value base) {
  const int64_t entries = dpre::kPreGroupTokens * width;
  scf::ForOp::create(
      b, tid, index(entries), index(shape.threads), ValueRange{},
      [&](OpBuilder &, Location, Value idx, ValueRange) {
        Value t = arith::DivUIOp::create(b, idx, index(width));
        Value j = arith::RemUIOp::create(b, idx, index(width));
        Value token = addi(base, t);
        Value valid = ult(token, batch);
        Value lastRow = arith::SubIOp::create(b, batch, index(1));
        Value row = arith::MinUIOp::create(b, token, lastRow);
        auto sum = forLoop(
            0, splits, 1, ValueRange{f32c(0.0f)},
            [&](OpBuilder &, Location, Value s, ValueRange acc) {
              Value p = memref::LoadOp::create(b, arg(pa::Partials),
                                               ValueRange{s, row, j});
              scf::YieldOp::create(b, add(acc[0], p));
            });
        Value v = arith::SelectOp::create(b, valid, sum.getResult(0),
                                          f32c(0.0f));
        memref::StoreOp::create(b, v, mixMem, idx);
        scf::YieldOp::create(b);
      });
}

/// Step 2: warp 0, lane t: token base + t's gates and M.
void PreEmitter::coefficients(Value base) {
  ifThen(eq(warp, index(0)), [&] {
    Value token = addi(base, lane);
    Value valid = ult(token, batch);
    Value rowBase = muli(lane, index(width));
    auto mix = [&](int64_t j) -> Value {
      return memref::LoadOp::create(b, mixMem, addi(rowBase, index(j)));
    };
    Value count = arith::UIToFPOp::create(
        b, f32,
        arith::IndexCastUIOp::create(b, b.getI64Type(),
                                     muli(channels, index(n))));
    Value meanSquare = arith::DivFOp::create(b, mix(m), count);
    Value r = math::RsqrtOp::create(b, add(meanSquare, arg(pa::Eps)));
    SmallVector<Value> alpha;
    for (int64_t k = 0; k < 3; ++k)
      alpha.push_back(memref::LoadOp::create(b, arg(pa::Alpha), index(k)));
    auto logit = [&](int64_t j, Value scale) {
      Value bias = memref::LoadOp::create(b, arg(pa::Bias), index(j));
      return add(mul(scale, mul(mix(j), r)), bias);
    };
    SmallVector<Value> hPre, hPost;
    for (int64_t i = 0; i < n; ++i)
      hPre.push_back(gate(logit(i, alpha[0]), f32c(1.0f), arg(pa::PreEps)));
    for (int64_t i = 0; i < n; ++i)
      hPost.push_back(gate(logit(n + i, alpha[1]), f32c(2.0f), f32c(0.0f)));
    // The token's n x n logits, row by row exp(l - max of the row).
    SmallVector<Value> values;
    for (int64_t i = 0; i < n; ++i) {
      SmallVector<Value> row;
      for (int64_t j = 0; j < n; ++j)
        row.push_back(logit(2 * n + i * n + j, alpha[2]));
      Value rowMax = row[0];
      for (int64_t j = 1; j < n; ++j)
        rowMax = arith::MaximumFOp::create(b, rowMax, row[j]);
      for (int64_t j = 0; j < n; ++j)
        values.push_back(
            math::ExpOp::create(b, arith::SubFOp::create(b, row[j], rowMax)));
    }
    const int64_t padded = llvm::PowerOf2Ceil(n);
    Value addend = arg(pa::SinkhornAddend);
    scf::ForOp rounds = sinkhornSchedule(
        values, addend, arg(pa::SinkhornIters),
        [&](SmallVector<Value> &v, Value a) {
          normalizeRowsInLane(v, n, n, a);
        },
        [&](SmallVector<Value> &v, Value a) {
          normalizeColumnsInLane(v, n, n, padded, /*lanes=*/1, a);
        },
        [&](SmallVector<Value> &v) {
          for (Value &x : v)
            x = add(x, addend);
        });
    ifThen(valid, [&] {
      for (int64_t i = 0; i < n; ++i) {
        Value at = index(i);
        memref::StoreOp::create(b, hPre[i], arg(pa::HPre),
                                ValueRange{token, at});
        memref::StoreOp::create(b, hPost[i], arg(pa::HPost),
                                ValueRange{token, at});
        memref::StoreOp::create(b, hPre[i], gateMem,
                                addi(muli(lane, index(n)), at));
        for (int64_t j = 0; j < n; ++j)
          memref::StoreOp::create(b, rounds.getResult(i * n + j),
                                  arg(pa::Matrix),
                                  ValueRange{token, at, index(j)});
      }
    });
  });
}

/// Step 3: y of the group's tokens.
void PreEmitter::aggregate(Value base) {
  Type xType = shape.activation;
  auto xVec = VectorType::get({shape.vector}, xType);
  Value perPass = index(shape.threads * shape.vector);
  Value chunks = arith::CeilDivUIOp::create(b, channels, perPass);
  Value lane0 = muli(tid, index(shape.vector));
  forLoop(0, dpre::kPreGroupTokens, 1, ValueRange{},
          [&](OpBuilder &, Location, Value t, ValueRange) {
            Value token = addi(base, t);
            ifThen(ult(token, batch), [&] {
              SmallVector<Value> h;
              for (int64_t i = 0; i < n; ++i)
                h.push_back(memref::LoadOp::create(
                    b, gateMem, addi(muli(t, index(n)), index(i))));
              forLoop(0, chunks, 1, ValueRange{},
                      [&](OpBuilder &, Location, Value k, ValueRange) {
                        Value c = addi(muli(k, perPass), lane0);
                        ifThen(ult(c, channels), [&] {
                          Value acc;
                          for (int64_t i = 0; i < n; ++i) {
                            Value v = loadAligned(xVec, arg(pa::X),
                                                  {token, index(i), c});
                            if (!xType.isF32())
                              v = arith::ExtFOp::create(b, vecType, v);
                            Value s = splat(vecType, h[i]);
                            acc = i == 0 ? mul(s, v) : mulAdd(s, v, acc);
                          }
                          if (!xType.isF32())
                            acc = arith::TruncFOp::create(b, xVec, acc);
                          storeAligned(acc, arg(pa::Y), {token, c});
                        });
                        scf::YieldOp::create(b);
                      });
            });
            scf::YieldOp::create(b);
          });
}

void PreEmitter::emit() {
  b.setInsertionPointToStart(&func.getBody().front());
  emitThreadIds();
  ArrayRef<BlockArgument> wg = func.getWorkgroupAttributions();
  mixMem = wg[0];
  gateMem = wg[1];
  batch = memref::DimOp::create(b, arg(pa::X), 0);
  channels = memref::DimOp::create(b, arg(pa::X), 2);
  splits = memref::DimOp::create(b, arg(pa::Partials), 0);
  Value groups =
      arith::CeilDivUIOp::create(b, batch, index(dpre::kPreGroupTokens));
  Value first = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value stride = gpu::GridDimOp::create(b, gpu::Dimension::x);
  scf::ForOp::create(b, first, groups, stride, ValueRange{},
                     [&](OpBuilder &, Location, Value g, ValueRange) {
                       Value base = muli(g, index(dpre::kPreGroupTokens));
                       sumPartials(base);
                       gpu::BarrierOp::create(b);
                       coefficients(base);
                       gpu::BarrierOp::create(b);
                       aggregate(base);
                       // The next group overwrites the shared buffers.
                       gpu::BarrierOp::create(b);
                       scf::YieldOp::create(b);
                     });
  gpu::ReturnOp::create(b);
}

gpu::GPUFuncOp mlir::mhc::gpu_lowering::getOrCreatePreKernel(
    ModuleOp module, const PreShape &shape, Location loc) {
  dpre::PreVariant variant = shape.preVariant();
  SmallVector<int64_t> workgroup = {
      dpre::kPreGroupTokens * dpre::partialWidth(shape.streams),
      dpre::kPreGroupTokens * shape.streams};
  return getOrCreateContractKernel(
      module, loc, dpre::kernelName(variant), pa::kArgs, shape.streams,
      ShapedType::kDynamic, shape.elements(), workgroup, variant.threads,
      [&](ImplicitLocOpBuilder &b, gpu::GPUFuncOp func) {
        PreEmitter(b, shape, func).emit();
      });
}

LogicalResult mlir::mhc::gpu_lowering::verifyPreUnitLowerable(
    FusedPreOp op, const ConvertMHCToGPUOptions &options) {
  auto x = cast<RankedTensorType>(op.getX().getType());
  int64_t n = x.getDimSize(1), channels = x.getDimSize(2);
  if (n > dpre::kMaxStreams)
    return op.emitOpError()
           << "has no GPU kernel for " << n
           << " streams (the tensor-core projection takes up to "
           << dpre::kMaxStreams << "); --mhc-cpu-pipeline runs it";
  bool bf16 = dpre::bf16Multiply(x.getElementType().isBF16(),
                                 op.getPhi().getType().getElementType().isBF16());
  int64_t step = dpre::kStep(bf16);
  int64_t vector = x.getElementType().isBF16() ? 8 : 4;
  if (options.vectorWidth != 1 && !ShapedType::isDynamic(channels) &&
      ((n * channels) % step != 0 || channels % vector != 0))
    return op.emitOpError()
           << "needs n * C to be a multiple of " << step << " and C of "
           << vector << " for the vector kernels, got n = " << n
           << ", C = " << channels << " (vector-width=1 takes any C)";
  return success();
}

namespace {
/// mhc.fused_pre -> the projection into a fresh partials buffer, then the
/// pre kernel writing y, h_pre, h_post and M.
struct FusedPreToGPU : OpConversionPattern<FusedPreOp> {
  FusedPreToGPU(MLIRContext *ctx, const ConvertMHCToGPUOptions &options)
      : OpConversionPattern(ctx), options(options) {}

  LogicalResult
  matchAndRewrite(FusedPreOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<std::pair<CoefficientsOp, PreOp>> unit = op.getUnitOps();
    if (failed(unit))
      return rewriter.notifyMatchFailure(op, "not the pre unit");
    CoefficientsOp coefficients = unit->first;
    auto xType = cast<RankedTensorType>(adaptor.getX().getType());
    auto phiType = cast<RankedTensorType>(adaptor.getPhi().getType());
    int64_t n = xType.getDimSize(1);
    PreShape shape = PreShape::get(xType, phiType, optionsAt(op, options));
    int64_t channels = xType.getDimSize(2);
    int64_t step = dpre::kStep(shape.bf16Multiply());
    auto module = op->getParentOfType<ModuleOp>();
    gpu::GPUFuncOp projection =
        getOrCreateProjectionKernel(module, shape, op.getLoc());
    gpu::GPUFuncOp pre = getOrCreatePreKernel(module, shape, op.getLoc());

    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value x = adaptor.getX();
    Value rows = tensor::DimOp::create(b, x, 0);
    Value cDim = tensor::DimOp::create(b, x, 2);
    // The slices: the contract's rule for a GPU of 132 SMs (an H100's);
    // the runtime applies it with the device's count.
    Value steps = arith::CeilDivUIOp::create(
        b, arith::MulIOp::create(b, cDim, arith::ConstantIndexOp::create(b, n)),
        arith::ConstantIndexOp::create(b, step));
    if (ShapedType::isDynamic(channels) && !shape.portable) {
      // The vector projection covers whole steps: a C it cannot take stops
      // the program with a message instead of dropping the row's tail.
      auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, v); };
      Value rest = arith::OrIOp::create(
          b,
          arith::RemUIOp::create(b, arith::MulIOp::create(b, cDim, c(n)),
                                 c(step)),
          arith::RemUIOp::create(b, cDim, c(shape.vector)));
      Value whole =
          arith::CmpIOp::create(b, arith::CmpIPredicate::eq, rest, c(0));
      cf::AssertOp::create(b, whole,
                           "mhc.fused_pre on the GPU needs n * C to be a "
                           "multiple of " +
                               std::to_string(step) + " and C of " +
                               std::to_string(shape.vector) +
                               " (vector-width=1 takes any C)");
    }
    Value splits = splitsFor(b, rows, steps);
    auto partialsType = MemRefType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic, dpre::partialWidth(n)},
        b.getF32Type());
    Value partials =
        memref::AllocOp::create(b, partialsType, ValueRange{splits, rows});

    FunctionType projType = projection.getFunctionType();
    SmallVector<Value> projOperands = {
        launchBuffer(b, x, projType.getInput(proj::X)),
        launchBuffer(b, adaptor.getPhi(), projType.getInput(proj::Phi)),
        castToParameter(b, partials, projType.getInput(proj::Partials))};
    Value one = arith::ConstantIndexOp::create(b, 1);
    Value tileTokens = arith::ConstantIndexOp::create(b, dpre::kTileTokens);
    Value tiles = arith::MaxUIOp::create(
        b, arith::CeilDivUIOp::create(b, rows, tileTokens), one);
    Value projGrid = arith::MulIOp::create(b, tiles, splits);
    Value projThreads =
        arith::ConstantIndexOp::create(b, dpre::kProjectionThreads);
    gpu::LaunchFuncOp::create(b, projection,
                              gpu::KernelDim3{projGrid, one, one},
                              gpu::KernelDim3{projThreads, one, one},
                              /*dynamicSharedMemorySize=*/Value(),
                              projOperands);

    FunctionType preType = pre.getFunctionType();
    auto yType = cast<RankedTensorType>(op.getY().getType());
    auto coeffType = cast<RankedTensorType>(op.getHPre().getType());
    auto matrixType = cast<RankedTensorType>(op.getMatrix().getType());
    auto alloc = [&](RankedTensorType type) -> Value {
      SmallVector<Value> sizes;
      if (type.isDynamicDim(0))
        sizes.push_back(rows);
      if (type.getRank() > 1 && type.isDynamicDim(1))
        sizes.push_back(cDim);
      return memref::AllocOp::create(
          b, MemRefType::get(type.getShape(), type.getElementType()), sizes);
    };
    Value y = alloc(yType), hPre = alloc(coeffType), hPost = alloc(coeffType),
          matrix = alloc(matrixType);
    dpre::pre::Scalars scalars;
    scalars.eps = coefficients.getEps().convertToFloat();
    scalars.preEps = coefficients.getPreEps().convertToFloat();
    scalars.sinkhornAddend =
        coefficients.getSinkhornInit() == SinkhornInit::Softmax
            ? coefficients.getSinkhornEps().convertToFloat()
            : 0.0f;
    scalars.sinkhornIters = int32_t(coefficients.getSinkhornIters());
    SmallVector<Value> preOperands;
    for (unsigned i = 0; i < pa::NumArgs; ++i) {
      Type parameter = preType.getInput(i);
      switch (i) {
      case pa::X:
        preOperands.push_back(launchBuffer(b, x, parameter));
        break;
      case pa::Partials:
        preOperands.push_back(castToParameter(b, partials, parameter));
        break;
      case pa::Alpha:
        preOperands.push_back(launchBuffer(b, adaptor.getAlpha(), parameter));
        break;
      case pa::Bias:
        preOperands.push_back(launchBuffer(b, adaptor.getBias(), parameter));
        break;
      case pa::Y:
        preOperands.push_back(castToParameter(b, y, parameter));
        break;
      case pa::HPre:
        preOperands.push_back(castToParameter(b, hPre, parameter));
        break;
      case pa::HPost:
        preOperands.push_back(castToParameter(b, hPost, parameter));
        break;
      case pa::Matrix:
        preOperands.push_back(castToParameter(b, matrix, parameter));
        break;
      case pa::Eps:
      case pa::PreEps:
      case pa::SinkhornAddend:
        preOperands.push_back(arith::ConstantOp::create(
            b, b.getF32FloatAttr(pa::f32Arg(scalars, i))));
        break;
      case pa::SinkhornIters:
        preOperands.push_back(arith::ConstantIntOp::create(
            b, b.getI32Type(), pa::i32Arg(scalars, i)));
        break;
      }
    }
    Value groupTokens =
        arith::ConstantIndexOp::create(b, dpre::kPreGroupTokens);
    Value preGrid = arith::MaxUIOp::create(
        b, arith::CeilDivUIOp::create(b, rows, groupTokens), one);
    Value preThreads = arith::ConstantIndexOp::create(b, shape.threads);
    gpu::LaunchFuncOp::create(b, pre, gpu::KernelDim3{preGrid, one, one},
                              gpu::KernelDim3{preThreads, one, one},
                              /*dynamicSharedMemorySize=*/Value(),
                              preOperands);
    memref::DeallocOp::create(b, partials);
    SmallVector<Value> memrefs = {y, hPre, hPost, matrix};
    SmallVector<Value> results;
    for (auto [memref, result] : llvm::zip(memrefs, op->getResults()))
      results.push_back(bufferization::ToTensorOp::create(
          b, result.getType(), memref, /*restrict=*/true, /*writable=*/true));
    rewriter.replaceOp(op, results);
    return success();
  }

  /// The contract's split rule in IR: clamp(ceil(2 * 132 / tiles), 1,
  /// min(64, max(1, steps / 8))).
  static Value splitsFor(ImplicitLocOpBuilder &b, Value rows, Value steps) {
    auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, v); };
    Value one = c(1);
    Value tiles = arith::MaxUIOp::create(
        b, arith::CeilDivUIOp::create(b, rows, c(dpre::kTileTokens)), one);
    Value wanted = arith::CeilDivUIOp::create(b, c(2 * 132), tiles);
    Value most = arith::MinUIOp::create(
        b, c(64),
        arith::MaxUIOp::create(b, one, arith::DivUIOp::create(b, steps, c(8))));
    return arith::MaxUIOp::create(b, one,
                                  arith::MinUIOp::create(b, wanted, most));
  }

  ConvertMHCToGPUOptions options;
};
} // namespace

void mlir::mhc::gpu_lowering::populatePreToGPUPatterns(
    RewritePatternSet &patterns, const ConvertMHCToGPUOptions &options) {
  patterns.add<FusedPreToGPU>(patterns.getContext(), options);
}
