//===- WriteGPUBinaries.cpp - gpu.binary objects to files -----------------===//

#include "mhc/Dialect/MHC/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"

namespace mlir::mhc {
#define GEN_PASS_DEF_MHCWRITEGPUBINARIES
#include "mhc/Dialect/MHC/Transforms/Passes.h.inc"
} // namespace mlir::mhc

using namespace mlir;

StringRef mlir::mhc::getObjectFileExtension(Attribute object) {
  switch (cast<gpu::ObjectAttr>(object).getFormat()) {
  case gpu::CompilationTarget::Assembly:
    return "ptx";
  case gpu::CompilationTarget::Binary:
    return "cubin";
  case gpu::CompilationTarget::Fatbin:
    return "fatbin";
  case gpu::CompilationTarget::Offload:
    return "ll";
  }
  llvm_unreachable("unknown gpu compilation target");
}

namespace {
struct MHCWriteGPUBinariesPass
    : mhc::impl::MHCWriteGPUBinariesBase<MHCWriteGPUBinariesPass> {
  using Base::Base;

  void runOnOperation() override {
    WalkResult result = getOperation()->walk([&](gpu::BinaryOp binary) {
      for (Attribute attr : binary.getObjects()) {
        auto object = cast<gpu::ObjectAttr>(attr);
        // One file per target: <prefix><binary>[_<chip>].<ext>.
        std::string path = outputPrefix + binary.getName().str();
        if (auto nvvm = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget()))
          path += "_" + nvvm.getChip().str();
        path += "." + mhc::getObjectFileExtension(object).str();
        std::string error;
        auto file = openOutputFile(path, &error);
        if (!file) {
          binary.emitError() << "cannot write '" << path << "': " << error;
          return WalkResult::interrupt();
        }
        file->os() << object.getObject().getValue();
        file->keep();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
