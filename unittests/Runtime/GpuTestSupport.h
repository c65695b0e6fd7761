//===- GpuTestSupport.h - what the runtime's GPU tests share ----*- C++ -*-===//
//
// The driver and the device's context, device buffers, and the main of a GPU
// test program: skipped (exit 77, which ctest reports as skipped) with a
// message on machines without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_UNITTESTS_RUNTIME_GPUTESTSUPPORT_H
#define MHC_UNITTESTS_RUNTIME_GPUTESTSUPPORT_H

#include "CudaDriver.h"
#include "mhc/Support/Reference.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

namespace mhc::runtime::testing {

/// Loads the driver and makes the device's primary context current (as the
/// runtime does). Tests allocate before any plan exists, so they cannot rely
/// on `select` having done it: a filtered run of one test would fail with
/// CUDA_ERROR_INVALID_CONTEXT.
inline const Status &gpuStatus() {
  static const Status status = [] {
    const detail::CudaDriver *driver = nullptr;
    if (Status loaded = detail::loadDriver(driver); !loaded)
      return loaded;
    CUcontext context;
    CUdevice device;
    return detail::currentContext(*driver, context, device);
  }();
  return status;
}

/// The driver, or null without a usable GPU.
inline const detail::CudaDriver *gpu() {
  const detail::CudaDriver *driver = nullptr;
  return gpuStatus() && detail::loadDriver(driver) ? driver : nullptr;
}

#define REQUIRE_GPU()                                                          \
  do {                                                                         \
    if (!gpu())                                                                \
      GTEST_SKIP() << "no GPU: " << gpuStatus().message();                     \
  } while (0)

#define ASSERT_CU(call) ASSERT_EQ((call), CUDA_SUCCESS) << #call

/// A device allocation, freed on scope exit.
struct DeviceBuffer {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
  explicit DeviceBuffer(size_t size) : bytes(size) {
    EXPECT_EQ(gpu()->memAlloc(&ptr, size ? size : 16), CUDA_SUCCESS);
  }
  ~DeviceBuffer() {
    if (ptr)
      gpu()->memFree(ptr);
  }
  void *get(size_t offset = 0) const {
    return reinterpret_cast<void *>(ptr + offset);
  }
  void upload(const void *src, size_t size, size_t offset = 0) {
    if (size) {
      EXPECT_EQ(gpu()->memcpyHtoD(ptr + offset, src, size), CUDA_SUCCESS);
    }
  }
  void download(void *dst, size_t size, size_t offset = 0) const {
    if (size) {
      EXPECT_EQ(gpu()->memcpyDtoH(dst, ptr + offset, size), CUDA_SUCCESS);
    }
  }
  void poison() { EXPECT_EQ(gpu()->memsetD8(ptr, 0xFF, bytes), CUDA_SUCCESS); }
  /// Fills the buffer with bytes from `rng` (a workspace's arbitrary
  /// previous contents).
  void scramble(std::mt19937_64 &rng) {
    std::vector<uint8_t> bytesOf(bytes);
    for (uint8_t &v : bytesOf)
      v = uint8_t(rng());
    upload(bytesOf.data(), bytes);
  }
};

/// The device bytes of host values of type `t` (bf16: rounded to nearest
/// even).
inline std::vector<uint8_t> encode(const std::vector<float> &v, DType t) {
  std::vector<uint8_t> out(v.size() * (t == DType::F32 ? 4 : 2));
  for (size_t i = 0; i < v.size(); ++i) {
    if (t == DType::F32) {
      std::memcpy(&out[i * 4], &v[i], 4);
    } else {
      uint16_t h = mhc::reference::toBF16(v[i]);
      std::memcpy(&out[i * 2], &h, 2);
    }
  }
  return out;
}

/// `count` values of type `t` from the device, widened.
inline std::vector<float> decode(const DeviceBuffer &d, size_t count, DType t) {
  std::vector<uint8_t> bytes(count * (t == DType::F32 ? 4 : 2));
  d.download(bytes.data(), bytes.size());
  std::vector<float> out(count);
  for (size_t i = 0; i < count; ++i) {
    if (t == DType::F32) {
      std::memcpy(&out[i], &bytes[i * 4], 4);
    } else {
      uint16_t h;
      std::memcpy(&h, &bytes[i * 2], 2);
      out[i] = mhc::reference::fromBF16(h);
    }
  }
  return out;
}

/// The main of a GPU test program.
inline int runGpuTests(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const detail::CudaDriver *driver = nullptr;
  if (Status s = detail::loadDriver(driver); !s) {
    std::printf("SKIPPED: the runtime GPU tests need a GPU: %s\n",
                s.message().c_str());
    return 77;
  }
  return RUN_ALL_TESTS();
}

} // namespace mhc::runtime::testing

#endif // MHC_UNITTESTS_RUNTIME_GPUTESTSUPPORT_H
