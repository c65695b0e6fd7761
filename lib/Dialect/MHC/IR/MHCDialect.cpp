//===- MHCDialect.cpp - mhc dialect ---------------------------------------===//

#include "mhc/Dialect/MHC/IR/MHC.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::mhc;

#include "mhc/Dialect/MHC/IR/MHCOpsDialect.cpp.inc"

#include "mhc/Dialect/MHC/IR/MHCEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "mhc/Dialect/MHC/IR/MHCAttrs.cpp.inc"

void MHCDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "mhc/Dialect/MHC/IR/MHCAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "mhc/Dialect/MHC/IR/MHCOps.cpp.inc"
      >();
}

Operation *MHCDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  auto typed = dyn_cast<TypedAttr>(value);
  if (!typed || typed.getType() != type)
    return nullptr;
  return arith::ConstantOp::create(builder, loc, type, typed);
}
