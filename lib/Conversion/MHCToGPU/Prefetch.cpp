//===- Prefetch.cpp - rows to come, brought into L2 ahead of their block --===//
//
// A block that holds its row in registers issues no load between its
// reduction and its last store, so the DRAM would idle there. Thread 0
// therefore asks L2 for whole rows the block (or a block of the next wave)
// will take later, with one cp.async.bulk.prefetch.L2 per row (sm_90+):
// - prefetch-rows: the block's row that many grid strides ahead, after the
//   current row's reduction (rows of at most prefetch-early-max-row-bytes at
//   the start of its iteration instead);
// - miss-prefetch-rows: before warp 0 runs the Sinkhorn rounds (a cache
//   miss), the next rows one wave apart.
// A prefetch changes no value; a row past the batch is not asked for.
//
//===----------------------------------------------------------------------===//

#include "FusedLayerKernel.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace mlir::mhc::gpu_lowering;

/// The global address (ptr<1>) of row `row` of x.
Value FusedLayerEmitter::rowAddress(Value row) {
  return globalAddress(fl::X, row, shape.rowBytes());
}

/// Thread 0 asks for row `row` of x (when it exists) to be brought into
/// L2: one cp.async.bulk.prefetch of the whole row.
void FusedLayerEmitter::prefetchRow(Value row) {
  Value isFirstThread = eq(tid, index(0));
  Value exists = ult(row, rowCount);
  ifThen(arith::AndIOp::create(b, isFirstThread, exists),
         [&] { prefetchL2(rowAddress(row), shape.rowBytes()); });
}

/// The block's row k grid strides after `row`.
Value FusedLayerEmitter::stridesAfter(Value row, int64_t k) {
  return addi(row, k == 1 ? rowStep : muli(rowStep, index(k)));
}

/// Prefetches the block's row prefetch-rows strides after `row`. (Where the
/// grid has a block per row, the row one wave later instead was faster for
/// some kernels and slower for others: bench/NOTES.md, attempt 39.)
void FusedLayerEmitter::prefetchRowAhead(Value row) {
  prefetchRow(stridesAfter(row, shape.prefetchRows));
}

/// The rows between a block's row and the row a block takes one wave
/// later: the grid stride where the block loops, else (a block per row)
/// %nsmid x max(min-blocks-per-sm, 1), an estimate of the blocks resident
/// at once (%nsmid may exceed the SM count; the estimate only moves which
/// rows are warmed in L2, never what is computed).
Value FusedLayerEmitter::waveStride() {
  Value sms = arith::IndexCastUIOp::create(
      b, b.getIndexType(),
      NVVM::SmDimOp::create(b, b.getI32Type()).getResult());
  Value wave = muli(sms, index(std::max<int64_t>(shape.minBlocksPerSM, 1)));
  Value loops = ult(rowStep, rowCount);
  return arith::SelectOp::create(b, loops, rowStep, wave);
}

/// miss-prefetch-rows: before warp 0 runs the rounds, its first thread
/// asks L2 for the block's next rows (waves apart with a block per row),
/// which the DRAM fetches while the block waits on the rounds.
void FusedLayerEmitter::prefetchDuringRounds() {
  if (shape.missPrefetchRows == 0)
    return;
  Value row = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value stride = waveStride();
  for (int64_t k = 0; k < shape.missPrefetchRows; ++k) {
    row = addi(row, stride);
    prefetchRow(row);
  }
}
