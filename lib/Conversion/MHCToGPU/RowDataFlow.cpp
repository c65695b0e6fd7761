//===- RowDataFlow.cpp - one token row: load, reduce, mix, store ----------===//
//
// What a block does with a row once the prologue has published the
// coefficients. Thread `tid` owns the channel chunks c = (k T + tid) V of
// every stream, read and written as aligned V-wide vectors; a chunk that may
// reach past C is guarded. y = sum_i s_pre[i] x_i, the row's sum of y^2 is
// reduced over the block in a fixed order, and each output stream
// out_i = sum_j M'[i][j] x_j + s_post[i] y rsqrt(mean y^2 + eps) w is mixed
// and stored before the next one (only one stream's sums are live at once).
// Three forms: the row held in registers (x read once), streamed (x read
// twice, unrolled streams), and rolled (x re-read per output stream, many
// streams).
//
//===----------------------------------------------------------------------===//

#include "FusedLayerKernel.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::mhc::gpu_lowering;

/// The first channel of chunk k of this thread.
Value FusedLayerEmitter::chunkStart(Value k) {
  Value vector = index(shape.vector);
  Value threads = index(shape.threads);
  return muli(addi(muli(k, threads), tid), vector);
}

Value FusedLayerEmitter::inBounds(Value c) { return ult(c, channels); }

/// Whether chunk k may lie partly beyond C (then its accesses are guarded).
bool FusedLayerEmitter::chunkGuarded(int64_t k) const {
  return (k + 1) * shape.threads * shape.vector > shape.channels;
}

/// Runs `body` for chunk start `c` when it lies in the row; `guarded`
/// false skips the check for chunks every thread has.
SmallVector<Value>
FusedLayerEmitter::ifInRow(Value c, bool guarded, TypeRange types,
                           function_ref<SmallVector<Value>()> body) {
  if (!guarded)
    return body();
  return ifElseZeros(inBounds(c), types, body);
}

/// Chunk c of every stream of row `row` of x.
SmallVector<Value> FusedLayerEmitter::loadStreams(Value row, Value c) {
  SmallVector<Value> xs;
  for (int64_t i = 0; i < shape.streams; ++i)
    xs.push_back(loadAligned(vecType, arg(fl::X), {row, index(i), c}));
  return xs;
}

/// Static C, row in registers: every chunk of every stream of `row`, chunk
/// major (n values per chunk).
SmallVector<Value> FusedLayerEmitter::loadRow(Value row) {
  SmallVector<Type> streamTypes(shape.streams, vecType);
  SmallVector<Value> xs;
  for (int64_t k = 0; k < shape.chunksPerThread; ++k) {
    Value c = chunkStart(index(k));
    llvm::append_range(xs, ifInRow(c, chunkGuarded(k), streamTypes,
                                   [&] { return loadStreams(row, c); }));
  }
  return xs;
}

/// loadRow(row) when `cond` holds, zeros otherwise.
SmallVector<Value> FusedLayerEmitter::loadRowIf(Value cond, Value row) {
  SmallVector<Type> types(shape.streams * shape.chunksPerThread, vecType);
  return ifElseZeros(cond, types, [&] { return loadRow(row); });
}

/// The thread's own chunks of the weight, as f32 (zeros beyond C).
SmallVector<Value> FusedLayerEmitter::loadStagedWeights() {
  SmallVector<Value> chunks;
  if (!shape.stageWeights)
    return chunks;
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
void FusedLayerEmitter::storeStagedWeights(ArrayRef<Value> chunks) {
  if (!shape.stageWeights)
    return;
  for (int64_t k = 0; k < shape.chunksPerThread; ++k) {
    Value c = chunkStart(index(k));
    ifInRow(c, chunkGuarded(k), {}, [&] {
      storeAligned(chunks[k], weightMem, c);
      return SmallVector<Value>();
    });
  }
}

/// The weight chunk at c, as f32.
Value FusedLayerEmitter::loadWeight(Value c) {
  if (shape.stageWeights)
    return loadAligned(vecType, weightMem, c);
  return loadGlobalWeight(c);
}

Value FusedLayerEmitter::loadGlobalWeight(Value c) {
  Value w = loadAligned(VectorType::get({shape.vector}, shape.weightType),
                        arg(fl::Weight), c);
  if (!shape.weightType.isF32())
    w = arith::ExtFOp::create(b, vecType, w);
  return w;
}

Value FusedLayerEmitter::aggregate(ArrayRef<Value> xs) {
  Value y = mul(splat(preCoeff(0)), xs[0]);
  for (int64_t i = 1; i < shape.streams; ++i)
    y = mulAdd(splat(preCoeff(i)), xs[i], y);
  return y;
}

/// The row's sum of the threads' `partial` over the block. `parity`
/// selects one of the two sets of warp partials, so consecutive rows can
/// use different sets and need no barrier between them.
Value FusedLayerEmitter::rowSum(Value partial, Value parity) {
  int64_t warps = shape.threads / 32;
  Value base = parity ? muli(parity, index(warps)) : index(0);
  return blockSum(partial, partialMem, base, shape.threads);
}

Value FusedLayerEmitter::invRms(Value sumSquares) {
  Value c = arith::UIToFPOp::create(
      b, f32, arith::IndexCastUIOp::create(b, b.getI64Type(), channels));
  Value meanSquare = arith::DivFOp::create(b, sumSquares, c);
  return math::RsqrtOp::create(b, add(meanSquare, arg(fl::Eps)));
}

/// sum_j M'[i][j] x_j for one chunk: the part of output stream i that does
/// not depend on the row's RMS.
Value FusedLayerEmitter::mixStreams(ArrayRef<Value> xs, int64_t i) {
  Value acc = mul(splat(mixCoeff(i, 0)), xs[0]);
  for (int64_t j = 1; j < shape.streams; ++j)
    acc = mulAdd(splat(mixCoeff(i, j)), xs[j], acc);
  return acc;
}

/// f = y * invRms * w, then out[i] = sum_j M'[i][j] x[j] + s_post[i] f.
/// Each output stream is mixed and stored before the next one is mixed,
/// so only one stream's sums are live at a time (mixing every stream before
/// the RMS barrier raised registers and was slower: bench/NOTES.md,
/// attempt 41).
void FusedLayerEmitter::mixAndStore(Value row, Value c, ArrayRef<Value> xs,
                                    Value y, Value invRms) {
  Value w = loadWeight(c);
  Value f = mul(mul(y, splat(invRms)), w);
  for (int64_t i = 0; i < shape.streams; ++i) {
    Value mixed = mixStreams(xs, i);
    storeOutput(row, c, i, mulAdd(splat(postCoeff(i)), f, mixed));
  }
}

void FusedLayerEmitter::storeOutput(Value row, Value c, int64_t i,
                                    Value value) {
  storeAligned(value, arg(fl::Out), {row, index(i), c});
}

/// The rest of a row whose x is in registers (x is read exactly once).
void FusedLayerEmitter::processRow(Value row, ArrayRef<Value> xs,
                                   Value parity) {
  SmallVector<Value> ys;
  Value squares = zeroVector();
  for (int64_t k = 0; k < shape.chunksPerThread; ++k) {
    ys.push_back(aggregate(xs.slice(k * shape.streams, shape.streams)));
    squares = mulAdd(ys.back(), ys.back(), squares);
  }
  Value scale = invRms(rowSum(
      vector::ReductionOp::create(b, vector::CombiningKind::ADD, squares),
      parity));
  if (shape.prefetchRows > 0 && shape.prefetchAfterReduction)
    prefetchRowAhead(row);
  for (int64_t k = 0; k < shape.chunksPerThread; ++k) {
    Value c = chunkStart(index(k));
    SmallVector<Value> chunk(xs.slice(k * shape.streams, shape.streams));
    ifInRow(c, chunkGuarded(k), {}, [&] {
      mixAndStore(row, c, chunk, ys[k], scale);
      return SmallVector<Value>();
    });
  }
}

/// The inverse RMS of a row too long to hold: one pass over its `chunks`
/// summing y^2, with y = aggregateAt(first channel of the chunk).
Value FusedLayerEmitter::streamedInvRms(
    Value chunks, function_ref<Value(Value)> aggregateAt) {
  Value zero = zeroVector();
  auto sumLoop = forLoop(
      0, chunks, 1, zero, [&](OpBuilder &, Location, Value k, ValueRange acc) {
        Value c = chunkStart(k);
        SmallVector<Value> sq = ifInRow(c, true, {vecType}, [&] {
          Value y = aggregateAt(c);
          return SmallVector<Value>{mul(y, y)};
        });
        scf::YieldOp::create(b, add(acc[0], sq[0]));
      });
  return invRms(rowSum(vector::ReductionOp::create(
      b, vector::CombiningKind::ADD, sumLoop.getResult(0))));
}

/// Dynamic or large C: one pass for the sum of squares, a second pass that
/// reads x again for the output.
void FusedLayerEmitter::emitRowStreaming(Value row) {
  Value perPass = index(shape.threads * shape.vector);
  Value chunks = arith::CeilDivUIOp::create(b, channels, perPass);
  Value scale = streamedInvRms(
      chunks, [&](Value c) { return aggregate(loadStreams(row, c)); });
  forLoop(0, chunks, 1, ValueRange{},
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
void FusedLayerEmitter::emitRowRolled(Value row) {
  Value perPass = index(shape.threads * shape.vector);
  Value chunks = arith::CeilDivUIOp::create(b, channels, perPass);
  Value streams = index(shape.streams);
  auto loadStream = [&](Value i, Value c) -> Value {
    return loadAligned(vecType, arg(fl::X), {row, i, c});
  };
  auto aggregateRolled = [&](Value c) -> Value {
    Value zero = zeroVector();
    auto loop = forLoop(0, streams, 1, zero,
                        [&](OpBuilder &, Location, Value i, ValueRange acc) {
                          Value s = memref::LoadOp::create(b, preMem, i);
                          Value xi = loadStream(i, c);
                          scf::YieldOp::create(b, mulAdd(splat(s), xi, acc[0]));
                        });
    return loop.getResult(0);
  };
  Value scale = streamedInvRms(chunks, aggregateRolled);
  forLoop(0, chunks, 1, ValueRange{},
          [&](OpBuilder &, Location, Value k, ValueRange) {
            Value c = chunkStart(k);
            ifInRow(c, true, {}, [&] {
              Value y = aggregateRolled(c);
              Value w = loadWeight(c);
              Value f = mul(mul(y, splat(scale)), w);
              forLoop(
                  0, streams, 1, ValueRange{},
                  [&](OpBuilder &, Location, Value i, ValueRange) {
                    Value zero = zeroVector();
                    auto mixLoop = forLoop(
                        0, streams, 1, zero,
                        [&](OpBuilder &, Location, Value j, ValueRange acc) {
                          Value direct = matrixIndex(i, j);
                          Value at = arith::SelectOp::create(
                              b, transposed, matrixIndex(j, i), direct);
                          Value m = memref::LoadOp::create(b, matrixMem, at);
                          Value xj = loadStream(j, c);
                          scf::YieldOp::create(b, mulAdd(splat(m), xj, acc[0]));
                        });
                    Value post = memref::LoadOp::create(b, postMem, i);
                    Value out = mulAdd(splat(post), f, mixLoop.getResult(0));
                    storeAligned(out, arg(fl::Out), {row, i, c});
                    scf::YieldOp::create(b);
                  });
              return SmallVector<Value>();
            });
            scf::YieldOp::create(b);
          });
}
