// RUN: mhc-opt %s -split-input-file -verify-diagnostics

// One case per verifier rule.

//===--- mhc.static_layer ---===//

func.func @x_rank(%x: tensor<4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{operand #0 must be 3D tensor of 32-bit float values}}
  %0 = "mhc.static_layer"(%x, %hr, %hp, %hq, %w) {eps = 1.0e-6 : f32} : (tensor<4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>) -> tensor<4x4096xf32>
  return
}

// -----

func.func @x_element_type(%x: tensor<?x4x4096xbf16>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{operand #0 must be 3D tensor of 32-bit float values}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32} : tensor<?x4x4096xbf16>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @weight_element_type(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xf16>) {
  // expected-error @+1 {{operand #4 must be 1D tensor of 32-bit float or bfloat16 type values}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xf16>
  return
}

// -----

func.func @h_res_element_type(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf16>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{operand #1 must be 2D tensor of 32-bit float values}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf16>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @dynamic_streams(%x: tensor<?x?x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires the stream count (dimension 1 of 'x') to be static}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32} : tensor<?x?x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @zero_streams(%x: tensor<?x0x4096xf32>, %hr: tensor<0x0xf32>, %hp: tensor<0xf32>, %hq: tensor<0xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires at least one stream (dimension 1 of 'x'), got 0}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32} : tensor<?x0x4096xf32>, tensor<0x0xf32>, tensor<0xf32>, tensor<0xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @zero_channels(%x: tensor<?x4x0xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<0xbf16>) {
  // expected-error @+1 {{requires at least one channel (dimension 2 of 'x'), got 0}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32} : tensor<?x4x0xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<0xbf16>
  return
}

// -----

func.func @h_res_shape(%x: tensor<?x4x4096xf32>, %hr: tensor<4x3xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires 'h_res' to be 4x4 (streams x streams), got 'tensor<4x3xf32>'}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32} : tensor<?x4x4096xf32>, tensor<4x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @h_res_dynamic(%x: tensor<?x4x4096xf32>, %hr: tensor<?x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires 'h_res' to be 4x4 (streams x streams), got 'tensor<?x4xf32>'}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32} : tensor<?x4x4096xf32>, tensor<?x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @h_pre_shape(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<8xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires 'h_pre' to have one entry per stream (4), got 'tensor<8xf32>'}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<8xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @h_post_shape(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<3xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires 'h_post' to have one entry per stream (4), got 'tensor<3xf32>'}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<3xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @weight_shape(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4095xbf16>) {
  // expected-error @+1 {{requires 'weight' to have one entry per channel (4096), got 'tensor<4095xbf16>'}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4095xbf16>
  return
}

// -----

func.func @result_type(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{failed to verify that all of {x, out} have same type}}
  %0 = "mhc.static_layer"(%x, %hr, %hp, %hq, %w) {eps = 1.0e-6 : f32} : (tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>) -> tensor<8x4x4096xf32>
  return
}

// -----

func.func @eps_zero(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires 'eps' to be positive and finite, got 0}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 0.0 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @eps_negative(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires 'eps' to be positive and finite, got -1}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = -1.0 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @eps_infinite(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires 'eps' to be positive and finite, got INF}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 0x7F800000 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @eps_nan(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires 'eps' to be positive and finite, got nan}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 0x7FC00000 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @eps_missing(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires attribute 'eps'}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @sinkhorn_iters_zero(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{attribute 'sinkhorn_iters' failed to satisfy constraint: 64-bit signless integer attribute whose minimum value is 1}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32, sinkhorn_iters = 0} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @sinkhorn_eps_zero(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires 'sinkhorn_eps' to be positive and finite, got 0}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32, sinkhorn_eps = 0.0 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @pre_eps_negative(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires 'pre_eps' to be non-negative, got -5.000000e-01}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32, pre_eps = -0.5 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @pre_eps_infinite(%x: tensor<?x4x4096xf32>, %hr: tensor<4x4xf32>, %hp: tensor<4xf32>, %hq: tensor<4xf32>, %w: tensor<4096xbf16>) {
  // expected-error @+1 {{requires 'pre_eps' to be finite, got INF}}
  %0 = mhc.static_layer %x, %hr, %hp, %hq, %w {eps = 1.0e-6 : f32, pre_eps = 0x7F800000 : f32} : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4096xbf16>
  return
}

// -----

func.func @unknown_init(%h: tensor<4x4xf32>) {
  // expected-error @+2 {{expected ::mlir::mhc::SinkhornInit to be one of: exp, softmax}}
  // expected-error @+1 {{failed to parse MHC_SinkhornInitAttr parameter 'value'}}
  %0 = mhc.sinkhorn %h {init = #mhc.sinkhorn_init<sinkhorn>} : tensor<4x4xf32>
  return
}

// -----

func.func @init_wrong_attr_kind(%h: tensor<4x4xf32>) {
  // expected-error @+1 {{attribute 'init' failed to satisfy constraint: how Sinkhorn-Knopp starts from the logits}}
  %0 = mhc.sinkhorn %h {init = 1 : i32} : tensor<4x4xf32>
  return
}

//===--- mhc.sinkhorn ---===//

// -----

func.func @sinkhorn_not_square(%h: tensor<4x3xf32>) {
  // expected-error @+1 {{requires 'logits' to be a static, non-empty square matrix (n x n, or one per token: B x n x n), got 'tensor<4x3xf32>'}}
  %0 = mhc.sinkhorn %h : tensor<4x3xf32>
  return
}

// -----

func.func @sinkhorn_dynamic(%h: tensor<?x?xf32>) {
  // expected-error @+1 {{requires 'logits' to be a static, non-empty square matrix (n x n, or one per token: B x n x n), got 'tensor<?x?xf32>'}}
  %0 = mhc.sinkhorn %h : tensor<?x?xf32>
  return
}

// -----

func.func @sinkhorn_iters_zero(%h: tensor<4x4xf32>) {
  // expected-error @+1 {{attribute 'iters' failed to satisfy constraint: 64-bit signless integer attribute whose minimum value is 1}}
  %0 = mhc.sinkhorn %h {iters = 0} : tensor<4x4xf32>
  return
}

// -----

func.func @sinkhorn_eps(%h: tensor<4x4xf32>) {
  // expected-error @+1 {{requires 'eps' to be positive and finite, got -1}}
  %0 = mhc.sinkhorn %h {eps = -1.0 : f32} : tensor<4x4xf32>
  return
}

//===--- mhc.gate ---===//

// -----

func.func @gate_empty(%h: tensor<0xf32>) {
  // expected-error @+1 {{requires at least one stream}}
  %0 = mhc.gate %h : tensor<0xf32>
  return
}

// -----

func.func @gate_scale(%h: tensor<4xf32>) {
  // expected-error @+1 {{requires 'scale' to be finite, got nan}}
  %0 = mhc.gate %h {scale = 0x7FC00000 : f32} : tensor<4xf32>
  return
}

// -----

func.func @gate_bias(%h: tensor<4xf32>) {
  // expected-error @+1 {{requires 'bias' to be finite, got -INF}}
  %0 = mhc.gate %h {bias = 0xFF800000 : f32} : tensor<4xf32>
  return
}

//===--- mhc.aggregate ---===//

// -----

func.func @aggregate_coeffs(%x: tensor<?x4x64xf32>, %s: tensor<2xf32>) {
  // expected-error @+1 {{requires 'coeffs' to have one entry per stream (4), got 'tensor<2xf32>'}}
  %0 = mhc.aggregate %x, %s : tensor<?x4x64xf32>, tensor<2xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @aggregate_result_channels(%x: tensor<?x4x64xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{requires 'result' to be ?x64 (tokens x channels, as the streams), got 'tensor<?x32xf32>'}}
  %0 = mhc.aggregate %x, %s : tensor<?x4x64xf32>, tensor<4xf32> -> tensor<?x32xf32>
  return
}

// -----

func.func @aggregate_result_tokens(%x: tensor<8x4x64xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{requires 'result' to be 8x64 (tokens x channels, as the streams), got 'tensor<7x64xf32>'}}
  %0 = mhc.aggregate %x, %s : tensor<8x4x64xf32>, tensor<4xf32> -> tensor<7x64xf32>
  return
}

// -----

func.func @aggregate_result_rank(%x: tensor<8x4x64xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{result #0 must be 2D tensor of 32-bit float values}}
  %0 = mhc.aggregate %x, %s : tensor<8x4x64xf32>, tensor<4xf32> -> tensor<8x1x64xf32>
  return
}

//===--- mhc.rms_norm ---===//

// -----

func.func @rms_norm_weight(%y: tensor<?x64xf32>, %w: tensor<32xbf16>) {
  // expected-error @+1 {{requires 'weight' to have one entry per channel (64), got 'tensor<32xbf16>'}}
  %0 = mhc.rms_norm %y, %w {eps = 1.0e-6 : f32} : tensor<?x64xf32>, tensor<32xbf16>
  return
}

// -----

func.func @rms_norm_zero_channels(%y: tensor<?x0xf32>, %w: tensor<0xbf16>) {
  // expected-error @+1 {{requires at least one channel, got 'tensor<?x0xf32>'}}
  %0 = mhc.rms_norm %y, %w {eps = 1.0e-6 : f32} : tensor<?x0xf32>, tensor<0xbf16>
  return
}

// -----

func.func @rms_norm_eps(%y: tensor<?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{requires 'eps' to be positive and finite, got 0}}
  %0 = mhc.rms_norm %y, %w {eps = 0.0 : f32} : tensor<?x64xf32>, tensor<64xf32>
  return
}

//===--- mhc.mix ---===//

// -----

func.func @mix_matrix(%x: tensor<?x4x64xf32>, %m: tensor<2x2xf32>, %s: tensor<4xf32>, %f: tensor<?x64xf32>) {
  // expected-error @+1 {{requires 'matrix' to be 4x4 (streams x streams), got 'tensor<2x2xf32>'}}
  %0 = mhc.mix %x, %m, %s, %f : tensor<?x4x64xf32>, tensor<2x2xf32>, tensor<4xf32>, tensor<?x64xf32>
  return
}

// -----

func.func @mix_coeffs(%x: tensor<?x4x64xf32>, %m: tensor<4x4xf32>, %s: tensor<5xf32>, %f: tensor<?x64xf32>) {
  // expected-error @+1 {{requires 'coeffs' to have one entry per stream (4), got 'tensor<5xf32>'}}
  %0 = mhc.mix %x, %m, %s, %f : tensor<?x4x64xf32>, tensor<4x4xf32>, tensor<5xf32>, tensor<?x64xf32>
  return
}

// -----

func.func @mix_f(%x: tensor<?x4x64xf32>, %m: tensor<4x4xf32>, %s: tensor<4xf32>, %f: tensor<?x65xf32>) {
  // expected-error @+1 {{requires 'f' to be ?x64 (tokens x channels, as the streams), got 'tensor<?x65xf32>'}}
  %0 = mhc.mix %x, %m, %s, %f : tensor<?x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x65xf32>
  return
}

//===--- mhc.fused_layer ---===//

// -----

func.func @fused_first_input(%x: tensor<?x4x64xf32>, %m: tensor<4x4xf32>) {
  // expected-error @+1 {{requires the first input (the streams) to have the result type 'tensor<?x4x64xf32>'}}
  %0 = mhc.fused_layer ins(%m, %x : tensor<4x4xf32>, tensor<?x4x64xf32>) -> tensor<?x4x64xf32> {
  ^bb0(%a: tensor<4x4xf32>, %b: tensor<?x4x64xf32>):
    mhc.yield %b : tensor<?x4x64xf32>
  }
  return
}

// -----

func.func @fused_block_args(%x: tensor<?x4x64xf32>) {
  // expected-error @+1 {{requires one block argument per input, with the input's type}}
  %0 = mhc.fused_layer ins(%x : tensor<?x4x64xf32>) -> tensor<?x4x64xf32> {
  ^bb0(%a: tensor<8x4x64xf32>):
    %c = tensor.cast %a : tensor<8x4x64xf32> to tensor<?x4x64xf32>
    mhc.yield %c : tensor<?x4x64xf32>
  }
  return
}

// -----

func.func @fused_yield(%x: tensor<?x4x64xf32>, %m: tensor<4x4xf32>) {
  // expected-error @+1 {{requires the body to yield one value of type 'tensor<?x4x64xf32>'}}
  %0 = mhc.fused_layer ins(%x, %m : tensor<?x4x64xf32>, tensor<4x4xf32>) -> tensor<?x4x64xf32> {
  ^bb0(%a: tensor<?x4x64xf32>, %b: tensor<4x4xf32>):
    mhc.yield %b : tensor<4x4xf32>
  }
  return
}

// -----

func.func @yield_outside(%x: tensor<?x4x64xf32>) {
  // expected-error @+1 {{'mhc.yield' op expects parent op to be one of 'mhc.fused_layer, mhc.fused_pre'}}
  mhc.yield %x : tensor<?x4x64xf32>
}

//===--- mhc.threads_per_block ---===//

// expected-error @+1 {{'func.func' op 'mhc.threads_per_block' must be a multiple of 32 in [32, 1024], got 100}}
func.func @threads_not_warps() attributes {mhc.threads_per_block = 100 : i64} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'mhc.threads_per_block' must be a multiple of 32 in [32, 1024], got 2048}}
func.func @threads_too_many() attributes {mhc.threads_per_block = 2048 : i64} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'mhc.threads_per_block' must be an integer, got "256"}}
func.func @threads_not_integer() attributes {mhc.threads_per_block = "256"} {
  return
}

// -----

// expected-error @+1 {{'func.func' op unknown mhc dialect attribute 'mhc.block_size'}}
func.func @unknown_attribute() attributes {mhc.block_size = 256 : i64} {
  return
}
