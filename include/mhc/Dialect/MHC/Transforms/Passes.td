//===- Passes.td - mhc transformation passes ---------------*- tablegen -*-===//

#ifndef MHC_DIALECT_MHC_TRANSFORMS_PASSES_TD
#define MHC_DIALECT_MHC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def MHCDecompose : Pass<"mhc-decompose"> {
  let summary = "Split mhc.static_layer and mhc.dynamic_layer into their parts";
  let description = [{
    Rewrites every `mhc.static_layer` into the ops it is made of:
    `mhc.sinkhorn` on `h_res`, `mhc.gate` for the pre (`bias = pre_eps`) and
    post (`scale = 2`) coefficients, `mhc.aggregate`, `mhc.rms_norm` and
    `mhc.mix`; and every `mhc.dynamic_layer` into `mhc.coefficients`,
    `mhc.pre`, its stand-in sublayer `mhc.rms_norm` (in f32: `arith.extf` and
    `arith.truncf` around it for bf16 activations) and `mhc.post`. The
    attributes carry over one to one, so the result computes the same
    function.
  }];
  let dependentDialects = ["::mlir::mhc::MHCDialect",
                           "::mlir::arith::ArithDialect"];
}

def MHCFuse : Pass<"mhc-fuse"> {
  let summary = "Group a layer's ops into the units the GPU lowering emits as "
                "kernels (mhc.fused_layer, mhc.fused_pre)";
  let description = [{
    Starting from every `mhc.mix`, looks for the chain that reads the same
    streams `x`: `mix(x, M, s_post, rms_norm(aggregate(x, s_pre), w))`, where
    `M` and the coefficients come from `mhc.sinkhorn` / `mhc.gate` (the
    prologue) or from values defined outside. The chain becomes one
    `mhc.fused_layer` whose body holds clones of the chain and its prologue;
    the fused unit reads `x` once and writes its result once.

    The pass leaves the ops as they are, unfused and correct, when:
    - an intermediate (the aggregate or the RMSNorm result) has another user
      that needs it materialized;
    - the sublayer F between aggregate and mix is not row-local (for example
      an opaque `func.call`), or the aggregate reads other streams than the mix.
    Prologue ops with other users are cloned into the unit (they are n x n
    work) and stay for those users.

    Dynamic H: every `mhc.pre` whose `h_pre` is computed by an
    `mhc.coefficients` of the same streams becomes, with that op, one
    `mhc.fused_pre` placed where the coefficients were, which yields `y` and
    all three coefficients (the post and any other user read them from the
    unit). A pre of other streams, or of an `h_pre` changed after the
    coefficients, stays as it is. `mhc.post` is a unit by itself (one
    kernel); F between pre and post is never fused: an opaque sublayer
    (`func.call`) separates the two units.
  }];
  let dependentDialects = ["::mlir::mhc::MHCDialect"];
}

def MHCRaiseFromLinalg : Pass<"mhc-raise-from-linalg"> {
  let summary = "Replace mHC computations written in linalg with mhc ops";
  let description = [{
    Recognizes the parts of an mHC layer as a front end that lowers to
    linalg on tensors writes them (torch-mlir, StableHLO-to-linalg, IREE's
    input conversion: one `linalg.generic` or named op per tensor op) and
    replaces each with the mhc op it computes, so that `mhc-fuse` and the
    GPU lowering make one kernel of them:

    - `mhc.gate`: `scale * sigmoid(h) + bias` with
      `sigmoid(h) = 1 / (1 + exp(-h))` on an `[n]` tensor (`scale`, `bias`
      optional constants).
    - `mhc.sinkhorn`: `exp(H)` (or `exp(H - rowmax(H))`, or `linalg.softmax`
      over rows), then line normalizations `M / (linesum(M) [+ eps])`
      (rows, then columns) unrolled or in an `scf.for` with constant bounds;
      the convention (`exp` or `softmax` with its `eps`) and `iters` are read
      from the chain.
    - `mhc.aggregate`: `sum_i s[i] * x[b, i, c]` as a contraction generic
      (or an elementwise product then a sum over the streams).
    - `mhc.rms_norm`: `y * w / sqrt(sum_c(y^2) / C + eps)`, with `rsqrt` or
      a division, `1/C` or `C` (static, or `tensor.dim` of `y`), an f32 or
      bf16 (`arith.extf`) weight.
    - `mhc.mix`: `sum_j M'[i, j] x[b, j, c] + s[i] * f[b, c]` as a
      contraction generic or `linalg.batch_matmul` of the broadcast matrix
      (`linalg.broadcast`, after `linalg.transpose` for `M^T`); the
      orientation is read from the indexing.
    - `mhc.pre` and `mhc.post` (dynamic H): the aggregation with one
      coefficient per token `h[b, i]`, and the mix with per-token matrices
      `M[b]` (a contraction generic or `linalg.batch_matmul`, transposed
      through `linalg.transpose` of the last two dimensions) and `h[b, i]`;
      f32, or bf16 activations widened with `arith.extf`, summed in f32 and
      rounded once with `arith.truncf` (rounding twice is a near miss).

    Elementwise generics that feed a matched op and have no other user are
    read through, as linalg's elementwise fusion would merge them. A
    computation is raised only when it is the mhc op exactly: another
    constant (eps, 1/C, the softmax addend), a reduction over another
    dimension than the one broadcast back, a shift by anything but the row
    maximum, or an intermediate with a user outside the computation leaves
    it as it is. Raising an `exp` chain without the max shift is exact in
    the math and removes the overflow of `exp` for large logits.
  }];
  let dependentDialects = ["::mlir::mhc::MHCDialect"];
}

def MHCWriteGPUBinaries : Pass<"mhc-write-gpu-binaries", "::mlir::ModuleOp"> {
  let summary = "Write every gpu.binary object to a file";
  let description = [{
    After `gpu-module-to-binary`, writes the object of every `gpu.binary` to
    `<output-prefix><binary name>.<ext>`, where the extension is `ptx` for
    `format = isa` and `cubin` / `fatbin` for binaries. The IR is unchanged.
    This is how the runtime build and users take the kernel mhc-opt emits.
  }];
  let options = [
    Option<"outputPrefix", "output-prefix", "std::string", "\"\"",
           "Path prefix of the written files (a directory needs its '/')">,
  ];
}

#endif // MHC_DIALECT_MHC_TRANSFORMS_PASSES_TD
