// RUN: mhc-opt %s --mhc-decompose --mhc-fuse --convert-mhc-to-gpu="cluster-row-split=1" -split-input-file -verify-diagnostics

// A cluster kernel splits a row held in registers into 2..8 blocks. 8 x 7168
// floats do not fit in 128 registers per thread: the row streams.
func.func @streamed(%x: tensor<?x8x7168xf32>, %hr: tensor<8x8xf32>, %hp: tensor<8xf32>,
    %hq: tensor<8xf32>, %w: tensor<7168xbf16>) -> tensor<?x8x7168xf32> {
  // expected-error @+2 {{failed to legalize}}
  // expected-error @+1 {{cluster-row-split needs a static C whose row is held in registers in 2..8 chunks per thread; this layer has its row streamed}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x8x7168xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<7168xbf16>
  return %0 : tensor<?x8x7168xf32>
}

// -----

// C = 1000 is one chunk of 256 x 4 channels: nothing to split.
func.func @one_chunk(%x: tensor<?x4x1000xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<1000xbf16>) -> tensor<?x4x1000xf32> {
  // expected-error @+2 {{failed to legalize}}
  // expected-error @+1 {{this layer has 1 chunks}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x1000xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<1000xbf16>
  return %0 : tensor<?x4x1000xf32>
}

// -----

// A dynamic C streams.
func.func @dynamic(%x: tensor<?x4x?xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>,
    %hq: tensor<4xf32>, %w: tensor<?xbf16>) -> tensor<?x4x?xf32> {
  // expected-error @+2 {{failed to legalize}}
  // expected-error @+1 {{its row streamed}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-06 : f32}
      : tensor<?x4x?xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<?xbf16>
  return %0 : tensor<?x4x?xf32>
}
