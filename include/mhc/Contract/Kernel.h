//===- Kernel.h - what every compiler-generated kernel agrees on -*- C++
//-*-===//
//
// The compiler (convert-mhc-to-gpu) emits kernels and the runtime launches
// them; a kernel family's contract (e.g. FusedLayer.h) says, once, for both:
// the kernel's name, its ordered arguments, the meaning of each scalar, the
// workspace it keeps, and the grids it computes correctly with. This header
// has what the families share: how an argument is described and how it is
// passed. Plain C++: the runtime includes it and links no MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_CONTRACT_KERNEL_H
#define MHC_CONTRACT_KERNEL_H

#include <cstddef>
#include <cstdint>

namespace mhc::contract {

/// How an argument reaches the kernel.
enum class ArgKind : uint8_t {
  Buffer, ///< device memory, passed as a memref descriptor (below)
  F32,    ///< one f32 parameter
  I32,    ///< one i32 parameter
};

/// The element type of a buffer. `Weight` is the variant's weight type,
/// `Activation` its streams' (x, out, y), `Sublayer` that of the sublayer's
/// output f: each f32 or bf16, as the variant says.
enum class Element : uint8_t { F32, I32, Weight, Activation, Sublayer };

/// A symbolic extent of a buffer, resolved per launch (Batch, Words, Splits)
/// or per kernel (Streams and what follows from n, and Channels unless the
/// kernel takes C at run time).
enum class Extent : uint8_t {
  Batch,             ///< token rows of the launch
  Streams,           ///< n
  Channels,          ///< C
  Words,             ///< the workspace's i32 words given to the launch
  Splits,            ///< slices of a split-K reduction (the launch's choice)
  ProjectionRows,    ///< n C: a token's flattened streams
  ProjectionColumns, ///< n^2 + 2n: the per-token coefficients' logits
  PartialWidth,      ///< n^2 + 2n + 1: the logits and the sum of squares
  Scales,            ///< 3: the dynamic coefficients' alpha
};
inline constexpr size_t kNumExtents = 9;

/// One kernel argument.
struct Arg {
  const char *name;
  ArgKind kind;
  Element element;
  /// Buffers: rank and extents, outermost first, row-major contiguous.
  int rank;
  Extent extents[3];
};

constexpr Arg buffer(const char *name, Element element, Extent e0) {
  return {name, ArgKind::Buffer, element, 1, {e0, e0, e0}};
}
constexpr Arg buffer(const char *name, Element element, Extent e0, Extent e1) {
  return {name, ArgKind::Buffer, element, 2, {e0, e1, e1}};
}
constexpr Arg buffer(const char *name, Element element, Extent e0, Extent e1,
                     Extent e2) {
  return {name, ArgKind::Buffer, element, 3, {e0, e1, e2}};
}
constexpr Arg f32(const char *name) {
  return {name, ArgKind::F32, Element::F32, 0, {}};
}
constexpr Arg i32(const char *name) {
  return {name, ArgKind::I32, Element::I32, 0, {}};
}

/// Kernel parameters an argument takes: a buffer is MLIR's memref descriptor
/// (allocated pointer, aligned pointer, offset, `rank` sizes, `rank`
/// strides, each an 8-byte parameter); a scalar is one parameter.
constexpr size_t parameterCount(const Arg &arg) {
  return arg.kind == ArgKind::Buffer ? 3 + 2 * size_t(arg.rank) : 1;
}
template <size_t N> constexpr size_t parameterCount(const Arg (&args)[N]) {
  size_t count = 0;
  for (const Arg &arg : args)
    count += parameterCount(arg);
  return count;
}

/// Every kernel states its launch needs in i32 globals of its image, named
/// `<kernel name><suffix>`, which the runtime reads when it loads the
/// kernel: the bytes of dynamic shared memory a launch must pass, and
/// whether the kernel waits for the grids it depends on (1: it may be
/// launched with programmatic stream serialization).
inline constexpr const char kDynamicSharedBytesSuffix[] =
    "_dynamic_shared_bytes";
inline constexpr const char kProgrammaticLaunchSuffix[] =
    "_programmatic_launch";

} // namespace mhc::contract

#endif // MHC_CONTRACT_KERNEL_H
