//===- InitMHC.h - what the mhc compiler registers --------------*- C++ -*-===//
//
// The dialects, interfaces, translations, passes and pipelines the mhc
// compiler uses: shared by mhc-opt and the compiler C API.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_INITMHC_H
#define MHC_INITMHC_H

namespace mlir {
class DialectRegistry;
namespace mhc {

/// The mhc dialect and exactly the upstream dialects, interfaces and
/// translations the pipelines need.
void registerCompilerDialects(DialectRegistry &registry);

/// The mhc passes and pipelines, and the upstream passes they are built from.
void registerCompilerPasses();

} // namespace mhc
} // namespace mlir

#endif // MHC_INITMHC_H
