//===- MHCDialect.td - mhc dialect definition --------------*- tablegen -*-===//
//
// The mhc dialect: manifold-constrained Hyper-Connections.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_DIALECT_MHC_IR_MHCDIALECT_TD
#define MHC_DIALECT_MHC_IR_MHCDIALECT_TD

include "mlir/IR/OpBase.td"

def MHC_Dialect : Dialect {
  let name = "mhc";
  let cppNamespace = "::mlir::mhc";
  let summary = "Manifold-constrained Hyper-Connections (mHC)";
  let description = [{
    The `mhc` dialect expresses manifold-constrained Hyper-Connection layers
    (DeepSeek-AI, arXiv 2512.24880). A Hyper-Connection layer keeps `n`
    residual streams of width `C` per token, `x : tensor<B x n x C x f32>`,
    and replaces the residual `x + F(x)` with

    ```
    x' = H_res . x + H_post^T . F(H_pre . x)
    ```

    where `H_res` is projected onto the doubly stochastic matrices with
    Sinkhorn-Knopp. The dialect has one op for the whole static-H layer
    (`mhc.static_layer`, with RMSNorm standing in for `F`) and one op per
    part (`mhc.sinkhorn`, `mhc.gate`, `mhc.aggregate`, `mhc.rms_norm`,
    `mhc.mix`), so the parts can be used around a real sublayer.

    All ops work on tensors. The token dimension `B` and the width `C` may be
    dynamic; the stream count `n` is always static, because it decides the
    shape of the mixing matrix and the kernel's register layout.

    Discardable attributes:
    - `mhc.threads_per_block = <i64>` on an op (typically a `func.func`)
      sets the threads per block of the kernels `convert-mhc-to-gpu` emits
      for the mhc ops nested in it, in place of the pass's
      `threads-per-block` option; the innermost one applies. A multiple of
      32 in [32, 1024]. It lets one module hold kernels of different block
      sizes, chosen per shape (the runtime's kernel library does).
  }];
  let discardableAttrs = (ins "::mlir::IntegerAttr":$threads_per_block);
  let hasOperationAttrVerify = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

class MHC_Op<string mnemonic, list<Trait> traits = []>
    : Op<MHC_Dialect, mnemonic, traits>;

#endif // MHC_DIALECT_MHC_IR_MHCDIALECT_TD
