//===- RuntimeFuzzer.cpp - hostile values at the runtime's host entries ---===//
//
// A libFuzzer target over what the runtime does on the host, no GPU needed:
// the C API of every plan (the static layer's, the dynamic-H pre's and
// post's: descriptor init, plan select, and every plan call with a null
// plan) and the C++ validation behind it (descriptor rules, SKU selection,
// argument and workspace checks) with values a caller could pass: any
// streams, channels and batch (0, negative, huge, byte counts that overflow),
// any enum value, NaN and infinite eps, and pointers that are null,
// misaligned, near the top of the address space or overlapping. Each call
// must return a status; an accepted run must be one the kernel can do
// (checked here: byte counts that fit, aligned pointers, no overlap), else
// the target traps.
//
//===----------------------------------------------------------------------===//

#include "mhc-c/Runtime.h"
#include "mhc/Runtime/DynamicPost.h"
#include "mhc/Runtime/DynamicPre.h"
#include "mhc/Runtime/HyperConnection.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace rt = mhc::runtime;

namespace {

/// A float that is often one of the values validation must catch.
float hostileFloat(FuzzedDataProvider &p) {
  switch (p.ConsumeIntegralInRange<int>(0, 5)) {
  case 0:
    return NAN;
  case 1:
    return INFINITY;
  case 2:
    return -1.0f;
  case 3:
    return 0.0f;
  default:
    return p.ConsumeFloatingPoint<float>();
  }
}

/// An integer that is often 0, negative, small or huge.
int64_t hostileCount(FuzzedDataProvider &p) {
  switch (p.ConsumeIntegralInRange<int>(0, 4)) {
  case 0:
    return p.ConsumeIntegralInRange<int64_t>(-2, 40);
  case 1:
    return p.ConsumeIntegralInRange<int64_t>(0, 1 << 20);
  case 2:
    return int64_t(1) << p.ConsumeIntegralInRange<int>(20, 62);
  default:
    return p.ConsumeIntegral<int64_t>();
  }
}

/// A device pointer value: null, misaligned, near the top, or anything.
const void *hostilePointer(FuzzedDataProvider &p) {
  uintptr_t v;
  switch (p.ConsumeIntegralInRange<int>(0, 4)) {
  case 0:
    v = 0;
    break;
  case 1:
    v = 0x700000000000ull + p.ConsumeIntegralInRange<uintptr_t>(0, 1 << 16);
    break;
  case 2:
    v = UINTPTR_MAX - p.ConsumeIntegralInRange<uintptr_t>(0, 1 << 16);
    break;
  default:
    v = p.ConsumeIntegral<uintptr_t>();
  }
  return reinterpret_cast<const void *>(v);
}

bool knownStatus(mhc_status_t s) {
  return s >= MHC_STATUS_OK && s <= MHC_STATUS_INTERNAL &&
         mhc_last_error() != nullptr;
}

/// `a * b * ...` in size_t, or false when it overflows.
bool product(std::initializer_list<uint64_t> factors, uint64_t &result) {
  result = 1;
  for (uint64_t f : factors)
    if (__builtin_mul_overflow(result, f, &result))
      return false;
  return true;
}

/// [p, p + bytes) lies in the address space.
bool fits(const void *p, uint64_t bytes) {
  uint64_t end;
  return !__builtin_add_overflow(reinterpret_cast<uintptr_t>(p), bytes, &end);
}

/// Stops the fuzzer on a broken expectation, naming it.
#define CHECK(condition)                                                       \
  do {                                                                         \
    if (!(condition)) {                                                        \
      std::fprintf(stderr, "RuntimeFuzzer.cpp:%d: expected %s\n", __LINE__,    \
                   #condition);                                                \
      __builtin_trap();                                                        \
    }                                                                          \
  } while (false)

/// The dynamic-H plans' C API and validation on hostile values: each call
/// returns a status; an accepted run's buffers fit, are aligned and the
/// outputs overlap no input.
void fuzzDynamicPlans(FuzzedDataProvider &p) {
  mhc_preference_t preference;
  std::memset(&preference, 0, sizeof(preference));
  preference.portable = p.ConsumeIntegral<int32_t>();
  preference.max_blocks = hostileCount(p);

  mhc_post_descriptor_t qd;
  mhc_post_descriptor_init(&qd, hostileCount(p), hostileCount(p));
  qd.max_batch = hostileCount(p);
  qd.activation = p.ConsumeIntegralInRange<int32_t>(-1, 3);
  qd.sublayer = p.ConsumeIntegralInRange<int32_t>(-1, 3);
  qd.orientation = p.ConsumeIntegralInRange<int32_t>(-1, 3);
  mhc_post_plan_t post = nullptr;
  mhc_status_t s = mhc_post_plan_select(nullptr, &qd, &preference, &post);
  CHECK(knownStatus(s));
  CHECK((s == MHC_STATUS_OK) == (post != nullptr));
  mhc_post_args_t qa;
  std::memset(&qa, 0, sizeof(qa));
  qa.batch = hostileCount(p);
  CHECK(knownStatus(mhc_post_plan_can_implement(post, &qa)));
  CHECK(mhc_post_plan_sku(post) != nullptr);
  mhc_post_plan_destroy(post);

  mhc_pre_descriptor_t pd;
  mhc_pre_descriptor_init(&pd, hostileCount(p), hostileCount(p));
  pd.max_batch = hostileCount(p);
  pd.activation = p.ConsumeIntegralInRange<int32_t>(-1, 3);
  pd.projection = p.ConsumeIntegralInRange<int32_t>(-1, 3);
  pd.eps = hostileFloat(p);
  pd.pre_eps = hostileFloat(p);
  pd.sinkhorn_iters = p.ConsumeIntegral<int32_t>();
  pd.sinkhorn_init = p.ConsumeIntegralInRange<int32_t>(-1, 3);
  pd.sinkhorn_eps = hostileFloat(p);
  mhc_pre_plan_t pre = nullptr;
  s = mhc_pre_plan_select(nullptr, &pd, &preference, &pre);
  CHECK(knownStatus(s));
  CHECK((s == MHC_STATUS_OK) == (pre != nullptr));
  (void)mhc_pre_plan_workspace_size(pre, hostileCount(p));
  mhc_pre_plan_destroy(pre);

  // The post's validation.
  rt::PostDescriptor q;
  q.streams = hostileCount(p);
  q.channels = hostileCount(p);
  q.maxBatch = hostileCount(p);
  q.activation = p.ConsumeBool() ? rt::DType::BF16 : rt::DType::F32;
  q.sublayer = p.ConsumeBool() ? rt::DType::BF16 : rt::DType::F32;
  rt::Preference pref;
  pref.portable = p.ConsumeBool();
  rt::Sku sku;
  if (rt::selectPostSku(q, pref, sku)) {
    rt::PostArgs a;
    a.x = hostilePointer(p);
    a.f = hostilePointer(p);
    a.matrix = hostilePointer(p);
    a.hPost = hostilePointer(p);
    a.out = const_cast<void *>(p.ConsumeBool() ? a.x : hostilePointer(p));
    a.batch = hostileCount(p);
    if (rt::validatePostArgs(q, sku, a) && a.batch > 0) {
      uint64_t rows;
      uint64_t s = q.activation == rt::DType::F32 ? 4 : 2;
      CHECK(product({uint64_t(a.batch), uint64_t(q.streams),
                     uint64_t(q.channels), s},
                    rows));
      CHECK(fits(a.x, rows) && fits(a.out, rows) && a.x != a.out);
      CHECK(reinterpret_cast<uintptr_t>(a.x) % (s * sku.vectorWidth) == 0);
    }
  }

  // The pre's validation.
  rt::PreDescriptor d;
  d.streams = hostileCount(p);
  d.channels = hostileCount(p);
  d.maxBatch = hostileCount(p);
  d.activation = p.ConsumeBool() ? rt::DType::BF16 : rt::DType::F32;
  d.projection = p.ConsumeBool() ? rt::DType::BF16 : rt::DType::F32;
  d.eps = hostileFloat(p);
  std::string preKernel;
  if (rt::selectPreSku(d, pref, sku, preKernel)) {
    rt::PreArgs a;
    a.x = hostilePointer(p);
    a.phi = hostilePointer(p);
    a.alpha = hostilePointer(p);
    a.bias = hostilePointer(p);
    a.y = const_cast<void *>(p.ConsumeBool() ? a.x : hostilePointer(p));
    a.hPre = const_cast<void *>(hostilePointer(p));
    a.hPost = const_cast<void *>(p.ConsumeBool() ? a.hPre : hostilePointer(p));
    a.matrix = const_cast<void *>(hostilePointer(p));
    a.batch = hostileCount(p);
    if (rt::validatePreArgs(d, sku, a) && a.batch > 0) {
      uint64_t rows;
      uint64_t s = d.activation == rt::DType::F32 ? 4 : 2;
      CHECK(product({uint64_t(a.batch), uint64_t(d.streams),
                     uint64_t(d.channels), s},
                    rows));
      CHECK(fits(a.x, rows) && a.x != a.y && a.hPre != a.hPost);
      // The vector kernels read x and write y 16 bytes at a time, the
      // element-wise ones an element.
      uint64_t align = sku.vectorWidth > 1 ? 16 : s;
      CHECK(reinterpret_cast<uintptr_t>(a.x) % align == 0 &&
            reinterpret_cast<uintptr_t>(a.y) % align == 0);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider p(data, size);
  fuzzDynamicPlans(p);

  // The C API.
  mhc_descriptor_t cd;
  mhc_descriptor_init(&cd, hostileCount(p), hostileCount(p));
  cd.max_batch = hostileCount(p);
  cd.activation = p.ConsumeIntegralInRange<int32_t>(-1, 3);
  cd.weight = p.ConsumeIntegralInRange<int32_t>(-1, 3);
  cd.eps = hostileFloat(p);
  cd.sinkhorn_iters = p.ConsumeIntegral<int32_t>();
  cd.sinkhorn_init = p.ConsumeIntegralInRange<int32_t>(-1, 3);
  cd.sinkhorn_eps = hostileFloat(p);
  cd.pre_eps = hostileFloat(p);
  cd.orientation = p.ConsumeIntegralInRange<int32_t>(-1, 3);
  mhc_preference_t preference;
  std::memset(&preference, 0, sizeof(preference));
  preference.portable = p.ConsumeIntegral<int32_t>();
  preference.max_blocks = hostileCount(p);
  mhc_plan_t plan = nullptr;
  mhc_status_t s =
      mhc_plan_select(nullptr, &cd, p.ConsumeBool() ? &preference : nullptr,
                      p.ConsumeBool() ? &plan : nullptr);
  CHECK(knownStatus(s));
  CHECK((s == MHC_STATUS_OK) == (plan != nullptr));
  mhc_args_t ca;
  std::memset(&ca, 0, sizeof(ca));
  ca.batch = hostileCount(p);
  ca.weight_dtype = p.ConsumeIntegralInRange<int32_t>(-1, 3);
  CHECK(knownStatus(
      mhc_plan_can_implement(plan, p.ConsumeBool() ? &ca : nullptr)));
  CHECK(mhc_plan_sku(plan) != nullptr);
  (void)mhc_plan_workspace_size(plan);
  mhc_precision_t precision;
  CHECK(knownStatus(mhc_plan_precision_guarantee(plan, &precision)));
  if (!plan)
    CHECK(mhc_plan_run(nullptr, nullptr, nullptr, &ca) ==
          MHC_STATUS_INVALID_ARGUMENT);
  mhc_plan_destroy(plan);

  // The C++ validation a run goes through, on the same kind of values.
  rt::Descriptor d;
  d.streams = hostileCount(p);
  d.channels = hostileCount(p);
  d.maxBatch = hostileCount(p);
  d.weight = static_cast<rt::DType>(p.ConsumeIntegralInRange<int>(-1, 2));
  d.eps = hostileFloat(p);
  d.sinkhornIters = p.ConsumeIntegral<int32_t>();
  d.sinkhornInit =
      static_cast<rt::SinkhornInit>(p.ConsumeIntegralInRange<int>(-1, 2));
  d.sinkhornEps = hostileFloat(p);
  d.preEps = hostileFloat(p);
  d.orientation =
      static_cast<rt::MixOrientation>(p.ConsumeIntegralInRange<int>(-1, 2));
  rt::Preference pref;
  pref.portable = p.ConsumeBool();
  pref.maxBlocks = hostileCount(p);
  rt::Sku sku;
  if (!rt::selectSku(d, pref, sku))
    return 0;
  rt::Args a;
  a.x = hostilePointer(p);
  a.hRes = hostilePointer(p);
  a.hPre = hostilePointer(p);
  a.hPost = hostilePointer(p);
  a.weight = hostilePointer(p);
  a.out = const_cast<void *>(p.ConsumeBool() ? a.x : hostilePointer(p));
  a.batch = hostileCount(p);
  a.weightType = p.ConsumeBool() ? d.weight : rt::DType::F32;
  (void)sku.gridFor(a.batch > 0 ? a.batch : 1);
  if (rt::validateArgs(d, sku, a)) {
    // An accepted run: every buffer's bytes fit in size_t and in the address
    // space, the alignment holds, x and out do not overlap.
    uint64_t rows, weight;
    CHECK(a.batch >= 0 && (d.maxBatch == 0 || a.batch <= d.maxBatch));
    CHECK(product(
        {uint64_t(a.batch), uint64_t(d.streams), uint64_t(d.channels), 4},
        rows));
    CHECK(product({uint64_t(d.channels), d.weight == rt::DType::F32 ? 4u : 2u},
                  weight));
    CHECK(a.batch == 0 || (fits(a.x, rows) && fits(a.out, rows)));
    CHECK(fits(a.weight, weight));
    uintptr_t align = 4 * uintptr_t(sku.vectorWidth);
    CHECK(a.batch == 0 || (reinterpret_cast<uintptr_t>(a.x) % align == 0 &&
                           reinterpret_cast<uintptr_t>(a.out) % align == 0));
    CHECK(a.batch == 0 || rows == 0 || a.x != a.out);
  }
  size_t workspaceBytes = rt::coefficientCacheBytes(d.streams);
  (void)rt::validateWorkspace(d, workspaceBytes, hostilePointer(p), a);
  return 0;
}
