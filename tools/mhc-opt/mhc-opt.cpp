//===- mhc-opt.cpp - the mhc driver ---------------------------------------===//
//
// Registers the mhc dialect, its passes and pipelines, and exactly the upstream
// dialects, passes and translations those pipelines use.
//
//===----------------------------------------------------------------------===//

#include "mhc/Dialect/MHC/IR/MHC.h"
#include "mhc/Dialect/MHC/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::mhc::MHCDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::tensor::TensorDialect>();
  mlir::mhc::registerMHCPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "mhc optimizer driver\n", registry));
}
