//===- TestLayers.h - descriptors shared by the runtime tests ---*- C++ -*-===//
//
// What the host and GPU runtime tests share: their descriptors and the
// check of a status's category and reason.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_UNITTESTS_RUNTIME_TESTLAYERS_H
#define MHC_UNITTESTS_RUNTIME_TESTLAYERS_H

#include "mhc/Runtime/HyperConnection.h"

#include <gtest/gtest.h>

#include <string>

namespace mhc::runtime::testing {

/// A layer of `n` streams and `c` channels, every other field the
/// descriptor's default.
inline Descriptor layer(int64_t n, int64_t c) {
  Descriptor d;
  d.streams = n;
  d.channels = c;
  return d;
}

/// `s` has category `code` and a reason that mentions `text`.
inline void expectStatus(const Status &s, StatusCode code,
                         const std::string &text) {
  EXPECT_EQ(s.code(), code) << s.message();
  EXPECT_NE(s.message().find(text), std::string::npos)
      << "'" << s.message() << "' does not mention '" << text << "'";
}

} // namespace mhc::runtime::testing

#endif // MHC_UNITTESTS_RUNTIME_TESTLAYERS_H
