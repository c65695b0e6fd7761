//===- DynamicPost.h - the dynamic-H post kernel's contract -----*- C++ -*-===//
//
// The kernel convert-mhc-to-gpu emits for an mhc.post (the dynamic-H layer's
// write back after the sublayer F) and the runtime's PostPlan launches:
//
//   out[b, i, c] = sum_j M'[b, i, j] x[b, j, c] + h_post[b, i] f[b, c]
//
// with M' = M or M^T per token. Both sides take from here: the name of a
// variant, the ordered arguments, the scalars, and the grids a kernel
// accepts. It keeps no workspace. unittests/Contract checks every kernel the
// runtime embeds against this description.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_CONTRACT_DYNAMICPOST_H
#define MHC_CONTRACT_DYNAMICPOST_H

#include "mhc/Contract/Kernel.h"

#include <algorithm>
#include <string>

namespace mhc::contract::dynamic_post {

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

/// What distinguishes two kernels of the family.
struct Variant {
  /// n, or 0 for a kernel that takes n from its buffers at run time (stream
  /// loops rolled).
  int64_t streams = 4;
  bool bf16Activation = false; ///< x and out bf16 (else f32)
  bool bf16Sublayer = false;   ///< f bf16 (else f32)
  /// Elements per vector access of x, f and out (1, 2, 4 or 8): C must be a
  /// multiple of it and the buffers aligned to its size in each one's type.
  int64_t vectorWidth = 4;
  int64_t threads = 256;
};

inline constexpr const char kNamePrefix[] = "mhc_post";

inline const char *dtypeName(bool bf16) { return bf16 ? "bf16" : "f32"; }

/// `mhc_post_n<n|dyn>_x<f32|bf16>_f<f32|bf16>_v<V>_t<threads>`.
inline std::string kernelName(const Variant &v) {
  std::string name = kNamePrefix;
  name += "_n";
  name += v.streams > 0 ? std::to_string(v.streams) : std::string("dyn");
  name += std::string("_x") + dtypeName(v.bf16Activation);
  name += std::string("_f") + dtypeName(v.bf16Sublayer);
  name += "_v" + std::to_string(v.vectorWidth);
  name += "_t" + std::to_string(v.threads);
  return name;
}

//===----------------------------------------------------------------------===//
// Arguments
//===----------------------------------------------------------------------===//

enum ArgIndex : unsigned { X, F, Matrix, HPost, Out, Transposed, NumArgs };

/// The kernel's arguments, in order. Buffers are row-major and contiguous;
/// x, f and out are aligned to the variant's vector access (vectorWidth
/// elements of their type), the coefficients to 4 bytes. `out` must not
/// overlap an input.
inline constexpr Arg kArgs[NumArgs] = {
    buffer("x", Element::Activation, Extent::Batch, Extent::Streams,
           Extent::Channels),
    buffer("f", Element::Sublayer, Extent::Batch, Extent::Channels),
    buffer("matrix", Element::F32, Extent::Batch, Extent::Streams,
           Extent::Streams),
    buffer("h_post", Element::F32, Extent::Batch, Extent::Streams),
    buffer("out", Element::Activation, Extent::Batch, Extent::Streams,
           Extent::Channels),
    i32("transposed"),
};

inline constexpr size_t kParameterCount = parameterCount(kArgs);

/// The scalar arguments by meaning.
struct Scalars {
  int32_t transposed = 0; ///< 1: out = M^T x + ..., 0: out = M x + ...
};

inline float f32Arg(const Scalars &, unsigned) { return 0.0f; }
inline int32_t i32Arg(const Scalars &s, unsigned arg) {
  return arg == Transposed ? s.transposed : 0;
}

//===----------------------------------------------------------------------===//
// Launch geometry
//===----------------------------------------------------------------------===//

/// Columns one block covers per step: each thread one vector access.
inline int64_t tileColumns(const Variant &v) {
  return v.threads * v.vectorWidth;
}

/// Tiles of one token row: ceil(C / tileColumns).
inline int64_t tilesPerRow(const Variant &v, int64_t channels) {
  return std::max<int64_t>(1, (channels + tileColumns(v) - 1) / tileColumns(v));
}

/// The blocks of a launch over `batch` rows of `channels` columns. The work
/// is batch * tilesPerRow tiles (a row's tiles are consecutive); blocks
/// loop over the tiles with the grid's stride, so any count from 1 to the
/// tile count computes the same result: the launcher caps it at `maxBlocks`
/// (0: one block per tile). A launch of no rows takes one block, which finds
/// no tile.
inline int64_t gridBlocks(const Variant &v, int64_t batch, int64_t channels,
                          int64_t maxBlocks) {
  int64_t tiles = std::max<int64_t>(1, batch * tilesPerRow(v, channels));
  return maxBlocks > 0 ? std::min(tiles, maxBlocks) : tiles;
}

} // namespace mhc::contract::dynamic_post

#endif // MHC_CONTRACT_DYNAMICPOST_H
