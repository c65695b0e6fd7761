//===- CAPIDynamic.cpp - C API of the dynamic-H plans ---------------------===//
//
// mhc_post_plan_* (PostPlan) and mhc_pre_plan_* (PrePlan), with the
// conventions of CAPI.cpp: a status per call, the reason in
// mhc_last_error, no exception across the boundary.
//
//===----------------------------------------------------------------------===//

#include "CAPISupport.h"
#include "mhc/Runtime/DynamicPost.h"
#include "mhc/Runtime/DynamicPre.h"

using namespace mhc::runtime;
using namespace mhc::runtime::capi;

struct mhc_post_plan {
  std::unique_ptr<PostPlan> plan;
  std::string sku;
};

struct mhc_pre_plan {
  std::unique_ptr<PrePlan> plan;
  std::string sku;
};

namespace {
mhc_status_t toPostArgs(const mhc_post_args_t *c, PostArgs &a) {
  if (!c)
    return invalid("args is null");
  a.x = c->x;
  a.f = c->f;
  a.matrix = c->matrix;
  a.hPost = c->h_post;
  a.out = c->out;
  a.batch = c->batch;
  return MHC_STATUS_OK;
}

mhc_status_t toPreArgs(const mhc_pre_args_t *c, PreArgs &a) {
  if (!c)
    return invalid("args is null");
  a.x = c->x;
  a.phi = c->phi;
  a.alpha = c->alpha;
  a.bias = c->bias;
  a.y = c->y;
  a.hPre = c->h_pre;
  a.hPost = c->h_post;
  a.matrix = c->matrix;
  a.batch = c->batch;
  return MHC_STATUS_OK;
}
} // namespace

extern "C" {

void mhc_post_descriptor_init(mhc_post_descriptor_t *d, int64_t streams,
                              int64_t channels) {
  if (!d)
    return;
  d->streams = streams;
  d->channels = channels;
  d->max_batch = 0;
  d->activation = MHC_DTYPE_BF16;
  d->sublayer = MHC_DTYPE_BF16;
  d->orientation = MHC_MIX_DIRECT;
}

mhc_status_t mhc_post_plan_select(void *stream,
                                  const mhc_post_descriptor_t *descriptor,
                                  const mhc_preference_t *preference,
                                  mhc_post_plan_t *plan) {
  return guarded([&]() -> mhc_status_t {
    if (!descriptor || !plan)
      return invalid("descriptor and plan must not be null");
    *plan = nullptr;
    PostDescriptor d;
    d.streams = descriptor->streams;
    d.channels = descriptor->channels;
    d.maxBatch = descriptor->max_batch;
    if (!toDType(descriptor->activation, d.activation) ||
        !toDType(descriptor->sublayer, d.sublayer))
      return invalid("unknown dtype in the descriptor");
    if (!toOrientation(descriptor->orientation, d.orientation))
      return invalid("unknown orientation");
    auto result = std::make_unique<mhc_post_plan>();
    if (Status s = PostPlan::select(stream, d, toPreference(preference),
                                    result->plan);
        !s)
      return report(s);
    result->sku = result->plan->sku().toString();
    *plan = result.release();
    return report(Status::ok());
  });
}

void mhc_post_plan_destroy(mhc_post_plan_t plan) { delete plan; }

mhc_status_t mhc_post_plan_can_implement(mhc_post_plan_t plan,
                                         const mhc_post_args_t *args) {
  return withArgs(plan, args, toPostArgs,
                  [](const PostPlan &p, const PostArgs &a) {
                    return p.canImplement(a);
                  });
}

size_t mhc_post_plan_workspace_size(mhc_post_plan_t plan) {
  return plan ? plan->plan->workspaceSize() : 0;
}

const char *mhc_post_plan_sku(mhc_post_plan_t plan) {
  return plan ? plan->sku.c_str() : "";
}

mhc_status_t mhc_post_plan_precision_guarantee(mhc_post_plan_t plan,
                                               mhc_precision_t *precision) {
  return precisionOf(plan, precision);
}

mhc_status_t mhc_post_plan_run(mhc_post_plan_t plan, void *stream,
                               void *workspace, const mhc_post_args_t *args) {
  return withArgs(plan, args, toPostArgs,
                  [&](const PostPlan &p, const PostArgs &a) {
                    return p.run(stream, workspace, a);
                  });
}

void mhc_pre_descriptor_init(mhc_pre_descriptor_t *d, int64_t streams,
                             int64_t channels) {
  if (!d)
    return;
  PreDescriptor defaults;
  d->streams = streams;
  d->channels = channels;
  d->max_batch = 0;
  d->activation = MHC_DTYPE_BF16;
  d->projection = MHC_DTYPE_BF16;
  d->eps = defaults.eps;
  d->pre_eps = defaults.preEps;
  d->sinkhorn_iters = defaults.sinkhornIters;
  d->sinkhorn_init = MHC_SINKHORN_EXP;
  d->sinkhorn_eps = defaults.sinkhornEps;
}

mhc_status_t mhc_pre_plan_select(void *stream,
                                 const mhc_pre_descriptor_t *descriptor,
                                 const mhc_preference_t *preference,
                                 mhc_pre_plan_t *plan) {
  return guarded([&]() -> mhc_status_t {
    if (!descriptor || !plan)
      return invalid("descriptor and plan must not be null");
    *plan = nullptr;
    PreDescriptor d;
    d.streams = descriptor->streams;
    d.channels = descriptor->channels;
    d.maxBatch = descriptor->max_batch;
    if (!toDType(descriptor->activation, d.activation) ||
        !toDType(descriptor->projection, d.projection))
      return invalid("unknown dtype in the descriptor");
    d.eps = descriptor->eps;
    d.preEps = descriptor->pre_eps;
    d.sinkhornIters = descriptor->sinkhorn_iters;
    if (!toSinkhornInit(descriptor->sinkhorn_init, d.sinkhornInit))
      return invalid("unknown sinkhorn_init");
    d.sinkhornEps = descriptor->sinkhorn_eps;
    auto result = std::make_unique<mhc_pre_plan>();
    if (Status s = PrePlan::select(stream, d, toPreference(preference),
                                   result->plan);
        !s)
      return report(s);
    result->sku =
        result->plan->sku().toString() + " + " + result->plan->preKernel();
    *plan = result.release();
    return report(Status::ok());
  });
}

void mhc_pre_plan_destroy(mhc_pre_plan_t plan) { delete plan; }

mhc_status_t mhc_pre_plan_can_implement(mhc_pre_plan_t plan,
                                        const mhc_pre_args_t *args) {
  return withArgs(plan, args, toPreArgs,
                  [](const PrePlan &p, const PreArgs &a) {
                    return p.canImplement(a);
                  });
}

size_t mhc_pre_plan_workspace_size(mhc_pre_plan_t plan, int64_t batch) {
  return plan ? plan->plan->workspaceSize(batch) : 0;
}

const char *mhc_pre_plan_sku(mhc_pre_plan_t plan) {
  return plan ? plan->sku.c_str() : "";
}

mhc_status_t mhc_pre_plan_precision_guarantee(mhc_pre_plan_t plan,
                                              mhc_precision_t *precision) {
  return precisionOf(plan, precision);
}

mhc_status_t mhc_pre_plan_run(mhc_pre_plan_t plan, void *stream,
                              void *workspace, const mhc_pre_args_t *args) {
  return withArgs(plan, args, toPreArgs,
                  [&](const PrePlan &p, const PreArgs &a) {
                    return p.run(stream, workspace, a);
                  });
}
}
