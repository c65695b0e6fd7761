//===- PrePlan.cpp - PrePlan: the dynamic-H pre ---------------------------===//
//
// Selection and validation (host only, unit-tested in CI) and the plan that
// launches the two kernels of Contract/DynamicPre.h.
//
//===----------------------------------------------------------------------===//

#include "KernelLoader.h"
#include "Validation.h"
#include "mhc/Contract/DynamicPre.h"
#include "mhc/Runtime/DynamicPre.h"

#include <algorithm>
#include <cmath>

namespace mhc::runtime {

using namespace detail;
namespace dpre = contract::dynamic_pre;

namespace {
constexpr int64_t kPreThreads = 256;

bool knownDType(DType t) { return t == DType::F32 || t == DType::BF16; }

bool bf16Mma(const PreDescriptor &d) {
  return dpre::bf16Multiply(d.activation == DType::BF16,
                            d.projection == DType::BF16);
}

/// Whether the vector kernels take the descriptor's shape.
bool vectorized(const PreDescriptor &d) {
  return dpre::vectorizedShape(d.streams, d.channels,
                               d.activation == DType::BF16,
                               d.projection == DType::BF16);
}
} // namespace

Status validatePreDescriptor(const PreDescriptor &d) {
  // n C stays below 2^31 (the kernels' i32-safe index range).
  if (Status s = validateShape(d.streams, dpre::kMaxStreams, d.channels, 26,
                               d.maxBatch);
      !s)
    return s;
  if (!knownDType(d.activation) || !knownDType(d.projection))
    return invalid("the activation and projection dtypes must be f32 or bf16");
  if (!(d.eps > 0.0f) || !std::isfinite(d.eps))
    return invalid("eps must be positive and finite");
  if (!(d.preEps >= 0.0f) || !std::isfinite(d.preEps))
    return invalid("preEps must be non-negative and finite");
  if (d.sinkhornIters < 1)
    return invalid("sinkhornIters must be >= 1, got " +
                   std::to_string(d.sinkhornIters));
  if (!(d.sinkhornEps > 0.0f) || !std::isfinite(d.sinkhornEps))
    return invalid("sinkhornEps must be positive and finite");
  if (d.sinkhornInit != SinkhornInit::Exp &&
      d.sinkhornInit != SinkhornInit::Softmax)
    return invalid("unknown Sinkhorn init");
  return Status::ok();
}

Status selectPreSku(const PreDescriptor &d, const Preference &preference,
                    Sku &sku, std::string &preKernel) {
  if (Status s = validatePreDescriptor(d); !s)
    return s;
  if (preference.maxBlocks < 0)
    return invalid("maxBlocks must be >= 0");
  // The vector kernels where the shape allows, else the element-wise ones.
  bool vector = vectorized(d) && !preference.portable;
  sku = Sku();
  sku.family = vector ? "pre" : "pre-v1";
  dpre::ProjectionVariant projection;
  projection.streams = d.streams;
  projection.bf16Activation = d.activation == DType::BF16;
  projection.bf16Projection = d.projection == DType::BF16;
  projection.vectorWidth = !vector ? 1 : bf16Mma(d) ? 8 : 4;
  sku.kernel = dpre::kernelName(projection);
  sku.threadsPerBlock = projection.threads;
  dpre::PreVariant pre;
  pre.streams = d.streams;
  pre.bf16Activation = d.activation == DType::BF16;
  pre.vectorWidth = !vector ? 1 : d.activation == DType::BF16 ? 8 : 4;
  pre.threads = kPreThreads;
  sku.vectorWidth = pre.vectorWidth;
  preKernel = dpre::kernelName(pre);
  return Status::ok();
}

Status validatePreArgs(const PreDescriptor &d, const Sku &sku,
                       const PreArgs &a) {
  if (Status s = validateBatch(a.batch, d.maxBatch); !s)
    return s;
  if (a.batch == 0)
    return Status::ok();
  size_t act = dtypeSize(d.activation), proj = dtypeSize(d.projection);
  int64_t n = d.streams, m = dpre::projectionWidth(n);
  std::vector<Region> inputs = {
      {"x", a.x, bufferBytes(act, {a.batch, n, d.channels})},
      {"phi", a.phi, bufferBytes(proj, {n * d.channels, m})},
      {"alpha", a.alpha, 12},
      {"bias", a.bias, size_t(m) * 4}};
  std::vector<Region> outputs = {
      {"y", a.y, bufferBytes(act, {a.batch, d.channels})},
      {"hPre", a.hPre, bufferBytes(4, {a.batch, n})},
      {"hPost", a.hPost, bufferBytes(4, {a.batch, n})},
      {"matrix", a.matrix, bufferBytes(4, {a.batch, n, n})}};
  for (const std::vector<Region> *list : {&inputs, &outputs})
    for (const Region &r : *list) {
      if (!r.p)
        return invalid(std::string(r.name) + " is null");
      if (r.bytes == SIZE_MAX)
        return invalid("batch " + std::to_string(a.batch) + " makes " +
                       r.name + " more bytes than the address space holds");
    }
  auto misaligned = [&](const Region &r, uintptr_t bytes) {
    return invalid(std::string(r.name) + " must be " + std::to_string(bytes) +
                   "-byte aligned for " + sku.kernel +
                   (sku.vectorWidth > 1 ? " (select with Preference::portable "
                                          "for element-aligned pointers)"
                                        : ""));
  };
  // The vector kernels access x and y 16 bytes at a time (the projection
  // reads runs of the step's elements, 8 bytes for bf16 x with tf32).
  uintptr_t rowAlign = sku.vectorWidth > 1 ? 16 : act;
  if (!aligned(a.x, rowAlign))
    return misaligned(inputs[0], rowAlign);
  if (!aligned(a.y, rowAlign))
    return misaligned(outputs[0], rowAlign);
  if (!aligned(a.phi, proj))
    return misaligned(inputs[1], proj);
  for (const Region &r : {inputs[2], inputs[3], outputs[1], outputs[2],
                          outputs[3]})
    if (!aligned(r.p, 4))
      return misaligned(r, 4);
  // No output overlaps an input or another output.
  std::vector<Region> seen = inputs;
  for (const Region &out : outputs) {
    if (Status s = checkRegions(out, seen); !s)
      return s;
    seen.push_back(out);
  }
  return Status::ok();
}

struct PrePlan::Impl {
  PreDescriptor descriptor;
  Sku sku;
  std::string preKernel;
  const CudaDriver *driver = nullptr;
  CUfunction projection = nullptr, pre = nullptr;
  int64_t sms = 132;
  int64_t preMaxBlocks = 0;
};

PrePlan::PrePlan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PrePlan::~PrePlan() = default;

const Sku &PrePlan::sku() const { return impl_->sku; }
const std::string &PrePlan::preKernel() const { return impl_->preKernel; }
const PreDescriptor &PrePlan::descriptor() const { return impl_->descriptor; }

int64_t PrePlan::splits(int64_t batch) const {
  const PreDescriptor &d = impl_->descriptor;
  return dpre::splitsFor(batch, d.streams, d.channels, bf16Mma(d),
                         impl_->sms);
}

size_t PrePlan::workspaceSize(int64_t batch) const {
  if (batch <= 0)
    return 0;
  return dpre::workspaceBytes(splits(batch), batch, impl_->descriptor.streams);
}

PrecisionGuarantee PrePlan::precisionGuarantee() const {
  PrecisionGuarantee g;
  bool bf16 = bf16Mma(impl_->descriptor);
  g.math = bf16 ? "projection: bf16 x bf16 products on tensor cores (exact), "
                  "f32 accumulation; coefficients and y in f32, y rounded once"
                : "projection: tf32 on tensor cores (x and phi rounded to "
                  "nearest tf32, 2^-11 relative), f32 accumulation; "
                  "coefficients and y in f32, y rounded once";
  g.accumulation = "f32, fixed order: K slices summed in slice order";
  // y against float64 of the same inputs, relative to max(1, max|y|), for
  // logits of order one (alpha r sum_k |x_k phi_kj| <= 1): bf16 y, its
  // rounding; f32 y with a tf32 projection, the coefficients' error.
  g.maxRelativeError =
      impl_->descriptor.activation == DType::BF16 ? 1.0 / 128 : 2e-3;
  return g;
}

Status PrePlan::select(void *, const PreDescriptor &descriptor,
                       const Preference &preference,
                       std::unique_ptr<PrePlan> &plan) {
  auto impl = std::make_unique<Impl>();
  impl->descriptor = descriptor;
  if (Status s =
          selectPreSku(descriptor, preference, impl->sku, impl->preKernel);
      !s)
    return s;
  Device device;
  if (Status s = currentDevice(device); !s)
    return s;
  impl->driver = device.driver;
  impl->sms = device.sms;
  LoadedFunction projection, pre;
  const std::string &family = impl->sku.family;
  if (Status s = loadFunction(device, family, impl->sku.kernel, projection);
      !s)
    return s;
  if (Status s = loadFunction(device, family, impl->preKernel, pre); !s)
    return s;
  impl->projection = projection.function;
  impl->pre = pre.function;
  impl->sku.arch = projection.arch;
  int perSM = 0;
  if (Status s = blocksPerSM(*device.driver, pre.function, kPreThreads, 0,
                             perSM);
      !s)
    return s;
  impl->preMaxBlocks = preference.maxBlocks > 0
                           ? preference.maxBlocks
                           : std::max<int64_t>(1, int64_t(perSM) * device.sms);
  impl->sku.maxGridBlocks = impl->preMaxBlocks;
  plan.reset(new PrePlan(std::move(impl)));
  return Status::ok();
}

Status PrePlan::canImplement(const PreArgs &args) const {
  return validatePreArgs(impl_->descriptor, impl_->sku, args);
}

Status PrePlan::run(void *stream, void *workspace, const PreArgs &a) const {
  if (Status s = canImplement(a); !s)
    return s;
  if (a.batch == 0)
    return Status::ok();
  const PreDescriptor &d = impl_->descriptor;
  size_t bytes = workspaceSize(a.batch);
  if (!workspace)
    return invalid("the pre needs a workspace of " + std::to_string(bytes) +
                   " bytes (workspaceSize(batch)), got null");
  if (!aligned(workspace, 16))
    return invalid("the workspace must be 16-byte aligned");
  size_t act = dtypeSize(d.activation);
  int64_t n = d.streams, m = dpre::projectionWidth(n);
  for (const Region &r :
       {Region{"x", a.x, bufferBytes(act, {a.batch, n, d.channels})},
        Region{"phi", a.phi,
               bufferBytes(dtypeSize(d.projection), {n * d.channels, m})},
        Region{"y", a.y, bufferBytes(act, {a.batch, d.channels})},
        Region{"hPre", a.hPre, bufferBytes(4, {a.batch, n})},
        Region{"hPost", a.hPost, bufferBytes(4, {a.batch, n})},
        Region{"matrix", a.matrix, bufferBytes(4, {a.batch, n, n})},
        Region{"alpha", a.alpha, 12}, Region{"bias", a.bias, size_t(m) * 4}})
    if (overlaps(workspace, bytes, r.p, r.bytes))
      return invalid(std::string("the workspace overlaps ") + r.name);

  int64_t splits = this->splits(a.batch);
  int64_t extents[contract::kNumExtents] = {};
  extents[size_t(contract::Extent::Batch)] = a.batch;
  extents[size_t(contract::Extent::Streams)] = n;
  extents[size_t(contract::Extent::Channels)] = d.channels;
  extents[size_t(contract::Extent::Splits)] = splits;
  extents[size_t(contract::Extent::ProjectionRows)] = n * d.channels;
  extents[size_t(contract::Extent::ProjectionColumns)] = m;
  extents[size_t(contract::Extent::PartialWidth)] = dpre::partialWidth(n);
  extents[size_t(contract::Extent::Scales)] = 3;

  namespace proj = dpre::projection;
  const void *projBuffers[proj::NumArgs] = {};
  projBuffers[proj::X] = a.x;
  projBuffers[proj::Phi] = a.phi;
  projBuffers[proj::Partials] = workspace;
  KernelParams projParams(proj::kArgs, projBuffers, extents,
                          [](unsigned) { return 0u; });
  const CudaDriver &driver = *impl_->driver;
  if (Status s = launch(driver, impl_->projection,
                        unsigned(dpre::projectionBlocks(a.batch, splits)),
                        unsigned(dpre::kProjectionThreads), 0, stream,
                        projParams.pointers(), /*programmatic=*/false);
      !s)
    return s;

  namespace pa = dpre::pre;
  pa::Scalars scalars;
  scalars.eps = d.eps;
  scalars.preEps = d.preEps;
  scalars.sinkhornAddend =
      d.sinkhornInit == SinkhornInit::Softmax ? d.sinkhornEps : 0.0f;
  scalars.sinkhornIters = d.sinkhornIters;
  const void *preBuffers[pa::NumArgs] = {};
  preBuffers[pa::X] = a.x;
  preBuffers[pa::Partials] = workspace;
  preBuffers[pa::Alpha] = a.alpha;
  preBuffers[pa::Bias] = a.bias;
  preBuffers[pa::Y] = a.y;
  preBuffers[pa::HPre] = a.hPre;
  preBuffers[pa::HPost] = a.hPost;
  preBuffers[pa::Matrix] = a.matrix;
  KernelParams preParams(pa::kArgs, preBuffers, extents, [&](unsigned i) {
    return pa::kArgs[i].kind == contract::ArgKind::F32
               ? f32Bits(pa::f32Arg(scalars, i))
               : uint32_t(pa::i32Arg(scalars, i));
  });
  return launch(driver, impl_->pre,
                unsigned(dpre::preBlocks(a.batch, impl_->preMaxBlocks)),
                unsigned(kPreThreads), 0, stream, preParams.pointers(),
                /*programmatic=*/false);
}

} // namespace mhc::runtime
