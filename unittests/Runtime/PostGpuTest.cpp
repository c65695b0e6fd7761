//===- PostGpuTest.cpp - the dynamic-H post's kernels on a GPU ------------===//
//
// PostPlan on random inputs (x, f uniform in [-2, 2), M uniform in [0, 1),
// h_post in [0, 2)) over n = 1..12, C including 1 and non-multiples of 8,
// B = 1 to 2048, every pair of dtypes, both orientations, the vectorized and
// the portable kernels: every output against the float64 reference
// (mhc/Support/Reference.h) within the plan's precision guarantee, outputs
// poisoned with NaN before each run; NaN in one token reaches only that
// token; reruns and grids of any size give the same bits. Skipped, with a
// message, on machines without a GPU.
//
//===----------------------------------------------------------------------===//

#include "GpuTestSupport.h"
#include "mhc-c/Runtime.h"
#include "mhc/Runtime/DynamicPost.h"
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

/// Host values of a buffer of `dtype`: what the device holds, widened.
struct HostBuffer {
  DType dtype;
  std::vector<float> values; // exactly representable in dtype

  HostBuffer(DType dtype, size_t count) : dtype(dtype), values(count) {}
  size_t bytes() const { return values.size() * (dtype == DType::F32 ? 4 : 2); }
  std::vector<uint8_t> encode() const {
    return mhc::runtime::testing::encode(values, dtype);
  }
  void fill(std::mt19937_64 &rng, float lo, float hi) {
    std::uniform_real_distribution<float> u(lo, hi);
    for (float &v : values)
      v = dtype == DType::F32 ? u(rng) : ref::fromBF16(ref::toBF16(u(rng)));
  }
};

/// A post's inputs on the host and the device, and its output buffer.
struct PostCase {
  PostDescriptor d;
  int64_t batch;
  HostBuffer x, f, m, h;
  DeviceBuffer dx, df, dm, dh, dout;
  PostArgs args;

  PostCase(const PostDescriptor &d, int64_t batch, std::mt19937_64 &rng)
      : d(d), batch(batch), x(d.activation, size_t(batch * d.streams * d.channels)),
        f(d.sublayer, size_t(batch * d.channels)),
        m(DType::F32, size_t(batch * d.streams * d.streams)),
        h(DType::F32, size_t(batch * d.streams)), dx(x.bytes()), df(f.bytes()),
        dm(m.bytes()), dh(h.bytes()), dout(x.bytes()) {
    x.fill(rng, -2.f, 2.f);
    f.fill(rng, -2.f, 2.f);
    m.fill(rng, 0.f, 1.f);
    h.fill(rng, 0.f, 2.f);
    upload();
    args.x = dx.get();
    args.f = df.get();
    args.matrix = dm.get();
    args.hPost = dh.get();
    args.out = dout.get();
    args.batch = batch;
  }
  void upload() {
    dx.upload(x.encode().data(), x.bytes());
    df.upload(f.encode().data(), f.bytes());
    dm.upload(m.encode().data(), m.bytes());
    dh.upload(h.encode().data(), h.bytes());
  }

  /// The float64 reference of every output.
  std::vector<double> reference() const {
    auto wide = [](const HostBuffer &b) {
      return std::vector<double>(b.values.begin(), b.values.end());
    };
    std::vector<double> X = wide(x), F = wide(f), M = wide(m), H = wide(h);
    std::vector<double> out(x.values.size());
    ref::dynamicPost<double>(
        d.streams, d.channels, batch,
        d.orientation == MixOrientation::Direct
            ? ref::MixOrientation::Direct
            : ref::MixOrientation::Transposed,
        X.data(), F.data(), M.data(), H.data(), out.data());
    return out;
  }

  /// Runs `plan` into poisoned out and returns out's values.
  std::vector<float> run(const PostPlan &plan) {
    dout.poison();
    Status s = plan.run(nullptr, nullptr, args);
    EXPECT_TRUE(s) << s.message();
    EXPECT_EQ(gpu()->ctxSynchronize(), CUDA_SUCCESS);
    return decode(dout, x.values.size(), d.activation);
  }
};

PostDescriptor postOf(int64_t n, int64_t c, DType x, DType f,
                      MixOrientation orientation) {
  PostDescriptor d;
  d.streams = n;
  d.channels = c;
  d.activation = x;
  d.sublayer = f;
  d.orientation = orientation;
  return d;
}

/// Every output within the guarantee; NaN exactly where the reference has
/// one. Returns the largest error relative to the output's scale.
double expectWithinGuarantee(const PostPlan &plan,
                             const std::vector<float> &got,
                             const std::vector<double> &want) {
  double scale = 1.0;
  for (double v : want)
    if (std::isfinite(v))
      scale = std::max(scale, std::fabs(v));
  double bound = plan.precisionGuarantee().maxRelativeError * scale;
  double worst = 0.0;
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      if (!std::isnan(got[i]) && bad++ < 5)
        ADD_FAILURE() << "output " << i << " is " << got[i]
                      << ", the reference NaN";
      continue;
    }
    double err = std::fabs(double(got[i]) - want[i]);
    if (!(err <= bound) && bad++ < 5)
      ADD_FAILURE() << "output " << i << ": " << got[i] << " vs " << want[i]
                    << " (bound " << bound << ") of " << plan.sku().kernel;
    if (std::isfinite(err))
      worst = std::max(worst, err / scale);
  }
  EXPECT_EQ(bad, 0u) << plan.sku().kernel;
  return worst;
}

std::unique_ptr<PostPlan> selectPlan(const PostDescriptor &d,
                                     const Preference &p = {}) {
  std::unique_ptr<PostPlan> plan;
  Status s = PostPlan::select(nullptr, d, p, plan);
  EXPECT_TRUE(s) << s.message();
  return plan;
}

TEST(PostGpu, MatchesTheReference) {
  REQUIRE_GPU();
  std::mt19937_64 rng(7);
  double worst[2] = {0, 0};
  int runs = 0;
  for (int64_t n : {1, 2, 3, 4, 8, 12})
    for (int64_t c : {1, 37, 64, 1000, 4096})
      for (DType x : {DType::F32, DType::BF16})
        for (DType f : {DType::F32, DType::BF16})
          for (MixOrientation o :
               {MixOrientation::Direct, MixOrientation::Transposed})
            for (bool portable : {false, true}) {
              int64_t batch = (n * c) % 3 == 0 ? 1 : (n == 4 ? 65 : 3);
              PostDescriptor d = postOf(n, c, x, f, o);
              Preference p;
              p.portable = portable;
              auto plan = selectPlan(d, p);
              ASSERT_TRUE(plan);
              PostCase k(d, batch, rng);
              double e = expectWithinGuarantee(*plan, k.run(*plan),
                                               k.reference());
              worst[x == DType::BF16] = std::max(worst[x == DType::BF16], e);
              ++runs;
            }
  std::printf("post: %d runs, largest error / max(1, max|ref|): f32 %.3g, "
              "bf16 %.3g\n",
              runs, worst[0], worst[1]);
}

TEST(PostGpu, LargeBatchesAndGrids) {
  REQUIRE_GPU();
  std::mt19937_64 rng(11);
  for (DType t : {DType::BF16, DType::F32}) {
    PostDescriptor d = postOf(4, 7168, t, t, MixOrientation::Transposed);
    PostCase k(d, 2048, rng);
    auto plan = selectPlan(d);
    ASSERT_TRUE(plan);
    std::vector<float> first = k.run(*plan);
    expectWithinGuarantee(*plan, first, k.reference());
    // Rerun: the same bits.
    std::vector<float> again = k.run(*plan);
    EXPECT_EQ(std::memcmp(first.data(), again.data(), first.size() * 4), 0);
    // Any grid computes the same: one block for every tile, and 7.
    for (int64_t blocks : {1, 7}) {
      Preference p;
      p.maxBlocks = blocks;
      auto capped = selectPlan(d, p);
      ASSERT_TRUE(capped);
      std::vector<float> out = k.run(*capped);
      EXPECT_EQ(std::memcmp(first.data(), out.data(), first.size() * 4), 0)
          << blocks << " blocks";
    }
  }
}

TEST(PostGpu, NaNStaysInItsToken) {
  REQUIRE_GPU();
  std::mt19937_64 rng(13);
  for (DType t : {DType::BF16, DType::F32}) {
    PostDescriptor d = postOf(4, 64, t, t, MixOrientation::Direct);
    PostCase k(d, 5, rng);
    float nan = std::numeric_limits<float>::quiet_NaN();
    k.x.values[(1 * 4 + 2) * 64 + 9] = nan; // token 1, stream 2, column 9
    k.m.values[3 * 16 + 5] = nan;           // token 3, M[1][1]
    k.f.values[4 * 64 + 63] = std::numeric_limits<float>::infinity();
    k.upload();
    auto plan = selectPlan(d);
    ASSERT_TRUE(plan);
    std::vector<float> out = k.run(*plan);
    std::vector<double> want = k.reference();
    expectWithinGuarantee(*plan, out, want);
    // Tokens 0 and 2 have no non-finite input: every output finite.
    for (int64_t b : {0, 2})
      for (int64_t i = 0; i < 4 * 64; ++i)
        EXPECT_TRUE(std::isfinite(out[b * 256 + i])) << b << ", " << i;
  }
}

TEST(PostGpu, ErrorsAndEmptyRuns) {
  REQUIRE_GPU();
  std::mt19937_64 rng(17);
  PostDescriptor d = postOf(4, 4096, DType::BF16, DType::BF16,
                            MixOrientation::Direct);
  PostCase k(d, 3, rng);
  auto plan = selectPlan(d);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->sku().family, "post");
  EXPECT_EQ(plan->workspaceSize(), 0u);
  // A misaligned x: an error, nothing launched.
  PostArgs a = k.args;
  a.x = static_cast<const char *>(a.x) + 2;
  Status s = plan->run(nullptr, nullptr, a);
  EXPECT_EQ(s.code(), StatusCode::InvalidArgument);
  // batch 0: nothing written.
  k.dout.poison();
  a = k.args;
  a.batch = 0;
  EXPECT_TRUE(plan->run(nullptr, nullptr, a));
  EXPECT_EQ(gpu()->ctxSynchronize(), CUDA_SUCCESS);
  std::vector<uint8_t> bytes(k.x.bytes());
  k.dout.download(bytes.data(), bytes.size());
  for (uint8_t v : bytes)
    ASSERT_EQ(v, 0xFF);
}

TEST(PostGpu, CApi) {
  REQUIRE_GPU();
  std::mt19937_64 rng(19);
  PostDescriptor d = postOf(4, 1000, DType::F32, DType::BF16,
                            MixOrientation::Transposed);
  PostCase k(d, 4, rng);
  mhc_post_descriptor_t cd;
  mhc_post_descriptor_init(&cd, 4, 1000);
  cd.activation = MHC_DTYPE_F32;
  cd.sublayer = MHC_DTYPE_BF16;
  cd.orientation = MHC_MIX_TRANSPOSED;
  mhc_post_plan_t plan = nullptr;
  ASSERT_EQ(mhc_post_plan_select(nullptr, &cd, nullptr, &plan), MHC_STATUS_OK)
      << mhc_last_error();
  EXPECT_NE(std::string(mhc_post_plan_sku(plan)).find("mhc_post_n4_xf32_fbf16"),
            std::string::npos);
  mhc_post_args_t args{k.args.x, k.args.f, k.args.matrix, k.args.hPost,
                       k.args.out, k.args.batch};
  k.dout.poison();
  ASSERT_EQ(mhc_post_plan_run(plan, nullptr, nullptr, &args), MHC_STATUS_OK)
      << mhc_last_error();
  EXPECT_EQ(gpu()->ctxSynchronize(), CUDA_SUCCESS);
  std::unique_ptr<PostPlan> cpp = selectPlan(d);
  expectWithinGuarantee(*cpp, decode(k.dout, k.x.values.size(), d.activation),
                        k.reference());
  mhc_post_plan_destroy(plan);
}

} // namespace

int main(int argc, char **argv) { return runGpuTests(argc, argv); }
