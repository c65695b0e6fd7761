//===- MHCDynamicOps.td - mhc dynamic-H operations ---------*- tablegen -*-===//
//
// The layer as trained models use it (Tier 2 of the spec): the coefficients
// computed per token from the streams, and the layer split at a real
// sublayer F into the pre (streams -> F's input) and the post (F's output ->
// streams). Included by MHCOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_DIALECT_MHC_IR_MHCDYNAMICOPS_TD
#define MHC_DIALECT_MHC_IR_MHCDYNAMICOPS_TD

// Activations: x [B, n, C], and F's input and output [B, C], in f32 or bf16
// (the arithmetic is f32 either way).
def MHC_ActivationStreams : TensorRankOf<[F32, BF16], [3]>;
def MHC_ActivationRows : TensorRankOf<[F32, BF16], [2]>;
// phi [n C, n^2 + 2n]: the projection of a token's flattened streams onto its
// coefficients, f32 or bf16.
def MHC_ProjectionTensor : TensorRankOf<[F32, BF16], [2]>;
// Per-token coefficients [B, n] and mixing matrices [B, n, n], f32.
def MHC_TokenCoeffs : TensorRankOf<[F32], [2]>;
def MHC_TokenMatrices : TensorRankOf<[F32], [3]>;

//===----------------------------------------------------------------------===//
// mhc.coefficients
//===----------------------------------------------------------------------===//

def MHC_CoefficientsOp : MHC_Op<"coefficients", [Pure]> {
  let summary = "per-token coefficients projected from the streams";
  let description = [{
    The dynamic-H coefficients of every token `b`, from its flattened
    streams `xf[b] = x[b, :, :]` (n C values, upcast to f32) and the
    projection `phi` ([n C, m], m = n^2 + 2n; columns: pre (n), post (n),
    res (n^2, row-major [out, in])):

    ```
    r[b]      = 1 / sqrt(mean_k xf[b, k]^2 + eps)
    mix[b, :] = (xf[b, :] @ phi) * r[b]
    h_pre[b]  = sigmoid(alpha[0] * mix[b, 0:n]   + bias[0:n])  + pre_eps
    h_post[b] = 2 * sigmoid(alpha[1] * mix[b, n:2n] + bias[n:2n])
    M[b]      = Sinkhorn(alpha[2] * mix[b, 2n:].reshape(n, n)
                         + bias[2n:].reshape(n, n))
    ```

    with Sinkhorn as `mhc.sinkhorn` (`sinkhorn_iters`, `sinkhorn_init`,
    `sinkhorn_eps`). `M` is returned as computed; the post applies `M` or
    `M^T`. All arithmetic is f32; a bf16 `x` or `phi` is upcast exactly.
    With `alpha = 0` every token gets the static coefficients of
    `bias` (`mhc.static_layer` with h_pre, h_post, h_res taken from it).
    The DeepSeek-V4 convention: `sinkhorn_init = softmax`,
    `pre_eps = sinkhorn_eps = 1e-6`, 20 iterations.

    Example:

    ```mlir
    %h_pre, %h_post, %m = mhc.coefficients %x, %phi, %alpha, %bias
        {eps = 1.0e-06 : f32, sinkhorn_init = #mhc.sinkhorn_init<softmax>}
        : tensor<?x4x4096xbf16>, tensor<16384x24xbf16>, tensor<3xf32>,
          tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4x4xf32>
    ```
  }];
  let arguments = (ins
    MHC_ActivationStreams:$x,
    MHC_ProjectionTensor:$phi,
    TensorRankOf<[F32], [1]>:$alpha,
    TensorRankOf<[F32], [1]>:$bias,
    F32Attr:$eps,
    DefaultValuedAttr<F32Attr, "0.0">:$pre_eps,
    MHC_SinkhornIters:$sinkhorn_iters,
    MHC_SinkhornInitDefault:$sinkhorn_init,
    MHC_SinkhornEps:$sinkhorn_eps
  );
  let results = (outs MHC_TokenCoeffs:$h_pre, MHC_TokenCoeffs:$h_post,
                      MHC_TokenMatrices:$matrix);
  let assemblyFormat = [{
    $x `,` $phi `,` $alpha `,` $bias attr-dict `:` type($x) `,` type($phi) `,`
    type($alpha) `,` type($bias) `->` type($h_pre) `,` type($h_post) `,`
    type($matrix)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// mhc.pre
//===----------------------------------------------------------------------===//

def MHC_PreOp : MHC_Op<"pre", [Pure]> {
  let summary = "read the streams into the sublayer's input, per token";
  let description = [{
    `y[b, c] = sum_i h_pre[b, i] * x[b, i, c]`, summed in f32 in stream order
    and rounded once to the element type of `y`, which is that of `x`.
    `y` is the input of the sublayer F (attention or MLP).

    Example:

    ```mlir
    %y = mhc.pre %x, %h_pre : tensor<?x4x4096xbf16>, tensor<?x4xf32>
        -> tensor<?x4096xbf16>
    ```
  }];
  let arguments = (ins MHC_ActivationStreams:$x, MHC_TokenCoeffs:$h_pre);
  let results = (outs MHC_ActivationRows:$y);
  let assemblyFormat = [{
    $x `,` $h_pre attr-dict `:` type($x) `,` type($h_pre) `->` type($y)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// mhc.post
//===----------------------------------------------------------------------===//

def MHC_PostOp : MHC_Op<"post", [Pure, AllTypesMatch<["x", "out"]>]> {
  let summary = "mix the streams and write the sublayer's output back";
  let description = [{
    `out[b, i, c] = sum_j M'[b, i, j] * x[b, j, c] + h_post[b, i] * f[b, c]`,
    with `M' = M` for `orientation = direct` and `M^T` for `transposed`, in f32
    (summed in stream order), rounded once to the element type of `x`. `f`,
    the sublayer's output, may be f32 or bf16.

    Example:

    ```mlir
    %out = mhc.post %x, %f, %m, %h_post {orientation = #mhc.orientation<transposed>}
        : tensor<?x4x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4x4xf32>,
          tensor<?x4xf32>
    ```
  }];
  let arguments = (ins
    MHC_ActivationStreams:$x,
    MHC_ActivationRows:$f,
    MHC_TokenMatrices:$matrix,
    MHC_TokenCoeffs:$h_post,
    MHC_OrientationDefault:$orientation
  );
  let results = (outs MHC_ActivationStreams:$out);
  let assemblyFormat = [{
    $x `,` $f `,` $matrix `,` $h_post attr-dict `:` type($x) `,` type($f) `,`
    type($matrix) `,` type($h_post)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// mhc.dynamic_layer
//===----------------------------------------------------------------------===//

def MHC_DynamicLayerOp : MHC_Op<"dynamic_layer",
    [Pure, AllTypesMatch<["x", "out"]>]> {
  let summary = "the dynamic-H layer, with RMSNorm standing in for F";
  let description = [{
    One whole dynamic-H layer, for tests and benchmarks of the pre and post
    around a stand-in sublayer: `mhc.coefficients` (with `coefficient_eps`),
    `mhc.pre`, then `f = RMSNorm(y) * weight` (`eps`, computed in f32 and
    rounded to the activations' type), then `mhc.post` (`orientation`).
    `--mhc-decompose` splits it into those ops.

    Example:

    ```mlir
    %out = mhc.dynamic_layer %x, %phi, %alpha, %bias, %w
        {eps = 1.0e-06 : f32, coefficient_eps = 1.0e-06 : f32}
        : tensor<?x4x4096xf32>, tensor<16384x24xf32>, tensor<3xf32>,
          tensor<24xf32>, tensor<4096xbf16>
    ```
  }];
  let arguments = (ins
    MHC_ActivationStreams:$x,
    MHC_ProjectionTensor:$phi,
    TensorRankOf<[F32], [1]>:$alpha,
    TensorRankOf<[F32], [1]>:$bias,
    MHC_WeightTensor:$weight,
    F32Attr:$eps,
    F32Attr:$coefficient_eps,
    DefaultValuedAttr<F32Attr, "0.0">:$pre_eps,
    MHC_SinkhornIters:$sinkhorn_iters,
    MHC_SinkhornInitDefault:$sinkhorn_init,
    MHC_SinkhornEps:$sinkhorn_eps,
    MHC_OrientationDefault:$orientation
  );
  let results = (outs MHC_ActivationStreams:$out);
  let assemblyFormat = [{
    $x `,` $phi `,` $alpha `,` $bias `,` $weight attr-dict `:` type($x) `,`
    type($phi) `,` type($alpha) `,` type($bias) `,` type($weight)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// mhc.fused_pre
//===----------------------------------------------------------------------===//

def MHC_FusedPreOp : MHC_Op<"fused_pre", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "the pre unit: coefficients and aggregation of the same streams";
  let description = [{
    A unit that `--mhc-fuse` forms from an `mhc.coefficients` and the
    `mhc.pre` that reads the same streams `x` with its `h_pre`: everything
    the layer computes before its sublayer F. The body holds the two ops,
    isolated from above, over block arguments standing for `x`, `phi`,
    `alpha` and `bias`, and yields `y`, `h_pre`, `h_post` and `M`, so that
    every user of the coefficients (the post, a backward pass) reads the
    unit's results. On the GPU the unit is the projection and the per-token
    pass that turns it into the coefficients and `y`; on the CPU its body is
    inlined.

    Example:

    ```mlir
    %y, %h_pre, %h_post, %m = mhc.fused_pre ins(%x, %phi, %alpha, %bias
        : tensor<?x4x64xf32>, tensor<256x24xf32>, tensor<3xf32>,
          tensor<24xf32>)
        -> tensor<?x64xf32>, tensor<?x4xf32>, tensor<?x4xf32>,
           tensor<?x4x4xf32> {
    ^bb0(%bx: tensor<?x4x64xf32>, %bphi: tensor<256x24xf32>,
         %ba: tensor<3xf32>, %bb: tensor<24xf32>):
      %hp, %hq, %bm = mhc.coefficients %bx, %bphi, %ba, %bb
          {eps = 1.0e-06 : f32}
          : tensor<?x4x64xf32>, tensor<256x24xf32>, tensor<3xf32>,
            tensor<24xf32> -> tensor<?x4xf32>, tensor<?x4xf32>,
            tensor<?x4x4xf32>
      %by = mhc.pre %bx, %hp : tensor<?x4x64xf32>, tensor<?x4xf32>
          -> tensor<?x64xf32>
      mhc.yield %by, %hp, %hq, %bm : tensor<?x64xf32>, tensor<?x4xf32>,
          tensor<?x4xf32>, tensor<?x4x4xf32>
    }
    ```
  }];
  let arguments = (ins
    MHC_ActivationStreams:$x,
    MHC_ProjectionTensor:$phi,
    TensorRankOf<[F32], [1]>:$alpha,
    TensorRankOf<[F32], [1]>:$bias
  );
  let results = (outs MHC_ActivationRows:$y, MHC_TokenCoeffs:$h_pre,
                      MHC_TokenCoeffs:$h_post, MHC_TokenMatrices:$matrix);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `ins` `(` $x `,` $phi `,` $alpha `,` $bias `:` type($x) `,` type($phi) `,`
    type($alpha) `,` type($bias) `)` `->` type($y) `,` type($h_pre) `,`
    type($h_post) `,` type($matrix) attr-dict-with-keyword $body
  }];
  let extraClassDeclaration = [{
    /// The ops of the body, when it is the unit `--mhc-fuse` forms:
    /// coefficients over the block arguments in order and the pre of the
    /// first with its h_pre, yielded as (y, h_pre, h_post, M).
    ::mlir::FailureOr<std::pair<CoefficientsOp, PreOp>> getUnitOps();
  }];
  let hasRegionVerifier = 1;
}

#endif // MHC_DIALECT_MHC_IR_MHCDYNAMICOPS_TD
