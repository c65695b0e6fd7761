//===- KernelContract.cpp - kernels built from their contracts ------------===//

#include "KernelContract.h"

#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::gpu_lowering;
namespace contract = ::mhc::contract;

SmallVector<Type> mlir::mhc::gpu_lowering::contractParameterTypes(
    MLIRContext *ctx, ArrayRef<contract::Arg> args,
    function_ref<int64_t(contract::Extent)> extent,
    function_ref<Type(contract::Element)> element) {
  SmallVector<Type> types;
  for (const contract::Arg &arg : args) {
    switch (arg.kind) {
    case contract::ArgKind::Buffer: {
      SmallVector<int64_t> shape;
      for (int d = 0; d < arg.rank; ++d)
        shape.push_back(extent(arg.extents[d]));
      types.push_back(MemRefType::get(shape, element(arg.element)));
      break;
    }
    case contract::ArgKind::F32:
      types.push_back(Float32Type::get(ctx));
      break;
    case contract::ArgKind::I32:
      types.push_back(IntegerType::get(ctx, 32));
      break;
    }
  }
  return types;
}

int64_t mlir::mhc::gpu_lowering::staticExtent(contract::Extent e,
                                              int64_t streams,
                                              int64_t channels) {
  const int64_t dynamic = ShapedType::kDynamic;
  const bool n = !ShapedType::isDynamic(streams);
  const bool c = !ShapedType::isDynamic(channels);
  switch (e) {
  case contract::Extent::Streams:
    return streams;
  case contract::Extent::Channels:
    return channels;
  case contract::Extent::ProjectionRows:
    return n && c ? streams * channels : dynamic;
  case contract::Extent::ProjectionColumns:
    return n ? streams * streams + 2 * streams : dynamic;
  case contract::Extent::PartialWidth:
    return n ? streams * streams + 2 * streams + 1 : dynamic;
  case contract::Extent::Scales:
    return 3;
  case contract::Extent::Batch:
  case contract::Extent::Words:
  case contract::Extent::Splits:
    return dynamic;
  }
  llvm_unreachable("unknown extent");
}

gpu::GPUFuncOp mlir::mhc::gpu_lowering::getOrCreateContractKernel(
    ModuleOp module, Location loc, StringRef name,
    ArrayRef<contract::Arg> args, int64_t streams, int64_t channels,
    ContractElements elements, ArrayRef<int64_t> workgroupFloats,
    int64_t threads,
    function_ref<void(ImplicitLocOpBuilder &, gpu::GPUFuncOp)> emit) {
  MLIRContext *ctx = module.getContext();
  gpu::GPUModuleOp kernels = getOrCreateKernelModule(module, loc);
  if (auto existing = kernels.lookupSymbol<gpu::GPUFuncOp>(name))
    return existing;
  auto extent = [&](contract::Extent e) {
    return staticExtent(e, streams, channels);
  };
  auto element = [&](contract::Element e) -> Type {
    Type type;
    switch (e) {
    case contract::Element::F32:
      return Float32Type::get(ctx);
    case contract::Element::I32:
      return IntegerType::get(ctx, 32);
    case contract::Element::Weight:
      type = elements.weight;
      break;
    case contract::Element::Activation:
      type = elements.activation;
      break;
    case contract::Element::Sublayer:
      type = elements.sublayer;
      break;
    }
    assert(type && "an element type the family's variant does not give");
    return type;
  };
  ImplicitLocOpBuilder b(loc, ctx);
  gpu::GPUFuncOp func = createKernelFunc(
      b, kernels, name, contractParameterTypes(ctx, args, extent, element),
      workgroupFloats, threads);
  emit(b, func);
  declareLaunchNeeds(b, kernels, name, /*dynamicSharedBytes=*/0,
                     /*programmaticLaunch=*/false);
  return func;
}

gpu::GPUModuleOp mlir::mhc::gpu_lowering::getOrCreateKernelModule(
    ModuleOp module, Location loc) {
  MLIRContext *ctx = module.getContext();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(ctx));
  auto kernels = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModuleName);
  if (kernels)
    return kernels;
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  return gpu::GPUModuleOp::create(b, loc, kKernelModuleName);
}

gpu::GPUFuncOp mlir::mhc::gpu_lowering::createKernelFunc(
    ImplicitLocOpBuilder &b, gpu::GPUModuleOp kernels, StringRef name,
    ArrayRef<Type> parameters, ArrayRef<int64_t> workgroupFloats,
    int64_t threads) {
  MLIRContext *ctx = b.getContext();
  auto workgroup = gpu::AddressSpaceAttr::get(
      ctx, gpu::GPUDialect::getWorkgroupAddressSpace());
  SmallVector<Type> attributions;
  for (int64_t elements : workgroupFloats)
    attributions.push_back(MemRefType::get({elements}, b.getF32Type(),
                                           MemRefLayoutAttrInterface(),
                                           workgroup));
  b.setInsertionPointToEnd(kernels.getBody());
  auto func = gpu::GPUFuncOp::create(
      b, name, FunctionType::get(ctx, parameters, {}), attributions);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  func.setKnownBlockSizeAttr(
      DenseI32ArrayAttr::get(ctx, {static_cast<int32_t>(threads), 1, 1}));
  // The backend vectorizes consecutive shared-memory loads (warp partials)
  // up to 16 bytes: state that alignment so the accesses it forms are legal
  // (without it a 32-byte array could sit at a 4-byte boundary).
  for (unsigned i = 0; i < attributions.size(); ++i)
    func.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                                     b.getI64IntegerAttr(16));
  return func;
}

void mlir::mhc::gpu_lowering::declareLaunchNeeds(ImplicitLocOpBuilder &b,
                                                 gpu::GPUModuleOp kernels,
                                                 StringRef name,
                                                 int32_t dynamicSharedBytes,
                                                 bool programmaticLaunch) {
  Type i32 = b.getI32Type();
  b.setInsertionPointToEnd(kernels.getBody());
  LLVM::GlobalOp::create(b, i32, /*isConstant=*/true, LLVM::Linkage::External,
                         (name + contract::kDynamicSharedBytesSuffix).str(),
                         b.getI32IntegerAttr(dynamicSharedBytes),
                         /*alignment=*/4, /*addrSpace=*/1);
  LLVM::GlobalOp::create(b, i32, /*isConstant=*/true, LLVM::Linkage::External,
                         (name + contract::kProgrammaticLaunchSuffix).str(),
                         b.getI32IntegerAttr(programmaticLaunch ? 1 : 0),
                         /*alignment=*/4, /*addrSpace=*/1);
}

Value mlir::mhc::gpu_lowering::castToParameter(ImplicitLocOpBuilder &b,
                                               Value memref, Type parameter) {
  return memref.getType() == parameter
             ? memref
             : memref::CastOp::create(b, parameter, memref).getResult();
}

Value mlir::mhc::gpu_lowering::launchBuffer(ImplicitLocOpBuilder &b,
                                            Value tensor, Type parameter) {
  auto tensorType = cast<RankedTensorType>(tensor.getType());
  auto exact =
      MemRefType::get(tensorType.getShape(), tensorType.getElementType());
  Value memref = bufferization::ToBufferOp::create(b, exact, tensor,
                                                   /*readOnly=*/true);
  return castToParameter(b, memref, parameter);
}

Value mlir::mhc::gpu_lowering::allocateLike(ImplicitLocOpBuilder &b,
                                            Value like, Type element) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamicSizes.push_back(tensor::DimOp::create(b, like, d));
  return memref::AllocOp::create(b, MemRefType::get(type.getShape(), element),
                                 dynamicSizes);
}

ConvertMHCToGPUOptions
mlir::mhc::gpu_lowering::optionsAt(Operation *op,
                                   const ConvertMHCToGPUOptions &options) {
  ConvertMHCToGPUOptions at = options;
  MHCDialect::ThreadsPerBlockAttrHelper threads(op->getContext());
  for (Operation *p = op; p; p = p->getParentOp())
    if (IntegerAttr attr = threads.getAttr(p)) {
      at.threadsPerBlock = attr.getInt();
      break;
    }
  return at;
}
