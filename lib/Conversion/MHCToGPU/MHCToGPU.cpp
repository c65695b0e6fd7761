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
#include "KernelContract.h"
#include "PostKernel.h"
#include "PreKernels.h"

#include "mhc/Conversion/ConversionUtils.h"
#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
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

  /// The fused op's input that kernel buffer argument `arg` reads.
  unsigned input(unsigned arg) const {
    switch (arg) {
    case fl::X:
      return x;
    case fl::HRes:
      return hRes;
    case fl::HPre:
      return hPre;
    case fl::HPost:
      return hPost;
    case fl::Weight:
      return weight;
    }
    llvm_unreachable("not an input buffer of the kernel");
  }
};

/// The kernel's scalar arguments for the conventions in `body`.
fl::Scalars scalarsOf(FusedLayerBody body) {
  SinkhornOp sinkhorn = body.sinkhorn;
  fl::Scalars s;
  s.eps = body.rmsNorm.getEps().convertToFloat();
  s.sinkhornAddend =
      fl::sinkhornAddend(sinkhorn.getInit() == SinkhornInit::Softmax,
                         sinkhorn.getEps().convertToFloat());
  s.preScale = body.preGate.getScale().convertToFloat();
  s.preBias = body.preGate.getBias().convertToFloat();
  s.postScale = body.postGate.getScale().convertToFloat();
  s.postBias = body.postGate.getBias().convertToFloat();
  s.sinkhornIters = static_cast<int32_t>(sinkhorn.getIters());
  s.transposed = body.mix.getOrientation() == MixOrientation::Transposed;
  return s;
}

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
        KernelShape::get(xType, weightType.getElementType(),
                         optionsAt(op, options));
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
    // Kernel operands, in the contract's order: the inputs as buffers, cast
    // to the kernel's types, the output, the scalars, no cache.
    FunctionType kernelType = kernel.getFunctionType();
    Value out;
    fl::Scalars scalars = scalarsOf(*body);
    SmallVector<Value> operands;
    for (unsigned i = 0; i < fl::NumArgs; ++i) {
      switch (fl::kArgs[i].kind) {
      case ::mhc::contract::ArgKind::F32:
        operands.push_back(arith::ConstantOp::create(
            b, b.getF32FloatAttr(fl::f32Arg(scalars, i))));
        continue;
      case ::mhc::contract::ArgKind::I32:
        operands.push_back(arith::ConstantIntOp::create(
            b, b.getI32Type(), fl::i32Arg(scalars, i)));
        continue;
      case ::mhc::contract::ArgKind::Buffer:
        break;
      }
      Type parameter = kernelType.getInput(i);
      switch (i) {
      case fl::Out:
        out = allocateLike(b, inputs[body->x], xType.getElementType());
        operands.push_back(castToParameter(b, out, parameter));
        break;
      case fl::Cache:
        // An empty cache turns it off (the runtime passes its workspace).
        operands.push_back(castToParameter(
            b,
            memref::AllocaOp::create(b, MemRefType::get({0}, b.getI32Type())),
            parameter));
        break;
      default:
        operands.push_back(
            launchBuffer(b, inputs[body->input(i)], parameter));
      }
    }

    // The contract's widest grid (fl::gridBlocks): one block per row, at
    // least one, or one cluster of clusterBlocks blocks per row.
    Value rows = memref::DimOp::create(b, out, 0);
    Value one = arith::ConstantIndexOp::create(b, 1);
    Value grid = arith::MaxUIOp::create(b, rows, one);
    Value threads = arith::ConstantIndexOp::create(b, shape.threads);
    std::optional<gpu::KernelDim3> clusters;
    if (shape.clusterBlocks > 0) {
      Value blocks = arith::ConstantIndexOp::create(b, shape.clusterBlocks);
      grid = arith::MulIOp::create(b, grid, blocks);
      clusters = gpu::KernelDim3{blocks, one, one};
    }
    gpu::LaunchFuncOp::create(b, kernel, gpu::KernelDim3{grid, one, one},
                              gpu::KernelDim3{threads, one, one},
                              /*dynamicSharedMemorySize=*/Value(), operands,
                              /*asyncObject=*/Type(),
                              /*asyncDependencies=*/{}, clusters);
    Value result = bufferization::ToTensorOp::create(
        b, op.getType(), out, /*restrict=*/true, /*writable=*/true);
    rewriter.replaceOp(op, result);
    return success();
  }

  ConvertMHCToGPUOptions options;
};

struct ConvertMHCToGPUPass
    : mlir::mhc::impl::ConvertMHCToGPUBase<ConvertMHCToGPUPass> {
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

  /// A diagnostic for the first mhc op the conversion has no kernel for:
  /// fused layers, pre units and posts are lowered.
  LogicalResult verifyLowerable() {
    ConvertMHCToGPUOptions options = loweringOptions();
    WalkResult result = getOperation()->walk([&](Operation *op) {
      if (auto unit = dyn_cast<FusedPreOp>(op))
        return failed(verifyPreUnitLowerable(unit, optionsAt(op, options)))
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      if (!isa<MHCDialect>(op->getDialect()) ||
          isa<FusedLayerOp, FusedPreOp, PostOp>(op) ||
          isa<FusedLayerOp, FusedPreOp>(op->getParentOp()))
        return WalkResult::advance();
      if (isa<CoefficientsOp, PreOp, DynamicLayerOp>(op))
        op->emitOpError()
            << "is lowered to the GPU only as a pre unit: mhc-fuse makes an "
               "mhc.fused_pre of an mhc.coefficients and the mhc.pre of the "
               "same streams; --mhc-cpu-pipeline runs it alone";
      else
        op->emitOpError()
            << "is lowered to the GPU only inside an mhc.fused_layer: "
               "mhc-fuse makes one of mix(x, sinkhorn, gate, "
               "rms_norm(aggregate(x, gate), w)) when the aggregate and the "
               "RMSNorm have no other user";
      return WalkResult::interrupt();
    });
    return failure(result.wasInterrupted());
  }

  void runOnOperation() override {
    if (failed(verifyOptions()) || failed(verifyLowerable()))
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
  populatePostToGPUPatterns(patterns, options);
  populatePreToGPUPatterns(patterns, options);
}
