//===- LaunchConfig.cpp - how a fused kernel maps onto the GPU ------------===//
//
// KernelShape::get decides, from the layer's static shape and the pass's
// options, everything about a kernel that is not an instruction: the block
// size and vector width, whether the row stays in registers and in how many
// chunks per thread, the register budget (blocks per SM), which form the
// Sinkhorn rounds take, which prefetches the target allows, the workgroup
// buffers, and the kernel's variant (its name, in the contract).
//
//===----------------------------------------------------------------------===//

#include "FusedLayerKernel.h"

using namespace mlir;
using namespace mlir::mhc::gpu_lowering;

/// 32-bit registers per SM (sm_80 through sm_100).
static constexpr int64_t kRegistersPerSM = 64 * 1024;

int64_t mlir::mhc::gpu_lowering::smVersion(StringRef chip) {
  int64_t version = 0;
  if (!chip.consume_front("sm_"))
    return 0;
  chip = chip.take_while([](char c) { return c >= '0' && c <= '9'; });
  return chip.getAsInteger(10, version) ? 0 : version;
}

KernelShape KernelShape::get(RankedTensorType x, Type weightType,
                             const ConvertMHCToGPUOptions &options) {
  // The L2 bulk prefetch (cp.async.bulk.prefetch), griddepcontrol and
  // clusters exist from sm_90 on.
  const bool sm90 = smVersion(options.chip) >= 90;
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
  if (shape.unrolledStreams && !ShapedType::isDynamic(shape.channels)) {
    int64_t perPass = shape.threads * shape.vector;
    shape.chunksPerThread = (shape.channels + perPass - 1) / perPass;
    shape.rowInRegisters =
        shape.rowFloatsPerThread() <= options.maxRowRegisters;
  }
  // The weight is loaded once per block into shared memory instead of from
  // global memory after every row's reduction (measured no slower and no
  // faster: bench/NOTES.md, attempts 6 and 41).
  shape.stageWeights = shape.rowInRegisters;
  // The bulk prefetch needs 16-byte aligned rows of a multiple of 16 bytes.
  const bool bulkRows = sm90 && shape.rowInRegisters && shape.vector == 4;
  shape.prefetchRows = bulkRows ? options.prefetchRows : 0;
  if (bulkRows && options.prefetchMaxRowBytes > 0 &&
      shape.rowBytes() > options.prefetchMaxRowBytes)
    shape.prefetchRows = 0;
  shape.prefetchAfterReduction =
      bulkRows && shape.rowBytes() > options.prefetchEarlyMaxRowBytes;
  // The same bulk prefetch, during the rounds of the prologue in
  // registers. prefetch-max-row-bytes does not bound it: that limit is for
  // a prefetch that competes with the block's own row, which the block has
  // asked for before its rounds.
  shape.missPrefetchRows = bulkRows ? options.missPrefetchRows : 0;
  shape.clusterBlocks = 0;
  if (options.clusterRowSplit) {
    // Block k of the cluster holds chunk k; the weight is read from global
    // memory once, so nothing is staged, and no row follows to prefetch.
    shape.clusterBlocks = shape.chunksPerThread;
    shape.stageWeights = false;
    shape.prefetchRows = 0;
    shape.missPrefetchRows = 0;
  }
  shape.coefficientCache = options.coefficientCache;
  shape.programmaticLaunch = sm90 && options.programmaticLaunch;
  shape.minBlocksPerSM = options.minBlocksPerSM >= 0
                             ? options.minBlocksPerSM
                             : shape.automaticMinBlocksPerSM(options);
  shape.replicatedSinkhorn =
      shape.unrolledStreams &&
      shape.streams <= options.sinkhornReplicatedMaxStreams &&
      shape.replicatedSinkhornFits();
  return shape;
}

/// The register budget `min-blocks-per-sm=-1` asks for. With one block per
/// row, a block that holds its row in registers issues no load between its
/// reduction and its last store, and with one block per SM the SM's DRAM
/// traffic stops there until the next block starts: two blocks per SM
/// overlap one's loads with the other's stores. Each of two blocks gets
/// `share` = min(`max-row-registers`, 64K / (2 x threads)) registers per
/// thread (128 at 256 threads, 64 at 512); asked for where the row takes
/// at most half of them, which leaves the other half for the coefficients,
/// addresses and sums, and at least a quarter: a smaller row stays under
/// the share anyway, and asking would only cap a kernel that fits three
/// blocks (n = 4, C = 1280 at 320 threads: 64 -> 72 registers, 2% slower).
/// bench/NOTES.md, attempts 19 and 26, has ptxas's counts. Larger rows
/// would spill, and a cluster kernel holds one chunk of the row.
int64_t KernelShape::automaticMinBlocksPerSM(
    const ConvertMHCToGPUOptions &options) const {
  if (!rowInRegisters || clusterBlocks > 0)
    return 0;
  int64_t share =
      std::min(options.maxRowRegisters, kRegistersPerSM / (2 * threads));
  int64_t row = rowFloatsPerThread();
  return 2 * row <= share && 4 * row >= share ? 2 : 0;
}

/// Whether the replicated rounds leave the register budget alone: the
/// block's first row is in registers while warp 0 runs them, next to the
/// matrix and its next round (2 n^2); together they may take three quarters
/// of the registers per thread that `min-blocks-per-sm` leaves (one block
/// per SM without a budget), the rest being the prologue's addresses and
/// ptxas's room to overlap the rows' chains. n = 4, C = 4096 at 512 threads
/// in two blocks (32 + 32 of 64) spilled; n = 4, C = 7168 at 896 threads
/// (32 + 32 of 73) did not, but its misses took 2.3 us longer
/// (bench/NOTES.md, attempt 34).
bool KernelShape::replicatedSinkhornFits() const {
  int64_t held = rowInRegisters ? rowFloatsPerThread() : 0;
  int64_t share =
      kRegistersPerSM / (std::max<int64_t>(minBlocksPerSM, 1) * threads);
  return 4 * (held + 2 * streams * streams) <= 3 * share;
}

SmallVector<int64_t> KernelShape::workgroupBuffers() const {
  SmallVector<int64_t> buffers = {streams * streams, streams, streams,
                                  2 * threads / 32};
  if (stageWeights)
    buffers.push_back(channels);
  if (clusterBlocks > 0)
    buffers.push_back(1);
  if (sharedPrologueFlag())
    buffers.push_back(1);
  return buffers;
}

fl::Variant KernelShape::variant() const {
  fl::Variant v;
  v.streams = streams;
  v.channels = ShapedType::isDynamic(channels) ? 0 : channels;
  v.vectorWidth = vector;
  v.bf16Weight = weightType.isBF16();
  v.threads = threads;
  v.clusterBlocks = clusterBlocks;
  return v;
}
