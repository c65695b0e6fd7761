//===- DynamicPre.h - the dynamic-H pre kernels' contract -------*- C++ -*-===//
//
// The two kernels convert-mhc-to-gpu emits for an mhc.fused_pre (the
// per-token coefficients and the aggregation y = sum_i h_pre[i] x[i]) and
// the runtime's PrePlan launches, in this order on one stream:
//
// 1. the projection: a split-K GEMM of the tokens' flattened streams
//    [B, n C] with phi [n C, m] (m = n^2 + 2n) on tensor cores (bf16
//    m16n8k16 when x and phi are bf16, else tf32 m16n8k8), each block one
//    tile of kTileTokens tokens and one K slice, writing the slice's
//    partial logits and the tokens' partial sums of squares into the
//    workspace `partials` [splits, B, m + 1] (no atomics);
// 2. the pre: per token, the partials summed in slice order, r, the gates,
//    Sinkhorn on the token's logits, h_pre, h_post and M written, then y.
//
// Both sides take from here: the kernels' names, ordered arguments,
// scalars, the workspace's layout and size, the split rule and the grids.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_CONTRACT_DYNAMICPRE_H
#define MHC_CONTRACT_DYNAMICPRE_H

#include "mhc/Contract/Kernel.h"

#include <algorithm>
#include <string>

namespace mhc::contract::dynamic_pre {

/// m: the logits of a token's coefficients (pre n, post n, res n^2).
constexpr int64_t projectionWidth(int64_t streams) {
  return streams * streams + 2 * streams;
}
/// A row of the partials: the logits, then the sum of squares at index m.
constexpr int64_t partialWidth(int64_t streams) {
  return projectionWidth(streams) + 1;
}

/// The projection's streams on tensor cores: up to 8 (m <= 80, ten 8-column
/// tiles of accumulators per thread).
inline constexpr int64_t kMaxStreams = 8;
/// Tokens per projection block: 4 warps of 16 rows (the mma's M).
inline constexpr int64_t kTileTokens = 64;
inline constexpr int64_t kProjectionThreads = 128;

/// Whether the projection multiplies bf16 (both operands bf16) or tf32
/// (anything else: bf16 is widened exactly, f32 rounded to tf32).
constexpr bool bf16Multiply(bool bf16Activation, bool bf16Projection) {
  return bf16Activation && bf16Projection;
}
/// K elements one step of a warp covers: two m16n8k16 (bf16) or two
/// m16n8k8 (tf32), each thread loading 8 or 4 consecutive elements of a
/// row. n C must be a multiple of it.
constexpr int64_t kStep(bool bf16Mma) { return bf16Mma ? 32 : 16; }

//===----------------------------------------------------------------------===//
// Kernel 1: the projection
//===----------------------------------------------------------------------===//

struct ProjectionVariant {
  int64_t streams = 4;
  bool bf16Activation = true; ///< x bf16 (else f32)
  bool bf16Projection = true; ///< phi bf16 (else f32)
  /// Elements of a row a thread loads at once: the step's run (8 bf16 or 4
  /// for tf32) as one 16- or 8-byte access, which needs n C a multiple of
  /// the step; or 1: element-wise, guarded loads (any C; `portable`).
  int64_t vectorWidth = 8;
  int64_t threads = kProjectionThreads;
};

inline constexpr const char kProjectionPrefix[] = "mhc_proj";

inline const char *dtypeName(bool bf16) { return bf16 ? "bf16" : "f32"; }

/// `mhc_proj_n<n>_x<f32|bf16>_p<f32|bf16>_v<V>_t<threads>`.
inline std::string kernelName(const ProjectionVariant &v) {
  return std::string(kProjectionPrefix) + "_n" + std::to_string(v.streams) +
         "_x" + dtypeName(v.bf16Activation) + "_p" +
         dtypeName(v.bf16Projection) + "_v" + std::to_string(v.vectorWidth) +
         "_t" + std::to_string(v.threads);
}

/// Whether the vector kernels (family "pre") take a shape: n C a multiple
/// of the step and C of the pre's 16-byte vector; otherwise the portable
/// ones ("pre-v1").
constexpr bool vectorizedShape(int64_t streams, int64_t channels,
                               bool bf16Activation, bool bf16Projection) {
  return (streams * channels) %
                 kStep(bf16Multiply(bf16Activation, bf16Projection)) ==
             0 &&
         channels % (bf16Activation ? 8 : 4) == 0;
}

namespace projection {
enum ArgIndex : unsigned { X, Phi, Partials, NumArgs };

/// x [B, n, C] (aligned to the variant's run of elements), phi [n C, m]
/// (element-aligned), the partials [splits, B, m + 1] f32 (the workspace;
/// any contents).
inline constexpr Arg kArgs[NumArgs] = {
    buffer("x", Element::Activation, Extent::Batch, Extent::Streams,
           Extent::Channels),
    buffer("phi", Element::Weight, Extent::ProjectionRows,
           Extent::ProjectionColumns),
    buffer("partials", Element::F32, Extent::Splits, Extent::Batch,
           Extent::PartialWidth),
};
inline constexpr size_t kParameterCount = parameterCount(kArgs);
} // namespace projection

/// The K slices of a launch over `batch` tokens of `streams` x `channels`
/// on a GPU of `sms` SMs: enough blocks (token tiles x slices) for two per
/// SM, each slice at least 8 steps, at most 64 slices.
inline int64_t splitsFor(int64_t batch, int64_t streams, int64_t channels,
                         bool bf16Mma, int64_t sms) {
  int64_t tiles = std::max<int64_t>(1, (batch + kTileTokens - 1) / kTileTokens);
  int64_t steps = std::max<int64_t>(
      1, (streams * channels + kStep(bf16Mma) - 1) / kStep(bf16Mma));
  int64_t wanted = (2 * sms + tiles - 1) / tiles;
  return std::clamp<int64_t>(wanted, 1, std::min<int64_t>(64, std::max<int64_t>(1, steps / 8)));
}

/// The workspace of a launch: the partials, in bytes (16-byte multiple).
inline size_t workspaceBytes(int64_t splits, int64_t batch, int64_t streams) {
  size_t words = size_t(splits) * size_t(batch) * size_t(partialWidth(streams));
  return (words * 4 + 15) / 16 * 16;
}

/// The projection's grid: one block per (token tile, slice), the slice
/// major: block = slice * tiles + tile.
inline int64_t projectionBlocks(int64_t batch, int64_t splits) {
  return std::max<int64_t>(1, (batch + kTileTokens - 1) / kTileTokens) *
         splits;
}

//===----------------------------------------------------------------------===//
// Kernel 2: the pre
//===----------------------------------------------------------------------===//

struct PreVariant {
  int64_t streams = 4;
  bool bf16Activation = true;
  /// Elements per vector access of x and y (16 bytes: 4 f32 or 8 bf16; 1:
  /// any C, element-aligned).
  int64_t vectorWidth = 8;
  int64_t threads = 256;
};

inline constexpr const char kPrePrefix[] = "mhc_pre";

/// `mhc_pre_n<n>_x<f32|bf16>_v<V>_t<threads>`.
inline std::string kernelName(const PreVariant &v) {
  return std::string(kPrePrefix) + "_n" + std::to_string(v.streams) + "_x" +
         dtypeName(v.bf16Activation) + "_v" + std::to_string(v.vectorWidth) +
         "_t" + std::to_string(v.threads);
}

/// Tokens a block of the pre finishes at a time: warp 0 computes their
/// coefficients, one token per lane, then the block aggregates them.
inline constexpr int64_t kPreGroupTokens = 32;

namespace pre {
enum ArgIndex : unsigned {
  X,
  Partials,
  Alpha,
  Bias,
  Y,
  HPre,
  HPost,
  Matrix,
  Eps,
  PreEps,
  SinkhornAddend,
  SinkhornIters,
  NumArgs
};

/// x [B, n, C] and y [B, C] aligned to the vector access; the partials the
/// projection wrote; alpha [3] and bias [m] f32; the outputs h_pre, h_post
/// [B, n] and M [B, n, n] f32 (M as computed; the post applies M or M^T).
inline constexpr Arg kArgs[NumArgs] = {
    buffer("x", Element::Activation, Extent::Batch, Extent::Streams,
           Extent::Channels),
    buffer("partials", Element::F32, Extent::Splits, Extent::Batch,
           Extent::PartialWidth),
    buffer("alpha", Element::F32, Extent::Scales),
    buffer("bias", Element::F32, Extent::ProjectionColumns),
    buffer("y", Element::Activation, Extent::Batch, Extent::Channels),
    buffer("h_pre", Element::F32, Extent::Batch, Extent::Streams),
    buffer("h_post", Element::F32, Extent::Batch, Extent::Streams),
    buffer("matrix", Element::F32, Extent::Batch, Extent::Streams,
           Extent::Streams),
    f32("eps"),
    f32("pre_eps"),
    f32("sinkhorn_addend"),
    i32("sinkhorn_iters"),
};
inline constexpr size_t kParameterCount = parameterCount(kArgs);

/// The scalars by meaning: r = 1 / sqrt(mean(x^2) + eps); h_pre =
/// sigmoid(.) + preEps; the Sinkhorn schedule's addend (0 for the exp
/// init, sinkhorn_eps for softmax) and rounds.
struct Scalars {
  float eps = 1e-6f;
  float preEps = 0.0f;
  float sinkhornAddend = 0.0f;
  int32_t sinkhornIters = 20;
};

inline float f32Arg(const Scalars &s, unsigned arg) {
  return arg == Eps ? s.eps : arg == PreEps ? s.preEps
                          : arg == SinkhornAddend ? s.sinkhornAddend
                                                  : 0.0f;
}
inline int32_t i32Arg(const Scalars &s, unsigned arg) {
  return arg == SinkhornIters ? s.sinkhornIters : 0;
}
} // namespace pre

/// The pre's grid: 1 to ceil(B / kPreGroupTokens) blocks, looping over the
/// groups of tokens with the grid's stride (`maxBlocks`, 0: one per group).
inline int64_t preBlocks(int64_t batch, int64_t maxBlocks) {
  int64_t groups =
      std::max<int64_t>(1, (batch + kPreGroupTokens - 1) / kPreGroupTokens);
  return maxBlocks > 0 ? std::min(groups, maxBlocks) : groups;
}

} // namespace mhc::contract::dynamic_pre

#endif // MHC_CONTRACT_DYNAMICPRE_H
