//===- mhc-opt.cpp - the mhc driver ---------------------------------------===//
//
// Registers the mhc dialect, its passes and pipelines, and exactly the upstream
// dialects, passes and translations those pipelines use (lib/InitMHC.cpp).
//
//===----------------------------------------------------------------------===//

#include "mhc/InitMHC.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::mhc::registerAllDialects(registry);
  mlir::mhc::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "mhc optimizer driver\n", registry));
}
