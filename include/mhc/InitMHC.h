//===- InitMHC.h - what the mhc compiler registers --------------*- C++ -*-===//
//
// The registration entry points of mhc: what mhc-opt, the compiler C API
// and a downstream compiler's own *-opt call to get the mhc dialect, its
// passes and its pipelines (examples/downstream/).
//
//===----------------------------------------------------------------------===//

#ifndef MHC_INITMHC_H
#define MHC_INITMHC_H

namespace mlir {
class DialectRegistry;
namespace mhc {

/// The mhc dialect and exactly the upstream dialects, interfaces and
/// translations its pipelines need. A downstream registry that already holds
/// some of them is fine: inserting a dialect twice is a no-op.
void registerAllDialects(DialectRegistry &registry);

/// The mhc passes (mhc-*, convert-mhc-to-*), the named pipelines
/// (--mhc-gpu-pipeline, --mhc-cpu-pipeline, --mhc-raise-pipeline) and the
/// upstream passes they are built from. Safe to call next to upstream's
/// mlir::registerAllPasses (a pass registered twice is the same pass).
void registerAllPasses();

} // namespace mhc
} // namespace mlir

#endif // MHC_INITMHC_H
