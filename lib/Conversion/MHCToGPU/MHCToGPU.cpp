//===- MHCToGPU.cpp - mhc.fused_layer -> one GPU kernel -------------------===//
//
// The kernel mapping is documented on the pass (Passes.td) and in
// docs/DESIGN.md. In short: a block per token row (grid-stride), prologue once
// per block (registers for small n, shared memory otherwise), vectorized
// channel chunks per thread, a fixed-order block reduction for the RMS.
//
//===----------------------------------------------------------------------===//

#include "mhc/Conversion/MHCToGPU/MHCToGPU.h"
#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/bit.h"

#include <limits>

namespace mlir::mhc {
#define GEN_PASS_DEF_CONVERTMHCTOGPU
#include "mhc/Conversion/Passes.h.inc"
} // namespace mlir::mhc

using namespace mlir;
using namespace mlir::mhc;

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

/// i32 words of the coefficient cache's seal.
constexpr int64_t kSealWords = 2;

/// 32-bit registers per SM (sm_80 through sm_90).
constexpr int64_t kRegistersPerSM = 64 * 1024;

/// The static shape of one kernel and how it maps onto threads.
struct KernelShape {
  int64_t streams;
  int64_t channels; // ShapedType::kDynamic when C is a kernel-time value.
  Type weightType;
  int64_t threads;
  int64_t vector;
  bool rowInRegisters;
  int64_t chunksPerThread; // Only when the row is held in registers.
  bool unrolledStreams;    // Stream loops unrolled, coefficients in registers.
  bool replicatedSinkhorn; // Every lane of warp 0 runs the rounds on all of M.
  bool ftzReciprocal;      // The rounds' reciprocals are rcp.approx.ftz.
  bool newtonReciprocal;   // ... or Newton steps from an integer estimate.
  int64_t sinkhornRowsPerLane; // Rows form: matrix rows each lane holds.
  bool latePrologueWarpRow;    // Warp 0 loads its first row after its prologue.
  int64_t minBlocksPerSM;      // 0: no register budget requested.
  bool pipelineRows; // Load the next row as the current one is stored.
  bool stageWeights; // Weight as f32 in shared memory (row in registers).
  bool coefficientsInRegisters; // With unrolled streams: M', s_pre, s_post.
  bool doubleBufferRows;        // Next row loaded before this row's reduction.
  bool fuseMultiplyAdd;         // Row arithmetic as math.fma.
  bool mixBeforeBarrier;        // Streams mixed before the RMS barrier.
  int64_t prefetchRows;         // L2 bulk prefetch distance in rows; 0: off.
  bool prefetchAfterReduction;  // Prefetch after the reduction, not before.
  bool prefetchNextWave;        // No next row: prefetch the next wave's.
  int64_t missPrefetchRows;     // Next rows prefetched during the rounds.
  int64_t clusterBlocks;        // Blocks per row (a cluster); 0: grid-stride.
  int64_t stageRows;            // Row buffers in shared memory; 0: none.
  int64_t stageCopyBytes;       // Largest bulk copy of a staged row.
  bool coefficientCache;        // M' memoized in the `cache` parameter.
  bool earlyCacheLookup;        // The lookup's lines prefetched at the start.
  bool programmaticLaunch;      // griddepcontrol.wait, launch_dependents.

  int64_t rowBytes() const { return streams * channels * 4; }

  /// The coefficient cache, in i32 words: the seal (kSealWords), the key
  /// (kernel identity, Sinkhorn addend bits, rounds, orientation, then
  /// H_res's n^2 bits), then M' as the kernel's matrix buffer holds it (n^2
  /// f32 bits).
  static constexpr int64_t kCacheHeaderWords = 4;
  int64_t cacheKeyWords() const {
    return kCacheHeaderWords + streams * streams;
  }
  /// The seal (a 64-bit hash of the key, written last) comes first.
  int64_t cacheWords() const {
    return kSealWords + cacheKeyWords() + streams * streams;
  }
  /// Whether the prologue runs in shared memory (n > max-unrolled-streams):
  /// its cache lookup needs a block-wide flag.
  bool sharedPrologueFlag() const {
    return coefficientCache && !unrolledStreams;
  }

  /// Elements (f32, or i64 mbarriers) of the kernel's workgroup buffers, in
  /// attribution order: M', s_pre, s_post, two sets of warp partials, then
  /// the staged weight, the block's cluster sum, the row buffers' mbarriers.
  struct Buffer {
    int64_t elements;
    bool mbarriers;
  };
  SmallVector<Buffer> workgroupBuffers() const {
    SmallVector<Buffer> buffers = {{streams * streams, false},
                                   {streams, false},
                                   {streams, false},
                                   {2 * threads / 32, false}};
    if (stageWeights)
      buffers.push_back({channels, false});
    if (clusterBlocks > 0)
      buffers.push_back({1, false});
    if (stageRows > 0)
      buffers.push_back({stageRows, true});
    if (sharedPrologueFlag())
      buffers.push_back({1, false});
    return buffers;
  }

  /// Static shared memory in bytes (each buffer 16-byte aligned).
  int64_t staticSharedBytes() const {
    int64_t bytes = 0;
    for (Buffer buffer : workgroupBuffers())
      bytes += llvm::alignTo(buffer.elements * (buffer.mbarriers ? 8 : 4), 16);
    return bytes;
  }

  /// Dynamic shared memory in bytes: the staged rows.
  int64_t dynamicSharedBytes() const { return stageRows * rowBytes(); }

  static KernelShape get(RankedTensorType x, Type weightType,
                         const ConvertMHCToGPUOptions &options) {
    KernelShape shape;
    shape.streams = x.getDimSize(1);
    shape.channels = x.getDimSize(2);
    shape.weightType = weightType;
    shape.threads = options.threadsPerBlock;
    shape.vector = options.vectorWidth;
    // A row stride that is not a multiple of the vector would misalign rows.
    if (!ShapedType::isDynamic(shape.channels))
      while (shape.channels % shape.vector != 0)
        shape.vector /= 2;
    shape.rowInRegisters = false;
    shape.chunksPerThread = 0;
    shape.unrolledStreams = shape.streams <= options.maxUnrolledStreams;
    shape.pipelineRows = options.pipelineRows;
    if (shape.unrolledStreams && !ShapedType::isDynamic(shape.channels)) {
      int64_t perPass = shape.threads * shape.vector;
      shape.chunksPerThread = (shape.channels + perPass - 1) / perPass;
      shape.rowInRegisters =
          shape.rowFloatsPerThread() <= options.maxRowRegisters;
    }
    shape.stageWeights = options.stageWeights && shape.rowInRegisters;
    shape.coefficientsInRegisters = options.coefficientsInRegisters;
    shape.fuseMultiplyAdd = options.fuseMultiplyAdd;
    shape.mixBeforeBarrier = options.mixBeforeBarrier;
    // The bulk prefetch needs 16-byte aligned rows of a multiple of 16 bytes.
    shape.prefetchRows =
        shape.rowInRegisters && shape.vector == 4 ? options.prefetchRows : 0;
    if (options.prefetchMaxRowBytes > 0 &&
        shape.rowBytes() > options.prefetchMaxRowBytes)
      shape.prefetchRows = 0;
    shape.prefetchAfterReduction =
        options.prefetchAfterReduction &&
        shape.rowBytes() > options.prefetchEarlyMaxRowBytes;
    shape.prefetchNextWave = options.prefetchNextWave;
    // The same bulk prefetch, during the rounds of the prologue in
    // registers. prefetch-max-row-bytes does not bound it: that limit is for
    // a prefetch that competes with the block's own row, which the block has
    // asked for before its rounds.
    shape.missPrefetchRows = shape.rowInRegisters && shape.vector == 4
                                 ? options.missPrefetchRows
                                 : 0;
    shape.clusterBlocks = 0;
    if (options.clusterRowSplit) {
      // Block k of the cluster holds chunk k; the weight is read from global
      // memory once, so nothing is staged, and no row follows to prefetch.
      shape.clusterBlocks = shape.chunksPerThread;
      shape.stageWeights = false;
      shape.prefetchRows = 0;
      shape.missPrefetchRows = 0;
    }
    shape.doubleBufferRows =
        options.doubleBufferRows && shape.rowInRegisters &&
        !shape.pipelineRows &&
        2 * shape.rowFloatsPerThread() <= options.maxRowRegisters;
    shape.stageRows = 0;
    shape.stageCopyBytes = options.stageCopyBytes;
    shape.coefficientCache = options.coefficientCache;
    shape.earlyCacheLookup =
        options.coefficientCache && options.earlyCacheLookup;
    shape.programmaticLaunch = options.programmaticLaunch;
    if (options.stageRows > 0 && shape.rowInRegisters && shape.vector == 4 &&
        shape.clusterBlocks == 0)
      shape.fitStagedRows(options.stageRows, options.maxSharedMemoryBytes);
    shape.minBlocksPerSM = options.minBlocksPerSM >= 0
                               ? options.minBlocksPerSM
                               : shape.automaticMinBlocksPerSM(options);
    shape.ftzReciprocal = options.sinkhornFtzReciprocal;
    shape.newtonReciprocal =
        options.sinkhornFtzReciprocal && options.sinkhornNewtonReciprocal;
    shape.latePrologueWarpRow = options.latePrologueWarpRow &&
                                shape.rowInRegisters && shape.unrolledStreams &&
                                shape.clusterBlocks == 0 &&
                                shape.stageRows == 0;
    // A power of two, at most the butterfly's width.
    shape.sinkhornRowsPerLane = std::min<int64_t>(
        int64_t(llvm::bit_floor(
            uint64_t(std::max<int64_t>(options.sinkhornRowsPerLane, 1)))),
        llvm::PowerOf2Ceil(shape.streams));
    shape.replicatedSinkhorn =
        shape.unrolledStreams &&
        shape.streams <= options.sinkhornReplicatedMaxStreams &&
        shape.replicatedSinkhornFits();
    return shape;
  }

  /// Floats of x each thread holds when the row is in registers.
  int64_t rowFloatsPerThread() const {
    return streams * chunksPerThread * vector;
  }

  /// The register budget `min-blocks-per-sm=-1` asks for. With one block per
  /// row, a block that holds its row in registers issues no load between its
  /// reduction and its last store, and with one block per SM the SM's DRAM
  /// traffic stops there until the next block starts: two blocks per SM
  /// overlap one's loads with the other's stores. Each of two blocks gets
  /// `share` = min(`max-row-registers`, 64K / (2 x threads)) registers per
  /// thread (128 at 256 threads, 64 at 512); asked for where the row takes
  /// at most half of them, which leaves the other half for the
  /// coefficients, addresses and sums, and at least a quarter: a smaller
  /// row stays under the share anyway, and asking would only cap a kernel
  /// that fits three blocks (n = 4, C = 1280 at 320 threads: 64 -> 72
  /// registers, 2% slower). bench/NOTES.md, attempts 19 and 26, has
  /// ptxas's counts. Larger rows would spill, a cluster kernel holds one
  /// chunk of the row, and staged rows keep the next rows in flight already
  /// (and need registers of their own: n = 8, C = 1280 spills with both).
  int64_t automaticMinBlocksPerSM(const ConvertMHCToGPUOptions &options) const {
    if (!rowInRegisters || clusterBlocks > 0 || stageRows > 0)
      return 0;
    int64_t share =
        std::min(options.maxRowRegisters, kRegistersPerSM / (2 * threads));
    int64_t row = rowFloatsPerThread();
    return 2 * row <= share && 4 * row >= share ? 2 : 0;
  }

  /// Whether the replicated rounds leave the register budget alone: the
  /// block's first row is in registers while warp 0 runs them, next to the
  /// matrix and its next round (2 n^2); together they may take three
  /// quarters of the registers per thread that `min-blocks-per-sm` leaves
  /// (one block per SM without a budget), the rest being the prologue's
  /// addresses and ptxas's room to overlap the rows' chains. n = 4, C = 4096
  /// at 512 threads in two blocks (32 + 32 of 64) spilled; n = 4, C = 7168
  /// at 896 threads (32 + 32 of 73) did not, but its misses took 2.3 us
  /// longer (bench/NOTES.md, attempt 34).
  bool replicatedSinkhornFits() const {
    int64_t held = rowInRegisters ? rowFloatsPerThread() : 0;
    int64_t share =
        kRegistersPerSM / (std::max<int64_t>(minBlocksPerSM, 1) * threads);
    return 4 * (held + 2 * streams * streams) <= 3 * share;
  }

  /// As many row buffers as asked for and the shared memory allows, with the
  /// weight staged only if it still fits beside them. A staged row replaces
  /// the other ways of getting the next row early.
  void fitStagedRows(int64_t wanted, int64_t budget) {
    bool weights = stageWeights;
    auto fits = [&](int64_t rows, bool withWeights) {
      stageRows = rows;
      stageWeights = withWeights;
      return staticSharedBytes() + dynamicSharedBytes() <= budget;
    };
    int64_t rows = wanted;
    while (rows > 0 && !fits(rows, /*withWeights=*/false))
      --rows;
    stageWeights = weights && (rows == 0 || fits(rows, /*withWeights=*/true));
    stageRows = rows;
    if (rows == 0)
      return;
    prefetchRows = 0;
    missPrefetchRows = 0;
    pipelineRows = false;
    doubleBufferRows = false;
  }

  std::string kernelName() const {
    std::string name = "mhc_fused_n" + std::to_string(streams) + "_c";
    name += ShapedType::isDynamic(channels) ? std::string("dyn")
                                            : std::to_string(channels);
    name += "_v" + std::to_string(vector);
    name += weightType.isBF16() ? "_wbf16" : "_wf32";
    name += "_t" + std::to_string(threads);
    if (clusterBlocks > 0)
      name += "_k" + std::to_string(clusterBlocks);
    return name;
  }

  /// The i32 global through which the kernel states its dynamic shared
  /// memory in bytes (the runtime reads it when it loads the kernel).
  std::string dynamicSharedBytesSymbol() const {
    return kernelName() + kDynamicSharedBytesSuffix.str();
  }

  /// The i32 global through which the kernel states whether it waits for
  /// the grids it depends on (programmatic-launch).
  std::string programmaticLaunchSymbol() const {
    return kernelName() + kProgrammaticLaunchSuffix.str();
  }

  /// The first word of the cache key: the kernel's name hashed (FNV-1a), so
  /// kernels sharing a workspace never take each other's M' (two kernels
  /// may round differently).
  int32_t cacheIdentity() const {
    uint32_t hash = 2166136261u;
    for (char ch : kernelName())
      hash = (hash ^ static_cast<unsigned char>(ch)) * 16777619u;
    return static_cast<int32_t>(hash);
  }
};

/// Kernel parameters, in ABI order.
enum KernelArg : unsigned {
  kX,
  kHRes,
  kHPre,
  kHPost,
  kWeight,
  kOut,
  kEps,
  kSinkhornAddend,
  kPreScale,
  kPreBias,
  kPostScale,
  kPostBias,
  kSinkhornIters,
  kTransposed,
  kCache,
  kNumKernelArgs
};

/// Emits the body of one fused kernel.
class KernelEmitter {
public:
  KernelEmitter(ImplicitLocOpBuilder &b, const KernelShape &shape,
                gpu::GPUFuncOp func)
      : b(b), shape(shape), func(func), f32(b.getF32Type()),
        vecType(VectorType::get({shape.vector}, f32)) {}

  void emit() {
    Block &entry = func.getBody().front();
    b.setInsertionPointToStart(&entry);
    if (shape.programmaticLaunch)
      emitGridDependencyControl();
    tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    lane = arith::RemUIOp::create(b, tid, index(32));
    warp = arith::DivUIOp::create(b, tid, index(32));
    ArrayRef<BlockArgument> wg = func.getWorkgroupAttributions();
    matrixMem = wg[0];
    preMem = wg[1];
    postMem = wg[2];
    partialMem = wg[3];
    unsigned next = 4;
    if (shape.stageWeights)
      weightMem = wg[next++];
    if (shape.clusterBlocks > 0)
      clusterMem = wg[next++];
    if (shape.stageRows > 0) {
      barrierMem = wg[next++];
      Attribute workgroup =
          cast<MemRefType>(barrierMem.getType()).getMemorySpace();
      auto dynamic = gpu::DynamicSharedMemoryOp::create(
          b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                             MemRefLayoutAttrInterface(), workgroup));
      rowMem = memref::ViewOp::create(
          b,
          MemRefType::get({shape.stageRows, shape.streams, shape.channels}, f32,
                          MemRefLayoutAttrInterface(), workgroup),
          dynamic, index(0), ValueRange{});
    }
    if (shape.sharedPrologueFlag())
      flagMem = wg[next++];

    Value x = arg(kX);
    Value rows = memref::DimOp::create(b, x, 0);
    channels = ShapedType::isDynamic(shape.channels)
                   ? memref::DimOp::create(b, x, 2).getResult()
                   : index(shape.channels);
    transposed = arith::CmpIOp::create(
        b, arith::CmpIPredicate::ne, arg(kTransposed),
        arith::ConstantIntOp::create(b, b.getI32Type(), 0));
    Value first = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    Value step = gpu::GridDimOp::create(b, gpu::Dimension::x);
    rowCount = rows;
    rowStep = step;
    if (shape.earlyCacheLookup)
      prefetchLookupLines();
    if (shape.clusterBlocks > 0)
      return emitClusterRow();

    // Row in registers: the block's first row is loaded (or with staged rows,
    // its first stage-rows rows are requested) before the prologue, so the
    // Sinkhorn latency overlaps those loads. The prologue's barrier orders
    // thread 0's mbarrier set-up before any thread waits on one.
    SmallVector<Value> firstRow;
    if (shape.stageRows > 0)
      onFirstThread([&] {
        for (int64_t k = 0; k < shape.stageRows; ++k)
          NVVM::MBarrierInitOp::create(b, barrierPointer(index(k)), i32c(1),
                                       /*predicate=*/Value());
        // The copies' completions (async proxy) must see the set-up.
        NVVM::FenceProxyOp::create(
            b, NVVM::ProxyKind::async_shared,
            NVVM::SharedSpaceAttr::get(b.getContext(),
                                       NVVM::SharedSpace::shared_cta));
        for (int64_t k = 0; k < shape.stageRows; ++k)
          stageRow(index(k), k == 0 ? first : stridesAfter(first, k));
      });
    else if (shape.rowInRegisters)
      firstRow =
          loadRowIf(firstRowHere(first, rows, /*prologueWarp=*/false), first);

    // Rows 1..prefetch-rows-1 strides ahead are prefetched here; each loop
    // iteration prefetches the row prefetch-rows strides after its own.
    for (int64_t k = 1; k < shape.prefetchRows; ++k)
      prefetchRow(stridesAfter(first, k));

    // The weight chunks to stage are loaded before the prologue as well.
    SmallVector<Value> stagedWeights;
    if (shape.stageWeights)
      stagedWeights = loadStagedWeights();

    if (shape.unrolledStreams)
      emitPrologueInRegisters();
    else
      emitPrologue();
    if (shape.latePrologueWarpRow) {
      // Warp 0's part of the first row, now that its prologue is done; the
      // other warps keep the part they asked for before it.
      auto late =
          scf::IfOp::create(b, TypeRange(ValueRange(firstRow)),
                            firstRowHere(first, rows, /*prologueWarp=*/true),
                            /*withElse=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(late.thenBlock());
      scf::YieldOp::create(b, loadRow(first));
      b.setInsertionPointToStart(late.elseBlock());
      scf::YieldOp::create(b, firstRow);
      firstRow = SmallVector<Value>(late.getResults());
    }
    loadCoefficients();
    if (shape.stageWeights)
      storeStagedWeights(stagedWeights);

    if (shape.stageRows > 0) {
      emitStagedRows(first, rows, step);
      gpu::ReturnOp::create(b);
      return;
    }
    if (shape.rowInRegisters) {
      // Rows rotate through the loop: an iteration finishes the row already
      // in registers and loads the block's next one (after its stores; with
      // double-buffer-rows, before its reduction; with pipeline-rows, chunk
      // by chunk as they are stored). Consecutive
      // rows use alternate sets of warp partials, so rows need no barrier
      // between them.
      Value parity0 = index(0);
      scf::ForOp::create(
          b, first, rows, step,
          llvm::to_vector(llvm::concat<Value>(firstRow, ValueRange{parity0})),
          [&](OpBuilder &, Location, Value row, ValueRange iter) {
            Value parity = iter.back();
            if (shape.prefetchRows > 0 && !shape.prefetchAfterReduction)
              prefetchRowAhead(row);
            Value next = addi(row, step);
            Value hasNext =
                arith::CmpIOp::create(b, arith::CmpIPredicate::ult, next, rows);
            SmallVector<Value> nextRow;
            if (shape.doubleBufferRows)
              nextRow = loadRowIf(hasNext, next);
            SmallVector<Value> interleaved = processRow(
                row, llvm::to_vector(iter.drop_back()), parity, next, hasNext);
            if (shape.pipelineRows)
              nextRow = interleaved;
            else if (!shape.doubleBufferRows)
              nextRow = loadRowIf(hasNext, next);
            nextRow.push_back(arith::SubIOp::create(b, index(1), parity));
            scf::YieldOp::create(b, nextRow);
          });
      gpu::ReturnOp::create(b);
      return;
    }
    scf::ForOp::create(b, first, rows, step, ValueRange{},
                       [&](OpBuilder &, Location, Value row, ValueRange) {
                         if (shape.unrolledStreams)
                           emitRowStreaming(row);
                         else
                           emitRowRolled(row);
                         // The partials of this row are read before the next
                         // row writes them.
                         gpu::BarrierOp::create(b);
                         scf::YieldOp::create(b);
                       });
    gpu::ReturnOp::create(b);
  }

private:
  Value arg(KernelArg which) { return func.getArgument(which); }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value f32c(float v) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
  }
  Value splat(Value scalar) {
    return vector::BroadcastOp::create(b, vecType, scalar);
  }
  Value add(Value l, Value r) { return arith::AddFOp::create(b, l, r); }
  Value mul(Value l, Value r) { return arith::MulFOp::create(b, l, r); }
  /// acc + l * r: one math.fma, or a multiply and an add (fuse-multiply-add).
  Value mulAdd(Value l, Value r, Value acc) {
    if (shape.fuseMultiplyAdd)
      return math::FmaOp::create(b, l, r, acc);
    return add(acc, mul(l, r));
  }
  Value addi(Value l, Value r) { return arith::AddIOp::create(b, l, r); }
  Value muli(Value l, Value r) { return arith::MulIOp::create(b, l, r); }

  /// Thread 0 asks for row `row` of x (when it exists) to be brought into
  /// L2: one cp.async.bulk.prefetch of the whole row.
  void prefetchRow(Value row) {
    Value isFirstThread =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, index(0));
    Value exists =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, rowCount);
    ifThen(arith::AndIOp::create(b, isFirstThread, exists), [&] {
      NVVM::CpAsyncBulkPrefetchOp::create(
          b, rowAddress(row), i32c(static_cast<int32_t>(shape.rowBytes())),
          /*l2CacheHint=*/Value());
    });
  }

  /// The global address (ptr<1>) of element `element` of kernel argument
  /// `memref`, whose elements are `bytes` apart.
  Value globalAddress(KernelArg memref, Value element, int64_t bytes) {
    Type i64 = b.getI64Type();
    Value base = arith::IndexCastUIOp::create(
        b, i64, memref::ExtractAlignedPointerAsIndexOp::create(b, arg(memref)));
    Value offset =
        arith::MulIOp::create(b, arith::IndexCastUIOp::create(b, i64, element),
                              arith::ConstantIntOp::create(b, i64, bytes));
    return LLVM::IntToPtrOp::create(
        b, LLVM::LLVMPointerType::get(b.getContext(), /*addressSpace=*/1),
        arith::AddIOp::create(b, base, offset).getResult(),
        /*dereferenceable=*/nullptr);
  }

  /// The global address (ptr<1>) of row `row` of x.
  Value rowAddress(Value row) {
    return globalAddress(kX, row, shape.rowBytes());
  }

  Value i32c(int32_t v) {
    return arith::ConstantIntOp::create(b, b.getI32Type(), v);
  }

  /// Emits `body` under `condition` (an scf.if without results or else);
  /// the insertion point continues after it.
  void ifThen(Value condition, function_ref<void()> body) {
    auto ifOp = scf::IfOp::create(b, condition, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    body();
  }

  /// Emits `body` for thread 0 only.
  void onFirstThread(function_ref<void()> body) {
    ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, index(0)),
           body);
  }

  /// The shared-memory address (ptr<3>) of byte `offset` of workgroup
  /// buffer `memory`.
  Value sharedPointer(Value memory, Value offset) {
    Value address =
        addi(memref::ExtractAlignedPointerAsIndexOp::create(b, memory), offset);
    return LLVM::IntToPtrOp::create(
        b, LLVM::LLVMPointerType::get(b.getContext(), /*addressSpace=*/3),
        arith::IndexCastUIOp::create(b, b.getI32Type(), address).getResult(),
        /*dereferenceable=*/nullptr);
  }

  /// The mbarrier of row buffer `slot`.
  Value barrierPointer(Value slot) {
    return sharedPointer(barrierMem, muli(slot, index(8)));
  }

  /// Thread 0: when row `row` of x exists, copy it into row buffer `slot`
  /// with one bulk copy that completes on the buffer's mbarrier (which
  /// expects the row's bytes).
  void stageRow(Value slot, Value row) {
    Value exists =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, rowCount);
    auto ifOp = scf::IfOp::create(b, exists, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value barrier = barrierPointer(slot);
    Value bytes = i32c(static_cast<int32_t>(shape.rowBytes()));
    NVVM::MBarrierArriveExpectTxOp::create(
        b, /*res=*/Type(), barrier, bytes, NVVM::MemScopeKind::CTA,
        /*relaxed=*/false, /*predicate=*/Value());
    Value buffer = sharedPointer(rowMem, muli(slot, index(shape.rowBytes())));
    Value source = rowAddress(row);
    int64_t piece =
        shape.stageCopyBytes > 0 ? shape.stageCopyBytes : shape.rowBytes();
    Type i8 = b.getI8Type();
    for (int64_t offset = 0; offset < shape.rowBytes(); offset += piece) {
      Value at = i32c(static_cast<int32_t>(offset));
      Value to = LLVM::AddrSpaceCastOp::create(
          b, LLVM::LLVMPointerType::get(b.getContext(), /*addressSpace=*/7),
          LLVM::GEPOp::create(b, buffer.getType(), i8, buffer, ValueRange{at}));
      Value from =
          LLVM::GEPOp::create(b, source.getType(), i8, source, ValueRange{at});
      NVVM::CpAsyncBulkGlobalToSharedClusterOp::create(
          b, to, from, barrier,
          i32c(
              static_cast<int32_t>(std::min(piece, shape.rowBytes() - offset))),
          /*multicastMask=*/Value(), /*l2CacheHint=*/Value());
    }
  }

  /// Rows through shared memory: iteration i waits for the row in buffer
  /// i % stage-rows (mbarrier phase (i / stage-rows) % 2), moves it into
  /// registers, and after the row's reduction (whose barrier means every
  /// thread has read the buffer) thread 0 refills the buffer with the row
  /// stage-rows strides ahead.
  void emitStagedRows(Value first, Value rows, Value step) {
    Value stages = index(shape.stageRows);
    scf::ForOp::create(
        b, first, rows, step, ValueRange{index(0), i32c(0), index(0)},
        [&](OpBuilder &, Location, Value row, ValueRange iter) {
          Value slot = iter[0], phase = iter[1], parity = iter[2];
          // Suspend-time hint per try (ns), as CUTLASS's pipelines use.
          NVVM::MBarrierTryWaitParityOp::create(b, barrierPointer(slot), phase,
                                                i32c(0x989680));
          SmallVector<Value> xs = loadRow(slot, rowMem);
          processRow(row, xs, parity, /*next=*/Value(), /*hasNext=*/Value(),
                     [&] {
                       onFirstThread([&] {
                         stageRow(slot, stridesAfter(row, shape.stageRows));
                       });
                     });
          Value nextSlot = addi(slot, index(1));
          Value wraps = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                              nextSlot, stages);
          Value flipped = arith::XOrIOp::create(b, phase, i32c(1));
          scf::YieldOp::create(
              b,
              ValueRange{arith::SelectOp::create(b, wraps, index(0), nextSlot),
                         arith::SelectOp::create(b, wraps, flipped, phase),
                         arith::SubIOp::create(b, index(1), parity)});
        });
  }

  /// Programmatic dependent launch: wait until the grids this one depends
  /// on have completed and their memory is visible, before any global
  /// memory access (x, the parameters, the cache and out may all be theirs),
  /// then let the grids that depend on this one launch. Their blocks become
  /// resident as SMs free up and wait in their own griddepcontrol.wait until
  /// this grid completes, so their launch overlaps this grid's run.
  void emitGridDependencyControl() {
    NVVM::GriddepcontrolOp::create(b, NVVM::GridDepActionKind::wait);
    NVVM::GriddepcontrolOp::create(b,
                                   NVVM::GridDepActionKind::launch_dependents);
  }

  /// One cluster per row: block `part` of the cluster holds chunk `part` of
  /// the row (every stream), so a row is spread over clusterBlocks SMs. Each
  /// block reduces its squares, thread 0 publishes the block's sum in shared
  /// memory, and after a cluster barrier every thread adds the blocks' sums
  /// in rank order (identical in every block) through distributed shared
  /// memory. A second cluster barrier, waited on last, keeps each block's
  /// shared memory alive until the others have read it.
  void emitClusterRow() {
    Value row = gpu::ClusterIdOp::create(b, gpu::Dimension::x);
    Value part = gpu::ClusterBlockIdOp::create(b, gpu::Dimension::x);
    Value c = chunkStart(part);
    // Only the last block's chunk can reach past C; rows past the batch
    // exist only when the launch had none.
    Value active =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, rowCount);
    if (shape.chunksPerThread * shape.threads * shape.vector > shape.channels)
      active = arith::AndIOp::create(b, active, inBounds(c));
    SmallVector<Type> streamTypes(shape.streams, vecType);
    SmallVector<Value> xs =
        ifElseZeros(active, streamTypes, [&] { return loadStreams(row, c); });
    emitPrologueInRegisters();
    loadCoefficients();

    Value y = aggregate(xs);
    Value blockTotal = blockSum(
        vector::ReductionOp::create(b, vector::CombiningKind::ADD, mul(y, y)));
    onFirstThread(
        [&] { memref::StoreOp::create(b, blockTotal, clusterMem, index(0)); });
    clusterBarrier();
    Value local = sharedPointer(clusterMem, index(0));
    auto clusterPtr =
        LLVM::LLVMPointerType::get(b.getContext(), /*addressSpace=*/7);
    Value total;
    for (int64_t r = 0; r < shape.clusterBlocks; ++r) {
      Value remote = NVVM::MapaOp::create(b, clusterPtr, local, i32c(r));
      Value v = LLVM::LoadOp::create(b, f32, remote, /*alignment=*/4);
      total = total ? add(total, v) : v;
    }
    NVVM::ClusterArriveOp::create(b, /*aligned=*/b.getUnitAttr());
    Value scale = invRms(total);
    ifElseZeros(active, {}, [&] {
      mixAndStore(row, c, xs, y, scale);
      return SmallVector<Value>();
    });
    NVVM::ClusterWaitOp::create(b, /*aligned=*/b.getUnitAttr());
    gpu::ReturnOp::create(b);
  }

  /// All threads of all blocks of the cluster: arrive (release), wait
  /// (acquire).
  void clusterBarrier() {
    NVVM::ClusterArriveOp::create(b, /*aligned=*/b.getUnitAttr());
    NVVM::ClusterWaitOp::create(b, /*aligned=*/b.getUnitAttr());
  }

  /// The block's row k grid strides after `row`.
  Value stridesAfter(Value row, int64_t k) {
    return addi(row, k == 1 ? rowStep : muli(rowStep, index(k)));
  }

  /// Prefetches the block's row prefetch-rows strides after `row` or, with
  /// prefetch-next-wave, where the grid has a block per row, the row
  /// prefetch-rows waves after it.
  void prefetchRowAhead(Value row) {
    if (!shape.prefetchNextWave)
      return prefetchRow(stridesAfter(row, shape.prefetchRows));
    Value ahead = waveStride();
    if (shape.prefetchRows != 1)
      ahead = muli(ahead, index(shape.prefetchRows));
    prefetchRow(addi(row, ahead));
  }

  /// The rows between a block's row and the row a block takes one wave
  /// later: the grid stride where the block loops, else (a block per row)
  /// %nsmid x max(min-blocks-per-sm, 1), an estimate of the blocks resident
  /// at once (%nsmid may exceed the SM count; the estimate only moves which
  /// rows are warmed in L2, never what is computed).
  Value waveStride() {
    Value sms = arith::IndexCastUIOp::create(
        b, b.getIndexType(),
        NVVM::SmDimOp::create(b, b.getI32Type()).getResult());
    Value wave = muli(sms, index(std::max<int64_t>(shape.minBlocksPerSM, 1)));
    Value loops =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, rowStep, rowCount);
    return arith::SelectOp::create(b, loops, rowStep, wave);
  }

  /// Runs `body` on threads 0..n-1 with the thread's stream index.
  void forEachStreamThread(function_ref<void(Value)> body) {
    ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, tid,
                                 index(shape.streams)),
           [&] { body(tid); });
  }

  Value matrixIndex(Value row, Value col) {
    return addi(muli(row, index(shape.streams)), col);
  }

  /// sum over k of M[at(k)], in order k = 0..n-1.
  Value sumMatrix(function_ref<Value(Value)> at) {
    auto loop = scf::ForOp::create(
        b, index(0), index(shape.streams), index(1), ValueRange{f32c(0.0f)},
        [&](OpBuilder &, Location, Value k, ValueRange acc) {
          Value v = memref::LoadOp::create(b, matrixMem, at(k));
          scf::YieldOp::create(b, add(acc[0], v));
        });
    return loop.getResult(0);
  }

  /// M[at(k)] = M[at(k)] / divisor for every k; a zero divisor (only possible
  /// with addend 0) leaves the entry, itself zero, as it is.
  void divideMatrix(function_ref<Value(Value)> at, Value divisor) {
    Value positive = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT,
                                           divisor, f32c(0.0f));
    Value safe = arith::SelectOp::create(b, positive, divisor, f32c(1.0f));
    scf::ForOp::create(
        b, index(0), index(shape.streams), index(1), ValueRange{},
        [&](OpBuilder &, Location, Value k, ValueRange) {
          Value v = memref::LoadOp::create(b, matrixMem, at(k));
          memref::StoreOp::create(b, arith::DivFOp::create(b, v, safe),
                                  matrixMem, at(k));
          scf::YieldOp::create(b);
        });
  }

  void normalizeRow(Value i, Value addend) {
    auto at = [&](Value k) { return matrixIndex(i, k); };
    divideMatrix(at, add(sumMatrix(at), addend));
  }

  void normalizeColumn(Value j, Value addend) {
    auto at = [&](Value k) { return matrixIndex(k, j); };
    divideMatrix(at, add(sumMatrix(at), addend));
  }

  Value gate(Value logit, Value scale, Value bias) {
    // sigmoid(h) = 1 / (1 + exp(-h)); exp overflowing to inf gives 0, exactly.
    Value e = math::ExpOp::create(b, arith::NegFOp::create(b, logit));
    Value s = arith::DivFOp::create(b, f32c(1.0f), add(f32c(1.0f), e));
    return add(mul(scale, s), bias);
  }

  /// s_pre[i] and s_post[i] into shared memory.
  void storeGates(Value i) {
    Value hPre = memref::LoadOp::create(b, arg(kHPre), i);
    Value hPost = memref::LoadOp::create(b, arg(kHPost), i);
    memref::StoreOp::create(b, gate(hPre, arg(kPreScale), arg(kPreBias)),
                            preMem, i);
    memref::StoreOp::create(b, gate(hPost, arg(kPostScale), arg(kPostBias)),
                            postMem, i);
  }

  /// The global address (ptr<1>) of word `word` of the coefficient cache.
  Value cacheAddress(Value word) { return globalAddress(kCache, word, 4); }

  /// Cache words are read and written only with relaxed GPU-scope atomics,
  /// so blocks and launches that touch the same entry at once do not race
  /// (readers check the contents: see lookupCache).
  Value loadCache(Type type, Value word) {
    return LLVM::LoadOp::create(
        b, type, cacheAddress(word), type.getIntOrFloatBitWidth() / 8,
        /*isVolatile=*/false, /*isNonTemporal=*/false, /*isInvariant=*/false,
        /*isInvariantGroup=*/false, LLVM::AtomicOrdering::monotonic, "device");
  }
  void storeCache(Value word, Value value) {
    LLVM::StoreOp::create(b, value, cacheAddress(word),
                          value.getType().getIntOrFloatBitWidth() / 8,
                          /*isVolatile=*/false,
                          /*isNonTemporal=*/false, /*isInvariantGroup=*/false,
                          LLVM::AtomicOrdering::monotonic, "device");
  }

  Value bitsOf(Value f) {
    return arith::BitcastOp::create(b, b.getI32Type(), f);
  }

  /// Word `w` (< cacheKeyWords) of this launch's cache key.
  Value cacheKeyWord(Value w) {
    const int64_t header = KernelShape::kCacheHeaderWords;
    Value inMatrix =
        arith::CmpIOp::create(b, arith::CmpIPredicate::uge, w, index(header));
    Value entry = arith::SelectOp::create(
        b, inMatrix, arith::SubIOp::create(b, w, index(header)), index(0));
    Value n = index(shape.streams);
    Value h =
        memref::LoadOp::create(b, arg(kHRes),
                               ValueRange{arith::DivUIOp::create(b, entry, n),
                                          arith::RemUIOp::create(b, entry, n)});
    Value word = bitsOf(h);
    Value headerWords[] = {i32c(shape.cacheIdentity()),
                           bitsOf(arg(kSinkhornAddend)), arg(kSinkhornIters),
                           arg(kTransposed)};
    for (int64_t k = header - 1; k >= 0; --k)
      word = arith::SelectOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, w, index(k)),
          headerWords[k], word);
    return word;
  }

  /// A 64-bit mix of key word `value` at position `w`; the seal is their
  /// sum (mod 2^64) over the key, so lanes can add theirs in any order.
  Value sealTerm(Value value, Value w) {
    Type i64 = b.getI64Type();
    auto c64 = [&](uint64_t v) -> Value {
      return arith::ConstantIntOp::create(b, i64, static_cast<int64_t>(v));
    };
    Value x = arith::OrIOp::create(
        b,
        arith::ShLIOp::create(b, arith::ExtUIOp::create(b, i64, value),
                              c64(32)),
        arith::IndexCastUIOp::create(b, i64, w));
    x = arith::MulIOp::create(b, x, c64(0x9E3779B97F4A7C15ull));
    x = arith::XOrIOp::create(b, x, arith::ShRUIOp::create(b, x, c64(29)));
    x = arith::MulIOp::create(b, x, c64(0xBF58476D1CE4E5B9ull));
    return arith::XOrIOp::create(b, x, arith::ShRUIOp::create(b, x, c64(32)));
  }

  /// Sum of an i64 over the 32 lanes (butterflies of the two halves).
  Value warpSum64(Value v) {
    Type i32 = b.getI32Type(), i64 = b.getI64Type();
    for (int64_t offset = 1; offset < 32; offset *= 2) {
      Value lo = arith::TruncIOp::create(b, i32, v);
      Value hi = arith::TruncIOp::create(
          b, i32,
          arith::ShRUIOp::create(b, v,
                                 arith::ConstantIntOp::create(b, i64, 32)));
      auto shuffle = [&](Value half) -> Value {
        return arith::ExtUIOp::create(
            b, i64,
            gpu::ShuffleOp::create(b, half, offset, 32, gpu::ShuffleMode::XOR)
                .getShuffleResult());
      };
      Value other = arith::OrIOp::create(
          b,
          arith::ShLIOp::create(b, shuffle(hi),
                                arith::ConstantIntOp::create(b, i64, 32)),
          shuffle(lo));
      v = arith::AddIOp::create(b, v, other);
    }
    return v;
  }

  /// The words w = lane + 32 k < `count` of this lane, k = 0, 1, ...
  /// (statically unrolled, so their loads are in flight together), clamped
  /// to 0 past `count` with `valid` false.
  struct LaneWord {
    Value w, valid;
  };
  SmallVector<LaneWord> laneWords(int64_t count) {
    SmallVector<LaneWord> words;
    for (int64_t k = 0; k * 32 < count; ++k) {
      Value w = k == 0 ? lane : addi(lane, index(32 * k));
      Value valid =
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, w, index(count));
      words.push_back({arith::SelectOp::create(b, valid, w, index(0)), valid});
    }
    return words;
  }

  /// This lane's words of a cache entry: of the key, then of M'.
  struct EntryWords {
    SmallVector<LaneWord> key, matrix;
  };
  EntryWords entryWords() {
    SmallVector<LaneWord> key = laneWords(shape.cacheKeyWords());
    return {key, laneWords(shape.streams * shape.streams)};
  }

  Value cacheEnabled() {
    Value words = memref::DimOp::create(b, arg(kCache), 0);
    return arith::CmpIOp::create(b, arith::CmpIPredicate::uge, words,
                                 index(shape.cacheWords()));
  }

  /// early-cache-lookup: at the kernel's start, before the block requests
  /// its first row, warp 0 prefetches into L2 every line its prologue will
  /// read (the cache entry, H_res, h_pre and h_post), so the lookup's loads
  /// need not wait in DRAM behind the row's bytes. A prefetch holds no
  /// register. Lane i asks for word min(32 i, last) of each buffer: one word
  /// per 128-byte line, and the last word, which covers the final line of a
  /// buffer that does not start on one.
  void prefetchLookupLines() {
    Value firstWarp =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, warp, index(0));
    ifThen(arith::AndIOp::create(b, firstWarp, cacheEnabled()), [&] {
      auto l2 = NVVM::PrefetchCacheLevelAttr::get(b.getContext(),
                                                  NVVM::PrefetchCacheLevel::L2);
      auto prefetchLines = [&](KernelArg buffer, int64_t words) {
        for (int64_t k = 0; k * 32 * 32 < words; ++k) {
          Value w = muli(addi(lane, index(32 * k)), index(32));
          Value last = index(words - 1);
          w = arith::MinUIOp::create(b, w, last);
          NVVM::PrefetchOp::create(b, l2, /*evictPriority=*/nullptr,
                                   globalAddress(buffer, w, 4),
                                   /*predicate=*/Value(),
                                   /*tensormap=*/nullptr);
        }
      };
      prefetchLines(kCache, shape.cacheWords());
      prefetchLines(kHRes, shape.streams * shape.streams);
      prefetchLines(kHPre, shape.streams);
      prefetchLines(kHPost, shape.streams);
    });
  }

  /// Warp 0: whether the cache holds M' for this launch's key (uniform over
  /// the warp); on a hit M' is copied into the matrix buffer. Every lane
  /// loads its key words, its M' words and the seal at once (relaxed, one
  /// round trip to L2). A hit needs every key word to match and the seal to
  /// equal the seal of (this key, the loaded M'): the check is on the
  /// contents, so a stale, torn or partly overwritten entry fails it (up to
  /// a 64-bit collision) and no acquire ordering is needed.
  Value lookupCache() {
    Type i1 = b.getI1Type(), i32 = b.getI32Type(), i64 = b.getI64Type();
    Value falseValue = arith::ConstantIntOp::create(b, i1, 0);
    auto ifOp = scf::IfOp::create(b, i1, cacheEnabled(),
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    const int64_t key = shape.cacheKeyWords();
    auto [keyWords, matrixWords] = entryWords();
    SmallVector<Value> cachedKey, cachedMatrix;
    for (LaneWord word : keyWords)
      cachedKey.push_back(loadCache(i32, addi(word.w, index(kSealWords))));
    for (LaneWord word : matrixWords)
      cachedMatrix.push_back(
          loadCache(i32, addi(word.w, index(kSealWords + key))));
    Value cachedSeal = loadCache(i64, index(0));
    Value differs = falseValue;
    SmallVector<Value> expectedKey;
    for (auto [word, cached] : llvm::zip(keyWords, cachedKey)) {
      Value expected = cacheKeyWord(word.w);
      expectedKey.push_back(expected);
      differs = arith::OrIOp::create(
          b, differs,
          arith::AndIOp::create(b, word.valid,
                                arith::CmpIOp::create(b,
                                                      arith::CmpIPredicate::ne,
                                                      cached, expected)));
    }
    Value seal = entrySeal(keyWords, expectedKey, matrixWords, cachedMatrix);
    differs = arith::OrIOp::create(
        b, differs,
        arith::CmpIOp::create(b, arith::CmpIPredicate::ne, cachedSeal, seal));
    Value fullMask = i32c(-1);
    Value hit =
        arith::XOrIOp::create(b,
                              NVVM::VoteSyncOp::create(b, i1, fullMask, differs,
                                                       NVVM::VoteSyncKind::any),
                              arith::ConstantIntOp::create(b, i1, 1));
    ifThen(hit, [&] {
      for (auto [word, bits] : llvm::zip(matrixWords, cachedMatrix))
        ifThen(word.valid, [&, word = word, bits = bits] {
          memref::StoreOp::create(b, arith::BitcastOp::create(b, f32, bits),
                                  matrixMem, word.w);
        });
    });
    scf::YieldOp::create(b, ValueRange{hit});
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, ValueRange{falseValue});
    return ifOp.getResult(0);
  }

  /// Warp 0: the seal of an entry, the same in every lane: the sum of
  /// sealTerm over the key words (positions 0..) and the M' words
  /// (positions after the key) the lanes hold.
  Value entrySeal(ArrayRef<LaneWord> keyWords, ArrayRef<Value> keyValues,
                  ArrayRef<LaneWord> matrixWords, ArrayRef<Value> matrixBits) {
    Type i64 = b.getI64Type();
    Value zero = arith::ConstantIntOp::create(b, i64, 0);
    Value partial = zero;
    auto add = [&](LaneWord word, Value value, int64_t position) {
      Value at = position ? addi(word.w, index(position)) : word.w;
      partial = arith::AddIOp::create(
          b, partial,
          arith::SelectOp::create(b, word.valid, sealTerm(value, at), zero));
    };
    for (auto [word, value] : llvm::zip(keyWords, keyValues))
      add(word, value, 0);
    for (auto [word, value] : llvm::zip(matrixWords, matrixBits))
      add(word, value, shape.cacheKeyWords());
    return warpSum64(partial);
  }

  /// Warp 0 of block 0, after a miss (M' in the matrix buffer): M', the key
  /// and the seal of both into the cache (relaxed stores; readers check the
  /// contents, so the order does not matter).
  void publishToCache() {
    // Only the launch's first block publishes (the one the GPU starts
    // first): its M' is the one every block computes, and a launch whose
    // H_res changed then pays the stores once, not per block.
    Value firstBlock = arith::CmpIOp::create(
        b, arith::CmpIPredicate::eq,
        gpu::BlockIdOp::create(b, gpu::Dimension::x), index(0));
    auto ifOp = scf::IfOp::create(
        b, arith::AndIOp::create(b, cacheEnabled(), firstBlock),
        /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    // The lanes' matrix stores are visible to the whole warp.
    NVVM::SyncWarpOp::create(b, i32c(-1));
    const int64_t key = shape.cacheKeyWords();
    auto [keyWords, matrixWords] = entryWords();
    SmallVector<Value> keyValues, matrixBits;
    for (LaneWord word : keyWords)
      keyValues.push_back(cacheKeyWord(word.w));
    for (LaneWord word : matrixWords)
      matrixBits.push_back(
          bitsOf(memref::LoadOp::create(b, matrixMem, word.w)));
    Value seal = entrySeal(keyWords, keyValues, matrixWords, matrixBits);
    auto storeWords = [&](ArrayRef<LaneWord> words, ArrayRef<Value> values,
                          int64_t first) {
      for (auto [word, value] : llvm::zip(words, values))
        ifThen(word.valid, [&, word = word, value = value] {
          storeCache(addi(word.w, index(first)), value);
        });
    };
    storeWords(matrixWords, matrixBits, kSealWords + key);
    storeWords(keyWords, keyValues, kSealWords);
    ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, index(0)),
           [&] { storeCache(index(0), seal); });
  }

  /// Small n: warp 0 runs Sinkhorn in registers, lane i holding row i (no
  /// barrier per round): a row is normalized within its lane, a column by a
  /// butterfly sum across the lanes; each multiplies by the reciprocal of
  /// its sum + a. Lane i then publishes row i of M', and the gates are
  /// computed meanwhile, behind one barrier. Same schedule as emitPrologue.
  /// With the coefficient cache, warp 0 first looks M' up and runs the
  /// rounds only on a miss.
  void emitPrologueInRegisters() {
    const int64_t n = shape.streams;
    // The gates do not depend on Sinkhorn: with a second warp, its first n
    // threads compute them while warp 0 runs the rounds.
    bool gatesInSecondWarp = shape.threads >= 64;
    if (gatesInSecondWarp) {
      Value i = arith::SubIOp::create(b, tid, index(32));
      Value active = arith::AndIOp::create(
          b,
          arith::CmpIOp::create(b, arith::CmpIPredicate::uge, tid, index(32)),
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, index(n)));
      auto gates = scf::IfOp::create(b, active, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(gates.thenBlock());
      storeGates(i);
    }
    Value firstWarp =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, warp, index(0));
    auto ifOp = scf::IfOp::create(b, firstWarp, /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      if (shape.coefficientCache) {
        Value miss = arith::XOrIOp::create(
            b, lookupCache(),
            arith::ConstantIntOp::create(b, b.getI1Type(), 1));
        auto compute = scf::IfOp::create(b, miss, /*withElseRegion=*/false);
        b.setInsertionPointToStart(compute.thenBlock());
        prefetchDuringRounds();
        computeMatrixInRegisters();
        publishToCache();
        b.setInsertionPointAfter(compute);
      } else {
        prefetchDuringRounds();
        computeMatrixInRegisters();
      }
      if (!gatesInSecondWarp) {
        Value leader =
            arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, index(0));
        auto gates = scf::IfOp::create(b, leader, /*withElseRegion=*/false);
        b.setInsertionPointToStart(gates.thenBlock());
        for (int64_t i = 0; i < n; ++i)
          storeGates(index(i));
      }
    }
    gpu::BarrierOp::create(b);
  }

  /// miss-prefetch-rows: before warp 0 runs the rounds, its first thread
  /// asks L2 for the block's next rows (waves apart with a block per row),
  /// which the DRAM fetches while the block waits on the rounds.
  void prefetchDuringRounds() {
    if (shape.missPrefetchRows == 0)
      return;
    Value row = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    Value stride = waveStride();
    for (int64_t k = 0; k < shape.missPrefetchRows; ++k) {
      row = addi(row, stride);
      prefetchRow(row);
    }
  }

  /// 1 / (sum + a) for the Sinkhorn rounds, as one approximate reciprocal
  /// (rcp.approx, 1 ulp): the rounds are a chain of dependent reciprocals,
  /// and the exact one is several times longer. A zero divisor (only with
  /// a = 0) gives 1, which leaves the zero entries as they are. With
  /// `sinkhorn-ftz-reciprocal` the reciprocal is rcp.approx.ftz, the bare
  /// MUFU.RCP (rcp.approx without .ftz adds a range check and two scaling
  /// multiplies on the chain), and a divisor below the smallest normal
  /// float is treated as zero: .ftz would flush it, and its reciprocal can
  /// exceed the float range (rcp.approx then made the line infinite and the
  /// next round NaN; RuntimeGpuTest's UnderflowingColumnStaysFinite).
  Value sinkhornReciprocal(Value sum, Value a) {
    Value divisor = add(sum, a);
    if (shape.ftzReciprocal) {
      Value normal =
          arith::CmpFOp::create(b, arith::CmpFPredicate::OGE, divisor,
                                f32c(std::numeric_limits<float>::min()));
      Value r = shape.newtonReciprocal
                    ? newtonReciprocal(divisor)
                    : NVVM::RcpApproxFtzF32Op::create(b, f32, divisor);
      return arith::SelectOp::create(b, normal, r, f32c(1.0f));
    }
    Value positive = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT,
                                           divisor, f32c(0.0f));
    Value r =
        arith::DivFOp::create(b, f32c(1.0f), divisor,
                              arith::FastMathFlagsAttr::get(
                                  b.getContext(), arith::FastMathFlags::afn));
    return arith::SelectOp::create(b, positive, r, f32c(1.0f));
  }

  /// 1 / d for a normal d without the MUFU: the integer estimate
  /// 0x7EF311C7 - bits(d) (within 12%) refined by three Newton steps
  /// y += y (1 - d y), each two dependent fused multiply-adds.
  Value newtonReciprocal(Value d) {
    Type i32 = b.getI32Type();
    Value y = arith::BitcastOp::create(
        b, f32,
        arith::SubIOp::create(b, i32c(0x7EF311C7),
                              arith::BitcastOp::create(b, i32, d)));
    Value minusD = arith::NegFOp::create(b, d);
    for (int step = 0; step < 3; ++step) {
      Value e = math::FmaOp::create(b, minusD, y, f32c(1.0f));
      y = math::FmaOp::create(b, y, e, y);
    }
    return y;
  }

  /// A row's sum in registers: pairwise, an odd element carried to the next
  /// level. For a power-of-two count this is the order of a butterfly over
  /// the values (neighbours first, then pairs of pairs), which the column
  /// sums rely on for their bits.
  Value pairwiseSum(ArrayRef<Value> values) {
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

  /// Row `row` of H_res as exp(h - max of the row), each value passed
  /// through `wrap` as it is made.
  SmallVector<Value> shiftedExpRow(Value row, function_ref<Value(Value)> wrap) {
    const int64_t n = shape.streams;
    SmallVector<Value> h, exps;
    for (int64_t j = 0; j < n; ++j)
      h.push_back(
          memref::LoadOp::create(b, arg(kHRes), ValueRange{row, index(j)}));
    Value rowMax = h[0];
    for (int64_t j = 1; j < n; ++j)
      rowMax = arith::MaximumFOp::create(b, rowMax, h[j]);
    for (int64_t j = 0; j < n; ++j)
      exps.push_back(
          wrap(math::ExpOp::create(b, arith::SubFOp::create(b, h[j], rowMax))));
    return exps;
  }

  /// Rows 0 .. rows - 1 of `v` (n values each, row-major), each by its
  /// pairwise sum + a.
  void normalizeRowsInLane(SmallVector<Value> &v, int64_t rows, Value a) {
    const int64_t n = shape.streams;
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
  /// `lanes` lanes. Every form of the rounds adds in the order of one
  /// butterfly over the next power of two >= n rows, so they give the same
  /// bits.
  void normalizeColumnsInLane(SmallVector<Value> &v, int64_t rows,
                              int64_t padded, int64_t lanes, Value a) {
    const int64_t n = shape.streams;
    for (int64_t j = 0; j < n; ++j) {
      SmallVector<Value> entries;
      for (int64_t k = 0; k < padded; ++k)
        entries.push_back(k < rows ? v[k * n + j] : f32c(0.0f));
      Value sum = pairwiseSum(entries);
      for (int64_t offset = 1; offset < lanes; offset *= 2)
        sum = add(sum, gpu::ShuffleOp::create(b, sum, offset, 32,
                                              gpu::ShuffleMode::XOR)
                           .getShuffleResult());
      Value scale = sinkhornReciprocal(sum, a);
      for (int64_t k = 0; k < rows; ++k)
        v[k * n + j] = mul(v[k * n + j], scale);
    }
  }

  using Normalize = function_ref<void(SmallVector<Value> &, Value)>;

  /// The schedule of the register rounds, on whatever part of the matrix
  /// the lane holds: rows by their sums (a = 0), `plusAddend`, columns by
  /// their sums + a, then sinkhorn_iters - 1 rounds of rows and columns
  /// (+ a). Returns the loop; its results are the lane's values of M'.
  scf::ForOp
  sinkhornSchedule(SmallVector<Value> values, Normalize rows, Normalize columns,
                   function_ref<void(SmallVector<Value> &)> plusAddend) {
    Value addend = arg(kSinkhornAddend);
    rows(values, f32c(0.0f));
    plusAddend(values);
    columns(values, addend);
    Value iters =
        arith::IndexCastOp::create(b, b.getIndexType(), arg(kSinkhornIters));
    return scf::ForOp::create(
        b, index(1), iters, index(1), values,
        [&](OpBuilder &, Location, Value, ValueRange iter) {
          SmallVector<Value> next(iter.begin(), iter.end());
          rows(next, addend);
          columns(next, addend);
          scf::YieldOp::create(b, next);
        });
  }

  /// Warp 0: the Sinkhorn rounds in registers; M' into the matrix buffer.
  void computeMatrixInRegisters() {
    if (shape.replicatedSinkhorn)
      return computeMatrixReplicated();
    computeMatrixByRows();
  }

  /// Lane l holds rows l R .. l R + R - 1 of the matrix (R =
  /// `sinkhorn-rows-per-lane`, 1 by default; rows past n are zeros): a row
  /// is normalized within its lane, a column by a pairwise sum of the
  /// lane's R entries and a butterfly across the next power of two >= n / R
  /// lanes. The additions are those of the butterfly over single rows, in
  /// the same tree, so every R gives the same bits. Each lane stores its
  /// rows of M'.
  void computeMatrixByRows() {
    const int64_t n = shape.streams;
    const int64_t width = llvm::PowerOf2Ceil(n);
    const int64_t perLane = shape.sinkhornRowsPerLane;
    Value addend = arg(kSinkhornAddend);
    // Row k of the lane, whether it is a row of the matrix, and the row of
    // H_res it reads (row 0 for the zero rows).
    SmallVector<Value> rowOf, owner, source;
    for (int64_t k = 0; k < perLane; ++k) {
      Value r =
          perLane == 1 ? lane : addi(muli(lane, index(perLane)), index(k));
      rowOf.push_back(r);
      owner.push_back(
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, r, index(n)));
      source.push_back(arith::SelectOp::create(b, owner[k], r, index(0)));
    }
    // values[k * n + j]: row k of the lane, column j.
    SmallVector<Value> values;
    for (int64_t k = 0; k < perLane; ++k)
      llvm::append_range(
          values, shiftedExpRow(source[k], [&](Value e) {
            Value zero = f32c(0.0f);
            return arith::SelectOp::create(b, owner[k], e, zero).getResult();
          }));
    auto normalizeLaneRows = [&](SmallVector<Value> &v, Value a) {
      normalizeRowsInLane(v, perLane, a);
    };
    auto normalizeColumnsAcrossLanes = [&](SmallVector<Value> &v, Value a) {
      normalizeColumnsInLane(v, perLane, perLane, width / perLane, a);
    };
    scf::ForOp rounds = sinkhornSchedule(
        values, normalizeLaneRows, normalizeColumnsAcrossLanes,
        [&](SmallVector<Value> &v) {
          for (int64_t k = 0; k < perLane; ++k)
            for (int64_t j = 0; j < n; ++j)
              v[k * n + j] = arith::SelectOp::create(
                  b, owner[k], add(v[k * n + j], addend), f32c(0.0f));
        });
    // Each lane stores its rows of M' (M, or M^T when the kernel applies
    // M^T), so readers need no select.
    for (int64_t k = 0; k < perLane; ++k) {
      auto store = scf::IfOp::create(b, owner[k], /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(store.thenBlock());
      for (int64_t j = 0; j < n; ++j) {
        Value direct = matrixIndex(rowOf[k], index(j));
        Value swapped = matrixIndex(index(j), rowOf[k]);
        Value at = arith::SelectOp::create(b, transposed, swapped, direct);
        memref::StoreOp::create(b, rounds.getResult(k * n + j), matrixMem, at);
      }
    }
  }

  /// sinkhorn-replicated-max-streams: every lane holds the whole n x n
  /// matrix and runs every round on it, so no round waits on a shuffle. The
  /// sums keep computeMatrixByRows' order (a row pairwise, a column as its
  /// butterfly adds: pairwise over the next power of two, zeros past n),
  /// and IEEE addition is commutative, so M' has the same bits. Lane 0
  /// stores it.
  void computeMatrixReplicated() {
    const int64_t n = shape.streams;
    const int64_t width = llvm::PowerOf2Ceil(n);
    Value addend = arg(kSinkhornAddend);
    // m[i * n + j], row-major.
    SmallVector<Value> m;
    for (int64_t i = 0; i < n; ++i)
      llvm::append_range(m, shiftedExpRow(index(i), [](Value e) { return e; }));
    auto normalizeRows = [&](SmallVector<Value> &v, Value a) {
      normalizeRowsInLane(v, n, a);
    };
    auto normalizeColumns = [&](SmallVector<Value> &v, Value a) {
      normalizeColumnsInLane(v, n, width, /*lanes=*/1, a);
    };
    scf::ForOp rounds = sinkhornSchedule(m, normalizeRows, normalizeColumns,
                                         [&](SmallVector<Value> &v) {
                                           for (Value &x : v)
                                             x = add(x, addend);
                                         });
    // M (or M^T when the kernel applies M^T) into the matrix buffer.
    ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, index(0)),
           [&] {
             for (int64_t i = 0; i < n; ++i)
               for (int64_t j = 0; j < n; ++j) {
                 Value at = arith::SelectOp::create(
                     b, transposed, index(j * n + i), index(i * n + j));
                 memref::StoreOp::create(b, rounds.getResult(i * n + j),
                                         matrixMem, at);
               }
           });
  }

  /// Sinkhorn on n x n in shared memory (thread i owns row i, then column i)
  /// and the gates. Both conventions share one schedule: row-normalize the
  /// max-shifted exp, add `a`, then column-normalize with `+ a`, then
  /// iters - 1 rounds with `+ a` (a = 0 is the exp convention). With the
  /// coefficient cache, warp 0 looks M up first and tells the block through
  /// a flag in shared memory whether to run the rounds.
  void emitPrologue() {
    forEachStreamThread([&](Value i) { storeGates(i); });
    if (!shape.coefficientCache) {
      computeMatrixInSharedMemory();
      return;
    }
    Value firstWarp =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, warp, index(0));
    auto lookup = scf::IfOp::create(b, firstWarp, /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(lookup.thenBlock());
      Value hit = lookupCache();
      Value leader =
          arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, index(0));
      auto flag = scf::IfOp::create(b, leader, /*withElseRegion=*/false);
      b.setInsertionPointToStart(flag.thenBlock());
      memref::StoreOp::create(
          b, arith::SelectOp::create(b, hit, f32c(1.0f), f32c(0.0f)), flagMem,
          index(0));
    }
    gpu::BarrierOp::create(b);
    Value miss = arith::CmpFOp::create(
        b, arith::CmpFPredicate::OEQ,
        memref::LoadOp::create(b, flagMem, index(0)), f32c(0.0f));
    auto compute = scf::IfOp::create(b, miss, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(compute.thenBlock());
    computeMatrixInSharedMemory();
    auto publish = scf::IfOp::create(b, firstWarp, /*withElseRegion=*/false);
    b.setInsertionPointToStart(publish.thenBlock());
    publishToCache();
  }

  /// The rounds of emitPrologue; ends with a barrier.
  void computeMatrixInSharedMemory() {
    Value hRes = arg(kHRes);
    Value addend = arg(kSinkhornAddend);
    forEachStreamThread([&](Value i) {
      auto rowMax = scf::ForOp::create(
          b, index(1), index(shape.streams), index(1),
          ValueRange{memref::LoadOp::create(b, hRes, ValueRange{i, index(0)})},
          [&](OpBuilder &, Location, Value j, ValueRange acc) {
            Value v = memref::LoadOp::create(b, hRes, ValueRange{i, j});
            scf::YieldOp::create(
                b, Value(arith::MaximumFOp::create(b, acc[0], v)));
          });
      scf::ForOp::create(
          b, index(0), index(shape.streams), index(1), ValueRange{},
          [&](OpBuilder &, Location, Value j, ValueRange) {
            Value v = memref::LoadOp::create(b, hRes, ValueRange{i, j});
            Value e = math::ExpOp::create(
                b, arith::SubFOp::create(b, v, rowMax.getResult(0)));
            memref::StoreOp::create(b, e, matrixMem, matrixIndex(i, j));
            scf::YieldOp::create(b);
          });
      normalizeRow(i, f32c(0.0f));
      scf::ForOp::create(
          b, index(0), index(shape.streams), index(1), ValueRange{},
          [&](OpBuilder &, Location, Value j, ValueRange) {
            Value at = matrixIndex(i, j);
            Value v = memref::LoadOp::create(b, matrixMem, at);
            memref::StoreOp::create(b, add(v, addend), matrixMem, at);
            scf::YieldOp::create(b);
          });
    });
    gpu::BarrierOp::create(b);
    forEachStreamThread([&](Value j) { normalizeColumn(j, addend); });
    gpu::BarrierOp::create(b);
    Value iters =
        arith::IndexCastOp::create(b, b.getIndexType(), arg(kSinkhornIters));
    scf::ForOp::create(
        b, index(1), iters, index(1), ValueRange{},
        [&](OpBuilder &, Location, Value, ValueRange) {
          forEachStreamThread([&](Value i) { normalizeRow(i, addend); });
          gpu::BarrierOp::create(b);
          forEachStreamThread([&](Value j) { normalizeColumn(j, addend); });
          gpu::BarrierOp::create(b);
          scf::YieldOp::create(b);
        });
  }

  /// Small n: every coefficient in a register for the whole kernel, unless
  /// the shape asks to read them from shared memory where used.
  bool coefficientsInRegisters() const {
    return shape.unrolledStreams && shape.coefficientsInRegisters;
  }

  void loadCoefficients() {
    if (!coefficientsInRegisters())
      return;
    for (int64_t i = 0; i < shape.streams; ++i) {
      pre.push_back(memref::LoadOp::create(b, preMem, index(i)));
      post.push_back(memref::LoadOp::create(b, postMem, index(i)));
      for (int64_t j = 0; j < shape.streams; ++j)
        mixing.push_back(loadMixing(i, j));
    }
  }

  /// M'[i][j]: M[i][j], or M[j][i] when the kernel applies M^T. The
  /// register prologue (unrolled streams) stores M' itself.
  Value loadMixing(int64_t i, int64_t j) {
    if (shape.unrolledStreams)
      return memref::LoadOp::create(b, matrixMem, index(i * shape.streams + j));
    Value at =
        arith::SelectOp::create(b, transposed, index(j * shape.streams + i),
                                index(i * shape.streams + j));
    return memref::LoadOp::create(b, matrixMem, at);
  }

  Value preCoeff(int64_t i) {
    return coefficientsInRegisters()
               ? pre[i]
               : memref::LoadOp::create(b, preMem, index(i)).getResult();
  }
  Value postCoeff(int64_t i) {
    return coefficientsInRegisters()
               ? post[i]
               : memref::LoadOp::create(b, postMem, index(i)).getResult();
  }
  Value mixCoeff(int64_t i, int64_t j) {
    return coefficientsInRegisters() ? mixing[i * shape.streams + j]
                                     : loadMixing(i, j);
  }

  llvm::MaybeAlign alignment(Type element) const {
    return llvm::MaybeAlign(shape.vector * element.getIntOrFloatBitWidth() / 8);
  }

  /// The first channel of chunk k of this thread.
  Value chunkStart(Value k) {
    return muli(addi(muli(k, index(shape.threads)), tid), index(shape.vector));
  }

  /// Chunk c of every stream of row `row` of `source` (x unless given).
  SmallVector<Value> loadStreams(Value row, Value c, Value source = Value()) {
    if (!source)
      source = arg(kX);
    SmallVector<Value> xs;
    for (int64_t i = 0; i < shape.streams; ++i)
      xs.push_back(vector::LoadOp::create(
          b, vecType, source, ValueRange{row, index(i), c},
          /*nontemporal=*/false, alignment(f32)));
    return xs;
  }

  Value aggregate(ArrayRef<Value> xs) {
    Value y = mul(splat(preCoeff(0)), xs[0]);
    for (int64_t i = 1; i < shape.streams; ++i)
      y = mulAdd(splat(preCoeff(i)), xs[i], y);
    return y;
  }

  /// The weight chunk at c, as f32.
  Value loadWeight(Value c) {
    if (shape.stageWeights)
      return vector::LoadOp::create(b, vecType, weightMem, ValueRange{c},
                                    /*nontemporal=*/false, alignment(f32));
    return loadGlobalWeight(c);
  }

  Value loadGlobalWeight(Value c) {
    Value w = vector::LoadOp::create(
        b, VectorType::get({shape.vector}, shape.weightType), arg(kWeight),
        ValueRange{c}, /*nontemporal=*/false, alignment(shape.weightType));
    if (!shape.weightType.isF32())
      w = arith::ExtFOp::create(b, vecType, w);
    return w;
  }

  /// f = y * invRms * w, then out[i] = sum_j M'[i][j] x[j] + s_post[i] f.
  /// Each output stream is mixed and stored before the next one is mixed,
  /// so only one stream's sums are live at a time (finishAndStore takes
  /// all of them, mixed earlier).
  void mixAndStore(Value row, Value c, ArrayRef<Value> xs, Value y,
                   Value invRms) {
    Value f = mul(mul(y, splat(invRms)), loadWeight(c));
    for (int64_t i = 0; i < shape.streams; ++i)
      storeOutput(row, c, i, mulAdd(splat(postCoeff(i)), f, mixStreams(xs, i)));
  }

  /// sum_j M'[i][j] x_j for one chunk: the part of output stream i that does
  /// not depend on the row's RMS.
  Value mixStreams(ArrayRef<Value> xs, int64_t i) {
    Value acc = mul(splat(mixCoeff(i, 0)), xs[0]);
    for (int64_t j = 1; j < shape.streams; ++j)
      acc = mulAdd(splat(mixCoeff(i, j)), xs[j], acc);
    return acc;
  }

  /// out_i = mixed_i + s_post[i] * (y * invRms * w), stored: mixAndStore
  /// with the streams mixed before (mix-before-barrier).
  void finishAndStore(Value row, Value c, ArrayRef<Value> mixed, Value y,
                      Value invRms) {
    Value f = mul(mul(y, splat(invRms)), loadWeight(c));
    for (int64_t i = 0; i < shape.streams; ++i)
      storeOutput(row, c, i, mulAdd(splat(postCoeff(i)), f, mixed[i]));
  }

  void storeOutput(Value row, Value c, int64_t i, Value value) {
    vector::StoreOp::create(b, value, arg(kOut), ValueRange{row, index(i), c},
                            /*nontemporal=*/false, alignment(f32));
  }

  Value inBounds(Value c) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, c, channels);
  }

  /// Sum of the thread's squares over the block, in a fixed order: warp
  /// butterfly, then the warp partials summed 0..W-1 by every thread.
  /// `buffer` selects one of two sets of warp partials, so consecutive rows
  /// can use different sets and need no barrier between them.
  Value blockSum(Value partial, Value buffer = Value(),
                 function_ref<void()> beforeBarrier = {}) {
    int64_t warps = shape.threads / 32;
    Value base = buffer ? muli(buffer, index(warps)) : index(0);
    for (int32_t offset = 16; offset >= 1; offset /= 2) {
      auto shuffle =
          gpu::ShuffleOp::create(b, partial, offset, 32, gpu::ShuffleMode::XOR);
      partial = add(partial, shuffle.getShuffleResult());
    }
    Value leader =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, index(0));
    auto ifOp = scf::IfOp::create(b, leader, /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      memref::StoreOp::create(b, partial, partialMem, addi(base, warp));
    }
    if (beforeBarrier)
      beforeBarrier();
    gpu::BarrierOp::create(b);
    Value total = memref::LoadOp::create(b, partialMem, base);
    for (int64_t w = 1; w < warps; ++w)
      total = add(total,
                  memref::LoadOp::create(b, partialMem, addi(base, index(w))));
    return total;
  }

  Value invRms(Value sumSquares) {
    Value c = arith::UIToFPOp::create(
        b, f32, arith::IndexCastUIOp::create(b, b.getI64Type(), channels));
    Value meanSquare = arith::DivFOp::create(b, sumSquares, c);
    return math::RsqrtOp::create(b, add(meanSquare, arg(kEps)));
  }

  Value zeroVector() {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0.0f)));
  }

  /// Runs `body` for chunk start `c` when it lies in the row; `guarded`
  /// false skips the check for chunks every thread has.
  SmallVector<Value> ifInRow(Value c, bool guarded, TypeRange types,
                             function_ref<SmallVector<Value>()> body) {
    if (!guarded)
      return body();
    return ifElseZeros(inBounds(c), types, body);
  }

  /// `body()` when `cond` holds, zero vectors of `types` otherwise.
  SmallVector<Value> ifElseZeros(Value cond, TypeRange types,
                                 function_ref<SmallVector<Value>()> body) {
    auto ifOp = scf::IfOp::create(b, types, cond, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    SmallVector<Value> values = body();
    if (!types.empty()) {
      scf::YieldOp::create(b, values);
      b.setInsertionPointToStart(ifOp.elseBlock());
      SmallVector<Value> zeros(types.size(), zeroVector());
      scf::YieldOp::create(b, zeros);
    }
    return SmallVector<Value>(ifOp.getResults());
  }

  /// Whether chunk k may lie partly beyond C (then its accesses are guarded).
  bool chunkGuarded(int64_t k) const {
    return (k + 1) * shape.threads * shape.vector > shape.channels;
  }

  /// Static C, row in registers: every chunk of every stream of `row` (of
  /// x, or of the row buffers), chunk major (n values per chunk).
  SmallVector<Value> loadRow(Value row, Value source = Value()) {
    SmallVector<Type> streamTypes(shape.streams, vecType);
    SmallVector<Value> xs;
    for (int64_t k = 0; k < shape.chunksPerThread; ++k) {
      Value c = chunkStart(index(k));
      llvm::append_range(xs, ifInRow(c, chunkGuarded(k), streamTypes, [&] {
                           return loadStreams(row, c, source);
                         }));
    }
    return xs;
  }

  /// Whether this thread loads the block's first row `first` before the
  /// prologue (prologueWarp = false) or after it: with late-prologue-warp-row
  /// warp 0 asks for its part after its prologue, every other warp before.
  Value firstRowHere(Value first, Value rows, bool prologueWarp) {
    Value exists =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, first, rows);
    if (!shape.latePrologueWarpRow)
      return exists;
    Value isWarp0 = arith::CmpIOp::create(
        b, prologueWarp ? arith::CmpIPredicate::eq : arith::CmpIPredicate::ne,
        warp, index(0));
    return arith::AndIOp::create(b, exists, isWarp0);
  }

  /// loadRow(row) when `cond` holds, zeros otherwise.
  SmallVector<Value> loadRowIf(Value cond, Value row) {
    SmallVector<Type> types(shape.streams * shape.chunksPerThread, vecType);
    return ifElseZeros(cond, types, [&] { return loadRow(row); });
  }

  /// The thread's own chunks of the weight, as f32 (zeros beyond C).
  SmallVector<Value> loadStagedWeights() {
    SmallVector<Value> chunks;
    for (int64_t k = 0; k < shape.chunksPerThread; ++k) {
      Value c = chunkStart(index(k));
      llvm::append_range(chunks, ifInRow(c, chunkGuarded(k), {vecType}, [&] {
                           return SmallVector<Value>{loadGlobalWeight(c)};
                         }));
    }
    return chunks;
  }

  /// Stores the thread's weight chunks into shared memory; only this thread
  /// reads them back, so no barrier is needed.
  void storeStagedWeights(ArrayRef<Value> chunks) {
    for (int64_t k = 0; k < shape.chunksPerThread; ++k) {
      Value c = chunkStart(index(k));
      ifInRow(c, chunkGuarded(k), {}, [&] {
        vector::StoreOp::create(b, chunks[k], weightMem, c,
                                /*nontemporal=*/false, alignment(f32));
        return SmallVector<Value>();
      });
    }
  }

  /// The rest of a row whose x is in registers (x is read exactly once).
  /// With pipeline-rows, returns the chunks of row `next` (zeros when
  /// `hasNext` is false), each loaded right after the same chunk of this row
  /// is stored; otherwise returns nothing.
  SmallVector<Value> processRow(Value row, ArrayRef<Value> xs, Value parity,
                                Value next, Value hasNext,
                                function_ref<void()> afterReduction = {}) {
    SmallVector<Value> ys;
    Value squares = zeroVector();
    for (int64_t k = 0; k < shape.chunksPerThread; ++k) {
      ys.push_back(aggregate(xs.slice(k * shape.streams, shape.streams)));
      squares = mulAdd(ys.back(), ys.back(), squares);
    }
    // With mix-before-barrier, each warp mixes its streams (the part of the
    // outputs the RMS does not scale) once it has published its partial sum,
    // while the block's other warps are still waiting for their loads.
    SmallVector<Value> mixed;
    auto mixEarly = [&] {
      for (int64_t k = 0; k < shape.chunksPerThread; ++k)
        for (int64_t i = 0; i < shape.streams; ++i)
          mixed.push_back(
              mixStreams(xs.slice(k * shape.streams, shape.streams), i));
    };
    Value scale = invRms(blockSum(
        vector::ReductionOp::create(b, vector::CombiningKind::ADD, squares),
        parity,
        shape.mixBeforeBarrier ? function_ref<void()>(mixEarly)
                               : function_ref<void()>()));
    if (shape.prefetchRows > 0 && shape.prefetchAfterReduction)
      prefetchRowAhead(row);
    if (afterReduction)
      afterReduction();
    SmallVector<Type> streamTypes(shape.streams, vecType);
    SmallVector<Value> nextRow;
    for (int64_t k = 0; k < shape.chunksPerThread; ++k) {
      Value c = chunkStart(index(k));
      SmallVector<Value> chunk(xs.slice(k * shape.streams, shape.streams));
      ifInRow(c, chunkGuarded(k), {}, [&] {
        if (!shape.mixBeforeBarrier)
          mixAndStore(row, c, chunk, ys[k], scale);
        else
          finishAndStore(
              row, c,
              ArrayRef<Value>(mixed).slice(k * shape.streams, shape.streams),
              ys[k], scale);
        return SmallVector<Value>();
      });
      if (!shape.pipelineRows)
        continue;
      Value load = hasNext;
      if (chunkGuarded(k))
        load = arith::AndIOp::create(b, load, inBounds(c));
      llvm::append_range(nextRow, ifElseZeros(load, streamTypes, [&] {
                           return loadStreams(next, c);
                         }));
    }
    return nextRow;
  }

  /// Dynamic or large C: one pass for the sum of squares, a second pass that
  /// reads x again for the output.
  void emitRowStreaming(Value row) {
    Value perPass = index(shape.threads * shape.vector);
    Value chunks = arith::CeilDivUIOp::create(b, channels, perPass);
    auto sumLoop = scf::ForOp::create(
        b, index(0), chunks, index(1), ValueRange{zeroVector()},
        [&](OpBuilder &, Location, Value k, ValueRange acc) {
          Value c = chunkStart(k);
          SmallVector<Value> sq = ifInRow(c, true, {vecType}, [&] {
            Value y = aggregate(loadStreams(row, c));
            return SmallVector<Value>{mul(y, y)};
          });
          scf::YieldOp::create(b, add(acc[0], sq[0]));
        });
    Value scale = invRms(blockSum(vector::ReductionOp::create(
        b, vector::CombiningKind::ADD, sumLoop.getResult(0))));
    scf::ForOp::create(b, index(0), chunks, index(1), ValueRange{},
                       [&](OpBuilder &, Location, Value k, ValueRange) {
                         Value c = chunkStart(k);
                         ifInRow(c, true, {}, [&] {
                           SmallVector<Value> xs = loadStreams(row, c);
                           mixAndStore(row, c, xs, aggregate(xs), scale);
                           return SmallVector<Value>();
                         });
                         scf::YieldOp::create(b);
                       });
  }

  /// Many streams: the same two passes as emitRowStreaming, but with loops
  /// over the streams (coefficients read from shared memory, x re-read per
  /// output stream from cache) so the code does not grow as n^2.
  void emitRowRolled(Value row) {
    Value perPass = index(shape.threads * shape.vector);
    Value chunks = arith::CeilDivUIOp::create(b, channels, perPass);
    Value streams = index(shape.streams);
    auto loadStream = [&](Value i, Value c) -> Value {
      return vector::LoadOp::create(b, vecType, arg(kX), ValueRange{row, i, c},
                                    /*nontemporal=*/false, alignment(f32));
    };
    auto aggregateRolled = [&](Value c) -> Value {
      auto loop = scf::ForOp::create(
          b, index(0), streams, index(1), ValueRange{zeroVector()},
          [&](OpBuilder &, Location, Value i, ValueRange acc) {
            Value s = memref::LoadOp::create(b, preMem, i);
            scf::YieldOp::create(b, mulAdd(splat(s), loadStream(i, c), acc[0]));
          });
      return loop.getResult(0);
    };
    auto sumLoop = scf::ForOp::create(
        b, index(0), chunks, index(1), ValueRange{zeroVector()},
        [&](OpBuilder &, Location, Value k, ValueRange acc) {
          Value c = chunkStart(k);
          SmallVector<Value> sq = ifInRow(c, true, {vecType}, [&] {
            Value y = aggregateRolled(c);
            return SmallVector<Value>{mul(y, y)};
          });
          scf::YieldOp::create(b, add(acc[0], sq[0]));
        });
    Value scale = invRms(blockSum(vector::ReductionOp::create(
        b, vector::CombiningKind::ADD, sumLoop.getResult(0))));
    scf::ForOp::create(
        b, index(0), chunks, index(1), ValueRange{},
        [&](OpBuilder &, Location, Value k, ValueRange) {
          Value c = chunkStart(k);
          ifInRow(c, true, {}, [&] {
            Value y = aggregateRolled(c);
            Value f = mul(mul(y, splat(scale)), loadWeight(c));
            scf::ForOp::create(
                b, index(0), streams, index(1), ValueRange{},
                [&](OpBuilder &, Location, Value i, ValueRange) {
                  auto mixLoop = scf::ForOp::create(
                      b, index(0), streams, index(1), ValueRange{zeroVector()},
                      [&](OpBuilder &, Location, Value j, ValueRange acc) {
                        Value at = arith::SelectOp::create(b, transposed,
                                                           matrixIndex(j, i),
                                                           matrixIndex(i, j));
                        Value m = memref::LoadOp::create(b, matrixMem, at);
                        scf::YieldOp::create(
                            b, mulAdd(splat(m), loadStream(j, c), acc[0]));
                      });
                  Value post = memref::LoadOp::create(b, postMem, i);
                  Value out = mulAdd(splat(post), f, mixLoop.getResult(0));
                  vector::StoreOp::create(
                      b, out, arg(kOut), ValueRange{row, i, c},
                      /*nontemporal=*/false, alignment(f32));
                  scf::YieldOp::create(b);
                });
            return SmallVector<Value>();
          });
          scf::YieldOp::create(b);
        });
  }

  ImplicitLocOpBuilder &b;
  const KernelShape &shape;
  gpu::GPUFuncOp func;
  Type f32;
  VectorType vecType;
  Value tid, lane, warp, channels, transposed;
  Value rowCount, rowStep; // Rows of x; rows between a block's rows.
  Value clusterMem;        // The block's sum of squares (cluster-row-split).
  Value matrixMem, preMem, postMem, partialMem, weightMem;
  Value barrierMem, rowMem; // stage-rows: mbarriers, row buffers.
  Value flagMem; // Shared prologue with the cache: whether M' was cached.
  SmallVector<Value> pre, post, mixing;
};

/// Returns the kernel for `shape`, creating it (and the kernel module) once.
gpu::GPUFuncOp getOrCreateKernel(ModuleOp module, const KernelShape &shape,
                                 Location loc) {
  MLIRContext *ctx = module.getContext();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(ctx));
  auto kernels = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModuleName);
  ImplicitLocOpBuilder b(loc, ctx);
  if (!kernels) {
    b.setInsertionPointToEnd(module.getBody());
    kernels = gpu::GPUModuleOp::create(b, kKernelModuleName);
  }
  std::string name = shape.kernelName();
  if (auto existing = kernels.lookupSymbol<gpu::GPUFuncOp>(name))
    return existing;

  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  int64_t n = shape.streams, c = shape.channels;
  auto rowsType = MemRefType::get({ShapedType::kDynamic, n, c}, f32);
  SmallVector<Type> params = {rowsType,
                              MemRefType::get({n, n}, f32),
                              MemRefType::get({n}, f32),
                              MemRefType::get({n}, f32),
                              MemRefType::get({c}, shape.weightType),
                              rowsType};
  params.append(kSinkhornIters - kEps, f32);
  params.append(kCache - kSinkhornIters, i32);
  params.push_back(MemRefType::get({ShapedType::kDynamic}, i32));

  auto workgroup = gpu::AddressSpaceAttr::get(
      ctx, gpu::GPUDialect::getWorkgroupAddressSpace());
  SmallVector<Type> attributions;
  for (KernelShape::Buffer buffer : shape.workgroupBuffers())
    attributions.push_back(MemRefType::get(
        {buffer.elements}, buffer.mbarriers ? b.getI64Type() : f32,
        MemRefLayoutAttrInterface(), workgroup));

  b.setInsertionPointToEnd(kernels.getBody());
  auto func = gpu::GPUFuncOp::create(
      b, name, FunctionType::get(ctx, params, {}), attributions);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  func.setKnownBlockSizeAttr(
      DenseI32ArrayAttr::get(ctx, {static_cast<int32_t>(shape.threads), 1, 1}));
  if (shape.clusterBlocks > 0)
    func.setKnownClusterSizeAttr(DenseI32ArrayAttr::get(
        ctx, {static_cast<int32_t>(shape.clusterBlocks), 1, 1}));
  // The backend vectorizes consecutive shared-memory loads (the warp
  // partials) up to 16 bytes: state that alignment so the accesses it forms
  // are legal (without it a 32-byte array could sit at a 4-byte boundary).
  for (unsigned i = 0; i < attributions.size(); ++i)
    func.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                                     b.getI64IntegerAttr(16));
  // A register budget for the rows in flight per SM (.minnctapersm).
  if (shape.minBlocksPerSM > 0)
    func->setAttr("nvvm.minctasm", b.getI32IntegerAttr(static_cast<int32_t>(
                                       shape.minBlocksPerSM)));
  if (shape.stageRows > 0 && !kernels.lookupSymbol(kDynamicSharedName)) {
    // The kernels' dynamic shared memory as an external zero-length array
    // (PTX `.extern .shared .align 16 .b8 ...[]`), which the lowering of
    // gpu.dynamic_shared_memory reuses. The global it would create itself is
    // internal, which PTX declares as one byte of static shared memory.
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(kernels.getBody());
    LLVM::GlobalOp::create(b, LLVM::LLVMArrayType::get(b.getI8Type(), 0),
                           /*isConstant=*/false, LLVM::Linkage::External,
                           kDynamicSharedName, /*value=*/Attribute(),
                           /*alignment=*/16, /*addrSpace=*/3);
  }
  KernelEmitter(b, shape, func).emit();
  {
    // Every kernel states its dynamic shared memory (0 without staged rows).
    b.setInsertionPointToEnd(kernels.getBody());
    LLVM::GlobalOp::create(
        b, i32, /*isConstant=*/true, LLVM::Linkage::External,
        shape.dynamicSharedBytesSymbol(),
        b.getI32IntegerAttr(static_cast<int32_t>(shape.dynamicSharedBytes())),
        /*alignment=*/4, /*addrSpace=*/1);
    // And whether it may be launched with programmatic stream serialization.
    LLVM::GlobalOp::create(
        b, i32, /*isConstant=*/true, LLVM::Linkage::External,
        shape.programmaticLaunchSymbol(),
        b.getI32IntegerAttr(shape.programmaticLaunch ? 1 : 0),
        /*alignment=*/4, /*addrSpace=*/1);
  }
  return func;
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
    gpu::GPUFuncOp kernel = getOrCreateKernel(module, shape, op.getLoc());

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
    Value dynamicSharedBytes;
    if (shape.stageRows > 0)
      dynamicSharedBytes = i32(shape.dynamicSharedBytes());
    std::optional<gpu::KernelDim3> clusters;
    if (shape.clusterBlocks > 0) {
      // One cluster of clusterBlocks blocks per row.
      Value blocks = arith::ConstantIndexOp::create(b, shape.clusterBlocks);
      grid = arith::MulIOp::create(b, grid, blocks);
      clusters = gpu::KernelDim3{blocks, one, one};
    }
    gpu::LaunchFuncOp::create(
        b, kernel, gpu::KernelDim3{grid, one, one},
        gpu::KernelDim3{threads, one, one}, dynamicSharedBytes, operands,
        /*asyncObject=*/Type(), /*asyncDependencies=*/{}, clusters);
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

  void runOnOperation() override {
    if (threadsPerBlock < 32 || threadsPerBlock % 32 != 0 ||
        threadsPerBlock > 1024) {
      getOperation().emitError()
          << "threads-per-block must be a multiple of 32 in [32, 1024], got "
          << threadsPerBlock.getValue();
      return signalPassFailure();
    }
    if (stageRows < 0 || maxSharedMemoryBytes < 0) {
      getOperation().emitError()
          << "stage-rows and max-shared-memory-bytes must be >= 0, got "
          << stageRows.getValue() << " and " << maxSharedMemoryBytes.getValue();
      return signalPassFailure();
    }
    if (stageCopyBytes < 0 || stageCopyBytes % 16 != 0) {
      getOperation().emitError()
          << "stage-copy-bytes must be a non-negative multiple of 16, got "
          << stageCopyBytes.getValue();
      return signalPassFailure();
    }
    if (prefetchRows < 0 || prefetchMaxRowBytes < 0 ||
        prefetchEarlyMaxRowBytes < 0) {
      getOperation().emitError()
          << "prefetch-rows, prefetch-max-row-bytes and "
             "prefetch-early-max-row-bytes must be >= 0, got "
          << prefetchRows.getValue() << ", " << prefetchMaxRowBytes.getValue()
          << " and " << prefetchEarlyMaxRowBytes.getValue();
      return signalPassFailure();
    }
    if (missPrefetchRows < 0) {
      getOperation().emitError() << "miss-prefetch-rows must be >= 0, got "
                                 << missPrefetchRows.getValue();
      return signalPassFailure();
    }
    if (minBlocksPerSM < -1) {
      getOperation().emitError()
          << "min-blocks-per-sm must be -1 (automatic), 0 (unconstrained) or "
             "a block count, got "
          << minBlocksPerSM.getValue();
      return signalPassFailure();
    }
    if (vectorWidth != 1 && vectorWidth != 2 && vectorWidth != 4) {
      getOperation().emitError()
          << "vector-width must be 1, 2 or 4, got " << vectorWidth.getValue();
      return signalPassFailure();
    }
    // Field by field: a positional list would silently shift values when an
    // option is added.
    ConvertMHCToGPUOptions options;
    options.threadsPerBlock = threadsPerBlock;
    options.vectorWidth = vectorWidth;
    options.maxRowRegisters = maxRowRegisters;
    options.maxUnrolledStreams = maxUnrolledStreams;
    options.sinkhornReplicatedMaxStreams = sinkhornReplicatedMaxStreams;
    options.sinkhornFtzReciprocal = sinkhornFtzReciprocal;
    options.sinkhornNewtonReciprocal = sinkhornNewtonReciprocal;
    options.sinkhornRowsPerLane = sinkhornRowsPerLane;
    options.latePrologueWarpRow = latePrologueWarpRow;
    options.minBlocksPerSM = minBlocksPerSM;
    options.pipelineRows = pipelineRows;
    options.stageWeights = stageWeights;
    options.coefficientsInRegisters = coefficientsInRegisters;
    options.doubleBufferRows = doubleBufferRows;
    options.fuseMultiplyAdd = fuseMultiplyAdd;
    options.mixBeforeBarrier = mixBeforeBarrier;
    options.prefetchRows = prefetchRows;
    options.prefetchMaxRowBytes = prefetchMaxRowBytes;
    options.prefetchAfterReduction = prefetchAfterReduction;
    options.prefetchEarlyMaxRowBytes = prefetchEarlyMaxRowBytes;
    options.prefetchNextWave = prefetchNextWave;
    options.missPrefetchRows = missPrefetchRows;
    options.clusterRowSplit = clusterRowSplit;
    options.stageRows = stageRows;
    options.stageCopyBytes = stageCopyBytes;
    options.maxSharedMemoryBytes = maxSharedMemoryBytes;
    options.coefficientCache = coefficientCache;
    options.earlyCacheLookup = earlyCacheLookup;
    options.programmaticLaunch = programmaticLaunch;
    RewritePatternSet patterns(&getContext());
    populateMHCToGPUPatterns(patterns, options);
    ConversionTarget target(getContext());
    target.addIllegalDialect<MHCDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::mhc::populateMHCToGPUPatterns(
    RewritePatternSet &patterns, const ConvertMHCToGPUOptions &options) {
  patterns.add<FusedLayerToGPU>(patterns.getContext(), options);
}
