//===- FusedLayerKernel.h - the fused static-layer kernel -------*- C++ -*-===//
//
// The kernel that convert-mhc-to-gpu emits for one mhc.fused_layer: its
// static shape and mapping onto threads (KernelShape, LaunchConfig.cpp) and
// its emitter (FusedLayerEmitter), whose parts live in one file per concern:
//
//   FusedLayerKernel.cpp   the gpu.func, its attributes and globals, and the
//                          kernel's outline (rows in registers, streamed or
//                          rolled rows, one cluster per row)
//   SinkhornPrologue.cpp   the gates and M' (Sinkhorn rounds in registers or
//                          shared memory), once per block
//   CoefficientCache.cpp   M' memoized in the `cache` argument
//   RowDataFlow.cpp        loads, aggregation, RMS reduction, mix, stores
//   Prefetch.cpp           L2 bulk prefetches of rows to come
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_CONVERSION_MHCTOGPU_FUSEDLAYERKERNEL_H
#define MHC_LIB_CONVERSION_MHCTOGPU_FUSEDLAYERKERNEL_H

#include "KernelBuilder.h"

#include "mhc/Contract/FusedLayer.h"
#include "mhc/Conversion/MHCToGPU/MHCToGPU.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::mhc::gpu_lowering {

/// The kernel's name, arguments and workspace, shared with the runtime.
namespace fl = ::mhc::contract::fused_layer;

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
  int64_t minBlocksPerSM;  // 0: no register budget requested.
  bool stageWeights;       // Weight as f32 in shared memory.
  int64_t prefetchRows;    // L2 bulk prefetch distance in rows; 0: off.
  bool prefetchAfterReduction; // Prefetch after the reduction, not before.
  int64_t missPrefetchRows;    // Next rows prefetched during the rounds.
  int64_t clusterBlocks;       // Blocks per row (a cluster); 0: grid-stride.
  bool coefficientCache;       // M' memoized in the `cache` parameter.
  bool programmaticLaunch;     // griddepcontrol.wait, launch_dependents.

  /// The shape of the kernel for a layer with `x` and a weight of
  /// `weightType` under `options` (LaunchConfig.cpp).
  static KernelShape get(RankedTensorType x, Type weightType,
                         const ConvertMHCToGPUOptions &options);

  /// Bytes of a row of x; C must be static.
  int64_t rowBytes() const {
    assert(!ShapedType::isDynamic(channels) && "a row of dynamic C");
    return streams * channels * 4;
  }
  /// Floats of x each thread holds when the row is in registers.
  int64_t rowFloatsPerThread() const {
    return streams * chunksPerThread * vector;
  }

  /// The coefficient cache's words (the contract's layout).
  int64_t cacheKeyWords() const { return fl::cacheKeyWords(streams); }
  int64_t cacheWords() const { return fl::cacheWords(streams); }
  /// Whether the prologue runs in shared memory (n > max-unrolled-streams):
  /// its cache lookup needs a block-wide flag.
  bool sharedPrologueFlag() const {
    return coefficientCache && !unrolledStreams;
  }

  /// Elements (f32) of the kernel's workgroup buffers, in attribution
  /// order: M', s_pre, s_post, two sets of warp partials, then the staged
  /// weight, the block's cluster sum and the prologue's cache flag where the
  /// kernel has them.
  SmallVector<int64_t> workgroupBuffers() const;

  /// The kernel's variant of the family, and the name it encodes.
  fl::Variant variant() const;
  std::string kernelName() const { return fl::kernelName(variant()); }

private:
  int64_t automaticMinBlocksPerSM(const ConvertMHCToGPUOptions &options) const;
  bool replicatedSinkhornFits() const;
};

/// The compute capability of an `sm_<XY>[a|f]` chip name as XY, or 0.
int64_t smVersion(StringRef chip);

/// The kernel's parameter types, from the contract's arguments.
SmallVector<Type> kernelParameterTypes(MLIRContext *ctx,
                                       const KernelShape &shape);

/// Returns the kernel for `shape` in the kernel module of `module`,
/// creating both once (FusedLayerKernel.cpp).
gpu::GPUFuncOp getOrCreateFusedLayerKernel(ModuleOp module,
                                           const KernelShape &shape,
                                           Location loc);

/// Emits the body of one fused kernel.
class FusedLayerEmitter : public KernelBuilder {
public:
  FusedLayerEmitter(ImplicitLocOpBuilder &b, const KernelShape &shape,
                    gpu::GPUFuncOp func)
      : KernelBuilder(b, func), shape(shape),
        vecType(VectorType::get({shape.vector}, b.getF32Type())) {}

  void emit();

private:
  // FusedLayerKernel.cpp: the kernel's outline.
  void bindWorkgroupBuffers();
  void emitRowsInRegisters(Value first);
  void emitClusterRow();

  // SinkhornPrologue.cpp.
  void emitPrologueInRegisters();
  void computeMatrixInRegisters();
  void computeMatrixByRows();
  void computeMatrixReplicated();
  SmallVector<Value> shiftedExpRow(Value row, function_ref<Value(Value)> wrap);
  void emitPrologueInSharedMemory();
  void computeMatrixInSharedMemory();
  void forEachStreamThread(function_ref<void(Value)> body);
  Value matrixIndex(Value row, Value col);
  Value sumMatrix(function_ref<Value(Value)> at);
  void divideMatrix(function_ref<Value(Value)> at, Value divisor);
  void normalizeRow(Value i, Value addend);
  void normalizeColumn(Value j, Value addend);
  void storeGates(Value i);
  void loadCoefficients();
  Value loadMixing(int64_t i, int64_t j);
  Value preCoeff(int64_t i);
  Value postCoeff(int64_t i);
  Value mixCoeff(int64_t i, int64_t j);

  // CoefficientCache.cpp.
  /// The words w = lane + 32 k < `count` of this lane, k = 0, 1, ...
  /// (statically unrolled, so their loads are in flight together), clamped
  /// to 0 past `count` with `valid` false.
  struct LaneWord {
    Value w, valid;
  };
  /// This lane's words of a cache entry: of the key, then of M'.
  struct EntryWords {
    SmallVector<LaneWord> key, matrix;
  };
  Value lookupCache();
  void publishToCache();
  Value cacheEnabled();
  Value loadCache(Type type, Value word);
  void storeCache(Value word, Value value);
  Value cacheKeyWord(Value w);
  Value sealTerm(Value value, Value w);
  SmallVector<LaneWord> laneWords(int64_t count);
  EntryWords entryWords();
  Value entrySeal(ArrayRef<LaneWord> keyWords, ArrayRef<Value> keyValues,
                  ArrayRef<LaneWord> matrixWords, ArrayRef<Value> matrixBits);

  // RowDataFlow.cpp.
  Value splat(Value scalar) { return KernelBuilder::splat(vecType, scalar); }
  Value zeroVector() { return zeros(vecType); }
  Value chunkStart(Value k);
  Value inBounds(Value c);
  bool chunkGuarded(int64_t k) const;
  SmallVector<Value> ifElseZeros(Value cond, TypeRange types,
                                 function_ref<SmallVector<Value>()> body) {
    return KernelBuilder::ifElseZeros(cond, types, body, vecType);
  }
  SmallVector<Value> ifInRow(Value c, bool guarded, TypeRange types,
                             function_ref<SmallVector<Value>()> body);
  SmallVector<Value> loadStreams(Value row, Value c);
  SmallVector<Value> loadRow(Value row);
  SmallVector<Value> loadRowIf(Value cond, Value row);
  SmallVector<Value> loadStagedWeights();
  void storeStagedWeights(ArrayRef<Value> chunks);
  Value loadWeight(Value c);
  Value loadGlobalWeight(Value c);
  Value aggregate(ArrayRef<Value> xs);
  Value rowSum(Value partial, Value parity = Value());
  Value invRms(Value sumSquares);
  Value mixStreams(ArrayRef<Value> xs, int64_t i);
  void mixAndStore(Value row, Value c, ArrayRef<Value> xs, Value y,
                   Value invRms);
  void storeOutput(Value row, Value c, int64_t i, Value value);
  void processRow(Value row, ArrayRef<Value> xs, Value parity);
  Value streamedInvRms(Value chunks, function_ref<Value(Value)> aggregateAt);
  void emitRowStreaming(Value row);
  void emitRowRolled(Value row);

  // Prefetch.cpp.
  Value rowAddress(Value row);
  void prefetchRow(Value row);
  Value stridesAfter(Value row, int64_t k);
  void prefetchRowAhead(Value row);
  Value waveStride();
  void prefetchDuringRounds();

  const KernelShape &shape;
  VectorType vecType;
  Value channels, transposed;
  Value rowCount, rowStep; // Rows of x; rows between a block's rows.
  Value matrixMem, preMem, postMem, partialMem;
  Value weightMem;  // The staged weight (row in registers).
  Value clusterMem; // The block's sum of squares (cluster-row-split).
  Value flagMem;    // Shared prologue with the cache: whether M' was cached.
  SmallVector<Value> pre, post, mixing; // Coefficients in registers.
};

} // namespace mlir::mhc::gpu_lowering

#endif // MHC_LIB_CONVERSION_MHCTOGPU_FUSEDLAYERKERNEL_H
