//===- ConversionUtils.h - what the mhc conversions share -------*- C++ -*-===//

#ifndef MHC_CONVERSION_CONVERSIONUTILS_H
#define MHC_CONVERSION_CONVERSIONUTILS_H

#include "mhc/Dialect/MHC/IR/MHC.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::mhc {

/// Rewrites the mhc ops under `root` with `patterns` and leaves every other
/// op alone; fails (with the conversion's diagnostics) when an mhc op
/// remains. The target of each conversion out of the mhc dialect.
inline LogicalResult applyMHCConversion(Operation *root,
                                        RewritePatternSet &&patterns) {
  ConversionTarget target(*root->getContext());
  target.addIllegalDialect<MHCDialect>();
  target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
  return applyPartialConversion(root, target, std::move(patterns));
}

} // namespace mlir::mhc

#endif // MHC_CONVERSION_CONVERSIONUTILS_H
