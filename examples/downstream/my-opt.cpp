//===- my-opt.cpp - a downstream *-opt with mhc in it ---------------------===//
//
// The dialects this compiler already has, plus mhc: its dialect, passes and
// pipelines through the two entry points of mhc/InitMHC.h.
//
//===----------------------------------------------------------------------===//

#include "mhc/Dialect/MHC/IR/MHC.h"
#include "mhc/InitMHC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  // The downstream compiler's own dialects and passes.
  registry.insert<mlir::arith::ArithDialect, mlir::func::FuncDialect,
                  mlir::linalg::LinalgDialect, mlir::tensor::TensorDialect>();
  mlir::registerTransformsPasses();
  // mhc next to them.
  mlir::mhc::registerAllDialects(registry);
  mlir::mhc::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "a downstream compiler with mhc\n", registry));
}
