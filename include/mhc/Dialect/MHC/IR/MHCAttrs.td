//===- MHCAttrs.td - mhc enum attributes -------------------*- tablegen -*-===//

#ifndef MHC_DIALECT_MHC_IR_MHCATTRS_TD
#define MHC_DIALECT_MHC_IR_MHCATTRS_TD

include "mhc/Dialect/MHC/IR/MHCDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def MHC_SinkhornInitExp : I32EnumAttrCase<"Exp", 0, "exp">;
def MHC_SinkhornInitSoftmax : I32EnumAttrCase<"Softmax", 1, "softmax">;

def MHC_SinkhornInit : I32EnumAttr<"SinkhornInit",
    "how Sinkhorn-Knopp starts from the logits",
    [MHC_SinkhornInitExp, MHC_SinkhornInitSoftmax]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::mhc";
  let description = [{
    - `exp`: `M0 = exp(H - rowmax(H))`, then `iters` rounds of "normalize every
      row to sum 1, then every column to sum 1" (the paper's form).
    - `softmax`: the DeepSeek-V4 reference code's form:
      `M = softmax(H, dim=row) + eps; M = M / (colsum(M) + eps)`, then
      `iters - 1` rounds of `M = M / (rowsum(M) + eps); M = M / (colsum(M) + eps)`.
  }];
}

def MHC_SinkhornInitAttr : EnumAttr<MHC_Dialect, MHC_SinkhornInit,
                                    "sinkhorn_init"> {
  let assemblyFormat = "`<` $value `>`";
}

def MHC_MixOrientationDirect : I32EnumAttrCase<"Direct", 0, "direct">;
def MHC_MixOrientationTransposed : I32EnumAttrCase<"Transposed", 1,
                                                   "transposed">;

def MHC_MixOrientation : I32EnumAttr<"MixOrientation",
    "which way the mixing matrix is applied to the streams",
    [MHC_MixOrientationDirect, MHC_MixOrientationTransposed]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::mhc";
  let description = [{
    - `direct`: `out[b, i, c] = sum_j M[i, j] * x[b, j, c]` (`M x`).
    - `transposed`: `out[b, i, c] = sum_j M[j, i] * x[b, j, c]` (`M^T x`, as
      the DeepSeek-V4 reference code applies it).
  }];
}

def MHC_MixOrientationAttr : EnumAttr<MHC_Dialect, MHC_MixOrientation,
                                      "orientation"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // MHC_DIALECT_MHC_IR_MHCATTRS_TD
