#!/usr/bin/env bash
# Installs the build tree's mhc into a fresh prefix, builds
# examples/downstream against that prefix alone (find_package(MHC)), and runs
# its my-opt through the mhc pipelines. Fails when the installed package is
# incomplete or points back into the build or source tree.
# usage: build-and-run.sh <mhc build dir> <mhc source dir> <work dir> <c++> <c> <FileCheck>
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) work=$3 cxx=$4 cc=$5 filecheck=$6
rm -rf "$work" && mkdir -p "$work"
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"

# The package must stand on its own: no path into the tree it was built in.
if grep -rl -e "$build" -e "$src" "$prefix/lib/cmake/mhc"; then
  echo "error: the installed CMake package refers to the build or source tree" >&2
  exit 1
fi
for f in include/mhc/InitMHC.h include/mhc/Dialect/MHC/IR/MHCOps.td \
         include/mhc/Dialect/MHC/IR/MHCOps.h.inc lib/libMHCDialect.a \
         lib/cmake/mhc/MHCConfig.cmake; do
  [ -e "$prefix/$f" ] || { echo "error: $f is not installed" >&2; exit 1; }
done

cmake -G Ninja -S "$src/examples/downstream" -B "$work/build" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
cmake --build "$work/build" > "$work/build.log"

opt="$work/build/my-opt"
"$opt" --mhc-gpu-pipeline "$src/examples/static_layer.mlir" |
  "$filecheck" "$src/test/downstream/gpu.check"
"$opt" --mhc-raise-pipeline "$src/examples/static_layer_linalg.mlir" |
  "$filecheck" "$src/test/downstream/raise.check"
echo "downstream: my-opt built against $prefix ran both pipelines"
