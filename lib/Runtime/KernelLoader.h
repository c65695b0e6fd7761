//===- KernelLoader.h - loading and launching embedded kernels --*- C++ -*-===//
//
// What every plan of the runtime does with the kernels embedded in the
// library, whatever their family: find the device, load a kernel of a
// family's image once per context, read the launch needs the kernel states
// (Contract/Kernel.h), pack a launch's parameters from the family's
// contract, and launch.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_RUNTIME_KERNELLOADER_H
#define MHC_LIB_RUNTIME_KERNELLOADER_H

#include "CudaDriver.h"
#include "mhc/Contract/Kernel.h"

#include <array>
#include <cassert>
#include <cstring>
#include <string>

namespace mhc::runtime::detail {

/// The device of the calling thread's context (or device 0's primary
/// context), with the driver; fails with Unsupported below sm_80.
struct Device {
  const CudaDriver *driver = nullptr;
  CUcontext context = nullptr;
  CUdevice device = 0;
  int major = 0, minor = 0, sms = 0;
};
Status currentDevice(Device &device);

/// A kernel of an embedded image, loaded, with what its launches need.
struct LoadedFunction {
  CUfunction function = nullptr;
  std::string arch;
  int64_t dynamicSharedBytes = 0;
  /// The kernel waits for the grids it depends on (griddepcontrol.wait), so
  /// it may be launched with programmatic stream serialization.
  bool programmaticLaunch = false;
};

/// The function `name` of the image of `family` that suits `device` (its
/// own cubin, else PTX), loaded once per context and image.
Status loadFunction(const Device &device, const std::string &family,
                    const std::string &name, LoadedFunction &result);

/// How many blocks of `function` fit on one SM at once.
Status blocksPerSM(const CudaDriver &driver, CUfunction function,
                   int64_t threads, int64_t dynamicSharedBytes, int &blocks);

/// One launch of `function` on `stream`; with `programmatic`, through
/// cuLaunchKernelEx with programmatic stream serialization.
Status launch(const CudaDriver &driver, CUfunction function, unsigned grid,
              unsigned threads, unsigned sharedBytes, void *stream,
              void **params, bool programmatic);

/// The kernel parameters of a launch, packed from a contract's argument
/// list: a buffer as a memref descriptor (allocated, aligned, offset,
/// sizes..., strides..., row-major), a scalar as one parameter, each in an
/// 8-byte word. Fixed storage: packing allocates nothing (decode calls are
/// short).
class KernelParams {
public:
  static constexpr size_t kMaxWords = 96;

  /// Packs `args`: `buffers[i]` for buffer argument i with its extents
  /// from `extents` (indexed by contract::Extent), `scalarBits(i)` (the 32
  /// bits of the f32 or i32) for scalar argument i.
  template <size_t N, typename ScalarBits>
  KernelParams(const contract::Arg (&args)[N], const void *const (&buffers)[N],
               const int64_t (&extents)[contract::kNumExtents], ScalarBits scalarBits) {
    for (size_t i = 0; i < N; ++i) {
      if (args[i].kind == contract::ArgKind::Buffer)
        memref(buffers[i], args[i], extents);
      else
        push(uint64_t(uint32_t(scalarBits(unsigned(i)))));
    }
    assert(count == contract::parameterCount(args) &&
           "kernel parameters do not match the contract");
  }

  /// The cuLaunchKernel parameter array.
  void **pointers() { return pointerArray.data(); }

private:
  void memref(const void *p, const contract::Arg &arg,
              const int64_t (&extents)[contract::kNumExtents]);
  void push(uint64_t word) {
    assert(count < kMaxWords && "too many kernel parameters");
    words[count] = word;
    pointerArray[count] = &words[count];
    ++count;
  }
  std::array<uint64_t, kMaxWords> words{};
  std::array<void *, kMaxWords> pointerArray{};
  size_t count = 0;
};

/// The 32 bits of `v`, as a scalar kernel parameter carries them.
inline uint32_t f32Bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(v));
  return bits;
}

} // namespace mhc::runtime::detail

#endif // MHC_LIB_RUNTIME_KERNELLOADER_H
