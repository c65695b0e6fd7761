//===- CudaDriver.h - the CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// The runtime resolves the driver entry points it uses from libcuda.so.1 with
// dlopen, so the library (and its tests) load on machines without a GPU
// driver and report NoDevice there. Internal to the runtime and its tests.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_RUNTIME_CUDADRIVER_H
#define MHC_LIB_RUNTIME_CUDADRIVER_H

#include "mhc/Runtime/HyperConnection.h"

#include <cuda.h>

namespace mhc::runtime::detail {

struct CudaDriver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
  CUresult (*ctxGetCurrent)(CUcontext *);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*ctxGetDevice)(CUdevice *);
  CUresult (*ctxSynchronize)();
  CUresult (*devicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*moduleGetGlobal)(CUdeviceptr *, size_t *, CUmodule, const char *);
  CUresult (*funcSetAttribute)(CUfunction, CUfunction_attribute, int);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  /// cuLaunchKernelEx (CUDA 12.0+), null where the driver lacks it: then
  /// no launch asks for programmatic stream serialization.
  CUresult (*launchKernelEx)(const CUlaunchConfig *, CUfunction, void **,
                             void **);
  CUresult (*occupancyMaxActiveBlocksPerMultiprocessor)(int *, CUfunction, int,
                                                        size_t);
  CUresult (*getErrorString)(CUresult, const char **);
  // Used by the tests to move data.
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*memsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*memcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
};

/// Loads the driver and initializes it once per process. NoDevice when the
/// library is missing, cuInit fails or there is no GPU.
Status loadDriver(const CudaDriver *&driver);

/// A CudaError status naming the failed call and the driver's message.
Status cudaError(const CudaDriver &driver, CUresult result, const char *call);

/// The calling thread's current context; without one, the primary context of
/// device 0, made current.
Status currentContext(const CudaDriver &driver, CUcontext &context,
                      CUdevice &device);

} // namespace mhc::runtime::detail

#endif // MHC_LIB_RUNTIME_CUDADRIVER_H
