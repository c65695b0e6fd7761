//===- KernelBuilder.h - building blocks of the mhc GPU kernels -*- C++ -*-===//
//
// What every kernel of the lowering is made of, independent of the layer it
// computes: constants and f32 arithmetic (multiply-adds are fused), control
// flow for one thread or a guarded tail, global and shared addresses for the
// NVVM ops that take pointers, aligned vector loads and stores, the L2 bulk
// prefetch, and fixed-order reductions over a warp and a block. A kernel's
// emitter derives from KernelBuilder and calls these instead of spelling the
// ops again.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_CONVERSION_MHCTOGPU_KERNELBUILDER_H
#define MHC_LIB_CONVERSION_MHCTOGPU_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::mhc::gpu_lowering {

/// Emits into one gpu.func. `tid`, `lane` and `warp` are set by
/// emitThreadIds(); the helpers that take a thread index use them.
///
/// The order in which a kernel's ops are created is its IR, and it must not
/// depend on the C++ compiler that built mhc: C++ leaves the order in which
/// a call's arguments are evaluated unspecified (GCC and clang differ). So
/// no call gets two arguments that both create ops; such values are made
/// one statement each, in the order the kernel wants.
class KernelBuilder {
public:
  KernelBuilder(ImplicitLocOpBuilder &b, gpu::GPUFuncOp func)
      : b(b), func(func), f32(b.getF32Type()) {}

  /// Argument `position` of the kernel.
  Value arg(unsigned position) { return func.getArgument(position); }

  // Constants and arithmetic.
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value i32c(int32_t v) {
    return arith::ConstantIntOp::create(b, b.getI32Type(), v);
  }
  Value f32c(float v) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
  }
  Value add(Value l, Value r) { return arith::AddFOp::create(b, l, r); }
  Value mul(Value l, Value r) { return arith::MulFOp::create(b, l, r); }
  /// acc + l * r with one rounding (math.fma): LLVM does not contract a
  /// multiply and an add by itself, and the unfused row took ~1.7x the
  /// instructions (bench/NOTES.md, attempt 9).
  Value mulAdd(Value l, Value r, Value acc);
  Value addi(Value l, Value r) { return arith::AddIOp::create(b, l, r); }
  Value muli(Value l, Value r) { return arith::MulIOp::create(b, l, r); }
  Value ult(Value l, Value r) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, l, r);
  }
  Value eq(Value l, Value r) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, l, r);
  }
  /// The f32 bits of `f` as an i32.
  Value bitsOf(Value f) {
    return arith::BitcastOp::create(b, b.getI32Type(), f);
  }

  using LoopBody = function_ref<void(OpBuilder &, Location, Value, ValueRange)>;
  /// scf.for from `lb` to `ub` by `step` carrying `inits`; the bound
  /// constants are made step, then `ub`, then `lb`.
  scf::ForOp forLoop(int64_t lb, Value ub, int64_t step, ValueRange inits,
                     LoopBody body);
  scf::ForOp forLoop(int64_t lb, int64_t ub, int64_t step, ValueRange inits,
                     LoopBody body);

  // Threads.
  /// Sets tid, lane (tid % 32) and warp (tid / 32).
  void emitThreadIds();
  /// Emits `body` under `condition` (an scf.if without results or else);
  /// the insertion point continues after it.
  void ifThen(Value condition, function_ref<void()> body);
  /// Emits `body` for thread 0 only.
  void onFirstThread(function_ref<void()> body);
  /// `body()` when `cond` holds, zero vectors of `types` otherwise (each of
  /// `types` must be `zeroType`).
  SmallVector<Value> ifElseZeros(Value cond, TypeRange types,
                                 function_ref<SmallVector<Value>()> body,
                                 VectorType zeroType);
  /// Programmatic dependent launch: wait until the grids this one depends
  /// on have completed and their memory is visible, then let the grids that
  /// depend on this one launch. Must come before any global memory access.
  void emitGridDependencyControl();

  // Addresses, for the NVVM ops that take pointers.
  /// The global address (ptr<1>) of element `element` of memref kernel
  /// argument `position`, whose elements are `bytes` apart.
  Value globalAddress(unsigned position, Value element, int64_t bytes);
  /// The shared-memory address (ptr<3>) of byte `offset` of workgroup
  /// buffer `memory`.
  Value sharedPointer(Value memory, Value offset);
  /// One cp.async.bulk.prefetch.L2 of `bytes` bytes at global `address`
  /// (sm_90+; 16-byte aligned, a multiple of 16 bytes).
  void prefetchL2(Value address, int64_t bytes);

  // Vectors.
  /// A `type` load from `memref` at `indices` that states the vector's
  /// alignment (its byte size): kernel pointers arrive `.align 1`, and an
  /// access the backend cannot prove aligned splits into scalars
  /// (docs/DESIGN.md, "Alignment stated on every vector access").
  Value loadAligned(VectorType type, Value memref, ValueRange indices);
  void storeAligned(Value value, Value memref, ValueRange indices);
  Value splat(VectorType type, Value scalar) {
    return vector::BroadcastOp::create(b, type, scalar);
  }
  Value zeros(VectorType type);

  // Reductions, in a fixed order (bit-identical from run to run).
  /// Sum of an f32 over the 32 lanes: butterflies with offsets 16, 8, ..., 1;
  /// every lane gets the total.
  Value warpSum(Value partial);
  /// Sum of an i64 over the 32 lanes (butterflies of the two halves, offsets
  /// 1, 2, ..., 16).
  Value warpSum64(Value v);
  /// Sum of each thread's `partial` over a block of `threads` threads: warp
  /// butterfly, lane 0 stores the warp's sum at partials[base + warp], a
  /// barrier, then every thread adds the warps' sums in warp order.
  /// `partials` holds threads / 32 floats from `base` on.
  Value blockSum(Value partial, Value partials, Value base, int64_t threads);

  // Gates and the Sinkhorn rounds in registers (SinkhornRounds.cpp).
  /// scale * sigmoid(logit) + bias, sigmoid(h) = 1 / (1 + exp(-h)).
  Value gate(Value logit, Value scale, Value bias);
  /// 1 / (sum + a), approximate (1 ulp); 1 for a divisor below the
  /// smallest normal float.
  Value sinkhornReciprocal(Value sum, Value a);
  /// Pairwise sum (neighbours first, an odd element carried up).
  Value pairwiseSum(ArrayRef<Value> values);
  /// Rows 0 .. rows - 1 of the n x n values in `v` by their sums + a.
  void normalizeRowsInLane(SmallVector<Value> &v, int64_t n, int64_t rows,
                           Value a);
  /// Columns of the `rows` rows in `v` by their sums + a: padded with zeros
  /// to `padded` rows, summed pairwise, then across `lanes` lanes.
  void normalizeColumnsInLane(SmallVector<Value> &v, int64_t n, int64_t rows,
                              int64_t padded, int64_t lanes, Value a);
  using Normalize = function_ref<void(SmallVector<Value> &, Value)>;
  scf::ForOp sinkhornSchedule(SmallVector<Value> values, Value addend,
                              Value itersI32, Normalize rows, Normalize columns,
                              function_ref<void(SmallVector<Value> &)> plus);

protected:
  ImplicitLocOpBuilder &b;
  gpu::GPUFuncOp func;
  Type f32;
  Value tid, lane, warp;
};

} // namespace mlir::mhc::gpu_lowering

#endif // MHC_LIB_CONVERSION_MHCTOGPU_KERNELBUILDER_H
