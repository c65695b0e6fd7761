//===- Pipelines.h - mhc named pipelines ------------------------*- C++ -*-===//

#ifndef MHC_PIPELINES_PIPELINES_H
#define MHC_PIPELINES_PIPELINES_H

#include "mhc/Conversion/MHCToGPU/MHCToGPU.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir {
class OpPassManager;
namespace mhc {

/// The CUDA Toolkit root mhc was configured with (MHC_CUDA_HOME).
std::string defaultToolkit();

/// mhc ops -> one fused kernel per layer -> NVVM -> PTX / cubin / fatbin.
/// The options of convert-mhc-to-gpu (chip among them) are the pipeline's
/// too, generated from their one declaration in Passes.td; the rest are the
/// pipeline's own.
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
#define GEN_PASS_OPTION_DECLS_CONVERTMHCTOGPU
#include "mhc/Conversion/ConvertMHCToGPUOptions.h.inc"

  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features (+ptx80 or newer)"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<unsigned> optLevel{
      *this, "opt-level", llvm::cl::desc("LLVM optimization level for NVPTX"),
      llvm::cl::init(3)};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Object format: isa (PTX text), bin (cubin) or fatbin; "
                     "bin and fatbin need ptxas"),
      llvm::cl::init("isa")};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit", llvm::cl::desc("CUDA Toolkit root (libdevice, ptxas)"),
      llvm::cl::init(defaultToolkit())};
  PassOptions::Option<std::string> outputPrefix{
      *this, "output-prefix",
      llvm::cl::desc("When set, write each kernel binary to "
                     "<prefix><module>_<chip>.<ptx|cubin|fatbin>"),
      llvm::cl::init("")};

  /// The lowering's options as convert-mhc-to-gpu takes them.
  ConvertMHCToGPUOptions loweringOptions() const {
    ConvertMHCToGPUOptions options;
#define MHC_PASS_OPTION_CONVERTMHCTOGPU(field) options.field = field;
#include "mhc/Conversion/ConvertMHCToGPUOptions.h.inc"
    return options;
  }
};

/// mhc ops -> linalg -> loops -> LLVM dialect, runnable with mlir-runner.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {};

/// mHC math written in linalg -> mhc ops, cleaned up (the first step of the
/// GPU pipeline; in front of the CPU pipeline when asked for).
struct RaisePipelineOptions
    : public PassPipelineOptions<RaisePipelineOptions> {};

void buildRaisePipeline(OpPassManager &pm, const RaisePipelineOptions &options);
void buildGPUPipeline(OpPassManager &pm, const GPUPipelineOptions &options);
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Registers --mhc-gpu-pipeline, --mhc-cpu-pipeline and --mhc-raise-pipeline.
void registerPipelines();

} // namespace mhc
} // namespace mlir

#endif // MHC_PIPELINES_PIPELINES_H
