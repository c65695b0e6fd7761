// The bundled example parses, verifies and survives canonicalization.
// RUN: mhc-opt --canonicalize %mhc_src_root/examples/static_layer.mlir | FileCheck %s

// CHECK-LABEL: func.func @static_layer
// CHECK: %[[OUT:.*]] = mhc.static_layer %arg0, %arg1, %arg2, %arg3, %arg4 {eps = 9.99999997E-7 : f32}
// CHECK: return %[[OUT]] : tensor<?x4x4096xf32>
