//===- fused_kernel_check.cpp - run mhc-opt's PTX on a GPU ----------------===//
//
// Loads a PTX file emitted by `mhc-opt --mhc-gpu-pipeline`, launches the
// fused kernel through the CUDA driver API with the memref-descriptor ABI
// (docs/DESIGN.md), and compares the output with the float64 reference on
// random inputs, with the output poisoned (NaN) before every launch. Also
// checks that two launches give bit-identical results.
//
// usage: fused_kernel_check <ptx> <kernel> <n> <C> <B> <bf16|f32> <exp|softmax>
//                           <direct|transposed> <logit-offset>
//
// Until the runtime library exists this is how the emitted kernel is checked
// on the device; scripts/gpu-check.sh builds and runs it.
//
//===----------------------------------------------------------------------===//

#include "mhc/Support/Reference.h"

#include <cuda.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#define CHECK_CU(call)                                                         \
  do {                                                                         \
    CUresult r = (call);                                                       \
    if (r != CUDA_SUCCESS) {                                                   \
      const char *msg = nullptr;                                               \
      cuGetErrorString(r, &msg);                                               \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,      \
                   #call, msg ? msg : "?");                                    \
      std::exit(2);                                                            \
    }                                                                          \
  } while (0)

/// Appends one memref descriptor (allocated, aligned, offset, sizes, strides)
/// to the kernel's parameter storage.
struct Params {
  std::vector<uint64_t> storage;
  void memref(CUdeviceptr p, std::vector<int64_t> sizes) {
    storage.push_back(p);
    storage.push_back(p);
    storage.push_back(0);
    for (int64_t s : sizes)
      storage.push_back(uint64_t(s));
    int64_t stride = 1;
    std::vector<int64_t> strides(sizes.size());
    for (int64_t d = int64_t(sizes.size()) - 1; d >= 0; --d) {
      strides[d] = stride;
      stride *= sizes[d];
    }
    for (int64_t s : strides)
      storage.push_back(uint64_t(s));
  }
  void f32(float v) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, 4);
    storage.push_back(bits);
  }
  void i32(int32_t v) { storage.push_back(uint64_t(uint32_t(v))); }
  std::vector<void *> pointers() {
    std::vector<void *> ptrs;
    for (uint64_t &s : storage)
      ptrs.push_back(&s);
    return ptrs;
  }
};

int main(int argc, char **argv) {
  if (argc != 10) {
    std::fprintf(stderr, "usage: %s ptx kernel n C B bf16|f32 exp|softmax "
                         "direct|transposed logit-offset\n", argv[0]);
    return 2;
  }
  std::ifstream file(argv[1]);
  std::stringstream ptx;
  ptx << file.rdbuf();
  const char *kernelName = argv[2];
  int64_t n = std::atoll(argv[3]), c = std::atoll(argv[4]),
          b = std::atoll(argv[5]);
  bool bf16 = std::string(argv[6]) == "bf16";
  bool softmax = std::string(argv[7]) == "softmax";
  bool transposed = std::string(argv[8]) == "transposed";
  float offset = std::atof(argv[9]);

  CHECK_CU(cuInit(0));
  CUdevice dev;
  CHECK_CU(cuDeviceGet(&dev, 0));
  CUcontext ctx;
  CHECK_CU(cuDevicePrimaryCtxRetain(&ctx, dev));
  CHECK_CU(cuCtxSetCurrent(ctx));
  CUmodule module;
  CHECK_CU(cuModuleLoadData(&module, ptx.str().c_str()));
  CUfunction fn;
  CHECK_CU(cuModuleGetFunction(&fn, module, kernelName));
  int sms = 0;
  CHECK_CU(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                                dev));

  std::mt19937_64 rng(n * 1000003 + c * 131 + b);
  std::uniform_real_distribution<float> u(-2.f, 2.f), uw(0.5f, 1.5f);
  std::vector<float> x(b * n * c), hRes(n * n), hPre(n), hPost(n), wf(c);
  std::vector<uint16_t> wb(c);
  std::vector<double> wd(c);
  for (float &v : x)
    v = u(rng);
  for (float &v : hRes)
    v = offset + u(rng);
  for (float &v : hPre)
    v = u(rng);
  for (float &v : hPost)
    v = u(rng);
  for (int64_t k = 0; k < c; ++k) {
    wf[k] = uw(rng);
    wb[k] = mhc::reference::toBF16(wf[k]);
    wd[k] = bf16 ? mhc::reference::fromBF16(wb[k]) : wf[k];
  }
  // Zero rows of x: the RMS of a zero row is sqrt(eps), the output finite.
  if (b > 2)
    std::fill(x.begin() + 1 * n * c, x.begin() + 2 * n * c, 0.0f);

  auto upload = [&](const void *src, size_t bytes) {
    CUdeviceptr p;
    CHECK_CU(cuMemAlloc(&p, bytes ? bytes : 1));
    if (bytes)
      CHECK_CU(cuMemcpyHtoD(p, src, bytes));
    return p;
  };
  size_t xBytes = x.size() * 4;
  CUdeviceptr dx = upload(x.data(), xBytes), dr = upload(hRes.data(), n * n * 4),
              dp = upload(hPre.data(), n * 4), dq = upload(hPost.data(), n * 4),
              dw = bf16 ? upload(wb.data(), c * 2) : upload(wf.data(), c * 4),
              dout;
  CHECK_CU(cuMemAlloc(&dout, xBytes ? xBytes : 1));

  const float eps = 1e-6f, sinkhornEps = 1e-6f;
  const float preBias = softmax ? sinkhornEps : 0.0f;
  Params params;
  params.memref(dx, {b, n, c});
  params.memref(dr, {n, n});
  params.memref(dp, {n});
  params.memref(dq, {n});
  params.memref(dw, {c});
  params.memref(dout, {b, n, c});
  params.f32(eps);
  params.f32(softmax ? sinkhornEps : 0.0f);
  params.f32(1.0f);
  params.f32(preBias);
  params.f32(2.0f);
  params.f32(0.0f);
  params.i32(20);
  params.i32(transposed ? 1 : 0);
  std::vector<void *> args = params.pointers();

  unsigned grid = unsigned(std::max<int64_t>(1, std::min<int64_t>(b, 8 * sms)));
  std::vector<float> out1(x.size()), out2(x.size());
  for (std::vector<float> *out : {&out1, &out2}) {
    CHECK_CU(cuMemsetD8(dout, 0xFF, xBytes)); // NaN poison
    CHECK_CU(cuLaunchKernel(fn, grid, 1, 1, 256, 1, 1, 0, nullptr, args.data(),
                            nullptr));
    CHECK_CU(cuCtxSynchronize());
    CHECK_CU(cuMemcpyDtoH(out->data(), dout, xBytes));
  }

  mhc::reference::LayerConfig cfg;
  cfg.n = n;
  cfg.channels = c;
  cfg.eps = eps;
  cfg.sinkhornIters = 20;
  cfg.init = softmax ? mhc::reference::SinkhornInit::Softmax
                     : mhc::reference::SinkhornInit::Exp;
  cfg.sinkhornEps = sinkhornEps;
  cfg.preEps = preBias;
  cfg.orientation = transposed ? mhc::reference::MixOrientation::Transposed
                               : mhc::reference::MixOrientation::Direct;
  std::vector<double> ref(x.size());
  mhc::reference::staticLayer<double>(cfg, b, x.data(), hRes.data(),
                                      hPre.data(), hPost.data(), wd.data(),
                                      ref.data());
  double maxErr = 0, maxRef = 0;
  size_t nonFinite = 0;
  for (size_t k = 0; k < ref.size(); ++k) {
    if (!std::isfinite(out1[k]))
      ++nonFinite;
    maxErr = std::max(maxErr, std::fabs(out1[k] - ref[k]));
    maxRef = std::max(maxRef, std::fabs(ref[k]));
  }
  bool identical = std::memcmp(out1.data(), out2.data(), xBytes) == 0;
  double rel = maxRef > 0 ? maxErr / maxRef : maxErr;
  bool ok = nonFinite == 0 && rel <= 1e-5 && identical;
  std::printf("%-5s n=%-2lld C=%-5lld B=%-5lld w=%-4s %-7s %-10s off=%-6g "
              "max_abs_err=%.2e rel=%.2e nonfinite=%zu bit_identical=%d\n",
              ok ? "PASS" : "FAIL", (long long)n, (long long)c, (long long)b,
              argv[6], argv[7], argv[8], offset, maxErr, rel, nonFinite,
              identical ? 1 : 0);
  return ok ? 0 : 1;
}
