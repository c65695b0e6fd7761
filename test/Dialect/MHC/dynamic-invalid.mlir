// RUN: mhc-opt %s -split-input-file -verify-diagnostics

// One case per verifier rule of the dynamic-H ops.

//===--- mhc.coefficients ---===//

func.func @x_rank(%x: tensor<4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{operand #0 must be 3D tensor of 32-bit float or bfloat16 type values}}
  %0:3 = "mhc.coefficients"(%x, %phi, %a, %b) {eps = 1.0e-6 : f32} : (tensor<4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>)
  return
}

// -----

func.func @x_f16(%x: tensor<?x4x8xf16>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{operand #0 must be 3D tensor of 32-bit float or bfloat16 type values}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32} : tensor<?x4x8xf16>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return
}

// -----

func.func @dynamic_streams(%x: tensor<?x?x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{requires the stream count (dimension 1 of 'x') to be static}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32} : tensor<?x?x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return
}

// -----

func.func @phi_rows(%x: tensor<?x4x8xf32>, %phi: tensor<33x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{requires 'phi' to be 32x24 (streams * channels x streams^2 + 2 streams), got 'tensor<33x24xf32>'}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32} : tensor<?x4x8xf32>, tensor<33x24xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return
}

// -----

func.func @phi_columns(%x: tensor<?x4x8xf32>, %phi: tensor<32x20xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{requires 'phi' to be 32x24 (streams * channels x streams^2 + 2 streams), got 'tensor<32x20xf32>'}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32} : tensor<?x4x8xf32>, tensor<32x20xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return
}

// -----

func.func @alpha_size(%x: tensor<?x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<2xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{requires 'alpha' to hold the 3 scales (pre, post, res), got 'tensor<2xf32>'}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32} : tensor<?x4x8xf32>, tensor<32x24xf32>, tensor<2xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return
}

// -----

func.func @bias_size(%x: tensor<?x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<20xf32>) {
  // expected-error @+1 {{requires 'bias' to have one entry per column of 'phi' (24), got 'tensor<20xf32>'}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32} : tensor<?x4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<20xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return
}

// -----

func.func @h_pre_tokens(%x: tensor<5x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{requires 'h_pre' to be 5x4 (tokens x streams), got 'tensor<6x4xf32>'}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32} : tensor<5x4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<6x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return
}

// -----

func.func @h_post_streams(%x: tensor<?x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{requires 'h_post' to be ?x4 (tokens x streams), got 'tensor<?x3xf32>'}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32} : tensor<?x4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x3xf32>, tensor<?x4x4xf32>
  return
}

// -----

func.func @matrix_shape(%x: tensor<?x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{requires 'matrix' to be ?x4x4 (tokens x streams x streams), got 'tensor<?x4x2xf32>'}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32} : tensor<?x4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x2xf32>
  return
}

// -----

func.func @eps_zero(%x: tensor<?x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{requires 'eps' to be positive and finite, got 0}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 0.0 : f32} : tensor<?x4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return
}

// -----

func.func @sinkhorn_eps_negative(%x: tensor<?x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{requires 'sinkhorn_eps' to be positive and finite, got -1}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32, sinkhorn_eps = -1.0 : f32} : tensor<?x4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return
}

// -----

func.func @pre_eps_negative(%x: tensor<?x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{requires 'pre_eps' to be non-negative, got -1}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32, pre_eps = -1.0 : f32} : tensor<?x4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return
}

// -----

func.func @pre_eps_nan(%x: tensor<?x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>) {
  // expected-error @+1 {{requires 'pre_eps' to be finite, got nan}}
  %0:3 = mhc.coefficients %x, %phi, %a, %b {eps = 1.0e-6 : f32, pre_eps = 0x7FC00000 : f32} : tensor<?x4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
  return
}

//===--- mhc.pre ---===//

// -----

func.func @pre_y_type(%x: tensor<?x4x8xbf16>, %h: tensor<?x4xf32>) {
  // expected-error @+1 {{requires 'y' to have the element type of 'x' ('bf16'), got 'tensor<?x8xf32>'}}
  %0 = mhc.pre %x, %h : tensor<?x4x8xbf16>, tensor<?x4xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @pre_h_pre(%x: tensor<?x4x8xf32>, %h: tensor<?x2xf32>) {
  // expected-error @+1 {{requires 'h_pre' to be ?x4 (tokens x streams), got 'tensor<?x2xf32>'}}
  %0 = mhc.pre %x, %h : tensor<?x4x8xf32>, tensor<?x2xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @pre_y_channels(%x: tensor<?x4x8xf32>, %h: tensor<?x4xf32>) {
  // expected-error @+1 {{requires 'y' to be ?x8 (tokens x channels, as the streams), got 'tensor<?x9xf32>'}}
  %0 = mhc.pre %x, %h : tensor<?x4x8xf32>, tensor<?x4xf32> -> tensor<?x9xf32>
  return
}

//===--- mhc.post ---===//

// -----

func.func @post_f_tokens(%x: tensor<2x4x8xf32>, %f: tensor<3x8xf32>, %m: tensor<2x4x4xf32>, %h: tensor<2x4xf32>) {
  // expected-error @+1 {{requires 'f' to be 2x8 (tokens x channels, as the streams), got 'tensor<3x8xf32>'}}
  %0 = mhc.post %x, %f, %m, %h : tensor<2x4x8xf32>, tensor<3x8xf32>, tensor<2x4x4xf32>, tensor<2x4xf32>
  return
}

// -----

func.func @post_matrix(%x: tensor<2x4x8xf32>, %f: tensor<2x8xf32>, %m: tensor<2x4x3xf32>, %h: tensor<2x4xf32>) {
  // expected-error @+1 {{requires 'matrix' to be 2x4x4 (tokens x streams x streams), got 'tensor<2x4x3xf32>'}}
  %0 = mhc.post %x, %f, %m, %h : tensor<2x4x8xf32>, tensor<2x8xf32>, tensor<2x4x3xf32>, tensor<2x4xf32>
  return
}

// -----

func.func @post_h_post(%x: tensor<2x4x8xf32>, %f: tensor<2x8xf32>, %m: tensor<2x4x4xf32>, %h: tensor<1x4xf32>) {
  // expected-error @+1 {{requires 'h_post' to be 2x4 (tokens x streams), got 'tensor<1x4xf32>'}}
  %0 = mhc.post %x, %f, %m, %h : tensor<2x4x8xf32>, tensor<2x8xf32>, tensor<2x4x4xf32>, tensor<1x4xf32>
  return
}

// -----

func.func @post_out_type(%x: tensor<2x4x8xf32>, %f: tensor<2x8xf32>, %m: tensor<2x4x4xf32>, %h: tensor<2x4xf32>) {
  // expected-error @+1 {{failed to verify that all of {x, out} have same type}}
  %0 = "mhc.post"(%x, %f, %m, %h) : (tensor<2x4x8xf32>, tensor<2x8xf32>, tensor<2x4x4xf32>, tensor<2x4xf32>) -> tensor<2x4x8xbf16>
  return
}

//===--- mhc.dynamic_layer ---===//

// -----

func.func @layer_weight(%x: tensor<?x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>, %w: tensor<7xbf16>) {
  // expected-error @+1 {{requires 'weight' to have one entry per channel (8), got 'tensor<7xbf16>'}}
  %0 = mhc.dynamic_layer %x, %phi, %a, %b, %w {eps = 1.0e-6 : f32, coefficient_eps = 1.0e-6 : f32} : tensor<?x4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32>, tensor<7xbf16>
  return
}

// -----

func.func @layer_coefficient_eps(%x: tensor<?x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>, %w: tensor<8xbf16>) {
  // expected-error @+1 {{requires 'coefficient_eps' to be positive and finite, got 0}}
  %0 = mhc.dynamic_layer %x, %phi, %a, %b, %w {eps = 1.0e-6 : f32, coefficient_eps = 0.0 : f32} : tensor<?x4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32>, tensor<8xbf16>
  return
}

// -----

func.func @layer_eps(%x: tensor<?x4x8xf32>, %phi: tensor<32x24xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>, %w: tensor<8xbf16>) {
  // expected-error @+1 {{requires 'eps' to be positive and finite, got -1}}
  %0 = mhc.dynamic_layer %x, %phi, %a, %b, %w {eps = -1.0 : f32, coefficient_eps = 1.0e-6 : f32} : tensor<?x4x8xf32>, tensor<32x24xf32>, tensor<3xf32>, tensor<24xf32>, tensor<8xbf16>
  return
}

// -----

func.func @layer_phi(%x: tensor<?x4x8xf32>, %phi: tensor<32x25xf32>, %a: tensor<3xf32>, %b: tensor<24xf32>, %w: tensor<8xbf16>) {
  // expected-error @+1 {{requires 'phi' to be 32x24 (streams * channels x streams^2 + 2 streams), got 'tensor<32x25xf32>'}}
  %0 = mhc.dynamic_layer %x, %phi, %a, %b, %w {eps = 1.0e-6 : f32, coefficient_eps = 1.0e-6 : f32} : tensor<?x4x8xf32>, tensor<32x25xf32>, tensor<3xf32>, tensor<24xf32>, tensor<8xbf16>
  return
}

//===--- mhc.sinkhorn per token ---===//

// -----

func.func @sinkhorn_per_token_not_square(%h: tensor<?x4x3xf32>) {
  // expected-error @+1 {{requires 'logits' to be a static, non-empty square matrix (n x n, or one per token: B x n x n), got 'tensor<?x4x3xf32>'}}
  %0 = mhc.sinkhorn %h : tensor<?x4x3xf32>
  return
}


//===--- mhc.fused_pre ---===//

// -----

func.func @fused_pre_yield_types(%x: tensor<4x2x8xf32>, %phi: tensor<16x8xf32>, %a: tensor<3xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{requires the body to yield values of the result types (y, h_pre, h_post, matrix)}}
  %y, %hp, %hq, %m = mhc.fused_pre ins(%x, %phi, %a, %b : tensor<4x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32>)
      -> tensor<4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2x2xf32> {
  ^bb0(%bx: tensor<4x2x8xf32>, %bphi: tensor<16x8xf32>, %ba: tensor<3xf32>, %bb: tensor<8xf32>):
    %p, %q, %bm = mhc.coefficients %bx, %bphi, %ba, %bb {eps = 1.0e-06 : f32}
        : tensor<4x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32> -> tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2x2xf32>
    %by = mhc.pre %bx, %p : tensor<4x2x8xf32>, tensor<4x2xf32> -> tensor<4x8xf32>
    mhc.yield %by, %p, %q : tensor<4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>
  }
  return
}

// -----

func.func @fused_pre_block_arguments(%x: tensor<4x2x8xf32>, %phi: tensor<16x8xf32>, %a: tensor<3xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{requires one block argument per input, with the input's type}}
  %y, %hp, %hq, %m = mhc.fused_pre ins(%x, %phi, %a, %b : tensor<4x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32>)
      -> tensor<4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2x2xf32> {
  ^bb0(%bx: tensor<?x2x8xf32>, %bphi: tensor<16x8xf32>, %ba: tensor<3xf32>, %bb: tensor<8xf32>):
    %p, %q, %bm = mhc.coefficients %bx, %bphi, %ba, %bb {eps = 1.0e-06 : f32}
        : tensor<?x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32> -> tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32>
    %by = mhc.pre %bx, %p : tensor<?x2x8xf32>, tensor<?x2xf32> -> tensor<?x8xf32>
    mhc.yield %by, %p, %q, %bm : tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2x2xf32>
  }
  return
}

// -----

// Something between the coefficients and the pre: not the unit.
func.func @fused_pre_body(%x: tensor<4x2x8xf32>, %phi: tensor<16x8xf32>, %a: tensor<3xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{requires the body to be mhc.coefficients of the block arguments and mhc.pre of the first with its h_pre, yielding (y, h_pre, h_post, matrix)}}
  %y, %hp, %hq, %m = mhc.fused_pre ins(%x, %phi, %a, %b : tensor<4x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32>)
      -> tensor<4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2x2xf32> {
  ^bb0(%bx: tensor<4x2x8xf32>, %bphi: tensor<16x8xf32>, %ba: tensor<3xf32>, %bb: tensor<8xf32>):
    %p, %q, %bm = mhc.coefficients %bx, %bphi, %ba, %bb {eps = 1.0e-06 : f32}
        : tensor<4x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32> -> tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2x2xf32>
    %p2 = arith.mulf %p, %p : tensor<4x2xf32>
    %by = mhc.pre %bx, %p2 : tensor<4x2x8xf32>, tensor<4x2xf32> -> tensor<4x8xf32>
    mhc.yield %by, %p2, %q, %bm : tensor<4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2x2xf32>
  }
  return
}

// -----

// The yielded values out of order.
func.func @fused_pre_yield_order(%x: tensor<4x2x8xf32>, %phi: tensor<16x8xf32>, %a: tensor<3xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{requires the body to be mhc.coefficients of the block arguments}}
  %y, %hp, %hq, %m = mhc.fused_pre ins(%x, %phi, %a, %b : tensor<4x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32>)
      -> tensor<4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2x2xf32> {
  ^bb0(%bx: tensor<4x2x8xf32>, %bphi: tensor<16x8xf32>, %ba: tensor<3xf32>, %bb: tensor<8xf32>):
    %p, %q, %bm = mhc.coefficients %bx, %bphi, %ba, %bb {eps = 1.0e-06 : f32}
        : tensor<4x2x8xf32>, tensor<16x8xf32>, tensor<3xf32>, tensor<8xf32> -> tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2x2xf32>
    %by = mhc.pre %bx, %p : tensor<4x2x8xf32>, tensor<4x2xf32> -> tensor<4x8xf32>
    mhc.yield %by, %q, %p, %bm : tensor<4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2x2xf32>
  }
  return
}
