//===- MHCOps.td - mhc operations --------------------------*- tablegen -*-===//

#ifndef MHC_DIALECT_MHC_IR_MHCOPS_TD
#define MHC_DIALECT_MHC_IR_MHCOPS_TD

include "mhc/Dialect/MHC/IR/MHCDialect.td"
include "mhc/Dialect/MHC/IR/MHCAttrs.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type and attribute constraints
//===----------------------------------------------------------------------===//

// x[b, i, c]: B tokens, n streams, C channels.
def MHC_StreamsTensor : TensorRankOf<[F32], [3]>;
// y[b, c]: one row of C channels per token.
def MHC_RowsTensor : TensorRankOf<[F32], [2]>;
// H_res / M: n x n.
def MHC_MatrixTensor : TensorRankOf<[F32], [2]>;
// H_pre, H_post and the coefficients derived from them: n.
def MHC_CoeffTensor : TensorRankOf<[F32], [1]>;
// The RMSNorm weight: C, f32 or bf16 (upcast to f32 for the math).
def MHC_WeightTensor : TensorRankOf<[F32, BF16], [1]>;
// Sinkhorn's logits and result: one n x n matrix, or one per token [B, n, n].
def MHC_SinkhornTensor : TensorRankOf<[F32], [2, 3]>;

def MHC_SinkhornIters
    : ConfinedAttr<DefaultValuedAttr<I64Attr, "20">, [IntMinValue<1>]>;
def MHC_SinkhornInitDefault
    : DefaultValuedAttr<MHC_SinkhornInitAttr, "::mlir::mhc::SinkhornInit::Exp">;
def MHC_SinkhornEps : DefaultValuedAttr<F32Attr, "1.0e-6">;
def MHC_OrientationDefault
    : DefaultValuedAttr<MHC_MixOrientationAttr,
                        "::mlir::mhc::MixOrientation::Direct">;

//===----------------------------------------------------------------------===//
// mhc.static_layer
//===----------------------------------------------------------------------===//

def MHC_StaticLayerOp : MHC_Op<"static_layer",
    [Pure, AllTypesMatch<["x", "out"]>]> {
  let summary = "the static-H mHC layer, with RMSNorm standing in for F";
  let description = [{
    One manifold-constrained Hyper-Connection layer with static coefficients
    (the Tier-1 semantics):

    ```
    M       = Sinkhorn(h_res)                     // per sinkhorn_init, iters
    s_pre   = sigmoid(h_pre) + pre_eps            // [n]
    s_post  = 2 * sigmoid(h_post)                 // [n]
    y[b,c]  = sum_i s_pre[i] * x[b,i,c]
    f[b,c]  = y[b,c] / sqrt(mean_c(y[b,:]^2) + eps) * weight[c]
    out[b,i,c] = sum_j M'[i,j] * x[b,j,c] + s_post[i] * f[b,c]
    ```

    where `M' = M` for `orientation = direct` and `M^T` for `transposed`.
    The weight may be f32 or bf16; all arithmetic and accumulation is f32.
    The DeepSeek-V4 convention is `sinkhorn_init = softmax`,
    `orientation = transposed`, `pre_eps = sinkhorn_eps`.

    The layer reads `x` once and writes `out` once: the fusion and GPU
    lowering turn it into a single kernel. `--mhc-decompose` splits it into
    its parts.

    Example:

    ```mlir
    %out = mhc.static_layer %x, %h_res, %h_pre, %h_post, %w {eps = 1.0e-06 : f32}
        : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>,
          tensor<4096xbf16>
    ```
  }];
  let arguments = (ins
    MHC_StreamsTensor:$x,
    MHC_MatrixTensor:$h_res,
    MHC_CoeffTensor:$h_pre,
    MHC_CoeffTensor:$h_post,
    MHC_WeightTensor:$weight,
    F32Attr:$eps,
    MHC_SinkhornIters:$sinkhorn_iters,
    MHC_SinkhornInitDefault:$sinkhorn_init,
    MHC_SinkhornEps:$sinkhorn_eps,
    DefaultValuedAttr<F32Attr, "0.0">:$pre_eps,
    MHC_OrientationDefault:$orientation
  );
  let results = (outs MHC_StreamsTensor:$out);
  let assemblyFormat = [{
    $x `,` $h_res `,` $h_pre `,` $h_post `,` $weight attr-dict `:`
    type($x) `,` type($h_res) `,` type($h_pre) `,` type($h_post) `,`
    type($weight)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// mhc.sinkhorn
//===----------------------------------------------------------------------===//

def MHC_SinkhornOp : MHC_Op<"sinkhorn", [Pure, SameOperandsAndResultType]> {
  let summary = "project n x n logits onto the doubly stochastic matrices";
  let description = [{
    Sinkhorn-Knopp projection of the logits `H` (n x n, or one n x n matrix
    per token: [B, n, n]) onto the doubly
    stochastic matrices, with the convention chosen by `init` (see
    `SinkhornInit`) and `iters` rounds. `eps` is used only by the `softmax`
    convention. With `exp`, the logits are shifted by their row maximum first
    (the result is the same, and large logits cannot overflow), and a row or
    column whose sum underflows to zero is left at zero instead of becoming
    NaN.

    Folds to a constant when the logits are one constant matrix.

    Example:

    ```mlir
    %m = mhc.sinkhorn %h_res {iters = 20 : i64, init = #mhc.sinkhorn_init<softmax>}
        : tensor<4x4xf32>
    %per_token = mhc.sinkhorn %logits : tensor<?x4x4xf32>
    ```
  }];
  let arguments = (ins
    MHC_SinkhornTensor:$logits,
    MHC_SinkhornIters:$iters,
    MHC_SinkhornInitDefault:$init,
    MHC_SinkhornEps:$eps
  );
  let results = (outs MHC_SinkhornTensor:$result);
  let assemblyFormat = "$logits attr-dict `:` type($logits)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// mhc.gate
//===----------------------------------------------------------------------===//

def MHC_GateOp : MHC_Op<"gate", [Pure, SameOperandsAndResultType]> {
  let summary = "stream coefficients: scale * sigmoid(logits) + bias";
  let description = [{
    Turns the `n` pre or post logits into stream coefficients,
    `s[i] = scale * sigmoid(h[i]) + bias`. The pre coefficients of the paper
    are `scale = 1, bias = 0`; the post coefficients `scale = 2, bias = 0`;
    the DeepSeek-V4 code adds its eps to the pre coefficients (`bias = eps`).

    Folds to a constant when the logits are a constant.

    Example:

    ```mlir
    %s_post = mhc.gate %h_post {scale = 2.0 : f32} : tensor<4xf32>
    ```
  }];
  let arguments = (ins
    MHC_CoeffTensor:$logits,
    DefaultValuedAttr<F32Attr, "1.0">:$scale,
    DefaultValuedAttr<F32Attr, "0.0">:$bias
  );
  let results = (outs MHC_CoeffTensor:$result);
  let assemblyFormat = "$logits attr-dict `:` type($logits)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// mhc.aggregate
//===----------------------------------------------------------------------===//

def MHC_AggregateOp : MHC_Op<"aggregate", [Pure]> {
  let summary = "read the streams into one row: sum_i s[i] * x[b, i, :]";
  let description = [{
    Aggregates the `n` streams of every token with the coefficients `s`:
    `y[b, c] = sum_i s[i] * x[b, i, c]`, summed in stream order `i = 0..n-1`.

    Example:

    ```mlir
    %y = mhc.aggregate %x, %s_pre
        : tensor<?x4x4096xf32>, tensor<4xf32> -> tensor<?x4096xf32>
    ```
  }];
  let arguments = (ins MHC_StreamsTensor:$x, MHC_CoeffTensor:$coeffs);
  let results = (outs MHC_RowsTensor:$result);
  let assemblyFormat = [{
    $x `,` $coeffs attr-dict `:` type($x) `,` type($coeffs) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// mhc.rms_norm
//===----------------------------------------------------------------------===//

def MHC_RMSNormOp : MHC_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMSNorm of every row, scaled by a f32 or bf16 weight";
  let description = [{
    `result[b, c] = input[b, c] / sqrt(mean_c(input[b, :]^2) + eps) * weight[c]`.
    A bf16 weight is upcast to f32; the mean is accumulated in f32.

    Example:

    ```mlir
    %f = mhc.rms_norm %y, %w {eps = 1.0e-06 : f32}
        : tensor<?x4096xf32>, tensor<4096xbf16>
    ```
  }];
  let arguments = (ins MHC_RowsTensor:$input, MHC_WeightTensor:$weight,
                       F32Attr:$eps);
  let results = (outs MHC_RowsTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// mhc.mix
//===----------------------------------------------------------------------===//

def MHC_MixOp : MHC_Op<"mix", [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "mix the streams and write the sublayer output back";
  let description = [{
    `result[b, i, c] = sum_j M'[i, j] * x[b, j, c] + s[i] * f[b, c]`, with
    `M' = M` for `orientation = direct` and `M^T` for `transposed`, summed in
    stream order `j = 0..n-1`. `f` is the sublayer's output for the token.

    Example:

    ```mlir
    %out = mhc.mix %x, %m, %s_post, %f
        : tensor<?x4x4096xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x4096xf32>
    ```
  }];
  let arguments = (ins
    MHC_StreamsTensor:$x,
    MHC_MatrixTensor:$matrix,
    MHC_CoeffTensor:$coeffs,
    MHC_RowsTensor:$f,
    MHC_OrientationDefault:$orientation
  );
  let results = (outs MHC_StreamsTensor:$result);
  let assemblyFormat = [{
    $x `,` $matrix `,` $coeffs `,` $f attr-dict `:` type($x) `,`
    type($matrix) `,` type($coeffs) `,` type($f)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// mhc.fused_layer / mhc.yield
//===----------------------------------------------------------------------===//

def MHC_FusedLayerOp : MHC_Op<"fused_layer", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "a fused hyper-connection: one pass over x, one kernel";
  let description = [{
    A unit that `--mhc-fuse` forms from a chain that reads the same streams
    `x` (the first input): the parameter work on the small inputs (Sinkhorn,
    gates) as a prologue, then aggregate -> row-local F -> mix. The body is the
    original ops, isolated from above; its block arguments stand for the
    inputs. The GPU lowering turns the whole unit into one kernel that reads
    `x` once and writes the result once, with no scratch buffer.

    Example:

    ```mlir
    %out = mhc.fused_layer ins(%x, %h_res, %h_pre, %h_post, %w
        : tensor<?x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>,
          tensor<64xbf16>) -> tensor<?x4x64xf32> {
    ^bb0(%bx: tensor<?x4x64xf32>, %br: tensor<4x4xf32>, %bp: tensor<4xf32>,
         %bq: tensor<4xf32>, %bw: tensor<64xbf16>):
      %m = mhc.sinkhorn %br : tensor<4x4xf32>
      %s_pre = mhc.gate %bp : tensor<4xf32>
      %s_post = mhc.gate %bq {scale = 2.0 : f32} : tensor<4xf32>
      %y = mhc.aggregate %bx, %s_pre : tensor<?x4x64xf32>, tensor<4xf32> -> tensor<?x64xf32>
      %f = mhc.rms_norm %y, %bw {eps = 1.0e-06 : f32} : tensor<?x64xf32>, tensor<64xbf16>
      %o = mhc.mix %bx, %m, %s_post, %f
          : tensor<?x4x64xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x64xf32>
      mhc.yield %o : tensor<?x4x64xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs);
  let results = (outs MHC_StreamsTensor:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `ins` `(` $inputs `:` type($inputs) `)` `->` type($result)
    attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

def MHC_YieldOp : MHC_Op<"yield", [Pure, Terminator, ReturnLike,
    ParentOneOf<["FusedLayerOp", "FusedPreOp"]>]> {
  let summary = "the results of a fused unit";
  let description = [{
    Ends the body of `mhc.fused_layer` (the streams it produces) or of
    `mhc.fused_pre` (y and the token's coefficients).

    ```mlir
    mhc.yield %o : tensor<?x4x64xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
  let builders = [OpBuilder<(ins), [{ /* nothing to yield */ }]>];
}

include "mhc/Dialect/MHC/IR/MHCDynamicOps.td"

#endif // MHC_DIALECT_MHC_IR_MHCOPS_TD
