//===- KernelLoader.cpp - loading and launching embedded kernels ----------===//

#include "KernelLoader.h"
#include "KernelImages.h"

#include <map>
#include <mutex>

namespace mhc::runtime::detail {

namespace {
using contract::kDynamicSharedBytesSuffix;
using contract::kProgrammaticLaunchSuffix;

/// The image of `family` best suited to the device: its own cubin, else PTX.
const KernelImage *pickImage(const std::string &family, int major, int minor) {
  std::string exact = "sm_" + std::to_string(major * 10 + minor);
  // A cubin runs on its own major version at the same or a higher minor.
  std::string sameMajor = "sm_" + std::to_string(major * 10);
  const KernelImage *ptx = nullptr, *cubin = nullptr;
  for (size_t i = 0; i < kNumKernelImages; ++i) {
    const KernelImage &image = kKernelImages[i];
    if (family != image.family)
      continue;
    if (std::strcmp(image.arch, "ptx") == 0)
      ptx = &image;
    else if (exact == image.arch || (!cubin && sameMajor == image.arch))
      cubin = &image;
  }
  return cubin ? cubin : ptx;
}

/// What the runtime keeps per loaded module (once per context and image,
/// for the life of the process). Guarded by moduleMutex().
struct LoadedModule {
  CUmodule module = nullptr;
  /// The i32 globals through which its kernels state their launch needs
  /// (dynamic shared memory, programmatic launch), as read so far.
  std::map<std::string, int32_t> stated;
};

std::mutex &moduleMutex() {
  static std::mutex mutex;
  return mutex;
}

/// The module of `image` in `context`, loaded on first use.
Status loadModule(const CudaDriver &driver, CUcontext context,
                  const KernelImage &image, LoadedModule *&loaded) {
  static std::map<std::pair<CUcontext, const void *>, LoadedModule> modules;
  auto key = std::make_pair(context, static_cast<const void *>(image.data));
  LoadedModule &entry = modules[key];
  loaded = &entry;
  if (entry.module)
    return Status::ok();
  if (CUresult r = driver.moduleLoadData(&entry.module, image.data);
      r != CUDA_SUCCESS) {
    entry.module = nullptr;
    return cudaError(driver, r, "cuModuleLoadData");
  }
  return Status::ok();
}

/// A non-blocking stream of the runtime's own in `context` (created once),
/// so reading a module global neither waits for nor delays the work the
/// caller has queued on the legacy default stream. Called under
/// moduleMutex().
Status privateStream(const CudaDriver &driver, CUcontext context,
                     CUstream &stream) {
  static std::map<CUcontext, CUstream> streams;
  auto it = streams.find(context);
  if (it != streams.end()) {
    stream = it->second;
    return Status::ok();
  }
  if (CUresult r = driver.streamCreate(&stream, CU_STREAM_NON_BLOCKING);
      r != CUDA_SUCCESS)
    return cudaError(driver, r, "cuStreamCreate");
  streams[context] = stream;
  return Status::ok();
}

/// The i32 global `<name><suffix>` of `loaded`: read from the device once
/// per module (a 4-byte copy on the runtime's private stream), then
/// remembered. Called under moduleMutex().
Status statedValue(const CudaDriver &driver, CUcontext context,
                   LoadedModule &loaded, const std::string &name,
                   const char *suffix, int32_t &value) {
  std::string symbol = name + suffix;
  if (auto it = loaded.stated.find(symbol); it != loaded.stated.end()) {
    value = it->second;
    return Status::ok();
  }
  CUdeviceptr address = 0;
  size_t size = 0;
  CUresult r =
      driver.moduleGetGlobal(&address, &size, loaded.module, symbol.c_str());
  if (r == CUDA_ERROR_NOT_FOUND)
    return {StatusCode::Internal,
            "kernel " + name + " does not state " + symbol};
  if (r != CUDA_SUCCESS)
    return cudaError(driver, r, "cuModuleGetGlobal");
  if (size != sizeof(value))
    return {StatusCode::Internal, symbol + " is not an i32"};
  CUstream stream;
  if (Status s = privateStream(driver, context, stream); !s)
    return s;
  if (r = driver.memcpyDtoHAsync(&value, address, sizeof(value), stream);
      r != CUDA_SUCCESS)
    return cudaError(driver, r, "cuMemcpyDtoHAsync");
  if (r = driver.streamSynchronize(stream); r != CUDA_SUCCESS)
    return cudaError(driver, r, "cuStreamSynchronize");
  loaded.stated[symbol] = value;
  return Status::ok();
}

/// The dynamic shared memory kernel `name` needs, with `function` allowed
/// to use that much.
Status prepareDynamicShared(const CudaDriver &driver, CUcontext context,
                            LoadedModule &loaded, const std::string &name,
                            CUfunction function, int64_t &bytes) {
  bytes = 0;
  int32_t value = 0;
  if (Status s = statedValue(driver, context, loaded, name,
                             kDynamicSharedBytesSuffix, value);
      !s)
    return s;
  if (value <= 0)
    return Status::ok();
  if (CUresult r = driver.funcSetAttribute(
          function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, value);
      r != CUDA_SUCCESS)
    return {StatusCode::Unsupported,
            "kernel " + name + " needs " + std::to_string(value) +
                " bytes of dynamic shared memory, which the device does not "
                "allow: " +
                cudaError(driver, r, "cuFuncSetAttribute").message()};
  bytes = value;
  return Status::ok();
}

} // namespace

Status loadFunction(const Device &device, const std::string &family,
                    const std::string &name, LoadedFunction &result) {
  const CudaDriver &driver = *device.driver;
  CUcontext context = device.context;
  const KernelImage *image = pickImage(family, device.major, device.minor);
  if (!image)
    return {StatusCode::Internal, "no embedded image for family " + family};
  result.arch = image->arch;
  std::lock_guard<std::mutex> lock(moduleMutex());
  LoadedModule *loaded = nullptr;
  if (Status s = loadModule(driver, context, *image, loaded); !s)
    return s;
  if (CUresult r = driver.moduleGetFunction(&result.function, loaded->module,
                                            name.c_str());
      r != CUDA_SUCCESS)
    return {StatusCode::Internal,
            "kernel " + name + " is missing from the " + family + " image"};
  int32_t waits = 0;
  if (Status s = statedValue(driver, context, *loaded, name,
                             kProgrammaticLaunchSuffix, waits);
      !s)
    return s;
  result.programmaticLaunch = waits != 0;
  return prepareDynamicShared(driver, context, *loaded, name, result.function,
                              result.dynamicSharedBytes);
}

Status blocksPerSM(const CudaDriver &driver, CUfunction function,
                   int64_t threads, int64_t dynamicSharedBytes, int &blocks) {
  if (CUresult r = driver.occupancyMaxActiveBlocksPerMultiprocessor(
          &blocks, function, int(threads), size_t(dynamicSharedBytes));
      r != CUDA_SUCCESS)
    return cudaError(driver, r, "cuOccupancyMaxActiveBlocksPerMultiprocessor");
  return Status::ok();
}


Status currentDevice(Device &d) {
  if (Status s = loadDriver(d.driver); !s)
    return s;
  const CudaDriver &driver = *d.driver;
  if (Status s = currentContext(driver, d.context, d.device); !s)
    return s;
  driver.deviceGetAttribute(
      &d.major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d.device);
  driver.deviceGetAttribute(
      &d.minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d.device);
  driver.deviceGetAttribute(&d.sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                            d.device);
  if (d.major < 8)
    return {
        StatusCode::Unsupported,
        "the kernels need compute capability 8.0 or newer, the device has " +
            std::to_string(d.major) + "." + std::to_string(d.minor)};
  return Status::ok();
}

Status launch(const CudaDriver &driver, CUfunction function, unsigned grid,
              unsigned threads, unsigned sharedBytes, void *stream,
              void **params, bool programmatic) {
  if (programmatic) {
    CUlaunchAttribute attribute{};
    attribute.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attribute.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config{};
    config.gridDimX = grid;
    config.gridDimY = config.gridDimZ = 1;
    config.blockDimX = threads;
    config.blockDimY = config.blockDimZ = 1;
    config.sharedMemBytes = sharedBytes;
    config.hStream = static_cast<CUstream>(stream);
    config.attrs = &attribute;
    config.numAttrs = 1;
    if (CUresult r = driver.launchKernelEx(&config, function, params, nullptr);
        r != CUDA_SUCCESS)
      return cudaError(driver, r, "cuLaunchKernelEx");
    return Status::ok();
  }
  if (CUresult r = driver.launchKernel(function, grid, 1, 1, threads, 1, 1,
                                       sharedBytes,
                                       static_cast<CUstream>(stream), params,
                                       nullptr);
      r != CUDA_SUCCESS)
    return cudaError(driver, r, "cuLaunchKernel");
  return Status::ok();
}

void KernelParams::memref(const void *p, const contract::Arg &arg,
                          const int64_t (&extents)[contract::kNumExtents]) {
  auto address = reinterpret_cast<uint64_t>(p);
  push(address);
  push(address);
  push(0);
  int64_t sizes[3];
  for (int d = 0; d < arg.rank; ++d) {
    sizes[d] = extents[size_t(arg.extents[d])];
    push(uint64_t(sizes[d]));
  }
  int64_t strides[3];
  int64_t stride = 1;
  for (int d = arg.rank; d-- > 0;) {
    strides[d] = stride;
    stride *= sizes[d];
  }
  for (int d = 0; d < arg.rank; ++d)
    push(uint64_t(strides[d]));
}

} // namespace mhc::runtime::detail
