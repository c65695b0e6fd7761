//===- DynamicPre.h - mhc runtime: the dynamic-H pre ------------*- C++ -*-===//
//
// The plan of the dynamic-H layer's pre (mhc.fused_pre): per token, the
// coefficients h_pre [n], h_post [n] and M [n, n] from the token's streams
// and the projection phi (mhc.coefficients), and the sublayer's input
// y = sum_i h_pre[i] x[i] (mhc.pre). Two launches on the caller's stream:
// the split-K projection on tensor cores into the workspace, then the
// per-token pre. Same semantics as HyperConnectionPlan (select once, run
// many times, nothing allocated per run); the workspace holds the
// projection's partial sums and depends on the batch (workspaceSize).
//
//===----------------------------------------------------------------------===//

#ifndef MHC_RUNTIME_DYNAMICPRE_H
#define MHC_RUNTIME_DYNAMICPRE_H

#include "mhc/Runtime/HyperConnection.h"

namespace mhc::runtime {

/// The pre, as mhc.coefficients and mhc.pre describe it.
struct PreDescriptor {
  int64_t streams = 4;  ///< n, 1..8.
  int64_t channels = 0; ///< C >= 1 (the vector kernels where n C is a
                        ///< multiple of 32 (bf16 x and phi) or 16, and C of
                        ///< 8 (bf16 x) or 4; else the element-wise ones).
  int64_t maxBatch = 0; ///< Largest B a run may pass; 0 means no limit.
  DType activation = DType::BF16; ///< x and y.
  DType projection = DType::BF16; ///< phi.
  float eps = 1e-6f;              ///< r = 1 / sqrt(mean(x^2) + eps), > 0.
  float preEps = 0.0f;            ///< Added to h_pre, >= 0.
  int32_t sinkhornIters = 20;
  SinkhornInit sinkhornInit = SinkhornInit::Exp;
  float sinkhornEps = 1e-6f;
};

/// Device pointers (row-major, contiguous) and the batch of one run.
struct PreArgs {
  const void *x = nullptr;     ///< [batch, n, C] of `activation`, 16-byte
                               ///< aligned for the vector kernels
  const void *phi = nullptr;   ///< [n C, n^2 + 2n] of `projection`
  const void *alpha = nullptr; ///< [3] f32 (pre, post, res scales)
  const void *bias = nullptr;  ///< [n^2 + 2n] f32
  void *y = nullptr;           ///< [batch, C] of `activation`, likewise
  void *hPre = nullptr;        ///< [batch, n] f32
  void *hPost = nullptr;       ///< [batch, n] f32
  void *matrix = nullptr;      ///< [batch, n, n] f32 (M, as computed)
  int64_t batch = 0;
};

class PrePlan {
public:
  /// Builds a plan (heavy): Unsupported for n > 8, InvalidArgument for a
  /// malformed descriptor, NoDevice without a GPU. Of the preferences,
  /// `portable` (the element-wise kernels: element-aligned x and y) and
  /// `maxBlocks` (the pre kernel's grid) apply.
  static Status select(void *stream, const PreDescriptor &descriptor,
                       const Preference &preference,
                       std::unique_ptr<PrePlan> &plan);

  ~PrePlan();
  PrePlan(const PrePlan &) = delete;
  PrePlan &operator=(const PrePlan &) = delete;

  Status canImplement(const PreArgs &args) const;
  /// Bytes of workspace a run of `batch` tokens needs (16-byte aligned,
  /// any contents): the projection's partials, splits x batch x (m + 1)
  /// f32, the splits chosen for the batch and the device
  /// (Contract/DynamicPre.h, splitsFor).
  size_t workspaceSize(int64_t batch) const;
  /// The K slices a run of `batch` tokens uses.
  int64_t splits(int64_t batch) const;
  /// The projection kernel in `sku().kernel`, the pre kernel here.
  const Sku &sku() const;
  const std::string &preKernel() const;
  PrecisionGuarantee precisionGuarantee() const;
  const PreDescriptor &descriptor() const;
  /// Two launches on `stream`, after validating `args` and the workspace
  /// (workspaceSize(args.batch) bytes, 16-byte aligned, overlapping no
  /// argument). batch == 0 is a no-op. Runs in flight at once need their
  /// own workspaces.
  Status run(void *stream, void *workspace, const PreArgs &args) const;

  struct Impl;

private:
  explicit PrePlan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

Status validatePreDescriptor(const PreDescriptor &descriptor);
/// The kernels a descriptor maps to, without a device: family "pre" (vector
/// accesses) or "pre-v1" (element-wise: any C, or Preference::portable),
/// the projection's name in `sku.kernel`, the pre kernel's in `preKernel`.
Status selectPreSku(const PreDescriptor &descriptor,
                    const Preference &preference, Sku &sku,
                    std::string &preKernel);
Status validatePreArgs(const PreDescriptor &descriptor, const Sku &sku,
                       const PreArgs &args);

} // namespace mhc::runtime

#endif // MHC_RUNTIME_DYNAMICPRE_H
