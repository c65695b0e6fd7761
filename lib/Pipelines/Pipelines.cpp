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

/// The compute capability of an `sm_<XY>[a|f]` chip name as XY, or 0.
static int64_t smVersion(StringRef chip) {
  int64_t version = 0;
  if (!chip.consume_front("sm_"))
    return 0;
  chip = chip.take_while([](char c) { return c >= '0' && c <= '9'; });
  return chip.getAsInteger(10, version) ? 0 : version;
}

void mlir::mhc::buildGPUPipeline(OpPassManager &pm,
                                 const GPUPipelineOptions &options) {
  pm.addPass(createMHCDecompose());
  pm.addPass(createMHCFuse());
  // The bulk L2 prefetch (cp.async.bulk.prefetch) exists from sm_90 on; for
  // older chips the option is dropped rather than failing in the backend.
  // So do the bulk copies and mbarrier transactions of stage-rows,
  // griddepcontrol, the L2 prefetch of early-cache-lookup (NVPTX selects
  // prefetch.global.L2 only from sm_90 on) and miss-prefetch-rows.
  bool sm90 = smVersion(options.chip) >= 90;
  // Field by field: a positional list would silently shift values when an
  // option is added.
  ConvertMHCToGPUOptions lowering;
  lowering.threadsPerBlock = options.threadsPerBlock;
  lowering.vectorWidth = options.vectorWidth;
  lowering.maxRowRegisters = options.maxRowRegisters;
  lowering.maxUnrolledStreams = options.maxUnrolledStreams;
  lowering.sinkhornReplicatedMaxStreams = options.sinkhornReplicatedMaxStreams;
  lowering.sinkhornFtzReciprocal = options.sinkhornFtzReciprocal;
  lowering.sinkhornNewtonReciprocal = options.sinkhornNewtonReciprocal;
  lowering.sinkhornRowsPerLane = options.sinkhornRowsPerLane;
  lowering.latePrologueWarpRow = options.latePrologueWarpRow;
  lowering.minBlocksPerSM = options.minBlocksPerSM;
  lowering.pipelineRows = options.pipelineRows;
  lowering.stageWeights = options.stageWeights;
  lowering.coefficientsInRegisters = options.coefficientsInRegisters;
  lowering.doubleBufferRows = options.doubleBufferRows;
  lowering.fuseMultiplyAdd = options.fuseMultiplyAdd;
  lowering.mixBeforeBarrier = options.mixBeforeBarrier;
  lowering.prefetchRows = sm90 ? options.prefetchRows : int64_t(0);
  lowering.prefetchMaxRowBytes = options.prefetchMaxRowBytes;
  lowering.prefetchAfterReduction = options.prefetchAfterReduction;
  lowering.prefetchEarlyMaxRowBytes = options.prefetchEarlyMaxRowBytes;
  lowering.prefetchNextWave = options.prefetchNextWave;
  lowering.missPrefetchRows = sm90 ? options.missPrefetchRows : int64_t(0);
  lowering.clusterRowSplit = options.clusterRowSplit;
  lowering.stageRows = sm90 ? options.stageRows : int64_t(0);
  lowering.stageCopyBytes = options.stageCopyBytes;
  lowering.maxSharedMemoryBytes = options.maxSharedMemoryBytes;
  lowering.coefficientCache = options.coefficientCache;
  lowering.earlyCacheLookup = sm90 && options.earlyCacheLookup;
  lowering.programmaticLaunch = sm90 && options.programmaticLaunch;
  pm.addPass(createConvertMHCToGPU(lowering));

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
  // NVVM ops without an LLVM intrinsic (mbarrier.try_wait.parity) become
  // inline PTX.
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
  PassPipelineRegistration<CPUPipelineOptions>(
      "mhc-cpu-pipeline",
      "mhc ops -> linalg -> loops -> LLVM dialect (runs with mlir-runner)",
      buildCPUPipeline);
}
