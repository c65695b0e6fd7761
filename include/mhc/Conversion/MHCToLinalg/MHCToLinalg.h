//===- MHCToLinalg.h - mhc to linalg conversion -----------------*- C++ -*-===//

#ifndef MHC_CONVERSION_MHCTOLINALG_MHCTOLINALG_H
#define MHC_CONVERSION_MHCTOLINALG_MHCTOLINALG_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace mhc {

#define GEN_PASS_DECL_CONVERTMHCTOLINALG
#include "mhc/Conversion/Passes.h.inc"

/// Patterns that lower the mhc parts to linalg on tensors.
void populateMHCToLinalgPatterns(RewritePatternSet &patterns);

} // namespace mhc
} // namespace mlir

#endif // MHC_CONVERSION_MHCTOLINALG_MHCTOLINALG_H
