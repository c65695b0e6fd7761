//===- PreProjection.cpp - the dynamic-H projection on tensor cores -------===//
//
// Kernel 1 of the pre unit (Contract/DynamicPre.h): the tokens' flattened
// streams xf [B, K = n C] times phi [K, m], split over K, on tensor cores,
// with each token's sum of squares taken in the same pass.
//
// A block of 4 warps takes kTileTokens = 64 tokens (16 rows per warp, the
// mma's M) and one K slice; all m columns (in 8-wide mma tiles, padded with
// zeros past m). Per step a thread loads 16 bytes of each of its two rows
// (rows gid and gid + 8 of its warp's 16, gid = lane / 4) at column
// step * K_STEP + tig * E (tig = lane % 4, E elements), which feed two mmas:
//
//   bf16 (m16n8k16): fragment columns 2 tig + {0, 1} and 2 tig + 8 + {0, 1}
//     of mma s hold the thread's elements 4 s + {0, 1} and 4 s + {2, 3};
//   tf32 (m16n8k8): fragment columns tig and tig + 4 of mma s hold its
//     elements 2 s and 2 s + 1.
//
// The B fragments take phi's rows at the same physical k (a permutation of
// K within the step, the same for A and B, so the products are those of
// the plain GEMM). The portable kernels (`vector-width=1`) load the same
// elements one at a time with guards, so any C works: elements past the
// row (the last step's tail, ceil(n C / step) steps) and phi's rows past
// n C read as zeros. Accumulation is f32 in a fixed order (the mma's, then
// the steps in order); the partials of each slice go to their own place in
// the workspace, so nothing is atomic and reruns give the same bits.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "KernelContract.h"
#include "PreKernels.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::gpu_lowering;
namespace contract = ::mhc::contract;
namespace proj = ::mhc::contract::dynamic_pre::projection;

namespace {
class ProjectionEmitter : public KernelBuilder {
public:
  ProjectionEmitter(ImplicitLocOpBuilder &b, const PreShape &shape,
                    gpu::GPUFuncOp func)
      : KernelBuilder(b, func), shape(shape), n(shape.streams),
        m(dpre::projectionWidth(shape.streams)), tiles((m + 7) / 8),
        bf16Mma(shape.bf16Multiply()), elements(bf16Mma ? 8 : 4),
        step(dpre::kStep(bf16Mma)) {}

  void emit();

private:
  /// One A or B register: two bf16 packed into an i32, or one tf32.
  Value packBF16(Value lo, Value hi);
  Value toTF32(Value f);
  /// The A registers of mma `s` from the rows' loaded elements.
  SmallVector<Value> aRegisters(Value row0, Value row1, int64_t s);
  /// The B registers of mma `s` for column tile `t` at step base `k`.
  SmallVector<Value> bRegisters(Value k, int64_t s, int64_t t);
  /// acc (4 f32) += A B.
  SmallVector<Value> mma(ArrayRef<Value> a, ArrayRef<Value> bRegs,
                         ArrayRef<Value> acc);
  void storePartial(Value split, Value row, Value col, Value value);
  /// memref[row, col] if `valid` and col < `cols`, else 0 (the load reads
  /// a clamped column).
  Value guardedLoad(Value memref, Value row, Value col, Value cols,
                    Value valid);
  /// phi[r, col], 0 for r past n C (the last step's tail).
  Value guardedRowLoad(Value r, Value col);

  const PreShape &shape;
  const int64_t n, m, tiles;
  const bool bf16Mma;
  const int64_t elements, step;
  Value gid, tig, phi, width;
};
} // namespace

Value ProjectionEmitter::packBF16(Value lo, Value hi) {
  auto pair = vector::FromElementsOp::create(
      b, VectorType::get({2}, b.getBF16Type()), ValueRange{lo, hi});
  auto word = vector::BitCastOp::create(
      b, VectorType::get({1}, b.getI32Type()), pair);
  return vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0});
}

Value ProjectionEmitter::toTF32(Value f) {
  return NVVM::ConvertFloatToTF32Op::create(b, b.getI32Type(), f,
                                            NVVM::FPRoundingMode::RNA,
                                            NVVM::SaturationMode::NONE,
                                            /*relu=*/false);
}

SmallVector<Value> ProjectionEmitter::aRegisters(Value row0, Value row1,
                                                 int64_t s) {
  auto at = [&](Value v, int64_t e) {
    return vector::ExtractOp::create(b, v, ArrayRef<int64_t>{e}).getResult();
  };
  if (bf16Mma) {
    // a0: row gid, a1: row gid + 8 (elements 4 s + {0, 1}); a2, a3: the
    // same rows, elements 4 s + {2, 3}.
    SmallVector<Value> regs;
    for (int64_t half : {0, 2})
      for (Value row : {row0, row1}) {
        Value lo = at(row, 4 * s + half);
        Value hi = at(row, 4 * s + half + 1);
        regs.push_back(packBF16(lo, hi));
      }
    return regs;
  }
  // a0: (gid, 2 s), a1: (gid + 8, 2 s), a2: (gid, 2 s + 1), a3: (gid + 8,
  // 2 s + 1).
  SmallVector<Value> regs;
  for (int64_t e : {0, 1})
    for (Value row : {row0, row1})
      regs.push_back(toTF32(at(row, 2 * s + e)));
  return regs;
}

SmallVector<Value> ProjectionEmitter::bRegisters(Value k, int64_t s,
                                                 int64_t t) {
  // Column 8 t + gid of phi; past m, zeros (the loads read column m - 1).
  Value col = addi(index(8 * t), gid);
  bool partial = 8 * (t + 1) > m;
  Value inRange, readCol = col;
  if (partial) {
    inRange = ult(col, index(m));
    readCol = arith::MinUIOp::create(b, col, index(m - 1));
  }
  auto load = [&](int64_t e) -> Value {
    Value r = addi(k, index(e));
    if (shape.portable)
      return guardedRowLoad(r, readCol);
    return memref::LoadOp::create(b, phi, ValueRange{r, readCol});
  };
  SmallVector<Value> regs;
  if (bf16Mma) {
    // b0: elements 4 s + {0, 1}, b1: 4 s + {2, 3} of the thread's k run.
    for (int64_t half : {0, 2}) {
      Value lo = load(4 * s + half);
      Value hi = load(4 * s + half + 1);
      regs.push_back(packBF16(lo, hi));
    }
  } else {
    for (int64_t e : {0, 1}) {
      Value v = load(2 * s + e);
      if (!v.getType().isF32())
        v = arith::ExtFOp::create(b, f32, v);
      regs.push_back(toTF32(v));
    }
  }
  if (partial)
    for (Value &r : regs)
      r = arith::SelectOp::create(b, inRange, r, i32c(0));
  return regs;
}

SmallVector<Value> ProjectionEmitter::mma(ArrayRef<Value> a,
                                          ArrayRef<Value> bRegs,
                                          ArrayRef<Value> acc) {
  MLIRContext *ctx = b.getContext();
  auto result = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
  NVVM::MMATypes type = bf16Mma ? NVVM::MMATypes::bf16 : NVVM::MMATypes::tf32;
  auto op = NVVM::MmaOp::create(
      b, result, a, bRegs, acc, {16, 8, bf16Mma ? 16 : 8},
      /*b1Op=*/std::nullopt, /*intOverflow=*/std::nullopt,
      std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, op, ArrayRef<int64_t>{i}));
  return out;
}

Value ProjectionEmitter::guardedLoad(Value memref, Value row, Value col,
                                     Value cols, Value valid) {
  Value inside = arith::AndIOp::create(b, valid, ult(col, cols));
  Value last = arith::SubIOp::create(b, cols, index(1));
  Value read = arith::MinUIOp::create(b, col, last);
  Value v = memref::LoadOp::create(b, memref, ValueRange{row, read});
  Type type = v.getType();
  Value zero =
      arith::ConstantOp::create(b, type, cast<TypedAttr>(b.getZeroAttr(type)));
  return arith::SelectOp::create(b, inside, v, zero);
}

Value ProjectionEmitter::guardedRowLoad(Value r, Value col) {
  Value inside = ult(r, width);
  Value last = arith::SubIOp::create(b, width, index(1));
  Value read = arith::MinUIOp::create(b, r, last);
  Value v = memref::LoadOp::create(b, phi, ValueRange{read, col});
  Type type = v.getType();
  Value zero =
      arith::ConstantOp::create(b, type, cast<TypedAttr>(b.getZeroAttr(type)));
  return arith::SelectOp::create(b, inside, v, zero);
}

void ProjectionEmitter::storePartial(Value split, Value row, Value col,
                                     Value value) {
  memref::StoreOp::create(b, value, arg(proj::Partials),
                          ValueRange{split, row, col});
}

void ProjectionEmitter::emit() {
  b.setInsertionPointToStart(&func.getBody().front());
  Value batch = memref::DimOp::create(b, arg(proj::X), 0);
  // No tokens: nothing to read or write (a launch of an empty batch).
  auto nonEmpty = scf::IfOp::create(
      b, arith::CmpIOp::create(b, arith::CmpIPredicate::ne, batch, index(0)),
      /*withElseRegion=*/false);
  b.setInsertionPointToStart(nonEmpty.thenBlock());
  emitThreadIds();
  Type xType = shape.activation;
  auto xVec = VectorType::get({elements}, xType);
  auto fVec = VectorType::get({elements}, f32);
  Value x = arg(proj::X);
  phi = arg(proj::Phi);
  // xf [B, n C]: the streams of a token, flattened.
  Value xf = memref::CollapseShapeOp::create(
      b, x, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  Value channels = memref::DimOp::create(b, x, 2);
  Value splits = memref::DimOp::create(b, arg(proj::Partials), 0);
  width = muli(channels, index(n));
  gid = arith::DivUIOp::create(b, lane, index(4));
  tig = arith::RemUIOp::create(b, lane, index(4));

  // This block's tile of tokens and K slice (block = slice * tiles + tile).
  Value tileCount =
      arith::CeilDivUIOp::create(b, batch, index(dpre::kTileTokens));
  Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value tile = arith::RemUIOp::create(b, block, tileCount);
  Value split = arith::DivUIOp::create(b, block, tileCount);
  Value steps = arith::CeilDivUIOp::create(b, width, index(step));
  Value perSplit = arith::CeilDivUIOp::create(b, steps, splits);
  Value first = muli(split, perSplit);
  Value last = arith::MinUIOp::create(b, steps, addi(first, perSplit));

  // The thread's two rows; rows past B read row B - 1 and use zeros.
  Value row0 = addi(addi(muli(tile, index(dpre::kTileTokens)),
                         muli(warp, index(16))),
                    gid);
  Value row1 = addi(row0, index(8));
  Value valid0 = ult(row0, batch);
  Value valid1 = ult(row1, batch);
  Value lastRow = arith::SubIOp::create(b, batch, index(1));
  Value read0 = arith::MinUIOp::create(b, row0, lastRow);
  Value read1 = arith::MinUIOp::create(b, row1, lastRow);
  Value zeroX =
      arith::ConstantOp::create(b, xVec, cast<TypedAttr>(b.getZeroAttr(xVec)));
  Value run = muli(tig, index(elements));

  SmallVector<Value> inits;
  Value zero = f32c(0.0f);
  for (int64_t i = 0; i < 4 * tiles; ++i)
    inits.push_back(zero);
  Value zeroF = zeros(fVec);
  inits.push_back(zeroF);
  inits.push_back(zeroF);
  auto loop = scf::ForOp::create(
      b, first, last, index(1), inits,
      [&](OpBuilder &, Location, Value s, ValueRange carried) {
        Value k = addi(muli(s, index(step)), run);
        auto loadRow = [&](Value row, Value valid) -> Value {
          if (!shape.portable) {
            Value v = loadAligned(xVec, xf, ValueRange{row, k});
            return arith::SelectOp::create(b, valid, v, zeroX);
          }
          // Element-wise: elements past the row (its last step) are zeros.
          SmallVector<Value> elems;
          for (int64_t e = 0; e < elements; ++e)
            elems.push_back(guardedLoad(xf, row, addi(k, index(e)), width,
                                        valid));
          return vector::FromElementsOp::create(b, xVec, elems);
        };
        Value a0 = loadRow(read0, valid0);
        Value a1 = loadRow(read1, valid1);
        auto widen = [&](Value v) -> Value {
          return xType.isF32() ? v : arith::ExtFOp::create(b, fVec, v);
        };
        Value w0 = widen(a0), w1 = widen(a1);
        Value sq0 = mulAdd(w0, w0, carried[4 * tiles]);
        Value sq1 = mulAdd(w1, w1, carried[4 * tiles + 1]);
        // tf32 takes the widened rows; bf16 the loaded ones.
        Value r0 = bf16Mma ? a0 : w0, r1 = bf16Mma ? a1 : w1;
        SmallVector<Value> acc(carried.begin(), carried.begin() + 4 * tiles);
        for (int64_t sub = 0; sub < 2; ++sub) {
          SmallVector<Value> aRegs = aRegisters(r0, r1, sub);
          for (int64_t t = 0; t < tiles; ++t) {
            SmallVector<Value> bRegs = bRegisters(k, sub, t);
            SmallVector<Value> d =
                mma(aRegs, bRegs, ArrayRef<Value>(acc).slice(4 * t, 4));
            std::copy(d.begin(), d.end(), acc.begin() + 4 * t);
          }
        }
        acc.push_back(sq0);
        acc.push_back(sq1);
        scf::YieldOp::create(b, acc);
      });

  // The rows' sums of squares: the thread's elements in order, then the
  // group's four threads (tig) by butterflies; every thread has them.
  auto rowSum = [&](Value v) {
    Value sum =
        vector::ReductionOp::create(b, vector::CombiningKind::ADD, v);
    for (int32_t offset : {1, 2})
      sum = add(sum, gpu::ShuffleOp::create(b, sum, offset, 32,
                                            gpu::ShuffleMode::XOR)
                         .getShuffleResult());
    return sum;
  };
  Value squares0 = rowSum(loop.getResult(4 * tiles));
  Value squares1 = rowSum(loop.getResult(4 * tiles + 1));

  // D fragments: c0, c1 at (gid, 2 tig + {0, 1}), c2, c3 at (gid + 8, ...).
  for (int64_t t = 0; t < tiles; ++t) {
    Value col0 = addi(index(8 * t), muli(tig, index(2)));
    Value col1 = addi(col0, index(1));
    auto store = [&](Value valid, Value row, Value col, int64_t c) {
      Value inside = arith::AndIOp::create(b, valid, ult(col, index(m)));
      ifThen(inside, [&] {
        storePartial(split, row, col, loop.getResult(4 * t + c));
      });
    };
    store(valid0, row0, col0, 0);
    store(valid0, row0, col1, 1);
    store(valid1, row1, col0, 2);
    store(valid1, row1, col1, 3);
  }
  ifThen(eq(tig, index(0)), [&] {
    ifThen(valid0, [&] { storePartial(split, row0, index(m), squares0); });
    ifThen(valid1, [&] { storePartial(split, row1, index(m), squares1); });
  });
  b.setInsertionPointAfter(nonEmpty);
  gpu::ReturnOp::create(b);
}

gpu::GPUFuncOp mlir::mhc::gpu_lowering::getOrCreateProjectionKernel(
    ModuleOp module, const PreShape &shape, Location loc) {
  dpre::ProjectionVariant variant = shape.projectionVariant();
  return getOrCreateContractKernel(
      module, loc, dpre::kernelName(variant), proj::kArgs, shape.streams,
      ShapedType::kDynamic, shape.elements(), /*workgroupFloats=*/{},
      variant.threads, [&](ImplicitLocOpBuilder &b, gpu::GPUFuncOp func) {
        ProjectionEmitter(b, shape, func).emit();
      });
}
