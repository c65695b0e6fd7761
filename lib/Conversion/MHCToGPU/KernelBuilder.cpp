//===- KernelBuilder.cpp - building blocks of the mhc GPU kernels ---------===//
//
// The layer-independent helpers of KernelBuilder.h: thread indices and
// guarded control flow, addresses for NVVM's pointer operands, aligned
// vector accesses, the L2 bulk prefetch, and the fixed-order warp and block
// reductions every row reduction and the coefficient cache's seal use.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::mhc::gpu_lowering;

Value KernelBuilder::mulAdd(Value l, Value r, Value acc) {
  return math::FmaOp::create(b, l, r, acc);
}

scf::ForOp KernelBuilder::forLoop(int64_t lb, Value ub, int64_t step,
                                  ValueRange inits, LoopBody body) {
  Value stepValue = index(step);
  Value lbValue = index(lb);
  return scf::ForOp::create(b, lbValue, ub, stepValue, inits, body);
}

scf::ForOp KernelBuilder::forLoop(int64_t lb, int64_t ub, int64_t step,
                                  ValueRange inits, LoopBody body) {
  Value stepValue = index(step);
  Value ubValue = index(ub);
  Value lbValue = index(lb);
  return scf::ForOp::create(b, lbValue, ubValue, stepValue, inits, body);
}

void KernelBuilder::emitThreadIds() {
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  lane = arith::RemUIOp::create(b, tid, index(32));
  warp = arith::DivUIOp::create(b, tid, index(32));
}

void KernelBuilder::ifThen(Value condition, function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, condition, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  body();
}

void KernelBuilder::onFirstThread(function_ref<void()> body) {
  ifThen(eq(tid, index(0)), body);
}

SmallVector<Value>
KernelBuilder::ifElseZeros(Value cond, TypeRange types,
                           function_ref<SmallVector<Value>()> body,
                           VectorType zeroType) {
  auto ifOp = scf::IfOp::create(b, types, cond, /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  SmallVector<Value> values = body();
  if (!types.empty()) {
    scf::YieldOp::create(b, values);
    b.setInsertionPointToStart(ifOp.elseBlock());
    SmallVector<Value> zeroValues(types.size(), zeros(zeroType));
    scf::YieldOp::create(b, zeroValues);
  }
  return SmallVector<Value>(ifOp.getResults());
}

void KernelBuilder::emitGridDependencyControl() {
  // The grids that depend on this one become resident as SMs free up and
  // wait in their own griddepcontrol.wait until this grid completes, so
  // their launch overlaps this grid's run.
  NVVM::GriddepcontrolOp::create(b, NVVM::GridDepActionKind::wait);
  NVVM::GriddepcontrolOp::create(b, NVVM::GridDepActionKind::launch_dependents);
}

Value KernelBuilder::globalAddress(unsigned position, Value element,
                                   int64_t bytes) {
  Type i64 = b.getI64Type();
  Value base = arith::IndexCastUIOp::create(
      b, i64, memref::ExtractAlignedPointerAsIndexOp::create(b, arg(position)));
  Value stride = arith::ConstantIntOp::create(b, i64, bytes);
  Value offset = arith::MulIOp::create(
      b, arith::IndexCastUIOp::create(b, i64, element), stride);
  return LLVM::IntToPtrOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext(), /*addressSpace=*/1),
      arith::AddIOp::create(b, base, offset).getResult(),
      /*dereferenceable=*/nullptr);
}

Value KernelBuilder::sharedPointer(Value memory, Value offset) {
  Value address =
      addi(memref::ExtractAlignedPointerAsIndexOp::create(b, memory), offset);
  return LLVM::IntToPtrOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext(), /*addressSpace=*/3),
      arith::IndexCastUIOp::create(b, b.getI32Type(), address).getResult(),
      /*dereferenceable=*/nullptr);
}

void KernelBuilder::prefetchL2(Value address, int64_t bytes) {
  NVVM::CpAsyncBulkPrefetchOp::create(b, address,
                                      i32c(static_cast<int32_t>(bytes)),
                                      /*l2CacheHint=*/Value());
}

/// The alignment a vector access states: its size in bytes.
static llvm::MaybeAlign vectorAlignment(VectorType type) {
  return llvm::MaybeAlign(type.getNumElements() *
                          type.getElementType().getIntOrFloatBitWidth() / 8);
}

Value KernelBuilder::loadAligned(VectorType type, Value memref,
                                 ValueRange indices) {
  return vector::LoadOp::create(b, type, memref, indices,
                                /*nontemporal=*/false, vectorAlignment(type));
}

void KernelBuilder::storeAligned(Value value, Value memref,
                                 ValueRange indices) {
  vector::StoreOp::create(b, value, memref, indices, /*nontemporal=*/false,
                          vectorAlignment(cast<VectorType>(value.getType())));
}

Value KernelBuilder::zeros(VectorType type) {
  return arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getF32FloatAttr(0.0f)));
}

Value KernelBuilder::warpSum(Value partial) {
  for (int32_t offset = 16; offset >= 1; offset /= 2) {
    auto shuffle =
        gpu::ShuffleOp::create(b, partial, offset, 32, gpu::ShuffleMode::XOR);
    partial = add(partial, shuffle.getShuffleResult());
  }
  return partial;
}

Value KernelBuilder::warpSum64(Value v) {
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  for (int64_t offset = 1; offset < 32; offset *= 2) {
    Value lo = arith::TruncIOp::create(b, i32, v);
    Value hi = arith::TruncIOp::create(
        b, i32,
        arith::ShRUIOp::create(b, v, arith::ConstantIntOp::create(b, i64, 32)));
    auto shuffle = [&](Value half) -> Value {
      return arith::ExtUIOp::create(
          b, i64,
          gpu::ShuffleOp::create(b, half, offset, 32, gpu::ShuffleMode::XOR)
              .getShuffleResult());
    };
    Value low = shuffle(lo);
    Value shift = arith::ConstantIntOp::create(b, i64, 32);
    Value high = arith::ShLIOp::create(b, shuffle(hi), shift);
    Value other = arith::OrIOp::create(b, high, low);
    v = arith::AddIOp::create(b, v, other);
  }
  return v;
}

Value KernelBuilder::blockSum(Value partial, Value partials, Value base,
                              int64_t threads) {
  int64_t warps = threads / 32;
  partial = warpSum(partial);
  ifThen(eq(lane, index(0)), [&] {
    memref::StoreOp::create(b, partial, partials, addi(base, warp));
  });
  gpu::BarrierOp::create(b);
  Value total = memref::LoadOp::create(b, partials, base);
  for (int64_t w = 1; w < warps; ++w)
    total =
        add(total, memref::LoadOp::create(b, partials, addi(base, index(w))));
  return total;
}
