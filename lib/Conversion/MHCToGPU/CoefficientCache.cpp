//===- CoefficientCache.cpp - M' memoized in the `cache` argument ---------===//
//
// The coefficient cache lets a block skip the Sinkhorn rounds when H_res
// and the conventions are those of an earlier run. Its layout (a 64-bit
// seal, the key, M') is the contract's (include/mhc/Contract/FusedLayer.h).
// Warp 0 reads and writes it with
// relaxed GPU-scope atomics only: a reader checks the contents (every key
// word, and the seal of the key and the M' it loaded), so a stale, torn or
// partly overwritten entry fails the check up to a 64-bit collision, and no
// acquire/release ordering is needed (bench/NOTES.md, attempts 16-18).
//
//===----------------------------------------------------------------------===//

#include "FusedLayerKernel.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::mhc::gpu_lowering;

/// Whether this launch has a cache: a `cache` memref of fewer words (the
/// host IR passes an empty one) turns it off at run time.
Value FusedLayerEmitter::cacheEnabled() {
  Value words = memref::DimOp::create(b, arg(fl::Cache), 0);
  return arith::CmpIOp::create(b, arith::CmpIPredicate::uge, words,
                               index(shape.cacheWords()));
}

Value FusedLayerEmitter::loadCache(Type type, Value word) {
  return LLVM::LoadOp::create(
      b, type, globalAddress(fl::Cache, word, 4),
      type.getIntOrFloatBitWidth() / 8,
      /*isVolatile=*/false, /*isNonTemporal=*/false, /*isInvariant=*/false,
      /*isInvariantGroup=*/false, LLVM::AtomicOrdering::monotonic, "device");
}

void FusedLayerEmitter::storeCache(Value word, Value value) {
  LLVM::StoreOp::create(b, value, globalAddress(fl::Cache, word, 4),
                        value.getType().getIntOrFloatBitWidth() / 8,
                        /*isVolatile=*/false,
                        /*isNonTemporal=*/false, /*isInvariantGroup=*/false,
                        LLVM::AtomicOrdering::monotonic, "device");
}

/// Word `w` (< cacheKeyWords) of this launch's cache key.
Value FusedLayerEmitter::cacheKeyWord(Value w) {
  const int64_t header = fl::kCacheKeyHeaderWords;
  Value inMatrix =
      arith::CmpIOp::create(b, arith::CmpIPredicate::uge, w, index(header));
  Value zero = index(0);
  Value entry = arith::SelectOp::create(
      b, inMatrix, arith::SubIOp::create(b, w, index(header)), zero);
  Value n = index(shape.streams);
  Value h =
      memref::LoadOp::create(b, arg(fl::HRes),
                             ValueRange{arith::DivUIOp::create(b, entry, n),
                                        arith::RemUIOp::create(b, entry, n)});
  Value word = bitsOf(h);
  Value headerWords[] = {i32c(fl::cacheIdentity(shape.kernelName())),
                         bitsOf(arg(fl::SinkhornAddend)),
                         arg(fl::SinkhornIters), arg(fl::Transposed)};
  for (int64_t k = header - 1; k >= 0; --k)
    word = arith::SelectOp::create(b, eq(w, index(k)), headerWords[k], word);
  return word;
}

/// A 64-bit mix of key word `value` at position `w`; the seal is their
/// sum (mod 2^64) over the key, so lanes can add theirs in any order.
Value FusedLayerEmitter::sealTerm(Value value, Value w) {
  Type i64 = b.getI64Type();
  auto c64 = [&](uint64_t v) -> Value {
    return arith::ConstantIntOp::create(b, i64, static_cast<int64_t>(v));
  };
  Value position = arith::IndexCastUIOp::create(b, i64, w);
  Value shift = c64(32);
  Value x = arith::OrIOp::create(
      b, arith::ShLIOp::create(b, arith::ExtUIOp::create(b, i64, value), shift),
      position);
  x = arith::MulIOp::create(b, x, c64(0x9E3779B97F4A7C15ull));
  x = arith::XOrIOp::create(b, x, arith::ShRUIOp::create(b, x, c64(29)));
  x = arith::MulIOp::create(b, x, c64(0xBF58476D1CE4E5B9ull));
  return arith::XOrIOp::create(b, x, arith::ShRUIOp::create(b, x, c64(32)));
}

SmallVector<FusedLayerEmitter::LaneWord>
FusedLayerEmitter::laneWords(int64_t count) {
  SmallVector<LaneWord> words;
  for (int64_t k = 0; k * 32 < count; ++k) {
    Value w = k == 0 ? lane : addi(lane, index(32 * k));
    Value valid = ult(w, index(count));
    words.push_back({arith::SelectOp::create(b, valid, w, index(0)), valid});
  }
  return words;
}

FusedLayerEmitter::EntryWords FusedLayerEmitter::entryWords() {
  SmallVector<LaneWord> key = laneWords(shape.cacheKeyWords());
  return {key, laneWords(shape.streams * shape.streams)};
}

/// Warp 0: whether the cache holds M' for this launch's key (uniform over
/// the warp); on a hit M' is copied into the matrix buffer. Every lane
/// loads its key words, its M' words and the seal at once (relaxed, one
/// round trip to L2). A hit needs every key word to match and the seal to
/// equal the seal of (this key, the loaded M').
Value FusedLayerEmitter::lookupCache() {
  Type i1 = b.getI1Type(), i32 = b.getI32Type(), i64 = b.getI64Type();
  Value falseValue = arith::ConstantIntOp::create(b, i1, 0);
  auto ifOp = scf::IfOp::create(b, i1, cacheEnabled(),
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  EntryWords entry = entryWords();
  ArrayRef<LaneWord> keyWords = entry.key, matrixWords = entry.matrix;
  SmallVector<Value> cachedKey, cachedMatrix;
  for (LaneWord word : keyWords)
    cachedKey.push_back(
        loadCache(i32, addi(word.w, index(fl::cacheKeyOffset()))));
  for (LaneWord word : matrixWords)
    cachedMatrix.push_back(loadCache(
        i32, addi(word.w, index(fl::cacheMatrixOffset(shape.streams)))));
  Value cachedSeal = loadCache(i64, index(0));
  Value differs = falseValue;
  SmallVector<Value> expectedKey;
  for (auto [word, cached] : llvm::zip(keyWords, cachedKey)) {
    Value expected = cacheKeyWord(word.w);
    expectedKey.push_back(expected);
    differs = arith::OrIOp::create(
        b, differs,
        arith::AndIOp::create(b, word.valid,
                              arith::CmpIOp::create(b, arith::CmpIPredicate::ne,
                                                    cached, expected)));
  }
  Value seal = entrySeal(keyWords, expectedKey, matrixWords, cachedMatrix);
  differs = arith::OrIOp::create(
      b, differs,
      arith::CmpIOp::create(b, arith::CmpIPredicate::ne, cachedSeal, seal));
  Value fullMask = i32c(-1);
  Value one = arith::ConstantIntOp::create(b, i1, 1);
  Value hit =
      arith::XOrIOp::create(b,
                            NVVM::VoteSyncOp::create(b, i1, fullMask, differs,
                                                     NVVM::VoteSyncKind::any),
                            one);
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
Value FusedLayerEmitter::entrySeal(ArrayRef<LaneWord> keyWords,
                                   ArrayRef<Value> keyValues,
                                   ArrayRef<LaneWord> matrixWords,
                                   ArrayRef<Value> matrixBits) {
  Type i64 = b.getI64Type();
  Value zero = arith::ConstantIntOp::create(b, i64, 0);
  Value partial = zero;
  auto addTerm = [&](LaneWord word, Value value, int64_t position) {
    Value at = position ? addi(word.w, index(position)) : word.w;
    partial = arith::AddIOp::create(
        b, partial,
        arith::SelectOp::create(b, word.valid, sealTerm(value, at), zero));
  };
  for (auto [word, value] : llvm::zip(keyWords, keyValues))
    addTerm(word, value, 0);
  for (auto [word, value] : llvm::zip(matrixWords, matrixBits))
    addTerm(word, value, shape.cacheKeyWords());
  return warpSum64(partial);
}

/// Warp 0 of block 0, after a miss (M' in the matrix buffer): M', the key
/// and the seal of both into the cache (relaxed stores; readers check the
/// contents, so the order does not matter).
void FusedLayerEmitter::publishToCache() {
  // Only the launch's first block publishes (the one the GPU starts
  // first): its M' is the one every block computes, and a launch whose
  // H_res changed then pays the stores once, not per block.
  Value zero = index(0);
  Value firstBlock = eq(gpu::BlockIdOp::create(b, gpu::Dimension::x), zero);
  ifThen(arith::AndIOp::create(b, cacheEnabled(), firstBlock), [&] {
    // The lanes' matrix stores are visible to the whole warp.
    NVVM::SyncWarpOp::create(b, i32c(-1));
    auto [keyWords, matrixWords] = entryWords();
    SmallVector<Value> keyValues, matrixBits;
    for (LaneWord word : keyWords)
      keyValues.push_back(cacheKeyWord(word.w));
    for (LaneWord word : matrixWords)
      matrixBits.push_back(
          bitsOf(memref::LoadOp::create(b, matrixMem, word.w)));
    Value entry = entrySeal(keyWords, keyValues, matrixWords, matrixBits);
    auto storeWords = [&](ArrayRef<LaneWord> words, ArrayRef<Value> values,
                          int64_t first) {
      for (auto [word, value] : llvm::zip(words, values))
        ifThen(word.valid, [&, word = word, value = value] {
          storeCache(addi(word.w, index(first)), value);
        });
    };
    storeWords(matrixWords, matrixBits, fl::cacheMatrixOffset(shape.streams));
    storeWords(keyWords, keyValues, fl::cacheKeyOffset());
    ifThen(eq(lane, index(0)), [&] { storeCache(index(0), entry); });
  });
}
