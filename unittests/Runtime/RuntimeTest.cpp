//===- RuntimeTest.cpp - host-side tests of the runtime -------------------===//
//
// Everything that needs no GPU: descriptor rules, SKU selection, argument
// validation, the embedded kernel images, the C API's errors, and the clean
// NoDevice error on a machine without a GPU.
//
//===----------------------------------------------------------------------===//

#include "mhc-c/Runtime.h"
#include "CudaDriver.h"
#include "KernelImages.h"
#include "TestLayers.h"
#include "mhc/Runtime/HyperConnection.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

using namespace mhc::runtime;
using mhc::runtime::testing::expectStatus;
using mhc::runtime::testing::layer;

namespace {

TEST(Descriptor, AcceptsTheDefaults) {
  EXPECT_TRUE(validateDescriptor(layer(4, 4096)));
  EXPECT_TRUE(validateDescriptor(layer(1, 1)));
  EXPECT_TRUE(validateDescriptor(layer(32, 7168)));
}

TEST(Descriptor, RejectsEachRule) {
  expectStatus(validateDescriptor(layer(0, 64)), StatusCode::Unsupported,
               "streams must be in [1, 32]");
  expectStatus(validateDescriptor(layer(33, 64)), StatusCode::Unsupported,
               "got 33");
  expectStatus(validateDescriptor(layer(4, 0)), StatusCode::InvalidArgument,
               "channels must be >= 1");
  Descriptor d = layer(4, 64);
  d.maxBatch = -1;
  expectStatus(validateDescriptor(d), StatusCode::InvalidArgument, "maxBatch");
  d = layer(4, 64);
  d.activation = DType::BF16;
  expectStatus(validateDescriptor(d), StatusCode::Unsupported,
               "activations must be f32");
  for (float eps : {0.0f, -1.0f, std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
    d = layer(4, 64);
    d.eps = eps;
    expectStatus(validateDescriptor(d), StatusCode::InvalidArgument,
                 "eps must be positive and finite");
    d = layer(4, 64);
    d.sinkhornEps = eps;
    expectStatus(validateDescriptor(d), StatusCode::InvalidArgument,
                 "sinkhornEps");
  }
  d = layer(4, 64);
  d.sinkhornIters = 0;
  expectStatus(validateDescriptor(d), StatusCode::InvalidArgument,
               "sinkhornIters must be >= 1");
  d = layer(4, 64);
  d.preEps = -1e-6f;
  expectStatus(validateDescriptor(d), StatusCode::InvalidArgument, "preEps");
}

TEST(SkuSelection, FixedGeneralAndPortable) {
  Sku sku;
  ASSERT_TRUE(selectSku(layer(4, 4096), {}, sku));
  EXPECT_EQ(sku.kernel, "mhc_fused_n4_c4096_v4_wbf16_t512");
  EXPECT_EQ(sku.family, "fixed");
  EXPECT_EQ(sku.vectorWidth, 4);
  // 4096 / (256 threads x 4) = 4 chunks: a cluster of 4 blocks per row.
  EXPECT_EQ(sku.clusterKernel, "mhc_fused_n4_c4096_v4_wbf16_t256_k4");
  EXPECT_EQ(sku.clusterBlocks, 4);
  EXPECT_EQ(sku.clusterMaxBatch, 0); // set by select, from the device

  ASSERT_TRUE(selectSku(layer(4, 7168), {}, sku));
  EXPECT_EQ(sku.clusterKernel, "mhc_fused_n4_c7168_v4_wbf16_t256_k7");
  Preference noClusters;
  noClusters.clusterRows = false;
  ASSERT_TRUE(selectSku(layer(4, 7168), noClusters, sku));
  EXPECT_EQ(sku.kernel, "mhc_fused_n4_c7168_v4_wbf16_t896");
  EXPECT_TRUE(sku.clusterKernel.empty());
  EXPECT_EQ(sku.clusterBlocks, 0);

  ASSERT_TRUE(selectSku(layer(4, 4100), {}, sku));
  EXPECT_EQ(sku.kernel, "mhc_fused_n4_cdyn_v4_wbf16_t256");
  EXPECT_EQ(sku.family, "general-v4");
  EXPECT_TRUE(sku.clusterKernel.empty());

  ASSERT_TRUE(selectSku(layer(3, 37), {}, sku));
  EXPECT_EQ(sku.kernel, "mhc_fused_n3_cdyn_v1_wbf16_t256");
  EXPECT_EQ(sku.family, "general-v1");

  Preference portable;
  portable.portable = true;
  ASSERT_TRUE(selectSku(layer(4, 4096), portable, sku));
  EXPECT_EQ(sku.kernel, "mhc_fused_n4_cdyn_v1_wbf16_t256");
  EXPECT_TRUE(sku.clusterKernel.empty());

  Descriptor d = layer(8, 7168);
  d.weight = DType::F32;
  ASSERT_TRUE(selectSku(d, {}, sku));
  EXPECT_EQ(sku.kernel, "mhc_fused_n8_c7168_v4_wf32_t256");
  // 7 chunks of 8 streams do not fit in registers: no cluster kernel.
  EXPECT_TRUE(sku.clusterKernel.empty());

  expectStatus(selectSku(layer(40, 64), {}, sku), StatusCode::Unsupported,
               "streams");
  Preference bad;
  bad.maxBlocks = -1;
  expectStatus(selectSku(layer(4, 64), bad, sku), StatusCode::InvalidArgument,
               "maxBlocks");
}

/// Each fixed kernel has its own block size (gen_kernel_library.py;
/// bench/NOTES.md, attempts 24 and 25): whole chunks of 4 channels per
/// thread, the widest block that keeps the row in registers for one block
/// per row. The cluster kernels split the row into chunks of 256 threads.
TEST(SkuSelection, ThreadsPerBlockPerVariant) {
  Sku sku;
  ASSERT_TRUE(selectSku(layer(4, 1280), {}, sku));
  EXPECT_EQ(sku.kernel, "mhc_fused_n4_c1280_v4_wbf16_t320");
  EXPECT_EQ(sku.threadsPerBlock, 320);
  EXPECT_EQ(sku.clusterKernel, "mhc_fused_n4_c1280_v4_wbf16_t256_k2");
  EXPECT_EQ(sku.clusterThreadsPerBlock, 256);
  ASSERT_TRUE(selectSku(layer(4, 7168), {}, sku));
  EXPECT_EQ(sku.kernel, "mhc_fused_n4_c7168_v4_wbf16_t896");
  EXPECT_EQ(sku.clusterKernel, "mhc_fused_n4_c7168_v4_wbf16_t256_k7");
  struct Expected {
    int64_t n, c, threads, clusterThreads;
  };
  for (Expected e : {Expected{4, 1920, 480, 256},
                     {4, 2560, 320, 256},
                     {4, 4096, 512, 256},
                     {8, 1280, 256, 256},
                     {8, 2560, 640, 256},
                     {8, 4096, 512, 256},
                     {8, 7168, 256, 0}}) {
    ASSERT_TRUE(selectSku(layer(e.n, e.c), {}, sku));
    EXPECT_EQ(sku.threadsPerBlock, e.threads) << sku.kernel;
    EXPECT_EQ(sku.clusterThreadsPerBlock, e.clusterThreads) << sku.kernel;
    // C splits into whole chunks of threads x 4 channels, except where a
    // whole split loses more than it gains (n = 8, C = 1280 keeps 256).
    if (e.n == 4 || e.c != 1280) {
      EXPECT_EQ(e.c % (4 * e.threads), 0) << sku.kernel;
    }
  }
  // The general kernels and a plan without clusters.
  ASSERT_TRUE(selectSku(layer(4, 1284), {}, sku));
  EXPECT_EQ(sku.threadsPerBlock, 256);
  EXPECT_EQ(sku.clusterThreadsPerBlock, 0);
  Preference noClusters;
  noClusters.clusterRows = false;
  ASSERT_TRUE(selectSku(layer(4, 1280), noClusters, sku));
  EXPECT_EQ(sku.threadsPerBlock, 320);
  EXPECT_EQ(sku.clusterThreadsPerBlock, 0);
  // The launch takes the block size of the kernel it runs.
  sku.clusterKernel = "k";
  sku.clusterThreadsPerBlock = 256;
  sku.clusterMaxBatch = 33;
  EXPECT_EQ(sku.threadsFor(33), 256);
  EXPECT_EQ(sku.threadsFor(34), 320);
  EXPECT_EQ(sku.kernelFor(33), "k");
  EXPECT_EQ(sku.kernelFor(34), "mhc_fused_n4_c1280_v4_wbf16_t320");
}

/// Runs launch one block per row for the fixed-C rows of 96-128 KiB (measured
/// faster, bench/NOTES.md attempt 15), and a grid-stride loop otherwise.
TEST(SkuSelection, BlockPerRowForLargeFixedRows) {
  Sku sku;
  auto blockPerRow = [&](int64_t n, int64_t c, Preference p = {}) {
    EXPECT_TRUE(selectSku(layer(n, c), p, sku));
    return sku.blockPerRow;
  };
  EXPECT_TRUE(blockPerRow(4, 7168));  // 112 KiB rows
  EXPECT_TRUE(blockPerRow(8, 4096));  // 128 KiB
  EXPECT_TRUE(blockPerRow(4, 4096));  // 64 KiB
  EXPECT_TRUE(blockPerRow(8, 2560));  // 80 KiB
  EXPECT_TRUE(blockPerRow(4, 2560));  // 40 KiB
  EXPECT_TRUE(blockPerRow(4, 1920));  // 30 KiB
  EXPECT_FALSE(blockPerRow(8, 1280)); // 40 KiB, but C = 1280
  EXPECT_FALSE(blockPerRow(4, 1280)); // 20 KiB
  EXPECT_FALSE(blockPerRow(8, 7168)); // 224 KiB, streamed: not measured
  EXPECT_FALSE(blockPerRow(4, 7172)); // general family
  // Without the coefficient cache every block runs the rounds: only rows
  // of 96-128 KiB.
  Preference uncached;
  uncached.coefficientCache = false;
  EXPECT_TRUE(blockPerRow(4, 7168, uncached));
  EXPECT_TRUE(blockPerRow(8, 4096, uncached));
  EXPECT_FALSE(blockPerRow(4, 4096, uncached));
  EXPECT_FALSE(blockPerRow(4, 2560, uncached));
  Preference capped;
  capped.maxBlocks = 264;
  EXPECT_FALSE(blockPerRow(4, 7168, capped));
  Preference portable;
  portable.portable = true;
  EXPECT_FALSE(blockPerRow(4, 7168, portable));
}

/// A run launches one block per row up to maxGridBlocks, whose blocks then
/// loop, and clusters of clusterBlocks per row for the batches they take.
TEST(SkuSelection, GridOfARun) {
  Sku sku;
  ASSERT_TRUE(selectSku(layer(4, 1280), {}, sku));
  sku.maxGridBlocks = 396; // 3 blocks of 320 threads on 132 SMs
  EXPECT_EQ(sku.gridFor(1), 1);
  EXPECT_EQ(sku.gridFor(396), 396);
  EXPECT_EQ(sku.gridFor(397), 396);
  EXPECT_EQ(sku.gridFor(2560), 396);
  sku.clusterKernel = "k";
  sku.clusterBlocks = 5;
  sku.clusterMaxBatch = 33;
  EXPECT_EQ(sku.gridFor(33), 165);
  EXPECT_EQ(sku.gridFor(34), 34);
  sku.dropClusterKernel();
  EXPECT_EQ(sku.gridFor(33), 33);
  EXPECT_EQ(sku.clusterBlocks, 0);
  EXPECT_EQ(sku.clusterThreadsPerBlock, 0);
  EXPECT_EQ(sku.clusterMaxBatch, 0);
  EXPECT_FALSE(sku.runsClusters(1));
  // An unset limit still launches a block.
  Sku unset;
  EXPECT_EQ(unset.gridFor(5), 1);
}

/// Every kernel selection can name is in the embedded PTX of its family.
TEST(KernelImages, CoverEverySku) {
  using detail::kKernelImages;
  using detail::kNumKernelImages;
  auto ptxOf = [](const std::string &family) -> std::string {
    for (size_t i = 0; i < kNumKernelImages; ++i)
      if (family == kKernelImages[i].family &&
          std::string(kKernelImages[i].arch) == "ptx")
        return reinterpret_cast<const char *>(kKernelImages[i].data);
    return "";
  };
  int checked = 0, clustered = 0;
  for (int64_t n = 1; n <= 32; ++n)
    for (int64_t c : {1, 3, 64, 1000, 1280, 1920, 2560, 4096, 7168})
      for (DType w : {DType::BF16, DType::F32})
        for (bool portable : {false, true}) {
          Descriptor d = layer(n, c);
          d.weight = w;
          Preference p;
          p.portable = portable;
          Sku sku;
          ASSERT_TRUE(selectSku(d, p, sku));
          std::string ptx = ptxOf(sku.family);
          ASSERT_FALSE(ptx.empty()) << sku.family;
          EXPECT_NE(ptx.find(".entry " + sku.kernel + "("), std::string::npos)
              << sku.kernel << " is not in the " << sku.family << " image";
          if (!sku.clusterKernel.empty()) {
            EXPECT_NE(
                ptxOf("cluster").find(".entry " + sku.clusterKernel + "("),
                std::string::npos)
                << sku.clusterKernel << " is not in the cluster image";
            ++clustered;
          }
          ++checked;
        }
  EXPECT_EQ(checked, 32 * 9 * 2 * 2);
  // n = 4: C = 1280, 1920, 2560, 4096, 7168; n = 8: C = 1280, 2560, 4096;
  // both weights, not portable.
  EXPECT_EQ(clustered, 8 * 2);
}

/// The kernel ABI the runtime packs (Plan.cpp) is the one the lowering
/// emits: memref descriptors of x [3-d], h_res [2-d], h_pre, h_post, weight
/// [1-d], out [3-d] (allocated, aligned, offset, sizes, strides: 40 words),
/// then 6 f32 and 2 i32 scalars, then the coefficient cache [1-d: 5 words],
/// in every embedded kernel; and each states its dynamic shared memory and
/// whether it waits for the grids it depends on (Plan.cpp reads both when it
/// loads the kernel).
TEST(KernelImages, ParameterListsMatchTheRuntimeABI) {
  using detail::kKernelImages;
  using detail::kNumKernelImages;
  int kernels = 0;
  for (size_t i = 0; i < kNumKernelImages; ++i) {
    if (std::string(kKernelImages[i].arch) != "ptx")
      continue;
    std::string ptx = reinterpret_cast<const char *>(kKernelImages[i].data);
    std::string family = kKernelImages[i].family;
    bool post = family.rfind("post", 0) == 0;
    bool dynamic = post || family.rfind("pre", 0) == 0;
    for (size_t at = ptx.find(".entry "); at != std::string::npos;
         at = ptx.find(".entry ", at + 1)) {
      size_t end = ptx.find(')', at);
      std::string params = ptx.substr(at, end - at);
      auto count = [&](const std::string &what) {
        int n = 0;
        for (size_t p = params.find(what); p != std::string::npos;
             p = params.find(what, p + 1))
          ++n;
        return n;
      };
      std::string name = params.substr(7, params.find('(') - 7);
      if (name.rfind("mhc_proj_", 0) == 0) {
        // x [3-d], phi [2-d], partials [3-d]; no scalar.
        EXPECT_EQ(count(".param .u64"), 9 + 7 + 9) << name;
        EXPECT_EQ(count(".param .f32"), 0) << name;
        EXPECT_EQ(count(".param .u32"), 0) << name;
      } else if (name.rfind("mhc_pre_", 0) == 0) {
        // x, partials [3-d], alpha, bias [1-d], y, h_pre, h_post [2-d],
        // matrix [3-d]; eps, pre_eps, sinkhorn_addend, sinkhorn_iters.
        EXPECT_EQ(count(".param .u64"), 9 + 9 + 5 + 5 + 7 + 7 + 7 + 9) << name;
        EXPECT_EQ(count(".param .f32"), 3) << name;
        EXPECT_EQ(count(".param .u32"), 1) << name;
      } else if (post) {
        // x [3-d], f [2-d], matrix [3-d], h_post [2-d], out [3-d], then
        // `transposed`.
        EXPECT_EQ(count(".param .u64"), 9 + 7 + 9 + 7 + 9) << name;
        EXPECT_EQ(count(".param .f32"), 0) << name;
        EXPECT_EQ(count(".param .u32"), 1) << name;
      } else {
        EXPECT_EQ(count(".param .u64"), 9 + 7 + 5 + 5 + 5 + 9 + 5) << name;
        EXPECT_EQ(count(".param .f32"), 6) << name;
        EXPECT_EQ(count(".param .u32"), 2) << name;
      }
      // select reads the dynamic shared memory each kernel states; the
      // embedded PTX (sm_80 and cluster sm_90) stages no rows: 0.
      EXPECT_NE(
          ptx.find(".global .align 4 .u32 " + name + "_dynamic_shared_bytes;"),
          std::string::npos)
          << name;
      // And whether it waits for the grids it depends on: the sm_90 images
      // of the fused layer do (griddepcontrol), the sm_80 PTX cannot (0),
      // the dynamic-H kernels do not (0).
      bool sm90 = !dynamic && ptx.find(".target sm_90") != std::string::npos;
      EXPECT_NE(ptx.find(".u32 " + name + "_programmatic_launch" +
                         (sm90 ? " = 1;" : ";")),
                std::string::npos)
          << name;
      ++kernels;
    }
  }
  // 18 fixed + 16 cluster + 64 general-v4 + 64 general-v1 kernels; post and
  // post-v1: 4 dtype pairs x (n = 1..8 and n at run time) each; pre: 32
  // projections (n = 1..8, 4 dtype pairs) and 16 pre kernels (n, x dtype),
  // pre-v1 the same element-wise.
  EXPECT_EQ(kernels, 18 + 16 + 64 + 64 + 2 * 4 * 9 + 2 * (32 + 16));
}

class ArgsTest : public ::testing::Test {
protected:
  // Fake device addresses: validation never dereferences them.
  static const void *at(uintptr_t address) {
    return reinterpret_cast<const void *>(address);
  }
  Args args(int64_t batch) {
    Args a;
    a.x = at(0x100000);
    a.out = const_cast<void *>(at(0x900000));
    a.hRes = at(0x200000);
    a.hPre = at(0x300000);
    a.hPost = at(0x400000);
    a.weight = at(0x500000);
    a.batch = batch;
    return a;
  }
  Descriptor d = layer(4, 4096);
  Sku sku;
  void SetUp() override {
    d.maxBatch = 64;
    ASSERT_TRUE(selectSku(d, {}, sku));
  }
};

// Found by mhc-runtime-fuzzer: a run whose buffers reach past the end of
// the address space (a pointer near the top, or a batch whose bytes
// overflow size_t) was accepted, and the overlap checks wrapped around.
TEST_F(ArgsTest, RejectsBuffersPastTheAddressSpace) {
  Descriptor unbounded = d;
  unbounded.maxBatch = 0;
  Args a = args(int64_t(1) << 60);
  expectStatus(validateArgs(unbounded, sku, a), StatusCode::InvalidArgument,
               "more bytes than the address space holds");
  a = args(64);
  a.out = const_cast<void *>(at(UINTPTR_MAX - 0xFFFF));
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "out ends past the end of the address space");
  a = args(64);
  a.weight = at(UINTPTR_MAX - 15);
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "weight ends past the end of the address space");
}

TEST_F(ArgsTest, AcceptsValidArguments) {
  EXPECT_TRUE(validateArgs(d, sku, args(64)));
  EXPECT_TRUE(validateArgs(d, sku, args(1)));
}

TEST_F(ArgsTest, RejectsNullPointers) {
  Args a = args(8);
  a.x = nullptr;
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "x is null");
  a = args(8);
  a.out = nullptr;
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "out is null");
  a = args(8);
  a.weight = nullptr;
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "weight is null");
  a = args(8);
  a.hRes = nullptr;
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "hRes is null");
  // An empty batch reads and writes no rows.
  a = args(0);
  a.x = nullptr;
  a.out = nullptr;
  EXPECT_TRUE(validateArgs(d, sku, a));
}

TEST_F(ArgsTest, RejectsMisalignment) {
  Args a = args(8);
  a.x = at(0x100004);
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "x must be 16-byte aligned");
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "Preference::portable");
  a = args(8);
  a.out = const_cast<void *>(at(0x900008));
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "out must be 16-byte aligned");
  a = args(8);
  a.weight = at(0x500004);
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "weight must be 8-byte aligned");
  a = args(8);
  a.hPre = at(0x300002);
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "hPre must be 4-byte aligned");
  // The portable variant takes 4-byte aligned rows.
  Preference portable;
  portable.portable = true;
  Sku v1;
  ASSERT_TRUE(selectSku(d, portable, v1));
  a = args(8);
  a.x = at(0x100004);
  EXPECT_TRUE(validateArgs(d, v1, a));
}

TEST_F(ArgsTest, RejectsBatchAndDTypeMismatch) {
  expectStatus(validateArgs(d, sku, args(65)), StatusCode::InvalidArgument,
               "exceeds the descriptor's maxBatch 64");
  expectStatus(validateArgs(d, sku, args(-1)), StatusCode::InvalidArgument,
               "batch must be >= 0");
  Args a = args(8);
  a.weightType = DType::F32;
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "weight dtype differs");
}

TEST_F(ArgsTest, RejectsOverlappingOutput) {
  Args a = args(8);
  a.out = const_cast<void *>(a.x);
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "out overlaps x");
  // The last byte of out touches the first byte of the weight.
  a = args(8);
  size_t outBytes = 8 * 4 * 4096 * 4;
  a.out = const_cast<void *>(at(0x500000 - outBytes + 16));
  expectStatus(validateArgs(d, sku, a), StatusCode::InvalidArgument,
               "out overlaps weight");
  a.out = const_cast<void *>(at(0x500000 - outBytes));
  EXPECT_TRUE(validateArgs(d, sku, a));
}

/// The coefficient cache: a 2-word seal, 4 header words, then H_res and M'
/// (n^2 words each), in 16-byte units.
TEST(Workspace, SizeOfTheCoefficientCache) {
  EXPECT_EQ(coefficientCacheBytes(1), 32u);    // 8 words
  EXPECT_EQ(coefficientCacheBytes(4), 160u);   // 38 words
  EXPECT_EQ(coefficientCacheBytes(8), 544u);   // 134 words
  EXPECT_EQ(coefficientCacheBytes(32), 8224u); // 2054 words
}

TEST_F(ArgsTest, ChecksTheWorkspace) {
  Args a = args(8);
  size_t bytes = coefficientCacheBytes(4);
  EXPECT_TRUE(validateWorkspace(d, bytes, at(0x600000), a));
  EXPECT_TRUE(validateWorkspace(d, 0, nullptr, a)); // no cache, none needed
  expectStatus(validateWorkspace(d, bytes, nullptr, a),
               StatusCode::InvalidArgument, "needs a workspace of 160 bytes");
  expectStatus(validateWorkspace(d, bytes, at(0x600008), a),
               StatusCode::InvalidArgument, "16-byte aligned");
  expectStatus(validateWorkspace(d, bytes, at(0x200000 + 48), a),
               StatusCode::InvalidArgument, "workspace overlaps hRes");
  expectStatus(validateWorkspace(d, bytes, a.out, a),
               StatusCode::InvalidArgument, "workspace overlaps out");
  // Ends right where the weight begins: no overlap.
  EXPECT_TRUE(validateWorkspace(d, bytes, at(0x500000 - bytes), a));
  expectStatus(validateWorkspace(d, bytes, at(0x500000 - bytes + 16), a),
               StatusCode::InvalidArgument, "workspace overlaps weight");
}

TEST(NoDevice, SelectFailsCleanly) {
  const detail::CudaDriver *driver = nullptr;
  if (detail::loadDriver(driver))
    GTEST_SKIP() << "a GPU is present; this test is for machines without one";
  std::unique_ptr<HyperConnectionPlan> plan;
  Status s = HyperConnectionPlan::select(nullptr, layer(4, 4096), {}, plan);
  EXPECT_EQ(s.code(), StatusCode::NoDevice) << s.message();
  EXPECT_FALSE(s.message().empty());
  EXPECT_EQ(plan, nullptr);

  mhc_descriptor_t cd;
  mhc_descriptor_init(&cd, 4, 4096);
  mhc_plan_t cplan = reinterpret_cast<mhc_plan_t>(0x1);
  EXPECT_EQ(mhc_plan_select(nullptr, &cd, nullptr, &cplan),
            MHC_STATUS_NO_DEVICE);
  EXPECT_EQ(cplan, nullptr);
  EXPECT_STRNE(mhc_last_error(), "");
}

// Found by mhc-runtime-fuzzer: select sized the workspace (2 n^2 words, in
// int64_t) before it validated n, so a huge n overflowed (undefined
// behavior; the sanitizer build stops on it). Any n must get a status.
TEST(FuzzRegression, HugeStreamsGetAStatus) {
  for (int64_t streams : {int64_t(8869914353839815400), INT64_MAX, INT64_MIN,
                          int64_t(-1), int64_t(0), int64_t(1) << 40}) {
    Descriptor d = layer(4, 4096);
    d.streams = streams;
    std::unique_ptr<HyperConnectionPlan> plan;
    Status s = HyperConnectionPlan::select(nullptr, d, {}, plan);
    EXPECT_EQ(s.code(), StatusCode::Unsupported) << streams;
    EXPECT_EQ(plan, nullptr);
    mhc_descriptor_t cd;
    mhc_descriptor_init(&cd, streams, 4096);
    mhc_plan_t cplan = nullptr;
    EXPECT_EQ(mhc_plan_select(nullptr, &cd, nullptr, &cplan),
              MHC_STATUS_UNSUPPORTED);
  }
}

TEST(CApi, ReportsErrorsWithReasons) {
  mhc_plan_t plan = nullptr;
  EXPECT_EQ(mhc_plan_select(nullptr, nullptr, nullptr, &plan),
            MHC_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mhc_last_error()).find("must not be null"),
            std::string::npos);

  mhc_descriptor_t d;
  mhc_descriptor_init(&d, 4, 4096);
  EXPECT_EQ(d.sinkhorn_iters, 20);
  EXPECT_EQ(d.weight, MHC_DTYPE_BF16);
  d.eps = 0.0f;
  EXPECT_EQ(mhc_plan_select(nullptr, &d, nullptr, &plan),
            MHC_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mhc_last_error()).find("eps"), std::string::npos);

  mhc_descriptor_init(&d, 4, 4096);
  d.sinkhorn_init = 7;
  EXPECT_EQ(mhc_plan_select(nullptr, &d, nullptr, &plan),
            MHC_STATUS_INVALID_ARGUMENT);
  mhc_descriptor_init(&d, 64, 4096);
  EXPECT_EQ(mhc_plan_select(nullptr, &d, nullptr, &plan),
            MHC_STATUS_UNSUPPORTED);

  mhc_args_t args{};
  EXPECT_EQ(mhc_plan_can_implement(nullptr, &args),
            MHC_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(mhc_plan_run(nullptr, nullptr, nullptr, &args),
            MHC_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(mhc_plan_workspace_size(nullptr), 0u);
  EXPECT_STREQ(mhc_plan_sku(nullptr), "");
  mhc_plan_destroy(nullptr);
  EXPECT_STREQ(mhc_status_string(MHC_STATUS_NO_DEVICE), "no device");
  EXPECT_STREQ(mhc_status_string(static_cast<mhc_status_t>(99)),
               "unknown status");
}

} // namespace
