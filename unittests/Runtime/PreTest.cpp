//===- PreTest.cpp - host-side tests of the pre's plan --------------------===//
//
// What needs no GPU: the pre descriptor's rules (including the shapes the
// kernels take), kernel selection (the contract's names, the embedded
// images), argument validation, the C API's errors and NoDevice.
//
//===----------------------------------------------------------------------===//

#include "mhc-c/Runtime.h"
#include "CudaDriver.h"
#include "KernelImages.h"
#include "TestLayers.h"
#include "mhc/Runtime/DynamicPre.h"

#include <gtest/gtest.h>

#include <string>

using namespace mhc::runtime;
using mhc::runtime::testing::expectStatus;

namespace {

PreDescriptor pre(int64_t n, int64_t c, DType x = DType::BF16,
                  DType p = DType::BF16) {
  PreDescriptor d;
  d.streams = n;
  d.channels = c;
  d.activation = x;
  d.projection = p;
  return d;
}

TEST(PreDescriptor, Rules) {
  EXPECT_TRUE(validatePreDescriptor(pre(4, 7168)));
  EXPECT_TRUE(validatePreDescriptor(pre(1, 32)));
  EXPECT_TRUE(validatePreDescriptor(pre(8, 4, DType::F32, DType::F32)));
  expectStatus(validatePreDescriptor(pre(9, 64)), StatusCode::Unsupported,
               "streams must be in [1, 8]");
  // Any C: the element-wise kernels take what the vector ones do not.
  EXPECT_TRUE(validatePreDescriptor(pre(4, 37)));
  EXPECT_TRUE(validatePreDescriptor(pre(8, 6, DType::F32, DType::F32)));
  expectStatus(validatePreDescriptor(pre(4, 0)), StatusCode::InvalidArgument,
               "channels");
  PreDescriptor d = pre(4, 64);
  d.eps = 0.0f;
  expectStatus(validatePreDescriptor(d), StatusCode::InvalidArgument, "eps");
  d = pre(4, 64);
  d.sinkhornIters = 0;
  expectStatus(validatePreDescriptor(d), StatusCode::InvalidArgument,
               "sinkhornIters");
  d = pre(4, 64);
  d.projection = static_cast<DType>(4);
  expectStatus(validatePreDescriptor(d), StatusCode::InvalidArgument, "dtypes");
}

TEST(PreSku, NamesAndImages) {
  using detail::kKernelImages;
  using detail::kNumKernelImages;
  Sku sku;
  std::string preKernel;
  ASSERT_TRUE(selectPreSku(pre(4, 7168), {}, sku, preKernel));
  EXPECT_EQ(sku.family, "pre");
  EXPECT_EQ(sku.kernel, "mhc_proj_n4_xbf16_pbf16_v8_t128");
  EXPECT_EQ(preKernel, "mhc_pre_n4_xbf16_v8_t256");
  ASSERT_TRUE(selectPreSku(pre(2, 64, DType::F32, DType::BF16), {}, sku,
                           preKernel));
  EXPECT_EQ(sku.kernel, "mhc_proj_n2_xf32_pbf16_v4_t128");
  EXPECT_EQ(preKernel, "mhc_pre_n2_xf32_v4_t256");
  // C = 37: the element-wise kernels; likewise with Preference::portable.
  ASSERT_TRUE(selectPreSku(pre(4, 37), {}, sku, preKernel));
  EXPECT_EQ(sku.family, "pre-v1");
  EXPECT_EQ(sku.kernel, "mhc_proj_n4_xbf16_pbf16_v1_t128");
  EXPECT_EQ(preKernel, "mhc_pre_n4_xbf16_v1_t256");
  Preference portable;
  portable.portable = true;
  ASSERT_TRUE(selectPreSku(pre(4, 4096), portable, sku, preKernel));
  EXPECT_EQ(sku.family, "pre-v1");
  auto ptxOf = [&](const std::string &family) {
    for (size_t i = 0; i < kNumKernelImages; ++i)
      if (family == kKernelImages[i].family &&
          std::string(kKernelImages[i].arch) == "ptx")
        return std::string(
            reinterpret_cast<const char *>(kKernelImages[i].data));
    return std::string();
  };
  for (int64_t n = 1; n <= 8; ++n)
    for (int64_t c : {int64_t(37), int64_t(4096)})
      for (DType x : {DType::F32, DType::BF16})
        for (DType p : {DType::F32, DType::BF16}) {
          ASSERT_TRUE(selectPreSku(pre(n, c, x, p), {}, sku, preKernel));
          std::string ptx = ptxOf(sku.family);
          ASSERT_FALSE(ptx.empty()) << sku.family;
          EXPECT_NE(ptx.find(".entry " + sku.kernel + "("), std::string::npos)
              << sku.kernel;
          EXPECT_NE(ptx.find(".entry " + preKernel + "("), std::string::npos)
              << preKernel;
        }
}

class PreArgsTest : public ::testing::Test {
protected:
  static void *at(uintptr_t address) {
    return reinterpret_cast<void *>(address);
  }
  void SetUp() override {
    d = pre(4, 64);
    ASSERT_TRUE(selectPreSku(d, {}, sku, preKernel));
    a = {at(0x100000), at(0x200000), at(0x300000), at(0x310000),
         at(0x400000), at(0x500000), at(0x600000), at(0x700000), 8};
  }
  PreDescriptor d;
  Sku sku;
  std::string preKernel;
  PreArgs a;
};

TEST_F(PreArgsTest, Validation) {
  EXPECT_TRUE(validatePreArgs(d, sku, a));
  PreArgs saved = a;
  a.phi = nullptr;
  expectStatus(validatePreArgs(d, sku, a), StatusCode::InvalidArgument,
               "phi is null");
  a.batch = 0;
  EXPECT_TRUE(validatePreArgs(d, sku, a));
  a = saved;
  a.x = at(0x100008);
  expectStatus(validatePreArgs(d, sku, a), StatusCode::InvalidArgument,
               "x must be 16-byte aligned");
  Preference portable;
  portable.portable = true;
  Sku element;
  ASSERT_TRUE(selectPreSku(d, portable, element, preKernel));
  a.x = at(0x100002);
  EXPECT_TRUE(validatePreArgs(d, element, a));
  a = saved;
  a.y = at(0x100000 + 64); // inside x
  expectStatus(validatePreArgs(d, sku, a), StatusCode::InvalidArgument,
               "y overlaps x");
  a = saved;
  a.matrix = at(0x500000); // h_pre's place
  expectStatus(validatePreArgs(d, sku, a), StatusCode::InvalidArgument,
               "matrix overlaps hPre");
  a = saved;
  d.maxBatch = 4;
  expectStatus(validatePreArgs(d, sku, a), StatusCode::InvalidArgument,
               "maxBatch");
}

TEST(PreNoDevice, SelectFailsCleanly) {
  const detail::CudaDriver *driver = nullptr;
  if (detail::loadDriver(driver))
    GTEST_SKIP() << "a GPU is present; this test is for machines without one";
  std::unique_ptr<PrePlan> plan;
  EXPECT_EQ(PrePlan::select(nullptr, pre(4, 4096), {}, plan).code(),
            StatusCode::NoDevice);
  mhc_pre_descriptor_t cd;
  mhc_pre_descriptor_init(&cd, 4, 4096);
  mhc_pre_plan_t cplan = nullptr;
  EXPECT_EQ(mhc_pre_plan_select(nullptr, &cd, nullptr, &cplan),
            MHC_STATUS_NO_DEVICE);
  EXPECT_EQ(cplan, nullptr);
}

TEST(PreCApi, ReportsErrorsWithReasons) {
  mhc_pre_plan_t plan = nullptr;
  EXPECT_EQ(mhc_pre_plan_select(nullptr, nullptr, nullptr, &plan),
            MHC_STATUS_INVALID_ARGUMENT);
  mhc_pre_descriptor_t d;
  mhc_pre_descriptor_init(&d, 4, 4096);
  EXPECT_EQ(d.sinkhorn_iters, 20);
  EXPECT_EQ(d.projection, MHC_DTYPE_BF16);
  d.sinkhorn_init = 5;
  EXPECT_EQ(mhc_pre_plan_select(nullptr, &d, nullptr, &plan),
            MHC_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mhc_last_error()).find("sinkhorn_init"),
            std::string::npos);
  mhc_pre_descriptor_init(&d, 9, 64);
  EXPECT_EQ(mhc_pre_plan_select(nullptr, &d, nullptr, &plan),
            MHC_STATUS_UNSUPPORTED);
  mhc_pre_args_t args{};
  EXPECT_EQ(mhc_pre_plan_run(nullptr, nullptr, nullptr, &args),
            MHC_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(mhc_pre_plan_workspace_size(nullptr, 64), 0u);
  EXPECT_STREQ(mhc_pre_plan_sku(nullptr), "");
}

} // namespace
