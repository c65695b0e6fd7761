//===- FusedLayer.h - the fused static-layer kernel's contract --*- C++ -*-===//
//
// The kernel convert-mhc-to-gpu emits for an mhc.fused_layer (the static
// layer, decomposed and fused) and the runtime's HyperConnectionPlan
// launches. Both sides take from here, and only from here: the name of a
// variant, the ordered arguments, what each scalar means, the workspace (the
// coefficient cache) and its size, and the grids a kernel accepts. A test
// (unittests/Contract) lowers every kernel the runtime embeds and checks its
// name and signature against this description.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_CONTRACT_FUSEDLAYER_H
#define MHC_CONTRACT_FUSEDLAYER_H

#include "mhc/Contract/Kernel.h"
#include "mhc/Support/Reference.h"

#include <algorithm>
#include <string>

namespace mhc::contract::fused_layer {

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

/// What distinguishes two kernels of the family.
struct Variant {
  int64_t streams = 0;
  /// C, or 0 for a kernel that takes C from its buffers at run time.
  int64_t channels = 0;
  /// f32 elements per vector access (1, 2 or 4): the alignment x, out and
  /// the weight need.
  int64_t vectorWidth = 4;
  bool bf16Weight = true;
  int64_t threads = 256;
  /// Blocks per row (a thread-block cluster), or 0 for blocks that loop
  /// over rows.
  int64_t clusterBlocks = 0;
};

inline constexpr const char kNamePrefix[] = "mhc_fused";

/// `mhc_fused_n<n>_c<C|dyn>_v<V>_w<bf16|f32>_t<threads>[_k<cluster blocks>]`.
inline std::string kernelName(const Variant &v) {
  std::string name = kNamePrefix;
  name += "_n" + std::to_string(v.streams) + "_c";
  name += v.channels > 0 ? std::to_string(v.channels) : std::string("dyn");
  name += "_v" + std::to_string(v.vectorWidth);
  name += v.bf16Weight ? "_wbf16" : "_wf32";
  name += "_t" + std::to_string(v.threads);
  if (v.clusterBlocks > 0)
    name += "_k" + std::to_string(v.clusterBlocks);
  return name;
}

//===----------------------------------------------------------------------===//
// Arguments
//===----------------------------------------------------------------------===//

enum ArgIndex : unsigned {
  X,
  HRes,
  HPre,
  HPost,
  Weight,
  Out,
  Eps,
  SinkhornAddend,
  PreScale,
  PreBias,
  PostScale,
  PostBias,
  SinkhornIters,
  Transposed,
  Cache,
  NumArgs
};

/// The kernel's arguments, in order. Buffers are row-major and contiguous;
/// x, out and the weight are aligned to the variant's vector width, the
/// workspace to 16 bytes. `out` must not overlap an input.
inline constexpr Arg kArgs[NumArgs] = {
    buffer("x", Element::F32, Extent::Batch, Extent::Streams, Extent::Channels),
    buffer("h_res", Element::F32, Extent::Streams, Extent::Streams),
    buffer("h_pre", Element::F32, Extent::Streams),
    buffer("h_post", Element::F32, Extent::Streams),
    buffer("weight", Element::Weight, Extent::Channels),
    buffer("out", Element::F32, Extent::Batch, Extent::Streams,
           Extent::Channels),
    f32("eps"),
    f32("sinkhorn_addend"),
    f32("pre_scale"),
    f32("pre_bias"),
    f32("post_scale"),
    f32("post_bias"),
    i32("sinkhorn_iters"),
    i32("transposed"),
    buffer("cache", Element::I32, Extent::Words),
};

/// Kernel parameters of a launch.
inline constexpr size_t kParameterCount = parameterCount(kArgs);

/// The scalar arguments by meaning. Every convention of the layer is one of
/// them, so one kernel serves all conventions.
struct Scalars {
  float eps = 1e-6f; ///< RMSNorm: y / sqrt(mean(y^2) + eps)
  /// Added to every line sum of the Sinkhorn rounds after the first row
  /// normalization, and to M after it (sinkhornAddend()).
  float sinkhornAddend = 0.0f;
  float preScale = 1.0f, preBias = 0.0f;   ///< s_pre = preScale sigmoid + bias
  float postScale = 2.0f, postBias = 0.0f; ///< s_post, likewise
  int32_t sinkhornIters = 20;
  int32_t transposed = 0; ///< 1: out = M^T x + ..., 0: out = M x + ...
};

/// The addend of the Sinkhorn schedule: 0 for the exp init (plain
/// normalization rounds), `sinkhornEps` for the softmax init
/// (docs/DESIGN.md, "Sinkhorn conventions, one schedule").
inline float sinkhornAddend(bool softmaxInit, float sinkhornEps) {
  return softmaxInit ? sinkhornEps : 0.0f;
}

/// The conventions of mhc.static_layer (its attributes; the runtime's
/// Descriptor).
struct StaticLayerConventions {
  float eps = 1e-6f;
  int32_t sinkhornIters = 20;
  bool softmaxInit = false;
  float sinkhornEps = 1e-6f;
  float preEps = 0.0f;
  bool transposed = false;
};

/// The scalars of a static layer: its gates are those of
/// mhc::reference::staticLayer.
inline Scalars staticLayerScalars(const StaticLayerConventions &c) {
  Scalars s;
  s.eps = c.eps;
  s.sinkhornAddend = sinkhornAddend(c.softmaxInit, c.sinkhornEps);
  s.preScale = float(reference::kPreGateScale);
  s.preBias = c.preEps;
  s.postScale = float(reference::kPostGateScale);
  s.postBias = float(reference::kPostGateBias);
  s.sinkhornIters = c.sinkhornIters;
  s.transposed = c.transposed ? 1 : 0;
  return s;
}

/// The value of f32 argument `arg` (kArgs[arg].kind == ArgKind::F32).
inline float f32Arg(const Scalars &s, unsigned arg) {
  switch (arg) {
  case Eps:
    return s.eps;
  case SinkhornAddend:
    return s.sinkhornAddend;
  case PreScale:
    return s.preScale;
  case PreBias:
    return s.preBias;
  case PostScale:
    return s.postScale;
  case PostBias:
    return s.postBias;
  default:
    return 0.0f;
  }
}

/// The value of i32 argument `arg` (kArgs[arg].kind == ArgKind::I32).
inline int32_t i32Arg(const Scalars &s, unsigned arg) {
  return arg == SinkhornIters ? s.sinkhornIters
         : arg == Transposed  ? s.transposed
                              : 0;
}

//===----------------------------------------------------------------------===//
// Workspace: the coefficient cache
//===----------------------------------------------------------------------===//

// The `cache` buffer memoizes M' across blocks and launches. In i32 words:
// the seal (a 64-bit hash of the key and M', kCacheSealWords), the key
// (kCacheKeyHeaderWords: the kernel's identity, the Sinkhorn addend's bits,
// the rounds, the orientation; then H_res's n^2 bits), then M' (n^2 f32
// bits). Its contents need no initialization: an entry is used only when the
// key and the seal match. A launch given fewer words runs without it.

inline constexpr int64_t kCacheSealWords = 2;
inline constexpr int64_t kCacheKeyHeaderWords = 4;

constexpr int64_t cacheKeyWords(int64_t streams) {
  return kCacheKeyHeaderWords + streams * streams;
}
/// The first word of the key; the seal is at word 0.
constexpr int64_t cacheKeyOffset() { return kCacheSealWords; }
/// The first word of M'.
constexpr int64_t cacheMatrixOffset(int64_t streams) {
  return kCacheSealWords + cacheKeyWords(streams);
}
constexpr int64_t cacheWords(int64_t streams) {
  return cacheMatrixOffset(streams) + streams * streams;
}
/// The workspace a plan with the cache declares: cacheWords, in bytes,
/// rounded up to 16.
constexpr size_t cacheBytes(int64_t streams) {
  return (size_t(cacheWords(streams)) * 4 + 15) / 16 * 16;
}

/// The first key word: the kernel's name hashed (FNV-1a), so kernels that
/// share a workspace never take each other's M' (they may round
/// differently).
inline int32_t cacheIdentity(const std::string &kernelName) {
  uint32_t hash = 2166136261u;
  for (char ch : kernelName)
    hash = (hash ^ static_cast<unsigned char>(ch)) * 16777619u;
  return static_cast<int32_t>(hash);
}

//===----------------------------------------------------------------------===//
// Launch geometry
//===----------------------------------------------------------------------===//

/// The blocks of a launch over `batch` token rows: `variant.threads` threads
/// each. A cluster kernel takes `batch` clusters of `clusterBlocks` blocks
/// (the row is the cluster's index); any other kernel takes 1 to `batch`
/// blocks, which loop over the rows with the grid's stride, so the launcher
/// picks the count (`maxBlocks`, 0: one block per row). A launch of no rows
/// takes one block (or cluster), which finds no row.
inline int64_t gridBlocks(const Variant &variant, int64_t batch,
                          int64_t maxBlocks) {
  int64_t rows = std::max<int64_t>(batch, 1);
  if (variant.clusterBlocks > 0)
    return rows * variant.clusterBlocks;
  return maxBlocks > 0 ? std::min(rows, maxBlocks) : rows;
}

} // namespace mhc::contract::fused_layer

#endif // MHC_CONTRACT_FUSEDLAYER_H
