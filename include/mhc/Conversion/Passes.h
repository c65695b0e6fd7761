//===- Passes.h - mhc conversion passes -------------------------*- C++ -*-===//

#ifndef MHC_CONVERSION_PASSES_H
#define MHC_CONVERSION_PASSES_H

#include "mhc/Conversion/MHCToGPU/MHCToGPU.h"
#include "mhc/Conversion/MHCToLinalg/MHCToLinalg.h"

namespace mlir::mhc {
#define GEN_PASS_REGISTRATION
#include "mhc/Conversion/Passes.h.inc"
} // namespace mlir::mhc

#endif // MHC_CONVERSION_PASSES_H
