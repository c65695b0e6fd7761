//===- RuntimeGpuTest.cpp - the runtime's kernels on a GPU ----------------===//
//
// Runs plans on random inputs over many shapes and both conventions and
// compares every output with the float64 reference (mhc/Support/Reference.h):
// outputs poisoned with NaN before each run, extreme logits, a zero row of x,
// and bit-identical results over repeated runs: with the coefficient cache
// cold (a workspace of random bytes) and warm, and without the cache.
// Skipped, with a message, on machines without a GPU.
//
//===----------------------------------------------------------------------===//

#include "GpuTestSupport.h"
#include "TestLayers.h"
#include "mhc-c/Runtime.h"
#include "mhc/Runtime/HyperConnection.h"
#include "mhc/Support/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <vector>

using namespace mhc::runtime;
using namespace mhc::runtime::testing;
namespace ref = mhc::reference;

namespace {

/// Runs `plan` once on `a` with `workspace` into poisoned `out` (on the
/// legacy default stream) and returns out's bytes.
std::vector<float> runOnce(const HyperConnectionPlan &plan, const Args &a,
                           void *workspace, DeviceBuffer &out, size_t count,
                           size_t shift = 0) {
  std::vector<float> result(count);
  out.poison();
  Status s = plan.run(nullptr, workspace, a);
  EXPECT_TRUE(s) << s.message();
  EXPECT_EQ(gpu()->ctxSynchronize(), CUDA_SUCCESS);
  out.download(result.data(), count * 4, shift);
  return result;
}

/// A layer's inputs on the device (x and the gates uniform in [-2, 2)
/// from `rng`, the weight 1.25 as bf16), its output buffer, and the Args of
/// a run over `batch` rows; H_res is the caller's.
struct DeviceLayer {
  DeviceBuffer x, out, weight, hPre, hPost;
  Args args;
  DeviceLayer(int64_t n, int64_t c, int64_t batch, std::mt19937_64 &rng)
      : x(size_t(batch * n * c) * 4), out(size_t(batch * n * c) * 4),
        weight(c * 2), hPre(n * 4), hPost(n * 4) {
    std::uniform_real_distribution<float> u(-2.f, 2.f);
    auto upload = [&](DeviceBuffer &buffer, size_t count) {
      std::vector<float> values(count);
      for (float &v : values)
        v = u(rng);
      buffer.upload(values.data(), count * 4);
    };
    upload(x, size_t(batch * n * c));
    upload(hPre, n);
    upload(hPost, n);
    std::vector<uint16_t> w(c, ref::toBF16(1.25f));
    weight.upload(w.data(), c * 2);
    args.x = x.get();
    args.hPre = hPre.get();
    args.hPost = hPost.get();
    args.weight = weight.get();
    args.out = out.get();
    args.batch = batch;
    args.weightType = DType::BF16;
  }
};

bool sameBits(const std::vector<float> &l, const std::vector<float> &r) {
  return l.size() == r.size() &&
         std::memcmp(l.data(), r.data(), l.size() * 4) == 0;
}

struct Case {
  int64_t n, c, b;
  bool softmax; // softmax init, M^T x and pre eps (DeepSeek-V4)
  DType weight;
  float logitOffset; // added to every H_res entry
  bool portable;
  bool noClusters = false; // Preference::clusterRows = false
};

std::string name(const Case &k) {
  std::ostringstream os;
  os << "n" << k.n << "_C" << k.c << "_B" << k.b
     << (k.softmax ? "_softmaxT" : "_exp") << "_w"
     << (k.weight == DType::BF16 ? "bf16" : "f32");
  if (k.logitOffset != 0)
    os << "_off" << (k.logitOffset > 0 ? "p" : "m") << std::abs(k.logitOffset);
  if (k.portable)
    os << "_portable";
  if (k.noClusters)
    os << "_noclusters";
  return os.str();
}

void PrintTo(const Case &k, std::ostream *os) { *os << name(k); }

std::vector<Case> sweep() {
  std::vector<Case> cases;
  for (int64_t n : {1, 2, 3, 4, 8, 16, 32})
    for (int64_t c : {1, 3, 64, 1000, 1280, 4096, 7168})
      for (int64_t b : {1, 7, 1024, 8192})
        for (bool softmax : {false, true}) {
          // Keep the float64 reference on the host affordable.
          if (double(b) * n * n * c > 2.5e9)
            continue;
          DType w = (n + c + b) % 2 ? DType::F32 : DType::BF16;
          cases.push_back({n, c, b, softmax, w, 0.0f, false});
        }
  for (float offset : {1000.0f, -1000.0f})
    for (int64_t n : {2, 4, 8})
      cases.push_back({n, 1280, 7, offset < 0, DType::BF16, offset, false});
  for (int64_t c : {64, 4096})
    cases.push_back({4, c, 7, false, DType::BF16, 0.0f, true});
  // Small batches of fixed shapes run the cluster kernels on sm_90+ (the
  // cases above); here the same batches with one block per row, and batches
  // around the largest that runs clusters (a quarter of the SMs: 33 on 132)
  // and beyond.
  for (int64_t n : {4, 8})
    for (int64_t c : {1280, 2560, 4096, 7168})
      for (int64_t b : {1, 7})
        cases.push_back({n, c, b, b == 7, DType::BF16, 0.0f, false, true});
  for (int64_t b : {33, 34, 60, 130, 300})
    cases.push_back({4, 7168, b, false, DType::BF16, 0.0f, false});
  // n = 4, C = 1280 and 2560: 320-thread fixed kernels beside 256-thread
  // cluster kernels, on both sides of the cluster limit.
  for (int64_t c : {1280, 2560})
    for (int64_t b : {33, 34, 300})
      cases.push_back(
          {4, c, b, b == 34, b == 300 ? DType::F32 : DType::BF16, 0.0f, false});
  cases.push_back({4, 1920, 500, true, DType::F32, 0.0f, false});
  cases.push_back({8, 2560, 200, false, DType::BF16, 0.0f, false});
  return cases;
}

class LayerSweep : public ::testing::TestWithParam<Case> {};

TEST_P(LayerSweep, MatchesFloat64Reference) {
  REQUIRE_GPU();
  const Case k = GetParam();
  Descriptor d = layer(k.n, k.c);
  d.maxBatch = k.b;
  d.weight = k.weight;
  if (k.softmax) {
    d.sinkhornInit = SinkhornInit::Softmax;
    d.orientation = MixOrientation::Transposed;
    d.preEps = d.sinkhornEps;
  }
  Preference pref;
  pref.portable = k.portable;
  pref.clusterRows = !k.noClusters;
  std::unique_ptr<HyperConnectionPlan> plan, uncached;
  Status s = HyperConnectionPlan::select(nullptr, d, pref, plan);
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(plan->workspaceSize(), coefficientCacheBytes(k.n));
  Preference noCache = pref;
  noCache.coefficientCache = false;
  s = HyperConnectionPlan::select(nullptr, d, noCache, uncached);
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(uncached->workspaceSize(), 0u);

  std::mt19937_64 rng(uint64_t(k.n * 7919 + k.c * 131 + k.b));
  std::uniform_real_distribution<float> u(-2.f, 2.f), uw(0.5f, 1.5f);
  const size_t count = size_t(k.b * k.n * k.c);
  std::vector<float> x(count), hRes(k.n * k.n), hPre(k.n), hPost(k.n), wf(k.c);
  std::vector<uint16_t> wb(k.c);
  std::vector<double> wd(k.c);
  for (float &v : x)
    v = u(rng);
  for (float &v : hRes)
    v = k.logitOffset + u(rng);
  for (float &v : hPre)
    v = u(rng);
  for (float &v : hPost)
    v = u(rng);
  for (int64_t i = 0; i < k.c; ++i) {
    wf[i] = uw(rng);
    wb[i] = ref::toBF16(wf[i]);
    wd[i] = k.weight == DType::BF16 ? ref::fromBF16(wb[i]) : wf[i];
  }
  if (k.b > 2) // a zero row: its RMS is sqrt(eps), the output finite
    std::fill(x.begin() + k.n * k.c, x.begin() + 2 * k.n * k.c, 0.0f);

  // The portable case runs on rows that are only 4-byte aligned.
  size_t shift = k.portable ? 4 : 0;
  DeviceBuffer dx(count * 4 + shift), dr(hRes.size() * 4), dp(k.n * 4),
      dq(k.n * 4), dw(k.c * 4), dout(count * 4 + shift);
  dx.upload(x.data(), count * 4, shift);
  dr.upload(hRes.data(), hRes.size() * 4);
  dp.upload(hPre.data(), k.n * 4);
  dq.upload(hPost.data(), k.n * 4);
  if (k.weight == DType::BF16)
    dw.upload(wb.data(), k.c * 2);
  else
    dw.upload(wf.data(), k.c * 4);

  Args a;
  a.x = dx.get(shift);
  a.hRes = dr.get();
  a.hPre = dp.get();
  a.hPost = dq.get();
  a.weight = dw.get();
  a.out = dout.get(shift);
  a.batch = k.b;
  a.weightType = k.weight;
  ASSERT_TRUE(plan->canImplement(a)) << plan->canImplement(a).message();

  // Cold cache (random bytes), warm cache, no cache: the same bits.
  DeviceBuffer workspace(plan->workspaceSize());
  workspace.scramble(rng);
  std::vector<float> first =
      runOnce(*plan, a, workspace.get(), dout, count, shift);
  std::vector<float> second =
      runOnce(*plan, a, workspace.get(), dout, count, shift);
  std::vector<float> third = runOnce(*uncached, a, nullptr, dout, count, shift);

  ref::LayerConfig cfg;
  cfg.n = k.n;
  cfg.channels = k.c;
  cfg.eps = d.eps;
  cfg.sinkhornIters = d.sinkhornIters;
  cfg.init = k.softmax ? ref::SinkhornInit::Softmax : ref::SinkhornInit::Exp;
  cfg.sinkhornEps = d.sinkhornEps;
  cfg.preEps = d.preEps;
  cfg.orientation =
      k.softmax ? ref::MixOrientation::Transposed : ref::MixOrientation::Direct;
  std::vector<double> expected(count);
  ref::staticLayer<double>(cfg, k.b, x.data(), hRes.data(), hPre.data(),
                           hPost.data(), wd.data(), expected.data());
  std::vector<double> rowBound = ref::conditioningBound(
      cfg, k.b, x.data(), hPre.data(), hPost.data(), wd.data());
  double maxErr = 0, maxRef = 0, worstExcess = 0;
  size_t nonFinite = 0;
  for (size_t i = 0; i < count; ++i)
    maxRef = std::max(maxRef, std::fabs(expected[i]));
  const double base =
      plan->precisionGuarantee().maxRelativeError * std::max(1.0, maxRef);
  for (size_t i = 0; i < count; ++i) {
    nonFinite += !std::isfinite(first[i]);
    double err = std::fabs(first[i] - expected[i]);
    maxErr = std::max(maxErr, err);
    // err / allowed: above 1 fails.
    worstExcess =
        std::max(worstExcess, err / (base + rowBound[i / (k.n * k.c)]));
  }
  double rel = maxErr / std::max(1.0, maxRef);
  RecordProperty("max_rel_err", std::to_string(rel));
  // The kernel that ran: the cluster kernel for batches it covers.
  const Sku &sku = plan->sku();
  const std::string &ran = sku.kernelFor(k.b);
  std::printf("[ result   ] %s kernel=%s grid=%lld max_abs_err=%.3e rel=%.3e "
              "err/allowed=%.3f\n",
              name(k).c_str(), ran.c_str(), (long long)sku.gridFor(k.b), maxErr,
              rel, worstExcess);
  EXPECT_EQ(nonFinite, 0u);
  EXPECT_LE(worstExcess, 1.0) << "max_abs_err " << maxErr << ", rel " << rel;
  EXPECT_TRUE(sameBits(first, second))
      << "a run with the cached M' differs from the run that cached it";
  EXPECT_TRUE(sameBits(first, third))
      << "a run with the coefficient cache differs from one without";
}

INSTANTIATE_TEST_SUITE_P(Shapes, LayerSweep, ::testing::ValuesIn(sweep()),
                         [](const auto &info) { return name(info.param); });

class PlanOnGpu : public ::testing::Test {
protected:
  void SetUp() override {
    if (!gpu())
      GTEST_SKIP() << "no GPU";
  }
  /// An attribute of device 0; a failed query fails the test.
  static int attribute(CUdevice_attribute which) {
    int value = -1;
    EXPECT_EQ(gpu()->deviceGetAttribute(&value, which, 0), CUDA_SUCCESS);
    return value;
  }
};

/// The grid of a run: one block per row for the fixed kernels that take it,
/// else as many blocks as fit on the GPU at once (a whole number per SM),
/// or Preference::maxBlocks, which then loop over the rows.
TEST_F(PlanOnGpu, GridFillsTheGpuOrTakesOneBlockPerRow) {
  int sms = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  Descriptor d = layer(4, 4096);
  std::unique_ptr<HyperConnectionPlan> plan;
  ASSERT_TRUE(HyperConnectionPlan::select(nullptr, d, {}, plan));
  EXPECT_TRUE(plan->sku().blockPerRow);
  EXPECT_EQ(plan->sku().gridFor(100000), 100000);
  d.channels = 1280;
  ASSERT_TRUE(HyperConnectionPlan::select(nullptr, d, {}, plan));
  const Sku &loop = plan->sku();
  EXPECT_FALSE(loop.blockPerRow);
  EXPECT_GE(loop.maxGridBlocks, sms);
  EXPECT_EQ(loop.maxGridBlocks % sms, 0) << loop.toString();
  EXPECT_EQ(loop.gridFor(100000), loop.maxGridBlocks);
  EXPECT_NE(
      loop.toString().find("grid <= " + std::to_string(loop.maxGridBlocks)),
      std::string::npos)
      << loop.toString();
  Preference capped;
  capped.maxBlocks = 20;
  capped.clusterRows = false;
  ASSERT_TRUE(HyperConnectionPlan::select(nullptr, d, capped, plan));
  EXPECT_EQ(plan->sku().gridFor(7), 7);
  EXPECT_EQ(plan->sku().gridFor(1000), 20);
}

/// On sm_90+ a fixed shape whose row splits gets a cluster kernel for the
/// batches whose clusters all fit at once; elsewhere, or when not wanted,
/// none.
TEST_F(PlanOnGpu, ClusterKernelWhereTheDeviceHasClusters) {
  int major = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  Descriptor d = layer(4, 7168);
  std::unique_ptr<HyperConnectionPlan> plan;
  ASSERT_TRUE(HyperConnectionPlan::select(nullptr, d, {}, plan));
  const Sku &sku = plan->sku();
  int sms = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  if (major >= 9) {
    EXPECT_EQ(sku.clusterKernel, "mhc_fused_n4_c7168_v4_wbf16_t256_k7");
    EXPECT_EQ(sku.clusterMaxBatch, sms / 4); // 7-block clusters fit more
    EXPECT_NE(sku.toString().find("_k7, 7-block clusters"), std::string::npos)
        << sku.toString();
  } else {
    EXPECT_TRUE(sku.clusterKernel.empty());
  }
  Preference fewBlocks;
  fewBlocks.maxBlocks = 20;
  ASSERT_TRUE(HyperConnectionPlan::select(nullptr, d, fewBlocks, plan));
  if (major >= 9) {
    EXPECT_EQ(plan->sku().clusterMaxBatch, 2); // 2 clusters of 7 <= 20
  }
  Preference none;
  none.clusterRows = false;
  ASSERT_TRUE(HyperConnectionPlan::select(nullptr, d, none, plan));
  EXPECT_TRUE(plan->sku().clusterKernel.empty());
}

TEST_F(PlanOnGpu, RejectsBadArgumentsWithoutWriting) {
  Descriptor d = layer(4, 4096);
  d.maxBatch = 8;
  std::unique_ptr<HyperConnectionPlan> plan;
  ASSERT_TRUE(HyperConnectionPlan::select(nullptr, d, {}, plan));
  EXPECT_EQ(plan->sku().kernel, "mhc_fused_n4_c4096_v4_wbf16_t512");
  DeviceBuffer x(16 * 4 * 4096 * 4 + 16), out(16 * 4 * 4096 * 4 + 16),
      p(64 + 32), w(4096 * 2);
  out.poison();
  Args a;
  a.x = x.get();
  a.hRes = p.get();
  a.hPre = p.get(64);
  a.hPost = p.get(80);
  a.weight = w.get();
  a.out = out.get();
  a.batch = 9; // beyond maxBatch
  EXPECT_EQ(plan->run(nullptr, nullptr, a).code(), StatusCode::InvalidArgument);
  a.batch = 4;
  a.x = x.get(4); // misaligned for the 16-byte variant
  EXPECT_EQ(plan->run(nullptr, nullptr, a).code(), StatusCode::InvalidArgument);
  a.x = out.get(); // in-place
  EXPECT_EQ(plan->run(nullptr, nullptr, a).code(), StatusCode::InvalidArgument);
  a.x = x.get();
  DeviceBuffer workspace(plan->workspaceSize() + 16);
  ASSERT_GT(plan->workspaceSize(), 0u);
  EXPECT_EQ(plan->run(nullptr, nullptr, a).code(), StatusCode::InvalidArgument);
  EXPECT_EQ(plan->run(nullptr, workspace.get(4), a).code(),
            StatusCode::InvalidArgument); // misaligned
  EXPECT_EQ(plan->run(nullptr, out.get(16), a).code(),
            StatusCode::InvalidArgument); // inside out
  EXPECT_EQ(plan->run(nullptr, p.get(0), a).code(),
            StatusCode::InvalidArgument); // over the coefficients
  a.batch = 0;                            // no-op
  EXPECT_TRUE(plan->run(nullptr, workspace.get(), a));
  ASSERT_CU(gpu()->ctxSynchronize());
  std::vector<uint32_t> bits(16 * 4 * 4096);
  out.download(bits.data(), bits.size() * 4);
  for (uint32_t v : bits)
    ASSERT_EQ(v, 0xFFFFFFFFu) << "a rejected or empty run wrote to out";
}

/// One workspace shared by runs with different H_res and by plans with
/// different conventions over the same kernel: every run gives the bits of
/// a run without the cache, so no run takes another's M'.
TEST_F(PlanOnGpu, CoefficientCacheFollowsTheKey) {
  const int64_t n = 4, c = 4096, batch = 600; // several waves of blocks
  Descriptor direct;
  direct.streams = n;
  direct.channels = c;
  Descriptor transposed = direct; // the DeepSeek-V4 conventions
  transposed.sinkhornInit = SinkhornInit::Softmax;
  transposed.orientation = MixOrientation::Transposed;
  Descriptor fewerRounds = direct;
  fewerRounds.sinkhornIters = 3;
  Preference noCache;
  noCache.coefficientCache = false;
  Preference blockPerRow; // blocks launched after others published M'
  blockPerRow.maxBlocks = 1 << 30;

  std::mt19937_64 rng(42);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  const size_t count = size_t(batch * n * c);
  DeviceLayer layer(n, c, batch, rng);
  std::vector<float> h1(n * n), h2, h3;
  for (float &v : h1)
    v = u(rng);
  h2 = h1;
  h2[n * n - 1] += 0.5f; // one entry differs: a different M everywhere
  h3 = h1;
  h3[0] = -h3[0];
  DeviceBuffer dh[3] = {DeviceBuffer(n * n * 4), DeviceBuffer(n * n * 4),
                        DeviceBuffer(n * n * 4)};
  dh[0].upload(h1.data(), n * n * 4);
  dh[1].upload(h2.data(), n * n * 4);
  dh[2].upload(h3.data(), n * n * 4);
  Args &a = layer.args;
  DeviceBuffer &dout = layer.out;

  struct Variant {
    const char *name;
    Descriptor d;
    Preference pref;
  };
  Variant variants[] = {{"direct", direct, {}},
                        {"direct, block per row", direct, blockPerRow},
                        {"softmax, transposed", transposed, {}},
                        {"3 rounds", fewerRounds, {}}};
  // The expected bits of each (variant, H_res), from plans without cache.
  std::vector<float> expected[4][3];
  for (int v = 0; v < 4; ++v) {
    std::unique_ptr<HyperConnectionPlan> plan;
    ASSERT_TRUE(
        HyperConnectionPlan::select(nullptr, variants[v].d, noCache, plan));
    for (int h = 0; h < 3; ++h) {
      a.hRes = dh[h].get();
      expected[v][h] = runOnce(*plan, a, nullptr, dout, count);
    }
  }
  EXPECT_FALSE(sameBits(expected[0][0], expected[0][1]));
  EXPECT_FALSE(sameBits(expected[0][0], expected[2][0]));
  EXPECT_FALSE(sameBits(expected[0][0], expected[3][0]));

  std::unique_ptr<HyperConnectionPlan> plans[4];
  for (int v = 0; v < 4; ++v)
    ASSERT_TRUE(HyperConnectionPlan::select(nullptr, variants[v].d,
                                            variants[v].pref, plans[v]));
  ASSERT_EQ(plans[0]->workspaceSize(), coefficientCacheBytes(n));
  DeviceBuffer workspace(plans[0]->workspaceSize());
  workspace.scramble(rng);
  // Each (variant, H) twice in a row (miss, then hit), in an order where
  // consecutive runs change the H_res, the conventions or the rounds.
  const int order[][2] = {{0, 0}, {0, 1}, {0, 0}, {2, 0}, {0, 0}, {3, 0},
                          {1, 1}, {1, 2}, {0, 2}, {2, 2}, {3, 1}, {1, 0}};
  for (auto [v, h] : order)
    for (int repeat = 0; repeat < 2; ++repeat) {
      a.hRes = dh[h].get();
      std::vector<float> got =
          runOnce(*plans[v], a, workspace.get(), dout, count);
      EXPECT_TRUE(sameBits(got, expected[v][h]))
          << variants[v].name << ", H_res " << h << ", run " << repeat;
    }
  // The last run's key is in the workspace: the runtime's workspace holds
  // all the kernel's cache (a smaller one would silently turn it off).
  std::vector<float> words(plans[0]->workspaceSize() / 4);
  workspace.download(words.data(), words.size() * 4);
  // Seal (2 words), header (4), then H_res.
  EXPECT_EQ(std::memcmp(words.data() + 6, h1.data(), n * n * 4), 0)
      << "the workspace does not hold the last run's H_res as its key";
  // An entry whose M' was partly overwritten (key and seal intact) must
  // fail the check: the run computes M' again and gives the same bits.
  const float garbage[3] = {0.5f, -3.0f, 7.0f};
  workspace.upload(garbage, sizeof(garbage), (6 + n * n + 5) * 4);
  a.hRes = dh[0].get();
  EXPECT_TRUE(sameBits(runOnce(*plans[0], a, workspace.get(), dout, count),
                       expected[0][0]))
      << "a partly overwritten entry was used";
}

/// Programmatic dependent launch: a chain of runs, each reading the output
/// of the run before it and writing over that run's input, queued on one
/// stream without synchronizing, gives the bits of the same chain run one
/// synchronized step at a time with ordinary launches. With small batches
/// most SMs are free, so a run's blocks start while the run before it is
/// still at work: a kernel that read x or wrote out before its
/// griddepcontrol.wait would see or clobber the other run's rows. H_res
/// alternates, so every run also replaces the cached M' the run before it
/// publishes.
TEST_F(PlanOnGpu, ProgrammaticLaunchKeepsChainedRunsOrdered) {
  int major = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  const int64_t n = 4, c = 7168, steps = 12;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  std::vector<float> h[2] = {std::vector<float>(n * n),
                             std::vector<float>(n * n)};
  std::vector<float> hPre(n), hPost(n);
  for (auto *v : {&h[0], &h[1], &hPre, &hPost})
    for (float &e : *v)
      e = u(rng);
  std::vector<uint16_t> w(c);
  for (uint16_t &e : w)
    e = ref::toBF16(u(rng));
  DeviceBuffer dw(c * 2), dp(n * 4), dq(n * 4), dh0(n * n * 4), dh1(n * n * 4);
  dw.upload(w.data(), c * 2);
  dp.upload(hPre.data(), n * 4);
  dq.upload(hPost.data(), n * 4);
  dh0.upload(h[0].data(), n * n * 4);
  dh1.upload(h[1].data(), n * n * 4);
  CUstream stream = nullptr;
  ASSERT_CU(gpu()->streamCreate(&stream, CU_STREAM_NON_BLOCKING));

  Descriptor d = layer(n, c);
  Preference ordinary;
  ordinary.programmaticLaunch = false;
  for (bool clusters : {true, false})
    for (int64_t batch : {1, 7, 64}) {
      SCOPED_TRACE(std::string(clusters ? "clusters" : "block per row") +
                   ", batch " + std::to_string(batch));
      Preference programmatic, plain = ordinary;
      programmatic.clusterRows = plain.clusterRows = clusters;
      std::unique_ptr<HyperConnectionPlan> fast, slow;
      ASSERT_TRUE(HyperConnectionPlan::select(stream, d, programmatic, fast));
      ASSERT_TRUE(HyperConnectionPlan::select(stream, d, plain, slow));
      const Sku &sku = fast->sku();
      bool launched = sku.runsProgrammatic(batch);
      if (major >= 9 && gpu()->launchKernelEx)
        EXPECT_TRUE(launched) << sku.toString();
      else
        EXPECT_FALSE(launched) << sku.toString();
      EXPECT_FALSE(slow->sku().programmaticLaunch);
      EXPECT_FALSE(slow->sku().clusterProgrammaticLaunch);
      EXPECT_EQ(sku.toString().find("programmatic") != std::string::npos,
                sku.programmaticLaunch || sku.clusterProgrammaticLaunch);

      const size_t count = size_t(batch * n * c);
      std::vector<float> x(count);
      for (float &e : x)
        e = u(rng);
      auto chain = [&](const HyperConnectionPlan &plan, bool synchronize) {
        DeviceBuffer buffers[2] = {DeviceBuffer(count * 4),
                                   DeviceBuffer(count * 4)};
        DeviceBuffer workspace(plan.workspaceSize());
        workspace.scramble(rng);
        buffers[0].upload(x.data(), count * 4);
        buffers[1].poison();
        // The copies and the memset are on the legacy default stream, which
        // the non-blocking stream does not wait for.
        EXPECT_EQ(gpu()->ctxSynchronize(), CUDA_SUCCESS);
        Args a;
        a.hPre = dp.get();
        a.hPost = dq.get();
        a.weight = dw.get();
        a.batch = batch;
        for (int64_t k = 0; k < steps; ++k) {
          a.x = buffers[k % 2].get();
          a.out = buffers[(k + 1) % 2].get();
          a.hRes = (k % 2 ? dh1 : dh0).get();
          Status s = plan.run(stream, workspace.get(), a);
          EXPECT_TRUE(s) << s.message();
          if (synchronize) {
            EXPECT_EQ(gpu()->streamSynchronize(stream), CUDA_SUCCESS);
          }
        }
        EXPECT_EQ(gpu()->streamSynchronize(stream), CUDA_SUCCESS);
        std::vector<float> result(count);
        buffers[steps % 2].download(result.data(), count * 4);
        return result;
      };
      std::vector<float> expected = chain(*slow, /*synchronize=*/true);
      for (float v : expected)
        ASSERT_TRUE(std::isfinite(v));
      for (int repeat = 0; repeat < 3; ++repeat)
        EXPECT_TRUE(sameBits(chain(*fast, /*synchronize=*/false), expected))
            << "chained programmatic launches differ, repeat " << repeat;
    }
}

/// A column of H_res whose logits lie 87-88.5 below each row's maximum: after
/// the first row normalization its only nonzero entry (row 0) is below the
/// smallest normal float, and so is the column's sum. Its reciprocal
/// (~1e39) does not fit a float: multiplying by it gave infinities and then
/// NaN (inf * 0) in the next round. The kernels treat such a sum as zero
/// and leave the column as it is (the spec: finite inputs never give NaN;
/// docs/DESIGN.md, "Sinkhorn conventions"). The float64 reference
/// normalizes that column, so only finiteness and the cache's bit-identity
/// are checked here. Fixed (cluster, one block per row, grid-stride) and
/// dynamic-C kernels, replicated (n <= 4) and lane-per-row (n = 8) rounds.
TEST_F(PlanOnGpu, UnderflowingColumnStaysFinite) {
  struct Shape {
    int64_t n, c, b;
  };
  for (Shape shape :
       {Shape{4, 4096, 1}, Shape{4, 4096, 64}, Shape{4, 1280, 300},
        Shape{8, 4096, 7}, Shape{8, 1280, 300}, Shape{3, 1000, 7},
        Shape{8, 37, 5}}) {
    const int64_t n = shape.n, c = shape.c, b = shape.b;
    SCOPED_TRACE("n=" + std::to_string(n) + " C=" + std::to_string(c) +
                 " B=" + std::to_string(b));
    Descriptor d = layer(n, c); // exp init: the addend is 0
    d.maxBatch = b;
    std::unique_ptr<HyperConnectionPlan> plan, uncached;
    ASSERT_TRUE(HyperConnectionPlan::select(nullptr, d, {}, plan));
    Preference noCache;
    noCache.coefficientCache = false;
    ASSERT_TRUE(HyperConnectionPlan::select(nullptr, d, noCache, uncached));

    std::mt19937_64 rng(uint64_t(n * 31 + c + b));
    const size_t count = size_t(b * n * c);
    DeviceLayer layer(n, c, b, rng);
    std::vector<float> hRes(n * n, 0.0f);
    // Column 1: in row 0 exp(-87) ~ 1.6e-38 (n = 8; a seventh of it after
    // the row normalization) or exp(-88.5) ~ 3.7e-39 (n <= 4: a denormal
    // exp; a third of it or less), in the other rows 0.
    hRes[1] = n >= 8 ? -87.0f : -88.5f;
    for (int64_t i = 1; i < n; ++i)
      hRes[i * n + 1] = -200.0f;
    DeviceBuffer dr(n * n * 4), workspace(plan->workspaceSize());
    dr.upload(hRes.data(), n * n * 4);
    workspace.scramble(rng);
    Args &a = layer.args;
    a.hRes = dr.get();
    DeviceBuffer &dout = layer.out;
    std::vector<float> miss = runOnce(*plan, a, workspace.get(), dout, count);
    std::vector<float> hit = runOnce(*plan, a, workspace.get(), dout, count);
    std::vector<float> off = runOnce(*uncached, a, nullptr, dout, count);
    size_t nonFinite = 0;
    for (float v : miss)
      nonFinite += !std::isfinite(v);
    EXPECT_EQ(nonFinite, 0u)
        << "of " << count << " outputs, kernel " << plan->sku().kernelFor(b);
    EXPECT_TRUE(sameBits(miss, hit));
    EXPECT_TRUE(sameBits(miss, off));
  }
}

TEST_F(PlanOnGpu, CApiRunsEndToEnd) {
  mhc_descriptor_t d;
  mhc_descriptor_init(&d, 4, 1280);
  mhc_plan_t plan = nullptr;
  ASSERT_EQ(mhc_plan_select(nullptr, &d, nullptr, &plan), MHC_STATUS_OK)
      << mhc_last_error();
  EXPECT_NE(std::string(mhc_plan_sku(plan)).find("mhc_fused_n4_c1280_v4_wbf16"),
            std::string::npos);
  mhc_precision_t precision;
  ASSERT_EQ(mhc_plan_precision_guarantee(plan, &precision), MHC_STATUS_OK);
  EXPECT_TRUE(precision.deterministic);
  DeviceBuffer x(3 * 4 * 1280 * 4), out(3 * 4 * 1280 * 4), p(64), w(1280 * 2);
  std::vector<float> ones(3 * 4 * 1280, 1.0f);
  x.upload(ones.data(), ones.size() * 4);
  std::vector<float> zeros(16, 0.0f);
  p.upload(zeros.data(), 64);
  std::vector<uint16_t> wone(1280, ref::toBF16(1.0f));
  w.upload(wone.data(), wone.size() * 2);
  out.poison();
  mhc_args_t a{x.get(), p.get(),   p.get(0), p.get(0),
               w.get(), out.get(), 3,        MHC_DTYPE_BF16};
  EXPECT_EQ(mhc_plan_run(plan, nullptr, nullptr, &a),
            MHC_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mhc_last_error()).find("workspace"), std::string::npos)
      << mhc_last_error();
  DeviceBuffer workspace(mhc_plan_workspace_size(plan));
  ASSERT_EQ(mhc_plan_run(plan, nullptr, workspace.get(), &a), MHC_STATUS_OK)
      << mhc_last_error();
  ASSERT_CU(gpu()->ctxSynchronize());
  // x = 1 everywhere, H = 0: M = 1/4, s_pre = 1/2, s_post = 1, y = 2,
  // f = 2 / sqrt(4 + eps): out = 1 + 2 / sqrt(4 + 1e-6).
  std::vector<float> result(ones.size());
  out.download(result.data(), result.size() * 4);
  double expected = 1.0 + 2.0 / std::sqrt(4.0 + 1e-6);
  for (float v : result)
    ASSERT_NEAR(v, expected, 1e-6);
  mhc_plan_destroy(plan);
}

} // namespace

/// Without a GPU the whole binary reports "skipped" to ctest (exit code 77)
/// with the reason, rather than 380 individually skipped tests.
int main(int argc, char **argv) { return runGpuTests(argc, argv); }
