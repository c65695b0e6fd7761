//===- RunnerSupport.cpp - helpers for CPU execution tests ----------------===//
//
// Functions the CPU execution tests call from lowered MLIR under mlir-runner:
// deterministic random fills and a comparison of the layer's output against
// the float64 reference (mhc/Support/Reference.h). The verdict line is what
// FileCheck matches; the error is printed beside it.
//
//===----------------------------------------------------------------------===//

#include "mhc/Support/Reference.h"
#include "mlir/ExecutionEngine/CRunnerUtils.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {
uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

float uniform(uint64_t &state, float lo, float hi) {
  double u = (splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
  return static_cast<float>(lo + (hi - lo) * u);
}

template <typename T> struct View {
  T *data;
  int64_t size;
};

/// The elements of a contiguous (identity layout) memref.
template <typename T> View<T> view(UnrankedMemRefType<T> *m) {
  DynamicMemRefType<T> d(*m);
  int64_t size = 1;
  for (int64_t r = 0; r < d.rank; ++r)
    size *= d.sizes[r];
  return {d.data + d.offset, size};
}

void check(UnrankedMemRefType<float> *x, UnrankedMemRefType<float> *hRes,
           UnrankedMemRefType<float> *hPre, UnrankedMemRefType<float> *hPost,
           const std::vector<double> &weight, UnrankedMemRefType<float> *out,
           float eps, int64_t iters, int64_t init, float sinkhornEps,
           float preEps, int64_t transposed) {
  DynamicMemRefType<float> xd(*x);
  mhc::reference::LayerConfig cfg;
  cfg.n = xd.sizes[1];
  cfg.channels = xd.sizes[2];
  cfg.eps = eps;
  cfg.sinkhornIters = iters;
  cfg.init = init ? mhc::reference::SinkhornInit::Softmax
                  : mhc::reference::SinkhornInit::Exp;
  cfg.sinkhornEps = sinkhornEps;
  cfg.preEps = preEps;
  cfg.orientation = transposed ? mhc::reference::MixOrientation::Transposed
                               : mhc::reference::MixOrientation::Direct;
  int64_t batch = xd.sizes[0];
  View<float> o = view(out);
  std::vector<double> ref(o.size);
  mhc::reference::staticLayer<double>(cfg, batch, view(x).data, view(hRes).data,
                                      view(hPre).data, view(hPost).data,
                                      weight.data(), ref.data());
  double maxErr = 0, maxRef = 0;
  bool finite = true;
  for (int64_t k = 0; k < o.size; ++k) {
    finite &= std::isfinite(o.data[k]);
    maxErr = std::max(maxErr, std::fabs(o.data[k] - ref[k]));
    maxRef = std::max(maxRef, std::fabs(ref[k]));
  }
  // f32 arithmetic against float64: a few ulps of the output's scale.
  double bound = 1e-5 * std::max(1.0, maxRef);
  bool ok = finite && maxErr <= bound && o.size == batch * cfg.n * cfg.channels;
  std::printf(
      "elements: %lld max_abs_err: %.3e max_abs_ref: %.3e bound: %.1e\n",
      static_cast<long long>(o.size), maxErr, maxRef, bound);
  std::printf("max_err_ok: %d\n", ok ? 1 : 0);
  std::fflush(stdout);
}
} // namespace

extern "C" {
void _mlir_ciface_mhcFillRandomF32(UnrankedMemRefType<float> *m, int64_t seed,
                                   float lo, float hi) {
  uint64_t state = static_cast<uint64_t>(seed);
  View<float> v = view(m);
  for (int64_t k = 0; k < v.size; ++k)
    v.data[k] = uniform(state, lo, hi);
}

void _mlir_ciface_mhcFillRandomBF16(UnrankedMemRefType<uint16_t> *m,
                                    int64_t seed, float lo, float hi) {
  uint64_t state = static_cast<uint64_t>(seed);
  View<uint16_t> v = view(m);
  for (int64_t k = 0; k < v.size; ++k)
    v.data[k] = mhc::reference::toBF16(uniform(state, lo, hi));
}

void _mlir_ciface_mhcCheckStaticLayerF32(
    UnrankedMemRefType<float> *x, UnrankedMemRefType<float> *hRes,
    UnrankedMemRefType<float> *hPre, UnrankedMemRefType<float> *hPost,
    UnrankedMemRefType<float> *weight, UnrankedMemRefType<float> *out,
    float eps, int64_t iters, int64_t init, float sinkhornEps, float preEps,
    int64_t transposed) {
  View<float> w = view(weight);
  std::vector<double> wd(w.data, w.data + w.size);
  check(x, hRes, hPre, hPost, wd, out, eps, iters, init, sinkhornEps, preEps,
        transposed);
}

void _mlir_ciface_mhcCheckStaticLayerBF16(
    UnrankedMemRefType<float> *x, UnrankedMemRefType<float> *hRes,
    UnrankedMemRefType<float> *hPre, UnrankedMemRefType<float> *hPost,
    UnrankedMemRefType<uint16_t> *weight, UnrankedMemRefType<float> *out,
    float eps, int64_t iters, int64_t init, float sinkhornEps, float preEps,
    int64_t transposed) {
  View<uint16_t> w = view(weight);
  std::vector<double> wd(w.size);
  for (int64_t k = 0; k < w.size; ++k)
    wd[k] = mhc::reference::fromBF16(w.data[k]);
  check(x, hRes, hPre, hPost, wd, out, eps, iters, init, sinkhornEps, preEps,
        transposed);
}
}
