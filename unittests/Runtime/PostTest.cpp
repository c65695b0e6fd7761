//===- PostTest.cpp - host-side tests of the post's plan ------------------===//
//
// What needs no GPU: the post descriptor's rules, kernel selection (family,
// the contract's names, the embedded images), argument validation, the C
// API's errors and NoDevice without a GPU.
//
//===----------------------------------------------------------------------===//

#include "mhc-c/Runtime.h"
#include "CudaDriver.h"
#include "KernelImages.h"
#include "TestLayers.h"
#include "mhc/Runtime/DynamicPost.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

using namespace mhc::runtime;
using mhc::runtime::testing::expectStatus;

namespace {

PostDescriptor post(int64_t n, int64_t c, DType x = DType::BF16,
                    DType f = DType::BF16) {
  PostDescriptor d;
  d.streams = n;
  d.channels = c;
  d.activation = x;
  d.sublayer = f;
  return d;
}

TEST(PostDescriptor, Rules) {
  EXPECT_TRUE(validatePostDescriptor(post(1, 1)));
  EXPECT_TRUE(validatePostDescriptor(post(32, 7168, DType::F32, DType::BF16)));
  expectStatus(validatePostDescriptor(post(0, 64)), StatusCode::Unsupported,
               "streams");
  expectStatus(validatePostDescriptor(post(33, 64)), StatusCode::Unsupported,
               "streams");
  expectStatus(validatePostDescriptor(post(4, 0)), StatusCode::InvalidArgument,
               "channels");
  PostDescriptor d = post(4, 64);
  d.maxBatch = -1;
  expectStatus(validatePostDescriptor(d), StatusCode::InvalidArgument,
               "maxBatch");
  d = post(4, 64);
  d.sublayer = static_cast<DType>(9);
  expectStatus(validatePostDescriptor(d), StatusCode::InvalidArgument,
               "dtypes");
  d = post(4, 64);
  d.orientation = static_cast<MixOrientation>(5);
  expectStatus(validatePostDescriptor(d), StatusCode::InvalidArgument,
               "orientation");
}

TEST(PostSku, FamilyAndName) {
  Sku sku;
  ASSERT_TRUE(selectPostSku(post(4, 7168), {}, sku));
  EXPECT_EQ(sku.family, "post");
  EXPECT_EQ(sku.vectorWidth, 8);
  EXPECT_EQ(sku.kernel, "mhc_post_n4_xbf16_fbf16_v8_t256");
  ASSERT_TRUE(selectPostSku(post(4, 4100, DType::F32, DType::BF16), {}, sku));
  EXPECT_EQ(sku.kernel, "mhc_post_n4_xf32_fbf16_v4_t256");
  // bf16 rows of 4100 are not whole 16-byte vectors: element-wise.
  ASSERT_TRUE(selectPostSku(post(4, 4100), {}, sku));
  EXPECT_EQ(sku.family, "post-v1");
  EXPECT_EQ(sku.kernel, "mhc_post_n4_xbf16_fbf16_v1_t256");
  Preference portable;
  portable.portable = true;
  ASSERT_TRUE(selectPostSku(post(8, 4096, DType::F32, DType::F32), portable,
                            sku));
  EXPECT_EQ(sku.kernel, "mhc_post_n8_xf32_ff32_v1_t256");
  // Beyond 8 streams one kernel takes n at run time.
  ASSERT_TRUE(selectPostSku(post(9, 64), {}, sku));
  EXPECT_EQ(sku.kernel, "mhc_post_ndyn_xbf16_fbf16_v8_t256");
  ASSERT_TRUE(selectPostSku(post(32, 64), {}, sku));
  EXPECT_EQ(sku.kernel, "mhc_post_ndyn_xbf16_fbf16_v8_t256");
  Preference negative;
  negative.maxBlocks = -1;
  expectStatus(selectPostSku(post(4, 64), negative, sku),
               StatusCode::InvalidArgument, "maxBlocks");
}

TEST(PostSku, EveryKernelIsEmbedded) {
  using detail::kKernelImages;
  using detail::kNumKernelImages;
  int checked = 0;
  for (int64_t n = 1; n <= 32; ++n)
    for (int64_t c : {1, 7, 8, 4096})
      for (DType x : {DType::F32, DType::BF16})
        for (DType f : {DType::F32, DType::BF16})
          for (bool portable : {false, true}) {
            Preference p;
            p.portable = portable;
            Sku sku;
            ASSERT_TRUE(selectPostSku(post(n, c, x, f), p, sku));
            bool found = false;
            for (size_t i = 0; i < kNumKernelImages; ++i)
              if (sku.family == kKernelImages[i].family &&
                  std::string(kKernelImages[i].arch) == "ptx")
                found = std::string(reinterpret_cast<const char *>(
                                        kKernelImages[i].data))
                            .find(".entry " + sku.kernel + "(") !=
                        std::string::npos;
            EXPECT_TRUE(found) << sku.kernel << " in " << sku.family;
            ++checked;
          }
  EXPECT_EQ(checked, 32 * 4 * 4 * 2);
}

class PostArgsTest : public ::testing::Test {
protected:
  static const void *at(uintptr_t address) {
    return reinterpret_cast<const void *>(address);
  }
  void SetUp() override {
    d = post(4, 64);
    ASSERT_TRUE(selectPostSku(d, {}, sku));
    // bf16 x/out: 2 * 4 * 64 * 8 = 4096 bytes each for 8 tokens.
    a.x = at(0x100000);
    a.f = at(0x200000);
    a.matrix = at(0x300000);
    a.hPost = at(0x400000);
    a.out = const_cast<void *>(at(0x500000));
    a.batch = 8;
  }
  PostDescriptor d;
  Sku sku;
  PostArgs a;
};

TEST_F(PostArgsTest, AcceptsValidArguments) {
  EXPECT_TRUE(validatePostArgs(d, sku, a));
}

TEST_F(PostArgsTest, RejectsNullUnlessEmpty) {
  for (const void **p : {&a.x, &a.f, &a.matrix, &a.hPost}) {
    PostArgs saved = a;
    *p = nullptr;
    expectStatus(validatePostArgs(d, sku, a), StatusCode::InvalidArgument,
                 "is null");
    a.batch = 0;
    EXPECT_TRUE(validatePostArgs(d, sku, a));
    a = saved;
  }
  a.out = nullptr;
  expectStatus(validatePostArgs(d, sku, a), StatusCode::InvalidArgument,
               "out is null");
}

TEST_F(PostArgsTest, RejectsMisalignment) {
  a.x = at(0x100008); // 8-byte aligned: the bf16 kernel reads 16 bytes
  expectStatus(validatePostArgs(d, sku, a), StatusCode::InvalidArgument,
               "x must be 16-byte aligned");
  SetUp();
  a.f = at(0x200002);
  expectStatus(validatePostArgs(d, sku, a), StatusCode::InvalidArgument,
               "f must be 16-byte aligned");
  SetUp();
  a.matrix = at(0x300002);
  expectStatus(validatePostArgs(d, sku, a), StatusCode::InvalidArgument,
               "matrix must be 4-byte aligned");
  // The portable kernel takes element-aligned rows.
  Preference portable;
  portable.portable = true;
  ASSERT_TRUE(selectPostSku(d, portable, sku));
  SetUp();
  ASSERT_TRUE(selectPostSku(d, portable, sku));
  a.x = at(0x100002);
  a.out = const_cast<void *>(at(0x500002));
  EXPECT_TRUE(validatePostArgs(d, sku, a));
}

TEST_F(PostArgsTest, RejectsOverlapBatchAndOverflow) {
  a.out = const_cast<void *>(at(0x100000 + 4096 - 16)); // the end of x
  expectStatus(validatePostArgs(d, sku, a), StatusCode::InvalidArgument,
               "out overlaps x");
  SetUp();
  a.out = const_cast<void *>(at(0x300000));
  expectStatus(validatePostArgs(d, sku, a), StatusCode::InvalidArgument,
               "out overlaps matrix");
  SetUp();
  d.maxBatch = 4;
  expectStatus(validatePostArgs(d, sku, a), StatusCode::InvalidArgument,
               "maxBatch");
  d.maxBatch = 0;
  a.batch = -1;
  expectStatus(validatePostArgs(d, sku, a), StatusCode::InvalidArgument,
               "batch must be >= 0");
  a.batch = int64_t(1) << 60;
  expectStatus(validatePostArgs(d, sku, a), StatusCode::InvalidArgument,
               "address space");
}

TEST(PostNoDevice, SelectFailsCleanly) {
  const detail::CudaDriver *driver = nullptr;
  if (detail::loadDriver(driver))
    GTEST_SKIP() << "a GPU is present; this test is for machines without one";
  std::unique_ptr<PostPlan> plan;
  Status s = PostPlan::select(nullptr, post(4, 4096), {}, plan);
  EXPECT_EQ(s.code(), StatusCode::NoDevice) << s.message();
  EXPECT_EQ(plan, nullptr);
  mhc_post_descriptor_t cd;
  mhc_post_descriptor_init(&cd, 4, 4096);
  mhc_post_plan_t cplan = reinterpret_cast<mhc_post_plan_t>(0x1);
  EXPECT_EQ(mhc_post_plan_select(nullptr, &cd, nullptr, &cplan),
            MHC_STATUS_NO_DEVICE);
  EXPECT_EQ(cplan, nullptr);
}

TEST(PostCApi, ReportsErrorsWithReasons) {
  mhc_post_plan_t plan = nullptr;
  EXPECT_EQ(mhc_post_plan_select(nullptr, nullptr, nullptr, &plan),
            MHC_STATUS_INVALID_ARGUMENT);
  mhc_post_descriptor_t d;
  mhc_post_descriptor_init(&d, 4, 4096);
  EXPECT_EQ(d.activation, MHC_DTYPE_BF16);
  EXPECT_EQ(d.sublayer, MHC_DTYPE_BF16);
  d.sublayer = 3;
  EXPECT_EQ(mhc_post_plan_select(nullptr, &d, nullptr, &plan),
            MHC_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mhc_last_error()).find("dtype"), std::string::npos);
  mhc_post_descriptor_init(&d, 4, 4096);
  d.orientation = 2;
  EXPECT_EQ(mhc_post_plan_select(nullptr, &d, nullptr, &plan),
            MHC_STATUS_INVALID_ARGUMENT);
  mhc_post_descriptor_init(&d, 40, 4096);
  EXPECT_EQ(mhc_post_plan_select(nullptr, &d, nullptr, &plan),
            MHC_STATUS_UNSUPPORTED);
  mhc_post_args_t args{};
  EXPECT_EQ(mhc_post_plan_can_implement(nullptr, &args),
            MHC_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(mhc_post_plan_run(nullptr, nullptr, nullptr, &args),
            MHC_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(mhc_post_plan_workspace_size(nullptr), 0u);
  EXPECT_STREQ(mhc_post_plan_sku(nullptr), "");
  mhc_precision_t precision;
  EXPECT_EQ(mhc_post_plan_precision_guarantee(nullptr, &precision),
            MHC_STATUS_INVALID_ARGUMENT);
  mhc_post_plan_destroy(nullptr);
}

} // namespace
