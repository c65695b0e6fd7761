//===- KernelImages.h - the kernels embedded in the runtime -----*- C++ -*-===//

#ifndef MHC_LIB_RUNTIME_KERNELIMAGES_H
#define MHC_LIB_RUNTIME_KERNELIMAGES_H

#include <cstddef>

namespace mhc::runtime::detail {

/// One module image mhc-opt produced at build time: the kernels of one family
/// (gen_kernel_library.py) as PTX (NUL-terminated) or as a cubin for `arch`.
struct KernelImage {
  const char *family; ///< fixed | general-v4 | general-v1
  const char *arch;   ///< ptx | sm_80 | sm_90
  const unsigned char *data;
  size_t size;
};

extern const KernelImage kKernelImages[];
extern const size_t kNumKernelImages;

} // namespace mhc::runtime::detail

#endif // MHC_LIB_RUNTIME_KERNELIMAGES_H
