//===- CAPI.cpp - C API of the mhc runtime --------------------------------===//

#include "CAPISupport.h"

#include <new>

using namespace mhc::runtime;
using namespace mhc::runtime::capi;

namespace mhc::runtime::capi {
namespace {
thread_local std::string lastError;
} // namespace

mhc_status_t report(const Status &status) {
  lastError = status.message();
  return static_cast<mhc_status_t>(status.code());
}
} // namespace mhc::runtime::capi

struct mhc_plan {
  std::unique_ptr<HyperConnectionPlan> plan;
  std::string sku;
};

namespace {
mhc_status_t toDescriptor(const mhc_descriptor_t &c, Descriptor &d) {
  d.streams = c.streams;
  d.channels = c.channels;
  d.maxBatch = c.max_batch;
  if (!toDType(c.activation, d.activation) || !toDType(c.weight, d.weight))
    return invalid("unknown dtype in the descriptor");
  d.eps = c.eps;
  d.sinkhornIters = c.sinkhorn_iters;
  if (!toSinkhornInit(c.sinkhorn_init, d.sinkhornInit))
    return invalid("unknown sinkhorn_init");
  d.sinkhornEps = c.sinkhorn_eps;
  d.preEps = c.pre_eps;
  if (!toOrientation(c.orientation, d.orientation))
    return invalid("unknown orientation");
  return MHC_STATUS_OK;
}

mhc_status_t toArgs(const mhc_args_t *c, Args &a) {
  if (!c)
    return invalid("args is null");
  a.x = c->x;
  a.hRes = c->h_res;
  a.hPre = c->h_pre;
  a.hPost = c->h_post;
  a.weight = c->weight;
  a.out = c->out;
  a.batch = c->batch;
  if (!toDType(c->weight_dtype, a.weightType))
    return invalid("unknown weight_dtype in the args");
  return MHC_STATUS_OK;
}
} // namespace

extern "C" {

void mhc_descriptor_init(mhc_descriptor_t *d, int64_t streams,
                         int64_t channels) {
  if (!d)
    return;
  Descriptor defaults;
  d->streams = streams;
  d->channels = channels;
  d->max_batch = 0;
  d->activation = MHC_DTYPE_F32;
  d->weight = MHC_DTYPE_BF16;
  d->eps = defaults.eps;
  d->sinkhorn_iters = defaults.sinkhornIters;
  d->sinkhorn_init = MHC_SINKHORN_EXP;
  d->sinkhorn_eps = defaults.sinkhornEps;
  d->pre_eps = defaults.preEps;
  d->orientation = MHC_MIX_DIRECT;
}

mhc_status_t mhc_plan_select(void *stream, const mhc_descriptor_t *descriptor,
                             const mhc_preference_t *preference,
                             mhc_plan_t *plan) {
  return guarded([&]() -> mhc_status_t {
    if (!descriptor || !plan)
      return invalid("descriptor and plan must not be null");
    *plan = nullptr;
    Descriptor d;
    if (mhc_status_t s = toDescriptor(*descriptor, d); s != MHC_STATUS_OK)
      return s;
    Preference p = toPreference(preference);
    auto result = std::make_unique<mhc_plan>();
    if (Status s = HyperConnectionPlan::select(stream, d, p, result->plan); !s)
      return report(s);
    result->sku = result->plan->sku().toString();
    *plan = result.release();
    return report(Status::ok());
  });
}

void mhc_plan_destroy(mhc_plan_t plan) { delete plan; }

mhc_status_t mhc_plan_can_implement(mhc_plan_t plan, const mhc_args_t *args) {
  return withArgs(plan, args, toArgs,
                  [](const HyperConnectionPlan &p, const Args &a) {
                    return p.canImplement(a);
                  });
}

size_t mhc_plan_workspace_size(mhc_plan_t plan) {
  return plan ? plan->plan->workspaceSize() : 0;
}

const char *mhc_plan_sku(mhc_plan_t plan) {
  return plan ? plan->sku.c_str() : "";
}

mhc_status_t mhc_plan_precision_guarantee(mhc_plan_t plan,
                                          mhc_precision_t *precision) {
  return precisionOf(plan, precision);
}

mhc_status_t mhc_plan_run(mhc_plan_t plan, void *stream, void *workspace,
                          const mhc_args_t *args) {
  return withArgs(plan, args, toArgs,
                  [&](const HyperConnectionPlan &p, const Args &a) {
                    return p.run(stream, workspace, a);
                  });
}

const char *mhc_last_error(void) { return capi::lastError.c_str(); }

const char *mhc_status_string(mhc_status_t status) {
  switch (status) {
  case MHC_STATUS_OK:
  case MHC_STATUS_UNSUPPORTED:
  case MHC_STATUS_INVALID_ARGUMENT:
  case MHC_STATUS_CUDA_ERROR:
  case MHC_STATUS_NO_DEVICE:
  case MHC_STATUS_INTERNAL:
    return toString(static_cast<StatusCode>(status));
  case MHC_STATUS_MAX_ENUM:
    break;
  }
  return "unknown status";
}
}
