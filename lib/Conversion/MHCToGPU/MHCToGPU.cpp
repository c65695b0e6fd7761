//===- MHCToGPU.cpp - convert-mhc-to-gpu: the pass and its pattern --------===//
//
// The pass and its one pattern: an mhc.fused_layer whose body is the static
// layer's chain becomes a launch of the fused kernel (FusedLayerKernel.h)
// on buffers of its operands. The kernel mapping is documented on the pass
// (Passes.td) and in docs/DESIGN.md, which also maps each part of the kernel
// to the file of this folder that emits it.
//
//===----------------------------------------------------------------------===//

#include "FusedLayerKernel.h"

#include "mhc/Conversion/ConversionUtils.h"
#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::mhc {
#define GEN_PASS_DEF_CONVERTMHCTOGPU
#include "mhc/Conversion/Passes.h.inc"
} // namespace mlir::mhc

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::gpu_lowering;

namespace {
/// The body of a fused layer the kernel implements, and where each of its
/// values comes from among the fused op's inputs.
struct FusedLayerBody {
  unsigned x, hRes, hPre, hPost, weight;
  SinkhornOp sinkhorn;
  GateOp preGate, postGate;
  RMSNormOp rmsNorm;
  MixOp mix;
};

/// Matches `mix(x, sinkhorn(a), gate(b), rms_norm(aggregate(x, gate(c)), d))`
/// with a, b, c, d, x block arguments.
FailureOr<FusedLayerBody> matchBody(FusedLayerOp op) {
  Block &block = op.getBody().front();
  auto argIndex = [&](Value v) -> std::optional<unsigned> {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner() != &block)
      return std::nullopt;
    return arg.getArgNumber();
  };
  FusedLayerBody body;
  auto yield = cast<YieldOp>(block.getTerminator());
  body.mix = yield.getValues().front().getDefiningOp<MixOp>();
  if (!body.mix)
    return failure();
  body.sinkhorn = body.mix.getMatrix().getDefiningOp<SinkhornOp>();
  body.postGate = body.mix.getCoeffs().getDefiningOp<GateOp>();
  body.rmsNorm = body.mix.getF().getDefiningOp<RMSNormOp>();
  if (!body.sinkhorn || !body.postGate || !body.rmsNorm)
    return failure();
  auto aggregate = body.rmsNorm.getInput().getDefiningOp<AggregateOp>();
  if (!aggregate || aggregate.getX() != body.mix.getX())
    return failure();
  body.preGate = aggregate.getCoeffs().getDefiningOp<GateOp>();
  if (!body.preGate)
    return failure();
  auto x = argIndex(body.mix.getX());
  auto hRes = argIndex(body.sinkhorn.getLogits());
  auto hPre = argIndex(body.preGate.getLogits());
  auto hPost = argIndex(body.postGate.getLogits());
  auto weight = argIndex(body.rmsNorm.getWeight());
  if (!x || !hRes || !hPre || !hPost || !weight)
    return failure();
  body.x = *x;
  body.hRes = *hRes;
  body.hPre = *hPre;
  body.hPost = *hPost;
  body.weight = *weight;
  return body;
}

struct FusedLayerToGPU : OpConversionPattern<FusedLayerOp> {
  FusedLayerToGPU(MLIRContext *ctx, const ConvertMHCToGPUOptions &options)
      : OpConversionPattern(ctx), options(options) {}

  LogicalResult
  matchAndRewrite(FusedLayerOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<FusedLayerBody> body = matchBody(op);
    if (failed(body))
      return rewriter.notifyMatchFailure(
          op, "body is not mix(x, sinkhorn, gate, rms_norm(aggregate(x, "
              "gate), w)) over the unit's inputs");
    ValueRange inputs = adaptor.getInputs();
    auto xType = cast<RankedTensorType>(inputs[body->x].getType());
    auto weightType = cast<RankedTensorType>(inputs[body->weight].getType());
    KernelShape shape =
        KernelShape::get(xType, weightType.getElementType(), optionsAt(op));
    if (options.clusterRowSplit && smVersion(options.chip) < 90)
      return op.emitOpError()
             << "cluster-row-split needs thread-block clusters (sm_90 or "
                "newer); chip is "
             << options.chip;
    if (options.clusterRowSplit &&
        (!shape.rowInRegisters || shape.chunksPerThread < 2 ||
         shape.chunksPerThread > 8))
      return op.emitOpError()
             << "cluster-row-split needs a static C whose row is held in "
                "registers in 2..8 chunks per thread; this layer has "
             << (shape.rowInRegisters
                     ? std::to_string(shape.chunksPerThread) + " chunks"
                     : std::string("its row streamed"));
    auto module = op->getParentOfType<ModuleOp>();
    gpu::GPUFuncOp kernel =
        getOrCreateFusedLayerKernel(module, shape, op.getLoc());

    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    // Kernel operands: the inputs as buffers, cast to the kernel's types.
    FunctionType kernelType = kernel.getFunctionType();
    auto buffer = [&](Value tensor, unsigned param) -> Value {
      auto tensorType = cast<RankedTensorType>(tensor.getType());
      auto exact =
          MemRefType::get(tensorType.getShape(), tensorType.getElementType());
      Value memref = bufferization::ToBufferOp::create(b, exact, tensor,
                                                       /*readOnly=*/true);
      Type kernelParam = kernelType.getInput(param);
      return memref.getType() == kernelParam
                 ? memref
                 : memref::CastOp::create(b, kernelParam, memref).getResult();
    };
    SmallVector<Value> operands = {
        buffer(inputs[body->x], kX), buffer(inputs[body->hRes], kHRes),
        buffer(inputs[body->hPre], kHPre), buffer(inputs[body->hPost], kHPost),
        buffer(inputs[body->weight], kWeight)};
    SmallVector<Value> dynamicSizes;
    for (int64_t d = 0; d < xType.getRank(); ++d)
      if (xType.isDynamicDim(d))
        dynamicSizes.push_back(tensor::DimOp::create(b, inputs[body->x], d));
    auto outType = MemRefType::get(xType.getShape(), xType.getElementType());
    Value out = memref::AllocOp::create(b, outType, dynamicSizes);
    operands.push_back(
        out.getType() == kernelType.getInput(kOut)
            ? out
            : memref::CastOp::create(b, kernelType.getInput(kOut), out)
                  .getResult());

    auto f32 = [&](APFloat v) -> Value {
      return arith::ConstantOp::create(b,
                                       b.getF32FloatAttr(v.convertToFloat()));
    };
    auto i32 = [&](int64_t v) -> Value {
      return arith::ConstantIntOp::create(b, b.getI32Type(), v);
    };
    SinkhornOp sinkhorn = body->sinkhorn;
    bool softmax = sinkhorn.getInit() == SinkhornInit::Softmax;
    operands.push_back(f32(body->rmsNorm.getEps()));
    operands.push_back(f32(softmax ? sinkhorn.getEps() : APFloat(0.0f)));
    operands.push_back(f32(body->preGate.getScale()));
    operands.push_back(f32(body->preGate.getBias()));
    operands.push_back(f32(body->postGate.getScale()));
    operands.push_back(f32(body->postGate.getBias()));
    operands.push_back(i32(sinkhorn.getIters()));
    operands.push_back(
        i32(body->mix.getOrientation() == MixOrientation::Transposed));
    // No coefficient cache from here: an empty memref turns it off (the
    // runtime passes the plan's workspace instead).
    operands.push_back(memref::CastOp::create(
        b, kernelType.getInput(kCache),
        memref::AllocaOp::create(b, MemRefType::get({0}, b.getI32Type()))));

    // One block per row, at least one block; the kernel loops over the rest.
    Value rows = memref::DimOp::create(b, out, 0);
    Value grid =
        arith::MaxUIOp::create(b, rows, arith::ConstantIndexOp::create(b, 1));
    Value one = arith::ConstantIndexOp::create(b, 1);
    Value threads = arith::ConstantIndexOp::create(b, shape.threads);
    std::optional<gpu::KernelDim3> clusters;
    if (shape.clusterBlocks > 0) {
      // One cluster of clusterBlocks blocks per row.
      Value blocks = arith::ConstantIndexOp::create(b, shape.clusterBlocks);
      grid = arith::MulIOp::create(b, grid, blocks);
      clusters = gpu::KernelDim3{blocks, one, one};
    }
    gpu::LaunchFuncOp::create(b, kernel, gpu::KernelDim3{grid, one, one},
                              gpu::KernelDim3{threads, one, one},
                              /*dynamicSharedMemorySize=*/Value(), operands,
                              /*asyncObject=*/Type(), /*asyncDependencies=*/{},
                              clusters);
    Value result = bufferization::ToTensorOp::create(
        b, op.getType(), out, /*restrict=*/true, /*writable=*/true);
    rewriter.replaceOp(op, result);
    return success();
  }

  /// The pass's options with the threads per block of the innermost op
  /// around `op` that states `mhc.threads_per_block` (verified by the
  /// dialect).
  ConvertMHCToGPUOptions optionsAt(Operation *op) const {
    ConvertMHCToGPUOptions at = options;
    MHCDialect::ThreadsPerBlockAttrHelper threads(op->getContext());
    for (Operation *p = op; p; p = p->getParentOp())
      if (IntegerAttr attr = threads.getAttr(p)) {
        at.threadsPerBlock = attr.getInt();
        break;
      }
    return at;
  }

  ConvertMHCToGPUOptions options;
};

struct ConvertMHCToGPUPass
    : mhc::impl::ConvertMHCToGPUBase<ConvertMHCToGPUPass> {
  using Base::Base;

  /// A diagnostic for the first option out of its range, if any.
  LogicalResult verifyOptions() {
    auto fail = [&](const Twine &message) {
      getOperation().emitError(message);
      return failure();
    };
    if (smVersion(chip) == 0)
      return fail("chip must name an NVIDIA compute capability as "
                  "sm_<version>, got '" +
                  chip + "'");
    if (threadsPerBlock < 32 || threadsPerBlock % 32 != 0 ||
        threadsPerBlock > 1024)
      return fail("threads-per-block must be a multiple of 32 in [32, 1024], "
                  "got " +
                  Twine(threadsPerBlock));
    if (vectorWidth != 1 && vectorWidth != 2 && vectorWidth != 4)
      return fail("vector-width must be 1, 2 or 4, got " + Twine(vectorWidth));
    if (minBlocksPerSM < -1)
      return fail("min-blocks-per-sm must be -1 (automatic), 0 "
                  "(unconstrained) or a block count, got " +
                  Twine(minBlocksPerSM));
    if (prefetchRows < 0 || prefetchMaxRowBytes < 0 ||
        prefetchEarlyMaxRowBytes < 0 || missPrefetchRows < 0)
      return fail("prefetch-rows, prefetch-max-row-bytes, "
                  "prefetch-early-max-row-bytes and miss-prefetch-rows must "
                  "be >= 0, got " +
                  Twine(prefetchRows) + ", " + Twine(prefetchMaxRowBytes) +
                  ", " + Twine(prefetchEarlyMaxRowBytes) + " and " +
                  Twine(missPrefetchRows));
    return success();
  }

  /// The pass's options as the pattern takes them.
  ConvertMHCToGPUOptions loweringOptions() const {
    ConvertMHCToGPUOptions options;
#define MHC_PASS_OPTION_CONVERTMHCTOGPU(field) options.field = field;
#include "mhc/Conversion/ConvertMHCToGPUOptions.h.inc"
    return options;
  }

  void runOnOperation() override {
    if (failed(verifyOptions()))
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    populateMHCToGPUPatterns(patterns, loweringOptions());
    if (failed(applyMHCConversion(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::mhc::populateMHCToGPUPatterns(
    RewritePatternSet &patterns, const ConvertMHCToGPUOptions &options) {
  patterns.add<FusedLayerToGPU>(patterns.getContext(), options);
}
