//===- PostKernel.cpp - the dynamic-H post kernel and its launch ----------===//
//
// out[b, i, c] = sum_j M'[b, i, j] x[b, j, c] + h_post[b, i] f[b, c], with
// M' = M or M^T by the `transposed` scalar. Nothing is reduced across
// columns, so the work is split into tiles of threads * V columns of one
// row; blocks loop over the tiles with the grid's stride (the launch may cap
// the grid anywhere from 1 to the tile count: Contract/DynamicPost.h). Each
// thread loads the token's n^2 + n coefficients (the same words for a whole
// warp: one transaction each), then its V columns of f and of each stream,
// once, and stores V columns of each output stream, once: (2n + 1) C
// elements per token, the post's byte floor. Sums in f32 in stream order,
// then + h_post f, one rounding to the activations' type.
//
//===----------------------------------------------------------------------===//

#include "PostKernel.h"
#include "KernelBuilder.h"
#include "KernelContract.h"

#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::gpu_lowering;
namespace contract = ::mhc::contract;

PostShape PostShape::get(RankedTensorType x, RankedTensorType f,
                         const ConvertMHCToGPUOptions &options) {
  PostShape shape;
  int64_t n = x.getDimSize(1);
  shape.streams =
      n <= options.maxUnrolledStreams ? n : int64_t(ShapedType::kDynamic);
  shape.activation = x.getElementType();
  shape.sublayer = f.getElementType();
  shape.threads = options.threadsPerBlock;
  // vector-width counts f32-sized accesses: 16 bytes of x at 4 in either
  // type; 1 is element-wise access (any C, element-aligned buffers).
  shape.vector = options.vectorWidth;
  if (shape.vector > 1 && shape.activation.isBF16())
    shape.vector *= 2;
  int64_t channels = x.getDimSize(2);
  if (!ShapedType::isDynamic(channels))
    while (channels % shape.vector != 0)
      shape.vector /= 2;
  return shape;
}

post::Variant PostShape::variant() const {
  post::Variant v;
  v.streams = unrolled() ? streams : 0;
  v.bf16Activation = activation.isBF16();
  v.bf16Sublayer = sublayer.isBF16();
  v.vectorWidth = vector;
  v.threads = threads;
  return v;
}

namespace {
class PostEmitter : public KernelBuilder {
public:
  PostEmitter(ImplicitLocOpBuilder &b, const PostShape &shape,
              gpu::GPUFuncOp func)
      : KernelBuilder(b, func), shape(shape),
        vecType(VectorType::get({shape.vector}, b.getF32Type())) {}

  void emit();

private:
  /// V columns of `memref` at `indices`, widened to f32.
  Value loadColumns(Type element, Value memref, ValueRange indices);
  /// Rounds `value` to the activations' type and stores it in out.
  void storeColumns(Value value, Value row, Value i, Value c);
  /// M'[row, i, j] for stream indices known at run time: M[row, j, i] when
/// transposed.
  Value coefficient(Value row, Value i, Value j);
  void emitTile(Value row, Value c);
  void emitTileRolled(Value row, Value c);

  const PostShape &shape;
  VectorType vecType;
  Value transposed, streams;
};
} // namespace

Value PostEmitter::loadColumns(Type element, Value memref, ValueRange indices) {
  Value v = loadAligned(VectorType::get({shape.vector}, element), memref,
                        indices);
  return element.isF32() ? v : arith::ExtFOp::create(b, vecType, v);
}

void PostEmitter::storeColumns(Value value, Value row, Value i, Value c) {
  if (!shape.activation.isF32())
    value = arith::TruncFOp::create(
        b, VectorType::get({shape.vector}, shape.activation), value);
  storeAligned(value, arg(post::Out), {row, i, c});
}

Value PostEmitter::coefficient(Value row, Value i, Value j) {
  Value r = arith::SelectOp::create(b, transposed, j, i);
  Value q = arith::SelectOp::create(b, transposed, i, j);
  return memref::LoadOp::create(b, arg(post::Matrix), ValueRange{row, r, q});
}

/// n static: every coefficient in registers, the n streams' columns loaded
/// together, each output stream mixed and stored in turn.
void PostEmitter::emitTile(Value row, Value c) {
  int64_t n = shape.streams;
  SmallVector<Value> idx;
  for (int64_t i = 0; i < n; ++i)
    idx.push_back(index(i));
  // M[row] as stored, then M' picked by value (no per-element addresses).
  SmallVector<SmallVector<Value>> stored(n);
  SmallVector<Value> h;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j)
      stored[i].push_back(memref::LoadOp::create(
          b, arg(post::Matrix), ValueRange{row, idx[i], idx[j]}));
    h.push_back(memref::LoadOp::create(b, arg(post::HPost),
                                       ValueRange{row, idx[i]}));
  }
  SmallVector<SmallVector<Value>> m(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      m[i].push_back(arith::SelectOp::create(b, transposed, stored[j][i],
                                             stored[i][j]));
  Value f = loadColumns(shape.sublayer, arg(post::F), {row, c});
  SmallVector<Value> xs;
  for (int64_t j = 0; j < n; ++j)
    xs.push_back(loadColumns(shape.activation, arg(post::X), {row, idx[j], c}));
  for (int64_t i = 0; i < n; ++i) {
    Value acc = mul(splat(vecType, m[i][0]), xs[0]);
    for (int64_t j = 1; j < n; ++j)
      acc = mulAdd(splat(vecType, m[i][j]), xs[j], acc);
    Value out = mulAdd(splat(vecType, h[i]), f, acc);
    storeColumns(out, row, idx[i], c);
  }
}

/// n at run time: per output stream, a loop over the input streams (their
/// columns re-read from L1 for each output stream).
void PostEmitter::emitTileRolled(Value row, Value c) {
  Value f = loadColumns(shape.sublayer, arg(post::F), {row, c});
  Value zero = zeros(vecType);
  forLoop(0, streams, 1, ValueRange{},
          [&](OpBuilder &, Location, Value i, ValueRange) {
            auto mix = forLoop(
                0, streams, 1, zero,
                [&](OpBuilder &, Location, Value j, ValueRange acc) {
                  Value m = coefficient(row, i, j);
                  Value xj = loadColumns(shape.activation, arg(post::X),
                                         {row, j, c});
                  scf::YieldOp::create(b, mulAdd(splat(vecType, m), xj, acc[0]));
                });
            Value h = memref::LoadOp::create(b, arg(post::HPost),
                                             ValueRange{row, i});
            Value out = mulAdd(splat(vecType, h), f, mix.getResult(0));
            storeColumns(out, row, i, c);
            scf::YieldOp::create(b);
          });
}

void PostEmitter::emit() {
  b.setInsertionPointToStart(&func.getBody().front());
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value x = arg(post::X);
  Value batch = memref::DimOp::create(b, x, 0);
  Value channels = memref::DimOp::create(b, x, 2);
  streams = memref::DimOp::create(b, x, 1);
  Value flag = arg(post::Transposed);
  Value zeroI32 = i32c(0);
  transposed =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ne, flag, zeroI32);
  Value tileColumns = index(shape.threads * shape.vector);
  Value tiles = arith::CeilDivUIOp::create(b, channels, tileColumns);
  Value total = muli(batch, tiles);
  Value first = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value stride = gpu::GridDimOp::create(b, gpu::Dimension::x);
  Value lane0 = muli(tid, index(shape.vector));
  scf::ForOp::create(
      b, first, total, stride, ValueRange{},
      [&](OpBuilder &, Location, Value t, ValueRange) {
        Value row = arith::DivUIOp::create(b, t, tiles);
        Value tile = arith::RemUIOp::create(b, t, tiles);
        Value c = addi(muli(tile, tileColumns), lane0);
        ifThen(ult(c, channels), [&] {
          if (shape.unrolled())
            emitTile(row, c);
          else
            emitTileRolled(row, c);
        });
        scf::YieldOp::create(b);
      });
  gpu::ReturnOp::create(b);
}

namespace {
/// The gpu.func of `shape` in the kernel module, created once.
gpu::GPUFuncOp getOrCreatePostKernel(ModuleOp module, const PostShape &shape,
                                     Location loc) {
  ContractElements elements;
  elements.activation = shape.activation;
  elements.sublayer = shape.sublayer;
  return getOrCreateContractKernel(
      module, loc, shape.kernelName(), post::kArgs, shape.streams,
      ShapedType::kDynamic, elements, /*workgroupFloats=*/{}, shape.threads,
      [&](ImplicitLocOpBuilder &b, gpu::GPUFuncOp func) {
        PostEmitter(b, shape, func).emit();
      });
}

struct PostToGPU : OpConversionPattern<PostOp> {
  PostToGPU(MLIRContext *ctx, const ConvertMHCToGPUOptions &options)
      : OpConversionPattern(ctx), options(options) {}

  LogicalResult
  matchAndRewrite(PostOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto xType = cast<RankedTensorType>(adaptor.getX().getType());
    auto fType = cast<RankedTensorType>(adaptor.getF().getType());
    PostShape shape = PostShape::get(xType, fType, optionsAt(op, options));
    gpu::GPUFuncOp kernel = getOrCreatePostKernel(
        op->getParentOfType<ModuleOp>(), shape, op.getLoc());

    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    FunctionType kernelType = kernel.getFunctionType();
    Value out;
    SmallVector<Value> operands;
    for (unsigned i = 0; i < post::NumArgs; ++i) {
      Type parameter = kernelType.getInput(i);
      switch (i) {
      case post::X:
        operands.push_back(launchBuffer(b, adaptor.getX(), parameter));
        break;
      case post::F:
        operands.push_back(launchBuffer(b, adaptor.getF(), parameter));
        break;
      case post::Matrix:
        operands.push_back(launchBuffer(b, adaptor.getMatrix(), parameter));
        break;
      case post::HPost:
        operands.push_back(launchBuffer(b, adaptor.getHPost(), parameter));
        break;
      case post::Out:
        out = allocateLike(b, adaptor.getX(), xType.getElementType());
        operands.push_back(castToParameter(b, out, parameter));
        break;
      case post::Transposed: {
        post::Scalars scalars;
        scalars.transposed =
            op.getOrientation() == MixOrientation::Transposed ? 1 : 0;
        operands.push_back(arith::ConstantIntOp::create(
            b, b.getI32Type(), post::i32Arg(scalars, i)));
        break;
      }
      }
    }
    // The contract's widest grid (post::gridBlocks): one block per tile of
    // threads * V columns, at least one.
    Value rows = memref::DimOp::create(b, out, 0);
    Value channels = memref::DimOp::create(b, out, 2);
    if (xType.isDynamicDim(2) && shape.vector > 1) {
      // Vector accesses cover whole vectors: a C they do not divide stops
      // the program with a message instead of reading past the rows.
      Value rest = arith::RemUIOp::create(
          b, channels, arith::ConstantIndexOp::create(b, shape.vector));
      Value whole = arith::CmpIOp::create(
          b, arith::CmpIPredicate::eq, rest,
          arith::ConstantIndexOp::create(b, 0));
      cf::AssertOp::create(b, whole,
                           "mhc.post on the GPU needs C to be a multiple of " +
                               std::to_string(shape.vector) +
                               " (vector-width=1 takes any C)");
    }
    Value tileColumns = arith::ConstantIndexOp::create(
        b, post::tileColumns(shape.variant()));
    Value tiles = arith::CeilDivUIOp::create(b, channels, tileColumns);
    Value one = arith::ConstantIndexOp::create(b, 1);
    Value grid = arith::MaxUIOp::create(
        b, arith::MulIOp::create(b, rows, tiles).getResult(), one);
    Value threads = arith::ConstantIndexOp::create(b, shape.threads);
    gpu::LaunchFuncOp::create(b, kernel, gpu::KernelDim3{grid, one, one},
                              gpu::KernelDim3{threads, one, one},
                              /*dynamicSharedMemorySize=*/Value(), operands);
    rewriter.replaceOp(op, bufferization::ToTensorOp::create(
                               b, op.getType(), out, /*restrict=*/true,
                               /*writable=*/true));
    return success();
  }

  ConvertMHCToGPUOptions options;
};
} // namespace

void mlir::mhc::gpu_lowering::populatePostToGPUPatterns(
    RewritePatternSet &patterns, const ConvertMHCToGPUOptions &options) {
  patterns.add<PostToGPU>(patterns.getContext(), options);
}
