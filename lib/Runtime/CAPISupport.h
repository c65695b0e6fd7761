//===- CAPISupport.h - what the C API's files share -------------*- C++ -*-===//
//
// The status a C call returns and the reason it leaves for mhc_last_error,
// exceptions kept from crossing the C boundary, and the conversions of the
// C enums and preferences shared by every plan's C functions.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_LIB_RUNTIME_CAPISUPPORT_H
#define MHC_LIB_RUNTIME_CAPISUPPORT_H

#include "mhc-c/Runtime.h"
#include "mhc/Runtime/HyperConnection.h"

#include <exception>
#include <string>

namespace mhc::runtime::capi {

/// Records `status`'s reason for this thread and returns its code.
mhc_status_t report(const Status &status);

inline mhc_status_t invalid(const char *message) {
  return report({StatusCode::InvalidArgument, message});
}

/// Runs `body`, turning anything it throws (std::bad_alloc) into a status.
template <typename Fn> mhc_status_t guarded(Fn &&body) {
  try {
    return body();
  } catch (const std::exception &e) {
    return report({StatusCode::Internal, e.what()});
  } catch (...) {
    return report({StatusCode::Internal, "unknown exception"});
  }
}

inline bool toDType(int32_t v, DType &t) {
  if (v != MHC_DTYPE_F32 && v != MHC_DTYPE_BF16)
    return false;
  t = v == MHC_DTYPE_F32 ? DType::F32 : DType::BF16;
  return true;
}

inline bool toOrientation(int32_t v, MixOrientation &o) {
  if (v != MHC_MIX_DIRECT && v != MHC_MIX_TRANSPOSED)
    return false;
  o = v == MHC_MIX_DIRECT ? MixOrientation::Direct : MixOrientation::Transposed;
  return true;
}

inline bool toSinkhornInit(int32_t v, SinkhornInit &i) {
  if (v != MHC_SINKHORN_EXP && v != MHC_SINKHORN_SOFTMAX)
    return false;
  i = v == MHC_SINKHORN_EXP ? SinkhornInit::Exp : SinkhornInit::Softmax;
  return true;
}

inline Preference toPreference(const mhc_preference_t *c) {
  Preference p;
  if (c) {
    p.portable = c->portable != 0;
    p.maxBlocks = c->max_blocks;
    p.clusterRows = c->no_cluster_rows == 0;
    p.coefficientCache = c->no_coefficient_cache == 0;
    p.programmaticLaunch = c->no_programmatic_launch == 0;
  }
  return p;
}

inline void toPrecision(const PrecisionGuarantee &g, mhc_precision_t &c) {
  c.deterministic = g.deterministic;
  c.max_relative_error = g.maxRelativeError;
  c.math = g.math;
  c.accumulation = g.accumulation;
}

/// A plan call with C arguments: `plan` checked, `args` converted with
/// `convert`, `call(plan, converted)`'s status reported; what every plan's
/// can_implement and run do.
template <typename Handle, typename CArgs, typename Args, typename Call>
mhc_status_t withArgs(Handle *plan, const CArgs *args,
                      mhc_status_t (*convert)(const CArgs *, Args &),
                      Call call) {
  return guarded([&]() -> mhc_status_t {
    if (!plan)
      return invalid("plan is null");
    Args a;
    if (mhc_status_t s = convert(args, a); s != MHC_STATUS_OK)
      return s;
    return report(call(*plan->plan, a));
  });
}

/// Every plan's precision_guarantee.
template <typename Handle>
mhc_status_t precisionOf(Handle *plan, mhc_precision_t *precision) {
  if (!plan || !precision)
    return invalid("plan and precision must not be null");
  toPrecision(plan->plan->precisionGuarantee(), *precision);
  return report(Status::ok());
}

} // namespace mhc::runtime::capi

#endif // MHC_LIB_RUNTIME_CAPISUPPORT_H
