//===- Passes.h - mhc transformation passes ---------------------*- C++ -*-===//

#ifndef MHC_DIALECT_MHC_TRANSFORMS_PASSES_H
#define MHC_DIALECT_MHC_TRANSFORMS_PASSES_H

#include "mhc/Dialect/MHC/IR/MHC.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace mhc {

#define GEN_PASS_DECL
#include "mhc/Dialect/MHC/Transforms/Passes.h.inc"

/// The file extension of a #gpu.object: ptx, cubin, fatbin or ll.
StringRef getObjectFileExtension(Attribute object);

/// Patterns that split mhc.static_layer into its parts.
void populateMHCDecomposePatterns(RewritePatternSet &patterns);

/// Patterns that replace mHC computations written in linalg, tensor, arith,
/// math and scf with the mhc ops they compute (--mhc-raise-from-linalg).
void populateMHCRaiseFromLinalgPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "mhc/Dialect/MHC/Transforms/Passes.h.inc"

} // namespace mhc
} // namespace mlir

#endif // MHC_DIALECT_MHC_TRANSFORMS_PASSES_H
