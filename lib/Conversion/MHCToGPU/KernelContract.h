//===- KernelContract.h - kernels built from their contracts ----*- C++ -*-===//
//
// What every kernel family's emitter and launch take from its contract
// (include/mhc/Contract): the gpu.func's parameter types from the ordered
// argument list, the kernel module, the i32 globals through which a kernel
// states its launch needs, and the host-side operands of a launch.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_CONVERSION_MHCTOGPU_KERNELCONTRACT_H
#define MHC_LIB_CONVERSION_MHCTOGPU_KERNELCONTRACT_H

#include "mhc/Contract/Kernel.h"
#include "mhc/Conversion/MHCToGPU/MHCToGPU.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::mhc::gpu_lowering {

/// The parameter types of a kernel with the arguments `args`: a buffer is a
/// memref of its element type (`element`) and extents (`extent`, which gives
/// ShapedType::kDynamic for those known only at launch), a scalar its type.
SmallVector<Type>
contractParameterTypes(MLIRContext *ctx, ArrayRef<::mhc::contract::Arg> args,
                       function_ref<int64_t(::mhc::contract::Extent)> extent,
                       function_ref<Type(::mhc::contract::Element)> element);

/// The static size of extent `e` in a kernel of `streams` streams and
/// `channels` channels (either may be ShapedType::kDynamic), or
/// ShapedType::kDynamic for the extents a launch chooses.
int64_t staticExtent(::mhc::contract::Extent e, int64_t streams,
                     int64_t channels);

/// The element types a family's variant gives the contract's symbolic ones
/// (null where the family has none).
struct ContractElements {
  Type weight, activation, sublayer;
};

/// A kernel of a family with n (`streams`, or ShapedType::kDynamic) and C
/// (`channels`, likewise) fixed as its variant fixes them: its parameters
/// from `args`, `workgroupFloats` f32 workgroup buffers, `threads` per
/// block, no dynamic shared memory and ordinary launches. Returns the
/// existing kernel `name` in the kernel module, or creates it and fills
/// its body with `emit`.
gpu::GPUFuncOp getOrCreateContractKernel(
    ModuleOp module, Location loc, StringRef name,
    ArrayRef<::mhc::contract::Arg> args, int64_t streams, int64_t channels,
    ContractElements elements, ArrayRef<int64_t> workgroupFloats,
    int64_t threads,
    function_ref<void(ImplicitLocOpBuilder &, gpu::GPUFuncOp)> emit);

/// The gpu.module of mhc's kernels in `module` (kKernelModuleName), created
/// on first use; marks `module` as a GPU container.
gpu::GPUModuleOp getOrCreateKernelModule(ModuleOp module, Location loc);

/// A kernel function `name` of `parameters` in `kernels`, with the given
/// workgroup buffers (f32, 16-byte aligned) and block size.
gpu::GPUFuncOp createKernelFunc(ImplicitLocOpBuilder &b,
                                gpu::GPUModuleOp kernels, StringRef name,
                                ArrayRef<Type> parameters,
                                ArrayRef<int64_t> workgroupFloats,
                                int64_t threads);

/// The i32 globals `<name>_dynamic_shared_bytes` and
/// `<name>_programmatic_launch` (Contract/Kernel.h), at the end of `kernels`.
void declareLaunchNeeds(ImplicitLocOpBuilder &b, gpu::GPUModuleOp kernels,
                        StringRef name, int32_t dynamicSharedBytes,
                        bool programmaticLaunch);

/// A read-only buffer of `tensor` (its exact shape), cast to `parameter`
/// when that differs (a dynamic extent of the contract).
Value launchBuffer(ImplicitLocOpBuilder &b, Value tensor, Type parameter);

/// A fresh buffer shaped as `like` (a tensor; dynamic sizes from it) with
/// elements of `element`.
Value allocateLike(ImplicitLocOpBuilder &b, Value like, Type element);

/// `options` with the threads per block of the innermost op around `op`
/// that states `mhc.threads_per_block` (verified by the dialect).
ConvertMHCToGPUOptions optionsAt(Operation *op,
                                 const ConvertMHCToGPUOptions &options);

/// `memref` cast to `parameter` when their types differ.
Value castToParameter(ImplicitLocOpBuilder &b, Value memref, Type parameter);

} // namespace mlir::mhc::gpu_lowering

#endif // MHC_LIB_CONVERSION_MHCTOGPU_KERNELCONTRACT_H
