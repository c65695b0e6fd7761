//===- Sku.cpp - variant selection and argument validation ----------------===//
//
// Host-only logic: which embedded kernel serves a descriptor, and whether a
// run's arguments are acceptable to it. No device is needed, so all of it is
// unit-tested in CI.
//
//===----------------------------------------------------------------------===//

#include "Validation.h"
#include "mhc/Contract/FusedLayer.h"
#include "mhc/Runtime/HyperConnection.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <vector>

namespace mhc::runtime {

using namespace detail;

const char *toString(StatusCode code) {
  switch (code) {
  case StatusCode::Ok:
    return "ok";
  case StatusCode::Unsupported:
    return "unsupported";
  case StatusCode::InvalidArgument:
    return "invalid argument";
  case StatusCode::CudaError:
    return "CUDA error";
  case StatusCode::NoDevice:
    return "no device";
  case StatusCode::Internal:
    return "internal error";
  }
  return "unknown";
}

std::string Sku::toString() const {
  std::ostringstream os;
  os << kernel << " [" << family << ", " << arch << ", vector " << vectorWidth
     << ", " << threadsPerBlock << " threads";
  if (blockPerRow)
    os << ", one block per row";
  else
    os << ", grid <= " << maxGridBlocks << " blocks";
  if (programmaticLaunch)
    os << ", programmatic launch";
  if (dynamicSharedBytes > 0)
    os << ", " << dynamicSharedBytes << " B of rows in shared memory";
  if (!clusterKernel.empty()) {
    os << "; batch <= " << clusterMaxBatch << ": " << clusterKernel << ", "
       << clusterBlocks << "-block clusters of " << clusterThreadsPerBlock
       << " threads";
    if (clusterProgrammaticLaunch)
      os << ", programmatic launch";
  }
  os << "]";
  return os.str();
}

int64_t Sku::gridFor(int64_t batch) const {
  contract::fused_layer::Variant variant;
  variant.clusterBlocks = runsClusters(batch) ? clusterBlocks : 0;
  return contract::fused_layer::gridBlocks(variant, batch,
                                           std::max<int64_t>(1, maxGridBlocks));
}

void Sku::dropClusterKernel() {
  clusterKernel.clear();
  clusterBlocks = 0;
  clusterThreadsPerBlock = 0;
  clusterMaxBatch = 0;
  clusterProgrammaticLaunch = false;
}

namespace {
constexpr int64_t kMaxStreams = 32;
constexpr int64_t kThreads = 256;

/// A fixed-C kernel, with its own block size, and its cluster kernel's.
struct FixedVariant {
  int64_t streams, channels, threads, clusterBlocks, clusterThreads;
};
constexpr FixedVariant kFixedVariants[] = {
#define MHC_FIXED_VARIANT(n, c, t, k, kt) {n, c, t, k, kt},
#include "FixedVariants.inc"
#undef MHC_FIXED_VARIANT
};

namespace fl = contract::fused_layer;

/// The name of the kernel of `d` (the contract's, which convert-mhc-to-gpu
/// gives it).
std::string kernelName(const Descriptor &d, bool fixedChannels,
                       int64_t vectorWidth, int64_t threads,
                       int64_t clusterBlocks = 0) {
  fl::Variant v;
  v.streams = d.streams;
  v.channels = fixedChannels ? d.channels : 0;
  v.vectorWidth = vectorWidth;
  v.bf16Weight = d.weight == DType::BF16;
  v.threads = threads;
  v.clusterBlocks = clusterBlocks;
  return fl::kernelName(v);
}

/// Bytes of x (and of out) in a run: all its rows; SIZE_MAX where that does
/// not fit in size_t (validateArgs rejects such a batch).
size_t xBytes(const Descriptor &d, const Args &a) {
  return bufferBytes(4, {a.batch, d.streams, d.channels});
}

/// The buffers a run reads.
std::vector<Region> inputRegions(const Descriptor &d, const Args &a) {
  size_t n = size_t(d.streams);
  return {{"x", a.x, xBytes(d, a)},
          {"hRes", a.hRes, n * n * 4},
          {"hPre", a.hPre, n * 4},
          {"hPost", a.hPost, n * 4},
          {"weight", a.weight, size_t(d.channels) * dtypeSize(d.weight)}};
}
} // namespace

Status validateDescriptor(const Descriptor &d) {
  if (Status s =
          validateShape(d.streams, kMaxStreams, d.channels, 29, d.maxBatch);
      !s)
    return s;
  if (d.activation != DType::F32)
    return {StatusCode::Unsupported, "activations must be f32"};
  if (d.weight != DType::F32 && d.weight != DType::BF16)
    return invalid("the weight dtype must be f32 or bf16");
  if (!(d.eps > 0.0f) || !std::isfinite(d.eps))
    return invalid("eps must be positive and finite");
  if (d.sinkhornIters < 1)
    return invalid("sinkhornIters must be >= 1, got " +
                   std::to_string(d.sinkhornIters));
  if (!(d.sinkhornEps > 0.0f) || !std::isfinite(d.sinkhornEps))
    return invalid("sinkhornEps must be positive and finite");
  if (!(d.preEps >= 0.0f) || !std::isfinite(d.preEps))
    return invalid("preEps must be non-negative and finite");
  if (d.sinkhornInit != SinkhornInit::Exp &&
      d.sinkhornInit != SinkhornInit::Softmax)
    return invalid("unknown Sinkhorn init");
  if (d.orientation != MixOrientation::Direct &&
      d.orientation != MixOrientation::Transposed)
    return invalid("unknown mix orientation");
  return Status::ok();
}

Status selectSku(const Descriptor &d, const Preference &preference, Sku &sku) {
  if (Status s = validateDescriptor(d); !s)
    return s;
  if (preference.maxBlocks < 0)
    return invalid("maxBlocks must be >= 0");
  const FixedVariant *variant = nullptr;
  for (const FixedVariant &v : kFixedVariants)
    if (v.streams == d.streams && v.channels == d.channels)
      variant = &v;
  if (preference.portable)
    variant = nullptr;
  bool fixed = variant != nullptr;
  sku.vectorWidth = (preference.portable || d.channels % 4 != 0) ? 1 : 4;
  sku.family = fixed                  ? "fixed"
               : sku.vectorWidth == 4 ? "general-v4"
                                      : "general-v1";
  sku.threadsPerBlock = fixed ? variant->threads : kThreads;
  sku.kernel = kernelName(d, fixed, sku.vectorWidth, sku.threadsPerBlock);
  // One block per row instead of a grid-stride loop, for the fixed-C
  // kernels whose rows are held in registers (up to 128 KiB; bench/NOTES.md,
  // attempts 15 and 16). With the coefficient cache a block's prologue is
  // a lookup in L2, and one block per row wins from C = 1920 on
  // (H100, n = 4: C = 1920 1.07 -> 1.01x of a copy, 2560 1.09 -> 1.03x,
  // 4096 1.06-1.07 -> 1.02-1.04x; n = 8: 2560 1.08 either way, 4096 1.02 ->
  // 1.01x); at C = 1280 the loop stays faster (n = 4: 1.07 vs 1.13x, n = 8:
  // 1.07 vs 1.25x). Without the cache every block runs the Sinkhorn rounds,
  // which only rows of 96-128 KiB hide (n = 4, C = 4096: 1.19x instead of
  // 1.06-1.07x). An explicit maxBlocks overrides.
  int64_t rowBytes = d.streams * d.channels * 4;
  bool largeRow =
      preference.coefficientCache ? d.channels >= 1920 : rowBytes >= 96 * 1024;
  sku.blockPerRow =
      fixed && preference.maxBlocks == 0 && largeRow && rowBytes <= 128 * 1024;
  sku.maxGridBlocks = 0; // set by select, from the device
  sku.dropClusterKernel();
  if (fixed && variant->clusterBlocks > 0 && preference.clusterRows) {
    sku.clusterBlocks = variant->clusterBlocks;
    sku.clusterThreadsPerBlock = variant->clusterThreads;
    sku.clusterKernel =
        kernelName(d, true, sku.vectorWidth, sku.clusterThreadsPerBlock,
                   sku.clusterBlocks);
  }
  return Status::ok();
}

Status validateArgs(const Descriptor &d, const Sku &sku, const Args &a) {
  if (Status s = validateBatch(a.batch, d.maxBatch); !s)
    return s;
  if (a.weightType != d.weight)
    return invalid("the weight dtype differs from the descriptor's");
  struct Pointer {
    const char *name;
    const void *p;
  };
  for (Pointer p : {Pointer{"hRes", a.hRes}, Pointer{"hPre", a.hPre},
                    Pointer{"hPost", a.hPost}, Pointer{"weight", a.weight}})
    if (!p.p)
      return invalid(std::string(p.name) + " is null");
  if (a.batch > 0 && (!a.x || !a.out))
    return invalid(a.x ? "out is null" : "x is null");

  uintptr_t rowAlign = 4 * sku.vectorWidth;
  uintptr_t weightAlign = dtypeSize(d.weight) * sku.vectorWidth;
  auto alignment = [&](const char *name, const void *p, uintptr_t bytes) {
    return invalid(std::string(name) + " must be " + std::to_string(bytes) +
                   "-byte aligned for " + sku.kernel +
                   (sku.vectorWidth > 1
                        ? " (select with Preference::portable for 4-byte "
                          "alignment)"
                        : ""));
  };
  if (a.batch > 0 && !aligned(a.x, rowAlign))
    return alignment("x", a.x, rowAlign);
  if (a.batch > 0 && !aligned(a.out, rowAlign))
    return alignment("out", a.out, rowAlign);
  if (!aligned(a.weight, weightAlign))
    return alignment("weight", a.weight, weightAlign);
  for (Pointer p : {Pointer{"hRes", a.hRes}, Pointer{"hPre", a.hPre},
                    Pointer{"hPost", a.hPost}})
    if (!aligned(p.p, 4))
      return alignment(p.name, p.p, 4);

  // Every buffer of the run lies in the address space (a batch whose bytes
  // overflow, or a pointer too close to the top, is not a run).
  size_t rows = xBytes(d, a);
  if (rows == SIZE_MAX)
    return invalid("batch " + std::to_string(a.batch) + " of " +
                   std::to_string(d.streams) + " x " +
                   std::to_string(d.channels) +
                   " f32 rows is more bytes than the address space holds");
  return checkRegions({"out", a.out, rows}, inputRegions(d, a));
}

size_t coefficientCacheBytes(int64_t streams) {
  return fl::cacheBytes(streams);
}

Status validateWorkspace(const Descriptor &d, size_t bytes,
                         const void *workspace, const Args &a) {
  if (bytes == 0)
    return Status::ok();
  if (!workspace)
    return invalid("the plan needs a workspace of " + std::to_string(bytes) +
                   " bytes (workspaceSize), got null");
  if (!aligned(workspace, 16))
    return invalid("the workspace must be 16-byte aligned");
  std::vector<Region> regions = inputRegions(d, a);
  regions.push_back({"out", a.out, xBytes(d, a)});
  for (const Region &r : regions)
    if (overlaps(workspace, bytes, r.p, r.bytes))
      return invalid(std::string("the workspace overlaps ") + r.name);
  return Status::ok();
}

} // namespace mhc::runtime
