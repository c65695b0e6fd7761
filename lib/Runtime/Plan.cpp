//===- Plan.cpp - HyperConnectionPlan ------------------------------------===//

#include "KernelLoader.h"
#include "mhc/Contract/FusedLayer.h"
#include "mhc/Runtime/HyperConnection.h"

#include <algorithm>
#include <limits>

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
Status loadClusterKernel(const Device &device, const Preference &preference,
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
  if (device.major < 9)
    return withoutClusters();
  LoadedFunction cluster;
  if (Status s = loadFunction(device, "cluster", sku.clusterKernel, cluster);
      !s)
    return s;
  impl.clusterFunction = cluster.function;
  impl.clusterDynamicSharedBytes = cluster.dynamicSharedBytes;
  sku.clusterProgrammaticLaunch = programmatic(impl, preference, cluster);
  int perSM = 0;
  if (Status s = blocksPerSM(*device.driver, impl.clusterFunction,
                             sku.clusterThreadsPerBlock,
                             impl.clusterDynamicSharedBytes, perSM);
      !s)
    return s;
  int64_t blocks = int64_t(perSM) * device.sms;
  if (preference.maxBlocks > 0)
    blocks = std::min(blocks, preference.maxBlocks);
  // Clusters spread a row over several SMs, which pays while one block per
  // row would leave most SMs idle. Measured on an H200 with programmatic
  // launches (bench/NOTES.md, attempt 23): clusters are faster up to 40
  // (n = 8, C = 4096) to 52 (n = 4, C = 7168) rows, about a third of the
  // 132 SMs, and slower beyond (64 rows: 6.1 vs 5.5 us); a quarter keeps a
  // margin for cards with less bandwidth per SM.
  sku.clusterMaxBatch =
      std::min<int64_t>(blocks / sku.clusterBlocks, int64_t(device.sms) / 4);
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
  Device device;
  if (Status s = currentDevice(device); !s)
    return s;
  impl->driver = device.driver;
  Sku &sku = impl->sku;
  LoadedFunction main;
  if (Status s = loadFunction(device, sku.family, sku.kernel, main); !s)
    return s;
  impl->function = main.function;
  sku.arch = main.arch;
  sku.dynamicSharedBytes = main.dynamicSharedBytes;
  sku.programmaticLaunch = programmatic(*impl, preference, main);
  int perSM = 0;
  if (Status s = blocksPerSM(*device.driver, impl->function,
                             sku.threadsPerBlock, sku.dynamicSharedBytes,
                             perSM);
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
    sku.maxGridBlocks = std::max<int64_t>(1, int64_t(perSM) * device.sms);
  if (Status s = loadClusterKernel(device, preference, *impl); !s)
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
  int64_t extents[contract::kNumExtents] = {};
  extents[size_t(contract::Extent::Batch)] = b;
  extents[size_t(contract::Extent::Streams)] = d.streams;
  extents[size_t(contract::Extent::Channels)] = d.channels;
  extents[size_t(contract::Extent::Words)] = int64_t(workspaceBytes / 4);
  const fl::Scalars &scalars = impl_->scalars;
  KernelParams params(fl::kArgs, buffers, extents, [&](unsigned i) {
    return fl::kArgs[i].kind == contract::ArgKind::F32
               ? f32Bits(fl::f32Arg(scalars, i))
               : uint32_t(fl::i32Arg(scalars, i));
  });
  // Small batches: one cluster of clusterBlocks blocks per row; otherwise
  // blocks loop over rows.
  const Sku &sku = impl_->sku;
  bool clustered = sku.runsClusters(b);
  CUfunction function = clustered ? impl_->clusterFunction : impl_->function;
  auto grid = unsigned(sku.gridFor(b));
  auto sharedBytes = unsigned(clustered ? impl_->clusterDynamicSharedBytes
                                        : sku.dynamicSharedBytes);
  auto threads = unsigned(sku.threadsFor(b));
  return launch(*impl_->driver, function, grid, threads, sharedBytes, stream,
                params.pointers(), sku.runsProgrammatic(b));
}

} // namespace mhc::runtime
