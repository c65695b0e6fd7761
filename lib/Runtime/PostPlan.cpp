//===- PostPlan.cpp - PostPlan: the dynamic-H post ------------------------===//
//
// Selection and validation (host only, unit-tested in CI) and the plan that
// launches the post kernel of Contract/DynamicPost.h.
//
//===----------------------------------------------------------------------===//

#include "KernelLoader.h"
#include "Validation.h"
#include "mhc/Contract/DynamicPost.h"
#include "mhc/Runtime/DynamicPost.h"

#include <algorithm>

namespace mhc::runtime {

using namespace detail;
namespace post = contract::dynamic_post;

namespace {
constexpr int64_t kMaxStreams = 32;
/// Streams up to which the library has a kernel per n (stream loops
/// unrolled: the lowering's max-unrolled-streams); above, one kernel takes n
/// at run time.
constexpr int64_t kMaxUnrolledStreams = 8;
constexpr int64_t kThreads = 256;

bool knownDType(DType t) { return t == DType::F32 || t == DType::BF16; }

/// The contract's variant of the kernel `sku` names for `d`.
post::Variant variantOf(const PostDescriptor &d, const Sku &sku) {
  post::Variant v;
  v.streams = d.streams <= kMaxUnrolledStreams ? d.streams : 0;
  v.bf16Activation = d.activation == DType::BF16;
  v.bf16Sublayer = d.sublayer == DType::BF16;
  v.vectorWidth = sku.vectorWidth;
  v.threads = sku.threadsPerBlock;
  return v;
}
} // namespace

Status validatePostDescriptor(const PostDescriptor &d) {
  if (Status s =
          validateShape(d.streams, kMaxStreams, d.channels, 29, d.maxBatch);
      !s)
    return s;
  if (!knownDType(d.activation) || !knownDType(d.sublayer))
    return invalid("the activation and sublayer dtypes must be f32 or bf16");
  if (d.orientation != MixOrientation::Direct &&
      d.orientation != MixOrientation::Transposed)
    return invalid("unknown mix orientation");
  return Status::ok();
}

Status selectPostSku(const PostDescriptor &d, const Preference &preference,
                     Sku &sku) {
  if (Status s = validatePostDescriptor(d); !s)
    return s;
  if (preference.maxBlocks < 0)
    return invalid("maxBlocks must be >= 0");
  // 16 bytes of x per access where C allows it.
  int64_t vector = int64_t(16 / dtypeSize(d.activation));
  bool vectorized = !preference.portable && d.channels % vector == 0;
  sku = Sku();
  sku.vectorWidth = vectorized ? vector : 1;
  sku.family = vectorized ? "post" : "post-v1";
  sku.threadsPerBlock = kThreads;
  sku.kernel = post::kernelName(variantOf(d, sku));
  sku.maxGridBlocks = 0; // set by select, from the device
  return Status::ok();
}

Status validatePostArgs(const PostDescriptor &d, const Sku &sku,
                        const PostArgs &a) {
  if (Status s = validateBatch(a.batch, d.maxBatch); !s)
    return s;
  if (a.batch == 0)
    return Status::ok();
  size_t act = dtypeSize(d.activation), sub = dtypeSize(d.sublayer);
  std::vector<Region> inputs = {
      {"x", a.x, bufferBytes(act, {a.batch, d.streams, d.channels})},
      {"f", a.f, bufferBytes(sub, {a.batch, d.channels})},
      {"matrix", a.matrix, bufferBytes(4, {a.batch, d.streams, d.streams})},
      {"hPost", a.hPost, bufferBytes(4, {a.batch, d.streams})}};
  Region out{"out", a.out, inputs[0].bytes};
  for (const Region &r : inputs)
    if (!r.p)
      return invalid(std::string(r.name) + " is null");
  if (!out.p)
    return invalid("out is null");
  auto alignment = [&](const Region &r, uintptr_t bytes) {
    return invalid(std::string(r.name) + " must be " + std::to_string(bytes) +
                   "-byte aligned for " + sku.kernel +
                   (sku.vectorWidth > 1
                        ? " (select with Preference::portable for "
                          "element-aligned pointers)"
                        : ""));
  };
  uintptr_t rowAlign = act * uintptr_t(sku.vectorWidth);
  uintptr_t fAlign = sub * uintptr_t(sku.vectorWidth);
  if (!aligned(a.x, rowAlign))
    return alignment(inputs[0], rowAlign);
  if (!aligned(a.out, rowAlign))
    return alignment(out, rowAlign);
  if (!aligned(a.f, fAlign))
    return alignment(inputs[1], fAlign);
  for (const Region &r : {inputs[2], inputs[3]})
    if (!aligned(r.p, 4))
      return alignment(r, 4);
  for (const Region &r : inputs)
    if (r.bytes == SIZE_MAX)
      return invalid("batch " + std::to_string(a.batch) + " makes " + r.name +
                     " more bytes than the address space holds");
  return checkRegions(out, inputs);
}

struct PostPlan::Impl {
  PostDescriptor descriptor;
  Sku sku;
  const CudaDriver *driver = nullptr;
  CUfunction function = nullptr;
};

PostPlan::PostPlan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostPlan::~PostPlan() = default;

const Sku &PostPlan::sku() const { return impl_->sku; }
const PostDescriptor &PostPlan::descriptor() const {
  return impl_->descriptor;
}

PrecisionGuarantee PostPlan::precisionGuarantee() const {
  PrecisionGuarantee g;
  g.math = "f32 (bf16 inputs are widened exactly), one rounding to the "
           "activations' type";
  g.accumulation = "f32, streams in order, then h_post f";
  g.maxRelativeError =
      impl_->descriptor.activation == DType::BF16 ? 1.0 / 256 : 1e-5;
  return g;
}

Status PostPlan::select(void *, const PostDescriptor &descriptor,
                        const Preference &preference,
                        std::unique_ptr<PostPlan> &plan) {
  auto impl = std::make_unique<Impl>();
  impl->descriptor = descriptor;
  if (Status s = selectPostSku(descriptor, preference, impl->sku); !s)
    return s;
  Device device;
  if (Status s = currentDevice(device); !s)
    return s;
  impl->driver = device.driver;
  Sku &sku = impl->sku;
  LoadedFunction loaded;
  if (Status s = loadFunction(device, sku.family, sku.kernel, loaded); !s)
    return s;
  impl->function = loaded.function;
  sku.arch = loaded.arch;
  sku.dynamicSharedBytes = loaded.dynamicSharedBytes;
  int perSM = 0;
  if (Status s = blocksPerSM(*device.driver, loaded.function,
                             sku.threadsPerBlock, sku.dynamicSharedBytes,
                             perSM);
      !s)
    return s;
  // As many blocks as fit at once, each looping over its tiles.
  sku.maxGridBlocks = preference.maxBlocks > 0
                          ? preference.maxBlocks
                          : std::max<int64_t>(1, int64_t(perSM) * device.sms);
  plan.reset(new PostPlan(std::move(impl)));
  return Status::ok();
}

Status PostPlan::canImplement(const PostArgs &args) const {
  return validatePostArgs(impl_->descriptor, impl_->sku, args);
}

Status PostPlan::run(void *stream, void *, const PostArgs &args) const {
  if (Status s = canImplement(args); !s)
    return s;
  if (args.batch == 0)
    return Status::ok();
  const PostDescriptor &d = impl_->descriptor;
  const Sku &sku = impl_->sku;
  const void *buffers[post::NumArgs] = {};
  buffers[post::X] = args.x;
  buffers[post::F] = args.f;
  buffers[post::Matrix] = args.matrix;
  buffers[post::HPost] = args.hPost;
  buffers[post::Out] = args.out;
  int64_t extents[contract::kNumExtents] = {};
  extents[size_t(contract::Extent::Batch)] = args.batch;
  extents[size_t(contract::Extent::Streams)] = d.streams;
  extents[size_t(contract::Extent::Channels)] = d.channels;
  post::Scalars scalars;
  scalars.transposed = d.orientation == MixOrientation::Transposed ? 1 : 0;
  KernelParams params(post::kArgs, buffers, extents, [&](unsigned i) {
    return post::kArgs[i].kind == contract::ArgKind::F32
               ? f32Bits(post::f32Arg(scalars, i))
               : uint32_t(post::i32Arg(scalars, i));
  });
  auto grid = unsigned(post::gridBlocks(variantOf(d, sku), args.batch,
                                        d.channels, sku.maxGridBlocks));
  return launch(*impl_->driver, impl_->function, grid,
                unsigned(sku.threadsPerBlock), unsigned(sku.dynamicSharedBytes),
                stream, params.pointers(), /*programmatic=*/false);
}

} // namespace mhc::runtime
