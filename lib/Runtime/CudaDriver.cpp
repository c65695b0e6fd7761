//===- CudaDriver.cpp - the CUDA driver API, loaded at run time -----------===//

#include "CudaDriver.h"

#include <dlfcn.h>
#include <mutex>

namespace mhc::runtime::detail {

namespace {
template <typename Fn> bool resolve(void *lib, const char *name, Fn &fn) {
  fn = reinterpret_cast<Fn>(dlsym(lib, name));
  return fn != nullptr;
}

Status load(CudaDriver &d) {
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return {StatusCode::NoDevice,
            std::string("the CUDA driver (libcuda.so.1) is not available: ") +
                dlerror()};
  // The _v2 names are the current ABI of these entry points.
  bool ok =
      resolve(lib, "cuInit", d.init) &&
      resolve(lib, "cuDeviceGetCount", d.deviceGetCount) &&
      resolve(lib, "cuDeviceGet", d.deviceGet) &&
      resolve(lib, "cuDeviceGetAttribute", d.deviceGetAttribute) &&
      resolve(lib, "cuCtxGetCurrent", d.ctxGetCurrent) &&
      resolve(lib, "cuCtxSetCurrent", d.ctxSetCurrent) &&
      resolve(lib, "cuCtxGetDevice", d.ctxGetDevice) &&
      resolve(lib, "cuCtxSynchronize", d.ctxSynchronize) &&
      resolve(lib, "cuDevicePrimaryCtxRetain", d.devicePrimaryCtxRetain) &&
      resolve(lib, "cuModuleLoadData", d.moduleLoadData) &&
      resolve(lib, "cuModuleGetFunction", d.moduleGetFunction) &&
      resolve(lib, "cuModuleGetGlobal_v2", d.moduleGetGlobal) &&
      resolve(lib, "cuFuncSetAttribute", d.funcSetAttribute) &&
      resolve(lib, "cuLaunchKernel", d.launchKernel) &&
      resolve(lib, "cuOccupancyMaxActiveBlocksPerMultiprocessor",
              d.occupancyMaxActiveBlocksPerMultiprocessor) &&
      resolve(lib, "cuGetErrorString", d.getErrorString) &&
      resolve(lib, "cuMemAlloc_v2", d.memAlloc) &&
      resolve(lib, "cuMemFree_v2", d.memFree) &&
      resolve(lib, "cuMemcpyHtoD_v2", d.memcpyHtoD) &&
      resolve(lib, "cuMemcpyDtoH_v2", d.memcpyDtoH) &&
      resolve(lib, "cuMemsetD8_v2", d.memsetD8) &&
      resolve(lib, "cuStreamCreate", d.streamCreate) &&
      resolve(lib, "cuStreamSynchronize", d.streamSynchronize) &&
      resolve(lib, "cuMemcpyDtoHAsync_v2", d.memcpyDtoHAsync);
  if (!ok)
    return {StatusCode::NoDevice,
            "the CUDA driver lacks an entry point mhc needs (driver too old?)"};
  if (!resolve(lib, "cuLaunchKernelEx", d.launchKernelEx))
    d.launchKernelEx = nullptr;
  if (CUresult r = d.init(0); r != CUDA_SUCCESS)
    return {StatusCode::NoDevice,
            "cuInit failed: " + cudaError(d, r, "cuInit").message()};
  int count = 0;
  if (d.deviceGetCount(&count) != CUDA_SUCCESS || count == 0)
    return {StatusCode::NoDevice, "no CUDA device is visible"};
  return Status::ok();
}
} // namespace

Status loadDriver(const CudaDriver *&driver) {
  static CudaDriver instance;
  static Status status;
  static std::once_flag once;
  std::call_once(once, [] { status = load(instance); });
  driver = status ? &instance : nullptr;
  return status;
}

Status cudaError(const CudaDriver &driver, CUresult result, const char *call) {
  const char *message = nullptr;
  if (driver.getErrorString)
    driver.getErrorString(result, &message);
  return {StatusCode::CudaError,
          std::string(call) + " failed: " +
              (message ? message : "error " + std::to_string(int(result)))};
}

Status currentContext(const CudaDriver &driver, CUcontext &context,
                      CUdevice &device) {
  if (CUresult r = driver.ctxGetCurrent(&context); r != CUDA_SUCCESS)
    return cudaError(driver, r, "cuCtxGetCurrent");
  if (!context) {
    if (CUresult r = driver.deviceGet(&device, 0); r != CUDA_SUCCESS)
      return cudaError(driver, r, "cuDeviceGet");
    if (CUresult r = driver.devicePrimaryCtxRetain(&context, device);
        r != CUDA_SUCCESS)
      return cudaError(driver, r, "cuDevicePrimaryCtxRetain");
    if (CUresult r = driver.ctxSetCurrent(context); r != CUDA_SUCCESS)
      return cudaError(driver, r, "cuCtxSetCurrent");
  }
  if (CUresult r = driver.ctxGetDevice(&device); r != CUDA_SUCCESS)
    return cudaError(driver, r, "cuCtxGetDevice");
  return Status::ok();
}

} // namespace mhc::runtime::detail
