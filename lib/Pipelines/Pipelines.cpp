//===- Pipelines.cpp - mhc named pipelines --------------------------------===//

#include "mhc/Pipelines/Pipelines.h"
#include "mhc/Conversion/Passes.h"
#include "mhc/Dialect/MHC/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::mhc;

std::string mlir::mhc::defaultToolkit() { return MHC_DEFAULT_CUDA_HOME; }

void mlir::mhc::buildRaisePipeline(OpPassManager &pm,
                                   const RaisePipelineOptions &) {
  pm.addPass(createMHCRaiseFromLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::mhc::buildGPUPipeline(OpPassManager &pm,
                                 const GPUPipelineOptions &options) {
  // mHC math a front end wrote in linalg becomes mhc ops first, so that it
  // reaches the same fused kernel as the mhc ops themselves.
  buildRaisePipeline(pm, RaisePipelineOptions());
  pm.addPass(createMHCDecompose());
  pm.addPass(createMHCFuse());
  pm.addPass(createConvertMHCToGPU(options.loweringOptions()));

  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));

  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(memref::createExpandStridedMetadataPass());
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  // NVVM ops without an LLVM intrinsic become inline PTX.
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());

  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = options.toolkit;
  binary.compilationTarget = options.format;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  if (!options.outputPrefix.empty())
    pm.addPass(createMHCWriteGPUBinaries(
        MHCWriteGPUBinariesOptions{options.outputPrefix}));
}

void mlir::mhc::buildCPUPipeline(OpPassManager &pm,
                                 const CPUPipelineOptions &) {
  pm.addPass(createMHCDecompose());
  pm.addPass(createConvertMHCToLinalg());
  // Elementwise arith on tensors (the f32 widening around a bf16 layer's
  // stand-in sublayer) becomes linalg too.
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());

  pm.addPass(bufferization::createEmptyTensorToAllocTensorPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.allowReturnAllocsFromLoops = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createConvertBufferizationToMemRefPass());

  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::mhc::registerPipelines() {
  PassPipelineRegistration<GPUPipelineOptions>(
      "mhc-gpu-pipeline",
      "mhc ops -> one fused kernel per layer -> NVVM -> PTX/cubin/fatbin",
      buildGPUPipeline);
  PassPipelineRegistration<RaisePipelineOptions>(
      "mhc-raise-pipeline",
      "mHC math written in linalg/tensor/arith/math/scf -> mhc ops "
      "(mhc-raise-from-linalg, canonicalize, cse)",
      buildRaisePipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "mhc-cpu-pipeline",
      "mhc ops -> linalg -> loops -> LLVM dialect (runs with mlir-runner)",
      buildCPUPipeline);
}
