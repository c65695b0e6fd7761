//===- MHC.h - mhc dialect --------------------------------------*- C++ -*-===//

#ifndef MHC_DIALECT_MHC_IR_MHC_H
#define MHC_DIALECT_MHC_IR_MHC_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "mhc/Dialect/MHC/IR/MHCOpsDialect.h.inc"

#include "mhc/Dialect/MHC/IR/MHCEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "mhc/Dialect/MHC/IR/MHCAttrs.h.inc"

#define GET_OP_CLASSES
#include "mhc/Dialect/MHC/IR/MHCOps.h.inc"

#endif // MHC_DIALECT_MHC_IR_MHC_H
