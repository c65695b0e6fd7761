//===- IRFuzzer.cpp - arbitrary bytes through mhc's parser and pipelines
//---===//
//
// A libFuzzer target: each input is parsed as MLIR with the dialects mhc-opt
// registers and verified. An input that verifies and is mhc IR (only the
// builtin, func, arith, tensor and mhc dialects) is then run, on a copy each,
// through the fusion passes, the CPU pipeline and the GPU pipeline down to
// PTX text (no ptxas, no GPU). Any outcome but a crash, a hang, a sanitizer
// report or a leak is fine: bad input must end in diagnostics, which are
// dropped here. Build with -DMHC_ENABLE_FUZZERS=ON (clang); run with
// tools/mhc-fuzz/run.sh or docs/DESIGN.md, "Fuzzing".
//
//===----------------------------------------------------------------------===//

#include "mhc/InitMHC.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cstddef>
#include <cstdint>

using namespace mlir;

namespace {

/// The pipelines an input runs through, each on its own copy.
constexpr const char *kPipelines[] = {
    "canonicalize,mhc-decompose,mhc-fuse,canonicalize,cse",
    "mhc-cpu-pipeline",
    "mhc-gpu-pipeline{format=isa}",
};

/// Whether every op of `module` is in one of `dialects`.
bool onlyDialects(ModuleOp module, const llvm::StringSet<> &dialects) {
  bool ok = true;
  module.walk([&](Operation *op) {
    if (!dialects.contains(op->getName().getDialectNamespace()))
      ok = false;
    return ok ? WalkResult::advance() : WalkResult::interrupt();
  });
  return ok;
}

/// The dialects mhc's pipelines are meant for: the upstream passes they are
/// built from are fuzzed upstream.
bool isMHCIR(ModuleOp module) {
  static const llvm::StringSet<> dialects = {"builtin", "func", "arith",
                                             "tensor", "mhc"};
  return onlyDialects(module, dialects);
}

/// What a front end hands --mhc-raise-pipeline: linalg on tensors with the
/// scalar dialects in its bodies and scf loops.
bool isRaiseInput(ModuleOp module) {
  static const llvm::StringSet<> dialects = {
      "builtin", "func", "arith", "tensor", "mhc", "linalg", "scf", "math"};
  return onlyDialects(module, dialects);
}

/// Whether `text` has a `dimensions` or `permutation` whose value is not a
/// plain list of integers. LLVM 22's parsers of linalg.broadcast,
/// linalg.transpose and linalg.reduce then use a null attribute and crash
/// (mlir-opt 22 too; tools/mhc-fuzz/upstream/README.md has the
/// reproducers), so such inputs are left to upstream's own fuzzing.
bool hasMalformedLinalgDims(llvm::StringRef text) {
  for (llvm::StringRef key : {"dimensions", "permutation"}) {
    for (size_t at = text.find(key); at != llvm::StringRef::npos;
         at = text.find(key, at + 1)) {
      llvm::StringRef rest = text.drop_front(at + key.size()).ltrim();
      if (!rest.consume_front("="))
        continue;
      rest = rest.ltrim();
      if (!rest.consume_front("["))
        return true;
      size_t end = rest.find(']');
      if (end == llvm::StringRef::npos ||
          rest.take_front(end).find_first_not_of("0123456789-, \t\n") !=
              llvm::StringRef::npos)
        return true;
    }
  }
  return false;
}

void run(ModuleOp module, MLIRContext &context, const char *pipeline) {
  OwningOpRef<ModuleOp> copy = module.clone();
  PassManager pm(&context, ModuleOp::getOperationName());
  if (failed(parsePassPipeline(pipeline, pm)))
    __builtin_trap(); // The pipelines are the fuzzer's own.
  (void)pm.run(*copy);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  mhc::registerAllPasses();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    mhc::registerAllDialects(*r);
    return r;
  }();
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  ScopedDiagnosticHandler quiet(&context,
                                [](Diagnostic &) { return success(); });

  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  if (hasMalformedLinalgDims(text))
    return 0;
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size), "input"),
      llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sources, &context);
  if (!module || failed(verify(*module)))
    return 0;
  if (isRaiseInput(*module))
    run(*module, context, "mhc-raise-pipeline");
  if (isMHCIR(*module))
    for (const char *pipeline : kPipelines)
      run(*module, context, pipeline);
  return 0;
}
