//===- Validation.h - checks the plans share ---------------------*- C++ -*-===//
//
// The host-side checks of a run's arguments that every plan makes: errors
// by category, alignment, the bytes of a buffer without overflow, and
// overlap of the output with the inputs.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_RUNTIME_VALIDATION_H
#define MHC_LIB_RUNTIME_VALIDATION_H

#include "mhc/Runtime/HyperConnection.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace mhc::runtime::detail {

inline Status invalid(const std::string &message) {
  return {StatusCode::InvalidArgument, message};
}

inline bool aligned(const void *p, uintptr_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

inline size_t dtypeSize(DType t) { return t == DType::F32 ? 4 : 2; }
inline const char *dtypeName(DType t) {
  return t == DType::F32 ? "f32" : "bf16";
}

/// The shape rules every descriptor has: n in [1, maxStreams] and C at most
/// 2^maxChannelsLog2 (Unsupported otherwise), C >= 1 and maxBatch >= 0
/// (InvalidArgument).
inline Status validateShape(int64_t streams, int64_t maxStreams,
                            int64_t channels, int maxChannelsLog2,
                            int64_t maxBatch) {
  if (streams < 1 || streams > maxStreams)
    return {StatusCode::Unsupported, "streams must be in [1, " +
                                         std::to_string(maxStreams) +
                                         "], got " + std::to_string(streams)};
  if (channels < 1)
    return invalid("channels must be >= 1, got " + std::to_string(channels));
  if (channels > (int64_t(1) << maxChannelsLog2))
    return {StatusCode::Unsupported,
            "channels beyond 2^" + std::to_string(maxChannelsLog2) +
                " are not supported, got " + std::to_string(channels)};
  if (maxBatch < 0)
    return invalid("maxBatch must be >= 0 (0: no limit), got " +
                   std::to_string(maxBatch));
  return Status::ok();
}

/// A run's batch: >= 0 and within the descriptor's maxBatch (0: no limit).
inline Status validateBatch(int64_t batch, int64_t maxBatch) {
  if (batch < 0)
    return invalid("batch must be >= 0, got " + std::to_string(batch));
  if (maxBatch > 0 && batch > maxBatch)
    return invalid("batch " + std::to_string(batch) +
                   " exceeds the descriptor's maxBatch " +
                   std::to_string(maxBatch));
  return Status::ok();
}

/// One past the last byte of [p, p + bytes), or UINTPTR_MAX where that
/// passes the end of the address space.
inline uintptr_t endOf(const void *p, size_t bytes) {
  uintptr_t end;
  if (__builtin_add_overflow(reinterpret_cast<uintptr_t>(p), bytes, &end))
    return UINTPTR_MAX;
  return end;
}

/// [a, a + aBytes) and [b, b + bBytes) share a byte.
inline bool overlaps(const void *a, size_t aBytes, const void *b,
                     size_t bBytes) {
  auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return aBytes && bBytes && x < endOf(b, bBytes) && y < endOf(a, aBytes);
}

/// elementBytes * the product of `extents`; SIZE_MAX where a factor is
/// negative or the product does not fit in size_t.
inline size_t bufferBytes(size_t elementBytes,
                          std::initializer_list<int64_t> extents) {
  size_t bytes = elementBytes;
  for (int64_t factor : extents)
    if (factor < 0 || __builtin_mul_overflow(bytes, size_t(factor), &bytes))
      return SIZE_MAX;
  return bytes;
}

/// A named device buffer of a run.
struct Region {
  const char *name;
  const void *p;
  size_t bytes;
};

/// Every region lies in the address space, and `out` overlaps none of the
/// inputs.
inline Status checkRegions(const Region &out,
                           const std::vector<Region> &inputs) {
  for (const Region &r : inputs)
    if (r.bytes && endOf(r.p, r.bytes) == UINTPTR_MAX)
      return invalid(std::string(r.name) +
                     " ends past the end of the address space");
  if (out.bytes && endOf(out.p, out.bytes) == UINTPTR_MAX)
    return invalid(std::string(out.name) +
                   " ends past the end of the address space");
  for (const Region &input : inputs)
    if (overlaps(out.p, out.bytes, input.p, input.bytes))
      return invalid(std::string(out.name) + " overlaps " + input.name +
                     " (in-place is not supported)");
  return Status::ok();
}

} // namespace mhc::runtime::detail

#endif // MHC_LIB_RUNTIME_VALIDATION_H
