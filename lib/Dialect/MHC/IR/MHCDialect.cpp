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

LogicalResult MHCDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attribute) {
  if (attribute.getName() == ThreadsPerBlockAttrHelper::getNameStr()) {
    auto threads = dyn_cast<IntegerAttr>(attribute.getValue());
    if (!threads || !threads.getType().isSignlessInteger())
      return op->emitOpError()
             << "'" << attribute.getName().getValue()
             << "' must be an integer, got " << attribute.getValue();
    int64_t value = threads.getValue().getSExtValue();
    if (value < 32 || value > 1024 || value % 32 != 0)
      return op->emitOpError()
             << "'" << attribute.getName().getValue()
             << "' must be a multiple of 32 in [32, 1024], got " << value;
    return success();
  }
  return op->emitOpError() << "unknown mhc dialect attribute '"
                           << attribute.getName().getValue() << "'";
}
