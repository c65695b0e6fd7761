//===- TestLayers.h - descriptors shared by the runtime tests ---*- C++ -*-===//
//
// The host and GPU runtime tests build their descriptors from here.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_UNITTESTS_RUNTIME_TESTLAYERS_H
#define MHC_UNITTESTS_RUNTIME_TESTLAYERS_H

#include "mhc/Runtime/HyperConnection.h"

namespace mhc::runtime::testing {

/// A layer of `n` streams and `c` channels, every other field the
/// descriptor's default.
inline Descriptor layer(int64_t n, int64_t c) {
  Descriptor d;
  d.streams = n;
  d.channels = c;
  return d;
}

} // namespace mhc::runtime::testing

#endif // MHC_UNITTESTS_RUNTIME_TESTLAYERS_H
