//===- PreGpuTest.cpp - the dynamic-H pre's kernels on a GPU --------------===//
//
// PrePlan on random inputs against float64 (mhc/Support/Reference.h) over
// n = 1..8, C = 37 (the element-wise kernels) and 64 to 7168 (vector), B = 1 to 2048, both conventions, every pair of
// x and phi dtypes; outputs poisoned before each run. The bound is per
// token: the reference takes the inputs the tensor cores see (bf16 exactly;
// f32 rounded to nearest tf32, as the kernel's cvt.rna), so what remains is
// f32 accumulation: |logit error| <= |alpha| r (K_slice + splits + 16) 2^-24
// sum_k |x_k phi_kj|; h_pre within 1/4 of it (sigmoid'), h_post within 1/2,
// M within 4 x the largest res-logit error (Sinkhorn of bounded logits,
// measured), y within sum_i |dh_pre_i| |x_i| + its rounding. NaN in one
// token stays in that token; reruns give the same bits. Skipped without a
// GPU.
//
//===----------------------------------------------------------------------===//

#include "GpuTestSupport.h"
#include "mhc-c/Runtime.h"
#include "mhc/Runtime/DynamicPre.h"
#include "mhc/Support/Reference.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace mhc::runtime;
using namespace mhc::runtime::testing;
namespace ref = mhc::reference;

namespace {

float roundTF32(float v) {
  // Round to nearest, ties away from zero, to 10 mantissa bits (cvt.rna).
  if (!std::isfinite(v))
    return v;
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits = (bits + 0x1000u) & 0xFFFFE000u;
  float r;
  std::memcpy(&r, &bits, 4);
  return r;
}

struct PreCase {
  PreDescriptor d;
  int64_t batch, m, width;
  std::vector<float> x, phi, alpha, bias; // as the device holds them
  size_t act;                             // bytes of an x element
  DeviceBuffer dx, dphi, dalpha, dbias, dy, dhp, dhq, dm, ws;
  PreArgs args;

  PreCase(const PreDescriptor &d, int64_t batch, size_t workspace,
          std::mt19937_64 &rng, float alphaScale = 1.0f)
      : d(d), batch(batch), m(d.streams * d.streams + 2 * d.streams),
        width(d.streams * d.channels),
        x(size_t(batch * d.streams * d.channels)), phi(size_t(width * m)),
        alpha(3), bias(size_t(m)), act(d.activation == DType::F32 ? 4 : 2),
        dx(x.size() * act), dphi(phi.size() * (d.projection == DType::F32 ? 4 : 2)),
        dalpha(12), dbias(size_t(m) * 4), dy(size_t(batch * d.channels) * act),
        dhp(size_t(batch * d.streams) * 4), dhq(size_t(batch * d.streams) * 4),
        dm(size_t(batch * d.streams * d.streams) * 4), ws(workspace) {
    std::normal_distribution<float> normal(0.f, 1.f);
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    auto fill = [&](std::vector<float> &v, DType t, float scale, bool uniform) {
      for (float &e : v) {
        float raw = scale * (uniform ? u(rng) : normal(rng));
        e = t == DType::BF16 ? ref::fromBF16(ref::toBF16(raw)) : raw;
      }
    };
    fill(x, d.activation, 1.0f, false);
    fill(phi, d.projection, 1.0f / std::sqrt(float(width)), false);
    alpha = {0.8f * alphaScale, 1.3f * alphaScale, 2.0f * alphaScale};
    fill(bias, DType::F32, 1.0f, true);
    upload();
    args = {dx.get(), dphi.get(), dalpha.get(), dbias.get(), dy.get(),
            dhp.get(), dhq.get(), dm.get(), batch};
  }
  void upload() {
    dx.upload(encode(x, d.activation).data(), dx.bytes);
    dphi.upload(encode(phi, d.projection).data(), dphi.bytes);
    dalpha.upload(alpha.data(), 12);
    dbias.upload(bias.data(), bias.size() * 4);
  }
};

struct Outputs {
  std::vector<float> y, hPre, hPost, m;
};

Outputs run(const PrePlan &plan, PreCase &k) {
  for (DeviceBuffer *b : {&k.dy, &k.dhp, &k.dhq, &k.dm})
    b->poison();
  Status s = plan.run(nullptr, k.ws.get(), k.args);
  EXPECT_TRUE(s) << s.message();
  EXPECT_EQ(gpu()->ctxSynchronize(), CUDA_SUCCESS);
  int64_t n = k.d.streams;
  return {decode(k.dy, size_t(k.batch * k.d.channels), k.d.activation),
          decode(k.dhp, size_t(k.batch * n), DType::F32),
          decode(k.dhq, size_t(k.batch * n), DType::F32),
          decode(k.dm, size_t(k.batch * n * n), DType::F32)};
}

/// Every output against float64 within the per-token bound; NaN where the
/// reference has it. Returns the largest error of y relative to max(1,
/// max|y|).
double check(const PrePlan &plan, const PreCase &k, const Outputs &got) {
  const PreDescriptor &d = k.d;
  const int64_t n = d.streams, c = d.channels, K = k.width, m = k.m;
  bool tf32 = !(d.activation == DType::BF16 && d.projection == DType::BF16);
  std::vector<double> X(k.x.begin(), k.x.end()), P(k.phi.begin(), k.phi.end());
  if (tf32) {
    for (double &v : X)
      v = roundTF32(float(v));
    for (double &v : P)
      v = roundTF32(float(v));
  }
  std::vector<double> A(k.alpha.begin(), k.alpha.end()),
      B(k.bias.begin(), k.bias.end());
  ref::DynamicConfig cfg;
  cfg.n = n;
  cfg.channels = c;
  cfg.coefficientEps = d.eps;
  cfg.preEps = d.preEps;
  cfg.sinkhornIters = d.sinkhornIters;
  cfg.init = d.sinkhornInit == SinkhornInit::Softmax ? ref::SinkhornInit::Softmax
                                                     : ref::SinkhornInit::Exp;
  cfg.sinkhornEps = d.sinkhornEps;
  std::vector<double> hp(size_t(k.batch * n)), hq(hp.size()),
      mm(size_t(k.batch * n * n)), y(size_t(k.batch * c));
  // The coefficients from the tensor cores' inputs; y from the exact x.
  ref::dynamicCoefficients<double>(cfg, k.batch, X.data(), P.data(), A.data(),
                                   B.data(), hp.data(), hq.data(), mm.data());
  std::vector<double> Xexact(k.x.begin(), k.x.end());
  ref::dynamicPre<double>(n, c, k.batch, Xexact.data(), hp.data(), y.data());
  int64_t splits = plan.splits(k.batch);
  double gamma = double(K / splits + splits + 16) * std::ldexp(1.0, -24);
  double yScale = 1.0;
  for (double v : y)
    if (std::isfinite(v))
      yScale = std::max(yScale, std::fabs(v));
  double worstY = 0.0;
  size_t bad = 0;
  auto expectNear = [&](float g, double want, double bound, const char *what,
                        int64_t b) {
    if (std::isnan(want)) {
      if (!std::isnan(g) && bad++ < 8)
        ADD_FAILURE() << what << " of token " << b << " is " << g
                      << ", the reference NaN";
      return;
    }
    if (!(std::fabs(double(g) - want) <= bound) && bad++ < 8)
      ADD_FAILURE() << what << " of token " << b << ": " << g << " vs "
                    << want << " (bound " << bound << ")";
  };
  for (int64_t b = 0; b < k.batch; ++b) {
    const double *xb = X.data() + b * K;
    double sumSq = 0;
    for (int64_t q = 0; q < K; ++q)
      sumSq += xb[q] * xb[q];
    double r = 1.0 / std::sqrt(sumSq / double(K) + d.eps);
    std::vector<double> delta(static_cast<size_t>(m));
    for (int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (int64_t q = 0; q < K; ++q)
        s += std::fabs(xb[q] * P[size_t(q * m + j)]);
      double a = std::fabs(A[j < n ? 0 : j < 2 * n ? 1 : 2]);
      delta[size_t(j)] = a * r * s * gamma + 1e-6 * (1 + std::fabs(B[size_t(j)]));
    }
    double resDelta = 0;
    for (int64_t j = 2 * n; j < m; ++j)
      resDelta = std::max(resDelta, delta[size_t(j)]);
    std::vector<double> dh(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      dh[size_t(i)] = 0.25 * delta[size_t(i)] + 1e-6;
      expectNear(got.hPre[b * n + i], hp[b * n + i], dh[size_t(i)], "h_pre", b);
      expectNear(got.hPost[b * n + i], hq[b * n + i],
                 0.5 * delta[size_t(n + i)] + 1e-6, "h_post", b);
      for (int64_t j = 0; j < n; ++j)
        expectNear(got.m[(b * n + i) * n + j], mm[(b * n + i) * n + j],
                   4 * resDelta + 2e-5, "M", b);
    }
    for (int64_t cc = 0; cc < c; ++cc) {
      double bound = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        double xv = std::fabs(Xexact[size_t((b * n + i) * c + cc)]);
        bound += dh[size_t(i)] * xv;
        mag += std::fabs(hp[b * n + i]) * xv;
      }
      bound += mag * 8 * std::ldexp(1.0, -24);
      double want = y[size_t(b * c + cc)];
      if (d.activation == DType::BF16)
        bound += std::fabs(want) * std::ldexp(1.0, -8);
      float g = got.y[size_t(b * c + cc)];
      expectNear(g, want, bound, "y", b);
      if (std::isfinite(want))
        worstY = std::max(worstY, std::fabs(double(g) - want) / yScale);
    }
  }
  EXPECT_EQ(bad, 0u) << plan.sku().kernel << " + " << plan.preKernel();
  return worstY;
}

PreDescriptor preOf(int64_t n, int64_t c, DType x, DType p,
                    SinkhornInit init = SinkhornInit::Exp) {
  PreDescriptor d;
  d.streams = n;
  d.channels = c;
  d.activation = x;
  d.projection = p;
  d.sinkhornInit = init;
  if (init == SinkhornInit::Softmax)
    d.preEps = 1e-6f;
  return d;
}

std::unique_ptr<PrePlan> selectPlan(const PreDescriptor &d) {
  std::unique_ptr<PrePlan> plan;
  Status s = PrePlan::select(nullptr, d, {}, plan);
  EXPECT_TRUE(s) << s.message();
  return plan;
}

TEST(PreGpu, MatchesTheReference) {
  REQUIRE_GPU();
  std::mt19937_64 rng(23);
  double worst[2] = {0, 0};
  int runs = 0;
  for (int64_t n : {1, 2, 4, 8})
    for (int64_t c : {37, 64, 1024})
      for (DType x : {DType::BF16, DType::F32})
        for (DType p : {DType::BF16, DType::F32})
          for (SinkhornInit init : {SinkhornInit::Exp, SinkhornInit::Softmax})
            for (int64_t batch : {int64_t(1), int64_t(67)}) {
              PreDescriptor d = preOf(n, c, x, p, init);
              auto plan = selectPlan(d);
              ASSERT_TRUE(plan);
              PreCase k(d, batch, plan->workspaceSize(batch), rng);
              double e = check(*plan, k, run(*plan, k));
              worst[x == DType::BF16] = std::max(worst[x == DType::BF16], e);
              ++runs;
            }
  std::printf("pre: %d runs, largest y error / max(1, max|y|): f32 %.3g, "
              "bf16 %.3g\n",
              runs, worst[0], worst[1]);
}

TEST(PreGpu, LargeShapesRerunsAndLogits) {
  REQUIRE_GPU();
  std::mt19937_64 rng(29);
  for (DType t : {DType::BF16, DType::F32}) {
    PreDescriptor d = preOf(4, 7168, t, t, SinkhornInit::Softmax);
    auto plan = selectPlan(d);
    ASSERT_TRUE(plan);
    PreCase k(d, 2048, plan->workspaceSize(2048), rng);
    Outputs first = run(*plan, k);
    check(*plan, k, first);
    Outputs again = run(*plan, k);
    EXPECT_EQ(std::memcmp(first.y.data(), again.y.data(), first.y.size() * 4),
              0);
    EXPECT_EQ(std::memcmp(first.m.data(), again.m.data(), first.m.size() * 4),
              0);
  }
  // Large logits: alpha * mix near +-80, the gates saturate and Sinkhorn's
  // exp needs the row maximum subtracted.
  PreDescriptor d = preOf(4, 256, DType::F32, DType::F32);
  auto plan = selectPlan(d);
  ASSERT_TRUE(plan);
  PreCase k(d, 9, plan->workspaceSize(9), rng, /*alphaScale=*/80.0f);
  check(*plan, k, run(*plan, k));
}

TEST(PreGpu, NaNAndZerosStayInTheirToken) {
  REQUIRE_GPU();
  std::mt19937_64 rng(31);
  PreDescriptor d = preOf(4, 64, DType::BF16, DType::BF16);
  auto plan = selectPlan(d);
  ASSERT_TRUE(plan);
  PreCase k(d, 70, plan->workspaceSize(70), rng);
  k.x[size_t(3 * 256 + 17)] = std::numeric_limits<float>::quiet_NaN();
  for (int64_t q = 0; q < 256; ++q)
    k.x[size_t(5 * 256 + q)] = 0.0f; // an all-zero token
  k.upload();
  Outputs out = run(*plan, k);
  check(*plan, k, out);
  for (int64_t b : {2, 4, 65})
    for (int64_t cc = 0; cc < 64; ++cc)
      EXPECT_TRUE(std::isfinite(out.y[size_t(b * 64 + cc)])) << b;
}

TEST(PreGpu, WorkspaceAndErrors) {
  REQUIRE_GPU();
  std::mt19937_64 rng(37);
  PreDescriptor d = preOf(4, 4096, DType::BF16, DType::BF16);
  auto plan = selectPlan(d);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->sku().family, "pre");
  EXPECT_GT(plan->workspaceSize(1), 0u);
  PreCase k(d, 3, plan->workspaceSize(3), rng);
  EXPECT_EQ(plan->run(nullptr, nullptr, k.args).code(),
            StatusCode::InvalidArgument);
  EXPECT_EQ(plan->run(nullptr, k.ws.get(8), k.args).code(),
            StatusCode::InvalidArgument);
  PreArgs a = k.args;
  a.batch = 0;
  EXPECT_TRUE(plan->run(nullptr, nullptr, a));
}

TEST(PreGpu, CApi) {
  REQUIRE_GPU();
  std::mt19937_64 rng(41);
  mhc_pre_descriptor_t cd;
  mhc_pre_descriptor_init(&cd, 4, 1024);
  mhc_pre_plan_t plan = nullptr;
  ASSERT_EQ(mhc_pre_plan_select(nullptr, &cd, nullptr, &plan), MHC_STATUS_OK)
      << mhc_last_error();
  PreDescriptor d = preOf(4, 1024, DType::BF16, DType::BF16);
  auto cpp = selectPlan(d);
  ASSERT_TRUE(cpp);
  EXPECT_EQ(mhc_pre_plan_workspace_size(plan, 5), cpp->workspaceSize(5));
  PreCase k(d, 5, cpp->workspaceSize(5), rng);
  mhc_pre_args_t args{k.args.x,  k.args.phi,   k.args.alpha,
                      k.args.bias, k.args.y,  k.args.hPre,
                      k.args.hPost, k.args.matrix, k.args.batch};
  ASSERT_EQ(mhc_pre_plan_run(plan, nullptr, k.ws.get(), &args), MHC_STATUS_OK)
      << mhc_last_error();
  EXPECT_EQ(gpu()->ctxSynchronize(), CUDA_SUCCESS);
  int64_t n = 4;
  Outputs out{decode(k.dy, size_t(5 * 1024), DType::BF16),
              decode(k.dhp, size_t(5 * n), DType::F32),
              decode(k.dhq, size_t(5 * n), DType::F32),
              decode(k.dm, size_t(5 * n * n), DType::F32)};
  check(*cpp, k, out);
  mhc_pre_plan_destroy(plan);
}

} // namespace

int main(int argc, char **argv) { return runGpuTests(argc, argv); }
