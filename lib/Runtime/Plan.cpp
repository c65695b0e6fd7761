//===- Plan.cpp - HyperConnectionPlan ------------------------------------===//

#include "CudaDriver.h"
#include "KernelImages.h"
#include "mhc/Contract/FusedLayer.h"
#include "mhc/Runtime/HyperConnection.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <vector>

namespace mhc::runtime {

using namespace detail;
namespace fl = contract::fused_layer;

struct HyperConnectionPlan::Impl {
  Descriptor descriptor;
  Sku sku;
  const CudaDriver *driver = nullptr;
  CUfunction function = nullptr;
  CUfunction clusterFunction = nullptr; // sku.clusterKernel, if any.
  int64_t clusterDynamicSharedBytes = 0;
  size_t workspaceBytes = 0; // The coefficient cache, if any.
  fl::Scalars scalars;       // The kernel's scalar arguments.
};

namespace {
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

/// The kernel parameters of a launch, packed from the contract's argument
/// list (include/mhc/Contract): a buffer as a memref descriptor (allocated,
/// aligned, offset, sizes..., strides...), a scalar as one parameter, each
/// in an 8-byte word. Fixed storage: packing a launch allocates nothing
/// (decode calls are short).
class KernelParams {
public:
  static constexpr size_t kWords = fl::kParameterCount;

  /// Packs every argument: `buffers[i]` for buffer argument i, the extents
  /// of the launch, and the plan's scalars.
  KernelParams(const void *const (&buffers)[fl::NumArgs],
               const int64_t (&extents)[4], const fl::Scalars &scalars) {
    for (unsigned i = 0; i < fl::NumArgs; ++i) {
      const contract::Arg &arg = fl::kArgs[i];
      switch (arg.kind) {
      case contract::ArgKind::Buffer:
        memref(buffers[i], arg, extents);
        break;
      case contract::ArgKind::F32:
        f32(fl::f32Arg(scalars, i));
        break;
      case contract::ArgKind::I32:
        push(uint64_t(uint32_t(fl::i32Arg(scalars, i))));
        break;
      }
    }
    assert(count == kWords && "kernel parameters do not match the contract");
  }

  /// The cuLaunchKernel parameter array.
  void **pointers() { return pointerArray.data(); }

private:
  void memref(const void *p, const contract::Arg &arg,
              const int64_t (&extents)[4]) {
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
  void f32(float v) {
    uint64_t word = 0;
    std::memcpy(&word, &v, sizeof(v));
    push(word);
  }
  void push(uint64_t word) {
    assert(count < kWords && "too many kernel parameters");
    words[count] = word;
    pointerArray[count] = &words[count];
    ++count;
  }
  std::array<uint64_t, kWords> words{};
  std::array<void *, kWords> pointerArray{};
  size_t count = 0;
};
} // namespace

HyperConnectionPlan::HyperConnectionPlan(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
HyperConnectionPlan::~HyperConnectionPlan() = default;

const Sku &HyperConnectionPlan::sku() const { return impl_->sku; }
const Descriptor &HyperConnectionPlan::descriptor() const {
  return impl_->descriptor;
}
size_t HyperConnectionPlan::workspaceSize() const {
  return impl_->workspaceBytes;
}

namespace {
using contract::kDynamicSharedBytesSuffix;
using contract::kProgrammaticLaunchSuffix;

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

/// A kernel of an embedded image, loaded, with what its launches need.
struct LoadedFunction {
  CUfunction function = nullptr;
  std::string arch;
  int64_t dynamicSharedBytes = 0;
  /// The kernel waits for the grids it depends on (griddepcontrol.wait), so
  /// it may be launched with programmatic stream serialization.
  bool programmaticLaunch = false;
};

/// The function `name` of the image of `family` that suits the device.
Status loadFunction(const CudaDriver &driver, CUcontext context,
                    const std::string &family, const std::string &name,
                    int major, int minor, LoadedFunction &result) {
  const KernelImage *image = pickImage(family, major, minor);
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

/// How many blocks of `function` fit on one SM at once.
Status blocksPerSM(const CudaDriver &driver, CUfunction function,
                   int64_t threads, int64_t dynamicSharedBytes, int &blocks) {
  if (CUresult r = driver.occupancyMaxActiveBlocksPerMultiprocessor(
          &blocks, function, int(threads), size_t(dynamicSharedBytes));
      r != CUDA_SUCCESS)
    return cudaError(driver, r, "cuOccupancyMaxActiveBlocksPerMultiprocessor");
  return Status::ok();
}

/// Whether the plan launches `function` with programmatic stream
/// serialization: asked for, supported by the kernel (it waits for the grids
/// it depends on before touching memory), and launchable (cuLaunchKernelEx).
bool programmatic(const HyperConnectionPlan::Impl &impl,
                  const Preference &preference,
                  const LoadedFunction &function) {
  return preference.programmaticLaunch && function.programmaticLaunch &&
         impl.driver->launchKernelEx;
}

/// The cluster kernel for small batches (sm_90+), and the largest batch it
/// runs: at most a quarter of the SMs, and clusters that all fit on the GPU
/// at once (and within maxBlocks). Without clusters on the device the plan
/// keeps only the block-per-row kernel.
Status loadClusterKernel(const CudaDriver &driver, CUcontext context, int major,
                         int minor, int sms, const Preference &preference,
                         HyperConnectionPlan::Impl &impl) {
  Sku &sku = impl.sku;
  auto withoutClusters = [&] {
    sku.dropClusterKernel();
    impl.clusterFunction = nullptr;
    impl.clusterDynamicSharedBytes = 0;
    return Status::ok();
  };
  if (sku.clusterKernel.empty())
    return Status::ok();
  if (major < 9)
    return withoutClusters();
  LoadedFunction cluster;
  if (Status s = loadFunction(driver, context, "cluster", sku.clusterKernel,
                              major, minor, cluster);
      !s)
    return s;
  impl.clusterFunction = cluster.function;
  impl.clusterDynamicSharedBytes = cluster.dynamicSharedBytes;
  sku.clusterProgrammaticLaunch = programmatic(impl, preference, cluster);
  int perSM = 0;
  if (Status s =
          blocksPerSM(driver, impl.clusterFunction, sku.clusterThreadsPerBlock,
                      impl.clusterDynamicSharedBytes, perSM);
      !s)
    return s;
  int64_t blocks = int64_t(perSM) * sms;
  if (preference.maxBlocks > 0)
    blocks = std::min(blocks, preference.maxBlocks);
  // Clusters spread a row over several SMs, which pays while one block per
  // row would leave most SMs idle. Measured on an H200 with programmatic
  // launches (bench/NOTES.md, attempt 23): clusters are faster up to 40
  // (n = 8, C = 4096) to 52 (n = 4, C = 7168) rows, about a third of the
  // 132 SMs, and slower beyond (64 rows: 6.1 vs 5.5 us); a quarter keeps a
  // margin for cards with less bandwidth per SM.
  sku.clusterMaxBatch =
      std::min<int64_t>(blocks / sku.clusterBlocks, int64_t(sms) / 4);
  if (sku.clusterMaxBatch == 0)
    return withoutClusters();
  return Status::ok();
}
} // namespace

Status HyperConnectionPlan::select(void *, const Descriptor &descriptor,
                                   const Preference &preference,
                                   std::unique_ptr<HyperConnectionPlan> &plan) {
  auto impl = std::make_unique<Impl>();
  impl->descriptor = descriptor;
  // The descriptor is validated first: nothing below may see a hostile one.
  if (Status s = selectSku(descriptor, preference, impl->sku); !s)
    return s;
  if (preference.coefficientCache)
    impl->workspaceBytes = coefficientCacheBytes(descriptor.streams);
  fl::StaticLayerConventions conventions;
  conventions.eps = descriptor.eps;
  conventions.sinkhornIters = descriptor.sinkhornIters;
  conventions.softmaxInit = descriptor.sinkhornInit == SinkhornInit::Softmax;
  conventions.sinkhornEps = descriptor.sinkhornEps;
  conventions.preEps = descriptor.preEps;
  conventions.transposed = descriptor.orientation == MixOrientation::Transposed;
  impl->scalars = fl::staticLayerScalars(conventions);
  if (Status s = loadDriver(impl->driver); !s)
    return s;
  const CudaDriver &driver = *impl->driver;
  CUcontext context;
  CUdevice device;
  if (Status s = currentContext(driver, context, device); !s)
    return s;
  int major = 0, minor = 0, sms = 0;
  driver.deviceGetAttribute(
      &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
  driver.deviceGetAttribute(
      &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  driver.deviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                            device);
  if (major < 8)
    return {
        StatusCode::Unsupported,
        "the kernels need compute capability 8.0 or newer, the device has " +
            std::to_string(major) + "." + std::to_string(minor)};
  Sku &sku = impl->sku;
  LoadedFunction main;
  if (Status s = loadFunction(driver, context, sku.family, sku.kernel, major,
                              minor, main);
      !s)
    return s;
  impl->function = main.function;
  sku.arch = main.arch;
  sku.dynamicSharedBytes = main.dynamicSharedBytes;
  sku.programmaticLaunch = programmatic(*impl, preference, main);
  int perSM = 0;
  if (Status s = blocksPerSM(driver, impl->function, sku.threadsPerBlock,
                             sku.dynamicSharedBytes, perSM);
      !s)
    return s;
  // Enough blocks to fill the GPU; each loops over its share of the rows,
  // so the Sinkhorn prologue runs once per block, not once per row; or one
  // block per row where selectSku chose that (Sku::blockPerRow).
  if (preference.maxBlocks > 0)
    sku.maxGridBlocks = preference.maxBlocks;
  else if (sku.blockPerRow)
    sku.maxGridBlocks = std::numeric_limits<int32_t>::max();
  else
    sku.maxGridBlocks = std::max<int64_t>(1, int64_t(perSM) * sms);
  if (Status s = loadClusterKernel(driver, context, major, minor, sms,
                                   preference, *impl);
      !s)
    return s;
  plan.reset(new HyperConnectionPlan(std::move(impl)));
  return Status::ok();
}

Status HyperConnectionPlan::canImplement(const Args &args) const {
  return validateArgs(impl_->descriptor, impl_->sku, args);
}

Status HyperConnectionPlan::run(void *stream, void *workspace,
                                const Args &args) const {
  if (Status s = canImplement(args); !s)
    return s;
  if (Status s = validateWorkspace(impl_->descriptor, impl_->workspaceBytes,
                                   workspace, args);
      !s)
    return s;
  if (args.batch == 0)
    return Status::ok();
  const Descriptor &d = impl_->descriptor;
  const int64_t b = args.batch;
  // The cache in i32 words; none (0 words) without a workspace.
  const size_t workspaceBytes = impl_->workspaceBytes;
  const void *buffers[fl::NumArgs] = {};
  buffers[fl::X] = args.x;
  buffers[fl::HRes] = args.hRes;
  buffers[fl::HPre] = args.hPre;
  buffers[fl::HPost] = args.hPost;
  buffers[fl::Weight] = args.weight;
  buffers[fl::Out] = args.out;
  buffers[fl::Cache] = workspaceBytes ? workspace : nullptr;
  int64_t extents[4];
  extents[size_t(contract::Extent::Batch)] = b;
  extents[size_t(contract::Extent::Streams)] = d.streams;
  extents[size_t(contract::Extent::Channels)] = d.channels;
  extents[size_t(contract::Extent::Words)] = int64_t(workspaceBytes / 4);
  KernelParams params(buffers, extents, impl_->scalars);
  // Small batches: one cluster of clusterBlocks blocks per row; otherwise
  // blocks loop over rows.
  const Sku &sku = impl_->sku;
  bool clustered = sku.runsClusters(b);
  CUfunction function = clustered ? impl_->clusterFunction : impl_->function;
  auto grid = unsigned(sku.gridFor(b));
  auto sharedBytes = unsigned(clustered ? impl_->clusterDynamicSharedBytes
                                        : sku.dynamicSharedBytes);
  auto threads = unsigned(sku.threadsFor(b));
  const CudaDriver &driver = *impl_->driver;
  if (sku.runsProgrammatic(b)) {
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
    if (CUresult r = driver.launchKernelEx(&config, function, params.pointers(),
                                           nullptr);
        r != CUDA_SUCCESS)
      return cudaError(driver, r, "cuLaunchKernelEx");
    return Status::ok();
  }
  if (CUresult r = driver.launchKernel(
          function, grid, 1, 1, threads, 1, 1, sharedBytes,
          static_cast<CUstream>(stream), params.pointers(), nullptr);
      r != CUDA_SUCCESS)
    return cudaError(driver, r, "cuLaunchKernel");
  return Status::ok();
}

} // namespace mhc::runtime
