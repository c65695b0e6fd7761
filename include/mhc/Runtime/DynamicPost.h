//===- DynamicPost.h - mhc runtime: the dynamic-H post ----------*- C++ -*-===//
//
// The plan of the dynamic-H layer's post, the write back after the sublayer
// F (mhc.post):
//
//   out[b, i, c] = sum_j M'[b, i, j] x[b, j, c] + h_post[b, i] f[b, c]
//
// with M' = M (MixOrientation::Direct) or M^T (Transposed) per token, M and
// h_post as the pre's coefficients give them. Same semantics as
// HyperConnectionPlan (HyperConnection.h: select once, run many times, one
// launch per run, nothing allocated, thread safety and lifetime alike); the
// kernel keeps no state, so the plan needs no workspace.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_RUNTIME_DYNAMICPOST_H
#define MHC_RUNTIME_DYNAMICPOST_H

#include "mhc/Runtime/HyperConnection.h"

namespace mhc::runtime {

/// The post, as mhc.post describes it.
struct PostDescriptor {
  int64_t streams = 4;  ///< n, 1..32.
  int64_t channels = 0; ///< C >= 1.
  int64_t maxBatch = 0; ///< Largest B a run may pass; 0 means no limit.
  DType activation = DType::BF16; ///< x and out.
  DType sublayer = DType::BF16;   ///< f, the sublayer's output.
  MixOrientation orientation = MixOrientation::Direct;
};

/// Device pointers (row-major, contiguous) and the batch of one run.
struct PostArgs {
  const void *x = nullptr;      ///< [batch, n, C] of `activation`
  const void *f = nullptr;      ///< [batch, C] of `sublayer`
  const void *matrix = nullptr; ///< [batch, n, n] f32 (M, as computed)
  const void *hPost = nullptr;  ///< [batch, n] f32
  void *out = nullptr; ///< [batch, n, C] of `activation`; overlaps no input
  int64_t batch = 0;
};

class PostPlan {
public:
  /// Builds a plan (heavy): Unsupported when no kernel covers the
  /// descriptor, InvalidArgument for a malformed one, NoDevice without a
  /// GPU. Of the preferences, `portable` (element-wise accesses: any C,
  /// element-aligned pointers) and `maxBlocks` apply.
  static Status select(void *stream, const PostDescriptor &descriptor,
                       const Preference &preference,
                       std::unique_ptr<PostPlan> &plan);

  ~PostPlan();
  PostPlan(const PostPlan &) = delete;
  PostPlan &operator=(const PostPlan &) = delete;

  /// Validates concrete arguments without running: null (for batch > 0),
  /// misaligned or overlapping pointers, a batch beyond the descriptor.
  Status canImplement(const PostArgs &args) const;
  /// 0: the post keeps no state between runs.
  size_t workspaceSize() const { return 0; }
  const Sku &sku() const;
  /// f32 math in stream order and one rounding to the activations' type:
  /// |out - ref| <= maxRelativeError * max(1, max|ref|) against a float64
  /// reference of the same inputs (1e-5 for f32, 2^-8 for bf16 outputs).
  PrecisionGuarantee precisionGuarantee() const;
  const PostDescriptor &descriptor() const;
  /// Enqueues one kernel launch on `stream` (a CUstream; null: the legacy
  /// default stream) after validating `args`; `workspace` is ignored.
  /// batch == 0 is a no-op. A NaN or Inf in one token's inputs reaches only
  /// that token's outputs.
  Status run(void *stream, void *workspace, const PostArgs &args) const;

  struct Impl;

private:
  explicit PostPlan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Checks the descriptor's own rules (ranges, dtypes).
Status validatePostDescriptor(const PostDescriptor &descriptor);

/// The kernel a descriptor maps to, without a device (what `select` picks
/// before it loads anything): family "post" (16-byte accesses: C a multiple
/// of 4 (f32) or 8 (bf16) elements) or "post-v1" (any C; `portable`).
Status selectPostSku(const PostDescriptor &descriptor,
                     const Preference &preference, Sku &sku);

/// Checks `args` against a descriptor and the kernel's alignment needs.
Status validatePostArgs(const PostDescriptor &descriptor, const Sku &sku,
                        const PostArgs &args);

} // namespace mhc::runtime

#endif // MHC_RUNTIME_DYNAMICPOST_H
