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
/// A memref of the test program whose element type the caller states (f32
/// or bf16), widened to double.
std::vector<double> widen(UnrankedMemRefType<float> *m, int64_t bf16) {
  if (bf16) {
    View<uint16_t> v =
        view(reinterpret_cast<UnrankedMemRefType<uint16_t> *>(m));
    std::vector<double> out(v.size);
    for (int64_t k = 0; k < v.size; ++k)
      out[k] = mhc::reference::fromBF16(v.data[k]);
    return out;
  }
  View<float> v = view(m);
  return std::vector<double>(v.data, v.data + v.size);
}

/// Prints the comparison of `out` with `ref` and the verdict FileCheck
/// matches: every element within `bound`, except where the reference is
/// NaN, where the output must be NaN too (a NaN stays in its token).
void verdict(const std::vector<double> &out, const std::vector<double> &ref,
             double relativeBound) {
  double maxErr = 0, maxRef = 0;
  int64_t nans = 0;
  bool ok = out.size() == ref.size();
  for (size_t k = 0; k < ref.size() && ok; ++k)
    if (std::isnan(ref[k])) {
      ++nans;
      ok &= std::isnan(out[k]);
    } else {
      maxRef = std::max(maxRef, std::fabs(ref[k]));
    }
  double bound = relativeBound * std::max(1.0, maxRef);
  for (size_t k = 0; k < ref.size() && ok; ++k) {
    if (std::isnan(ref[k]))
      continue;
    ok &= std::isfinite(out[k]);
    maxErr = std::max(maxErr, std::fabs(out[k] - ref[k]));
  }
  ok &= maxErr <= bound;
  std::printf("elements: %lld nan: %lld max_abs_err: %.3e max_abs_ref: %.3e "
              "bound: %.1e\n",
              static_cast<long long>(out.size()), static_cast<long long>(nans),
              maxErr, maxRef, bound);
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

/// x[token, :, :] = value everywhere (`all`) or at its first element.
void _mlir_ciface_mhcSetToken(UnrankedMemRefType<float> *x, int64_t bf16,
                              int64_t token, float value, int64_t all) {
  DynamicMemRefType<float> d(*x);
  int64_t width = d.sizes[1] * d.sizes[2];
  int64_t count = all ? width : 1;
  if (bf16) {
    View<uint16_t> v =
        view(reinterpret_cast<UnrankedMemRefType<uint16_t> *>(x));
    for (int64_t k = 0; k < count; ++k)
      v.data[token * width + k] = mhc::reference::toBF16(value);
    return;
  }
  View<float> v = view(x);
  for (int64_t k = 0; k < count; ++k)
    v.data[token * width + k] = value;
}

/// The dynamic layer (mhc.dynamic_layer) against float64: coefficients, pre,
/// the stand-in RMSNorm and post evaluated in double, with y and f rounded
/// to bf16 where the activations are bf16 (the interfaces the op defines).
/// f32 activations: the bound is `f32Bound` of the output's scale; bf16:
/// one bf16 rounding of the output and of f, 2^-7 of the scale.
void _mlir_ciface_mhcCheckDynamicLayer(
    UnrankedMemRefType<float> *x, UnrankedMemRefType<float> *phi,
    UnrankedMemRefType<float> *alpha, UnrankedMemRefType<float> *bias,
    UnrankedMemRefType<float> *weight, UnrankedMemRefType<float> *out,
    int64_t xBF16, int64_t phiBF16, int64_t weightBF16, float eps,
    float coefficientEps, float preEps, int64_t iters, int64_t init,
    float sinkhornEps, int64_t transposed, float f32Bound) {
  DynamicMemRefType<float> xd(*x);
  mhc::reference::DynamicConfig cfg;
  cfg.n = xd.sizes[1];
  cfg.channels = xd.sizes[2];
  cfg.coefficientEps = coefficientEps;
  cfg.preEps = preEps;
  cfg.sinkhornIters = iters;
  cfg.init = init ? mhc::reference::SinkhornInit::Softmax
                  : mhc::reference::SinkhornInit::Exp;
  cfg.sinkhornEps = sinkhornEps;
  cfg.orientation = transposed ? mhc::reference::MixOrientation::Transposed
                               : mhc::reference::MixOrientation::Direct;
  cfg.eps = eps;
  const int64_t batch = xd.sizes[0], n = cfg.n, c = cfg.channels;
  std::vector<double> xv = widen(x, xBF16), phiv = widen(phi, phiBF16),
                      alphav = widen(alpha, 0), biasv = widen(bias, 0),
                      wv = widen(weight, weightBF16);
  std::vector<double> hPre(batch * n), hPost(batch * n), m(batch * n * n),
      y(batch * c), f(batch * c), ref(batch * n * c);
  mhc::reference::dynamicCoefficients<double>(
      cfg, batch, xv.data(), phiv.data(), alphav.data(), biasv.data(),
      hPre.data(), hPost.data(), m.data());
  mhc::reference::dynamicPre<double>(n, c, batch, xv.data(), hPre.data(),
                                     y.data());
  if (xBF16)
    for (double &v : y)
      v = mhc::reference::roundToBF16(v);
  mhc::reference::rmsNorm<double>(c, batch, eps, y.data(), wv.data(), f.data());
  if (xBF16)
    for (double &v : f)
      v = mhc::reference::roundToBF16(v);
  mhc::reference::dynamicPost<double>(n, c, batch, cfg.orientation, xv.data(),
                                      f.data(), m.data(), hPost.data(),
                                      ref.data());
  verdict(widen(out, xBF16), ref, xBF16 ? 1.0 / 128 : f32Bound);
}

/// a == b, element by element and bit for bit (NaN equal to NaN).
void _mlir_ciface_mhcCheckEqualF32(UnrankedMemRefType<float> *a,
                                   UnrankedMemRefType<float> *b) {
  View<float> va = view(a), vb = view(b);
  int64_t differ = va.size == vb.size ? 0 : 1;
  for (int64_t k = 0; k < va.size && !differ; ++k)
    differ += std::memcmp(&va.data[k], &vb.data[k], sizeof(float)) != 0;
  std::printf("elements: %lld differing: %lld\n",
              static_cast<long long>(va.size), static_cast<long long>(differ));
  std::printf("bits_equal: %d\n", differ == 0 ? 1 : 0);
  std::fflush(stdout);
}
}
