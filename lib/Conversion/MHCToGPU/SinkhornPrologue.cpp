//===- SinkhornPrologue.cpp - the gates and M', once per block ------------===//
//
// The prologue of a fused kernel: s_pre, s_post and the Sinkhorn projection
// M' of H_res, published in shared memory (and then held in registers for
// small n). Both Sinkhorn conventions run one schedule with an addend a
// (0 for exp, sinkhorn_eps for softmax): rows of exp(H - rowmax) normalized,
// + a, columns normalized by their sums + a, then sinkhorn_iters - 1 rounds
// of rows and columns (+ a). Two forms:
// - n <= max-unrolled-streams: warp 0 in registers, one approximate
//   reciprocal per line, either every lane on the whole matrix (replicated,
//   no shuffle) or lane i on row i (columns by butterflies); the same bits;
// - larger n: thread i owns row i, then column i, in shared memory, with
//   two barriers per round and exact division.
// With the coefficient cache, the rounds run only on a miss.
//
//===----------------------------------------------------------------------===//

#include "FusedLayerKernel.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::mhc::gpu_lowering;

/// Small n: warp 0 runs Sinkhorn in registers (no barrier per round), then
/// publishes M', and the gates are computed meanwhile, behind one barrier.
/// With the coefficient cache, warp 0 first looks M' up and runs the rounds
/// only on a miss.
void FusedLayerEmitter::emitPrologueInRegisters() {
  const int64_t n = shape.streams;
  // The gates do not depend on Sinkhorn: with a second warp, its first n
  // threads compute them while warp 0 runs the rounds.
  bool gatesInSecondWarp = shape.threads >= 64;
  if (gatesInSecondWarp) {
    Value i = arith::SubIOp::create(b, tid, index(32));
    Value gateThread = ult(i, index(n));
    Value secondWarp =
        arith::CmpIOp::create(b, arith::CmpIPredicate::uge, tid, index(32));
    Value active = arith::AndIOp::create(b, secondWarp, gateThread);
    ifThen(active, [&] { storeGates(i); });
  }
  ifThen(eq(warp, index(0)), [&] {
    if (shape.coefficientCache) {
      Value one = arith::ConstantIntOp::create(b, b.getI1Type(), 1);
      Value miss = arith::XOrIOp::create(b, lookupCache(), one);
      ifThen(miss, [&] {
        prefetchDuringRounds();
        computeMatrixInRegisters();
        publishToCache();
      });
    } else {
      prefetchDuringRounds();
      computeMatrixInRegisters();
    }
    if (!gatesInSecondWarp)
      ifThen(eq(lane, index(0)), [&] {
        for (int64_t i = 0; i < n; ++i)
          storeGates(index(i));
      });
  });
  gpu::BarrierOp::create(b);
}

/// Row `row` of H_res as exp(h - max of the row), each value passed
/// through `wrap` as it is made.
SmallVector<Value>
FusedLayerEmitter::shiftedExpRow(Value row, function_ref<Value(Value)> wrap) {
  const int64_t n = shape.streams;
  SmallVector<Value> h, exps;
  for (int64_t j = 0; j < n; ++j)
    h.push_back(
        memref::LoadOp::create(b, arg(fl::HRes), ValueRange{row, index(j)}));
  Value rowMax = h[0];
  for (int64_t j = 1; j < n; ++j)
    rowMax = arith::MaximumFOp::create(b, rowMax, h[j]);
  for (int64_t j = 0; j < n; ++j)
    exps.push_back(
        wrap(math::ExpOp::create(b, arith::SubFOp::create(b, h[j], rowMax))));
  return exps;
}

/// Warp 0: the Sinkhorn rounds in registers; M' into the matrix buffer.
void FusedLayerEmitter::computeMatrixInRegisters() {
  if (shape.replicatedSinkhorn)
    return computeMatrixReplicated();
  computeMatrixByRows();
}

/// Lane i holds row i of the matrix (lanes past n zeros): a row is
/// normalized within its lane, a column by a butterfly across the next
/// power of two >= n lanes. Lane i stores row i of M'. (Two or four rows
/// per lane, one or two shuffle levels fewer, were no faster:
/// bench/NOTES.md, attempt 38.)
void FusedLayerEmitter::computeMatrixByRows() {
  const int64_t n = shape.streams;
  const int64_t width = llvm::PowerOf2Ceil(n);
  Value addend = arg(fl::SinkhornAddend);
  Value owner = ult(lane, index(n));
  // Lanes past n read row 0 of H_res and hold zeros.
  Value source = arith::SelectOp::create(b, owner, lane, index(0));
  SmallVector<Value> values = shiftedExpRow(source, [&](Value e) {
    Value zero = f32c(0.0f);
    return arith::SelectOp::create(b, owner, e, zero).getResult();
  });
  auto normalizeLaneRow = [&](SmallVector<Value> &v, Value a) {
    normalizeRowsInLane(v, n, /*rows=*/1, a);
  };
  auto normalizeColumnsAcrossLanes = [&](SmallVector<Value> &v, Value a) {
    normalizeColumnsInLane(v, n, /*rows=*/1, /*padded=*/1, width, a);
  };
  scf::ForOp rounds = sinkhornSchedule(
      values, addend, arg(fl::SinkhornIters), normalizeLaneRow,
      normalizeColumnsAcrossLanes,
      [&](SmallVector<Value> &v) {
        for (int64_t j = 0; j < n; ++j) {
          Value zero = f32c(0.0f);
          v[j] = arith::SelectOp::create(b, owner, add(v[j], addend), zero);
        }
      });
  // Each lane stores its row of M' (M, or M^T when the kernel applies M^T),
  // so readers need no select.
  ifThen(owner, [&] {
    for (int64_t j = 0; j < n; ++j) {
      Value direct = matrixIndex(lane, index(j));
      Value swapped = matrixIndex(index(j), lane);
      Value at = arith::SelectOp::create(b, transposed, swapped, direct);
      memref::StoreOp::create(b, rounds.getResult(j), matrixMem, at);
    }
  });
}

/// sinkhorn-replicated-max-streams: every lane holds the whole n x n
/// matrix and runs every round on it, so no round waits on a shuffle. The
/// sums keep computeMatrixByRows' order (a row pairwise, a column as its
/// butterfly adds: pairwise over the next power of two, zeros past n),
/// and IEEE addition is commutative, so M' has the same bits. Lane 0
/// stores it.
void FusedLayerEmitter::computeMatrixReplicated() {
  const int64_t n = shape.streams;
  const int64_t width = llvm::PowerOf2Ceil(n);
  Value addend = arg(fl::SinkhornAddend);
  // m[i * n + j], row-major.
  SmallVector<Value> m;
  for (int64_t i = 0; i < n; ++i)
    llvm::append_range(m, shiftedExpRow(index(i), [](Value e) { return e; }));
  auto normalizeRows = [&](SmallVector<Value> &v, Value a) {
    normalizeRowsInLane(v, n, n, a);
  };
  auto normalizeColumns = [&](SmallVector<Value> &v, Value a) {
    normalizeColumnsInLane(v, n, n, width, /*lanes=*/1, a);
  };
  scf::ForOp rounds = sinkhornSchedule(
      m, addend, arg(fl::SinkhornIters), normalizeRows, normalizeColumns,
      [&](SmallVector<Value> &v) {
        for (Value &x : v)
          x = add(x, addend);
      });
  // M (or M^T when the kernel applies M^T) into the matrix buffer.
  ifThen(eq(lane, index(0)), [&] {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        Value direct = index(i * n + j);
        Value at =
            arith::SelectOp::create(b, transposed, index(j * n + i), direct);
        memref::StoreOp::create(b, rounds.getResult(i * n + j), matrixMem, at);
      }
  });
}

/// Many streams: the gates by threads 0..n-1, and M in shared memory. With
/// the coefficient cache, warp 0 looks M' up first and tells the block
/// through a flag in shared memory whether to run the rounds.
void FusedLayerEmitter::emitPrologueInSharedMemory() {
  forEachStreamThread([&](Value i) { storeGates(i); });
  if (!shape.coefficientCache) {
    computeMatrixInSharedMemory();
    return;
  }
  Value firstWarp = eq(warp, index(0));
  ifThen(firstWarp, [&] {
    Value hit = lookupCache();
    ifThen(eq(lane, index(0)), [&] {
      Value at = index(0);
      Value zero = f32c(0.0f);
      Value one = f32c(1.0f);
      memref::StoreOp::create(b, arith::SelectOp::create(b, hit, one, zero),
                              flagMem, at);
    });
  });
  gpu::BarrierOp::create(b);
  Value zero = f32c(0.0f);
  Value miss =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                            memref::LoadOp::create(b, flagMem, index(0)), zero);
  ifThen(miss, [&] {
    computeMatrixInSharedMemory();
    ifThen(firstWarp, [&] { publishToCache(); });
  });
}

/// The rounds of emitPrologueInSharedMemory; ends with a barrier.
void FusedLayerEmitter::computeMatrixInSharedMemory() {
  Value hRes = arg(fl::HRes);
  Value addend = arg(fl::SinkhornAddend);
  forEachStreamThread([&](Value i) {
    Value first = memref::LoadOp::create(b, hRes, ValueRange{i, index(0)});
    auto rowMax =
        forLoop(1, shape.streams, 1, first,
                [&](OpBuilder &, Location, Value j, ValueRange acc) {
                  Value v = memref::LoadOp::create(b, hRes, ValueRange{i, j});
                  scf::YieldOp::create(
                      b, Value(arith::MaximumFOp::create(b, acc[0], v)));
                });
    forLoop(0, shape.streams, 1, ValueRange{},
            [&](OpBuilder &, Location, Value j, ValueRange) {
              Value v = memref::LoadOp::create(b, hRes, ValueRange{i, j});
              Value e = math::ExpOp::create(
                  b, arith::SubFOp::create(b, v, rowMax.getResult(0)));
              memref::StoreOp::create(b, e, matrixMem, matrixIndex(i, j));
              scf::YieldOp::create(b);
            });
    normalizeRow(i, f32c(0.0f));
    forLoop(0, shape.streams, 1, ValueRange{},
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
      arith::IndexCastOp::create(b, b.getIndexType(), arg(fl::SinkhornIters));
  forLoop(1, iters, 1, ValueRange{},
          [&](OpBuilder &, Location, Value, ValueRange) {
            forEachStreamThread([&](Value i) { normalizeRow(i, addend); });
            gpu::BarrierOp::create(b);
            forEachStreamThread([&](Value j) { normalizeColumn(j, addend); });
            gpu::BarrierOp::create(b);
            scf::YieldOp::create(b);
          });
}

/// Runs `body` on threads 0..n-1 with the thread's stream index.
void FusedLayerEmitter::forEachStreamThread(function_ref<void(Value)> body) {
  ifThen(ult(tid, index(shape.streams)), [&] { body(tid); });
}

Value FusedLayerEmitter::matrixIndex(Value row, Value col) {
  return addi(muli(row, index(shape.streams)), col);
}

/// sum over k of M[at(k)], in order k = 0..n-1.
Value FusedLayerEmitter::sumMatrix(function_ref<Value(Value)> at) {
  Value zero = f32c(0.0f);
  auto loop = forLoop(0, shape.streams, 1, zero,
                      [&](OpBuilder &, Location, Value k, ValueRange acc) {
                        Value v = memref::LoadOp::create(b, matrixMem, at(k));
                        scf::YieldOp::create(b, add(acc[0], v));
                      });
  return loop.getResult(0);
}

/// M[at(k)] = M[at(k)] / divisor for every k; a zero divisor (only possible
/// with addend 0) leaves the entry, itself zero, as it is.
void FusedLayerEmitter::divideMatrix(function_ref<Value(Value)> at,
                                     Value divisor) {
  Value positive =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, divisor, f32c(0.0f));
  Value safe = arith::SelectOp::create(b, positive, divisor, f32c(1.0f));
  forLoop(0, shape.streams, 1, ValueRange{},
          [&](OpBuilder &, Location, Value k, ValueRange) {
            Value v = memref::LoadOp::create(b, matrixMem, at(k));
            Value to = at(k);
            memref::StoreOp::create(b, arith::DivFOp::create(b, v, safe),
                                    matrixMem, to);
            scf::YieldOp::create(b);
          });
}

void FusedLayerEmitter::normalizeRow(Value i, Value addend) {
  auto at = [&](Value k) { return matrixIndex(i, k); };
  divideMatrix(at, add(sumMatrix(at), addend));
}

void FusedLayerEmitter::normalizeColumn(Value j, Value addend) {
  auto at = [&](Value k) { return matrixIndex(k, j); };
  divideMatrix(at, add(sumMatrix(at), addend));
}

/// s_pre[i] and s_post[i] into shared memory.
void FusedLayerEmitter::storeGates(Value i) {
  Value hPre = memref::LoadOp::create(b, arg(fl::HPre), i);
  Value hPost = memref::LoadOp::create(b, arg(fl::HPost), i);
  memref::StoreOp::create(b, gate(hPre, arg(fl::PreScale), arg(fl::PreBias)),
                          preMem, i);
  memref::StoreOp::create(b, gate(hPost, arg(fl::PostScale), arg(fl::PostBias)),
                          postMem, i);
}

/// Small n: every coefficient in a register for the whole kernel.
void FusedLayerEmitter::loadCoefficients() {
  if (!shape.unrolledStreams)
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
Value FusedLayerEmitter::loadMixing(int64_t i, int64_t j) {
  if (shape.unrolledStreams)
    return memref::LoadOp::create(b, matrixMem, index(i * shape.streams + j));
  Value direct = index(i * shape.streams + j);
  Value at = arith::SelectOp::create(b, transposed,
                                     index(j * shape.streams + i), direct);
  return memref::LoadOp::create(b, matrixMem, at);
}

Value FusedLayerEmitter::preCoeff(int64_t i) {
  return shape.unrolledStreams
             ? pre[i]
             : memref::LoadOp::create(b, preMem, index(i)).getResult();
}
Value FusedLayerEmitter::postCoeff(int64_t i) {
  return shape.unrolledStreams
             ? post[i]
             : memref::LoadOp::create(b, postMem, index(i)).getResult();
}
Value FusedLayerEmitter::mixCoeff(int64_t i, int64_t j) {
  return shape.unrolledStreams ? mixing[i * shape.streams + j]
                               : loadMixing(i, j);
}
