//===- Compiler.cpp - C API of the mhc compiler ---------------------------===//

#include "mhc-c/Compiler.h"
#include "mhc/Dialect/MHC/Transforms/Passes.h"
#include "mhc/InitMHC.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>
#include <string>
#include <vector>

using namespace mlir;

struct mhc_compile_result {
  struct Binary {
    std::string name, format, data;
  };
  std::string ir;
  std::string diagnostics;
  std::vector<Binary> binaries;
};

namespace {
const char *severity(DiagnosticSeverity s) {
  switch (s) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Remark:
    return "remark";
  case DiagnosticSeverity::Note:
    return "note";
  }
  return "diagnostic";
}

int compile(StringRef ir, StringRef pipeline, mhc_compile_result &result) {
  static std::once_flag once;
  std::call_once(once, [] { mhc::registerAllPasses(); });
  DialectRegistry registry;
  mhc::registerAllDialects(registry);
  MLIRContext context(registry);
  llvm::raw_string_ostream diagnostics(result.diagnostics);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    diagnostics << d.getLocation() << ": " << severity(d.getSeverity()) << ": "
                << d << "\n";
    for (Diagnostic &note : d.getNotes())
      diagnostics << note.getLocation() << ": note: " << note << "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(ir, ParserConfig(&context), "input");
  if (!module)
    return 1;
  // The pipeline text names its anchor: builtin.module(...).
  FailureOr<OpPassManager> parsed = parsePassPipeline(pipeline, diagnostics);
  if (failed(parsed))
    return 1;
  PassManager pm(&context, parsed->getOpAnchorName());
  static_cast<OpPassManager &>(pm) = *parsed;
  if (failed(pm.run(*module)))
    return 1;
  llvm::raw_string_ostream os(result.ir);
  module->print(os);
  module->walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects()) {
      auto object = cast<gpu::ObjectAttr>(attr);
      result.binaries.push_back({binary.getName().str(),
                                 mhc::getObjectFileExtension(object).str(),
                                 object.getObject().getValue().str()});
    }
  });
  return 0;
}

const mhc_compile_result::Binary *binaryAt(mhc_compile_result_t r,
                                           size_t index) {
  return r && index < r->binaries.size() ? &r->binaries[index] : nullptr;
}
} // namespace

extern "C" {

int mhc_compile(const char *ir, size_t irSize, const char *pipeline,
                mhc_compile_result_t *result) {
  if (!result)
    return 1;
  *result = new mhc_compile_result();
  if (!ir || !pipeline) {
    (*result)->diagnostics =
        "error: the IR and the pipeline must not be null\n";
    return 1;
  }
  return compile(StringRef(ir, irSize), pipeline, **result);
}

const char *mhc_compile_result_ir(mhc_compile_result_t r) {
  return r ? r->ir.c_str() : "";
}

const char *mhc_compile_result_diagnostics(mhc_compile_result_t r) {
  return r ? r->diagnostics.c_str() : "";
}

size_t mhc_compile_result_num_binaries(mhc_compile_result_t r) {
  return r ? r->binaries.size() : 0;
}

const char *mhc_compile_result_binary_name(mhc_compile_result_t r,
                                           size_t index) {
  const auto *b = binaryAt(r, index);
  return b ? b->name.c_str() : "";
}

const char *mhc_compile_result_binary_format(mhc_compile_result_t r,
                                             size_t index) {
  const auto *b = binaryAt(r, index);
  return b ? b->format.c_str() : "";
}

const char *mhc_compile_result_binary(mhc_compile_result_t r, size_t index,
                                      size_t *size) {
  const auto *b = binaryAt(r, index);
  if (size)
    *size = b ? b->data.size() : 0;
  return b ? b->data.data() : "";
}

void mhc_compile_result_destroy(mhc_compile_result_t r) { delete r; }
}
