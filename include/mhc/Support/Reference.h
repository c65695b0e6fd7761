//===- Reference.h - the mHC math on the host -------------------*- C++ -*-===//
//
// The mHC static layer computed on the host, templated on the arithmetic type.
// It is what the Sinkhorn and gate folders evaluate, and, instantiated with
// double, the float64 reference the numeric tests compare kernels against.
// Header-only and free of MLIR so that the runtime and tests can use it too.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_SUPPORT_REFERENCE_H
#define MHC_SUPPORT_REFERENCE_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace mhc::reference {

enum class SinkhornInit { Exp, Softmax };
enum class MixOrientation { Direct, Transposed };

/// bf16 storage: round-to-nearest-even from f32, and exact widening back.
inline uint16_t toBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

inline float fromBF16(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

/// Divides `v` by `sum`; a sum that underflowed to zero leaves `v` as it is
/// (it is then zero too), so finite inputs never give NaN.
template <typename T> T safeDivide(T v, T sum) {
  return sum > T(0) ? v / sum : v;
}

/// Projects the n x n row-major `logits` onto the doubly stochastic matrices.
template <typename T>
void sinkhorn(const T *logits, int64_t n, int64_t iters, SinkhornInit init,
              T eps, T *m) {
  for (int64_t i = 0; i < n; ++i) {
    T rowMax = logits[i * n];
    for (int64_t j = 1; j < n; ++j)
      rowMax = std::max(rowMax, logits[i * n + j]);
    for (int64_t j = 0; j < n; ++j)
      m[i * n + j] = std::exp(logits[i * n + j] - rowMax);
  }
  auto normalizeRows = [&](T addend) {
    for (int64_t i = 0; i < n; ++i) {
      T sum = 0;
      for (int64_t j = 0; j < n; ++j)
        sum += m[i * n + j];
      for (int64_t j = 0; j < n; ++j)
        m[i * n + j] = safeDivide(m[i * n + j], sum + addend);
    }
  };
  auto normalizeColumns = [&](T addend) {
    for (int64_t j = 0; j < n; ++j) {
      T sum = 0;
      for (int64_t i = 0; i < n; ++i)
        sum += m[i * n + j];
      for (int64_t i = 0; i < n; ++i)
        m[i * n + j] = safeDivide(m[i * n + j], sum + addend);
    }
  };
  if (init == SinkhornInit::Exp) {
    for (int64_t it = 0; it < iters; ++it) {
      normalizeRows(T(0));
      normalizeColumns(T(0));
    }
    return;
  }
  // softmax(dim=row) + eps, then column normalization: the first round.
  normalizeRows(T(0));
  for (int64_t k = 0; k < n * n; ++k)
    m[k] += eps;
  normalizeColumns(eps);
  for (int64_t it = 1; it < iters; ++it) {
    normalizeRows(eps);
    normalizeColumns(eps);
  }
}

/// The static layer's gates: s_pre = sigmoid(h_pre) + pre_eps,
/// s_post = 2 sigmoid(h_post), as scale * sigmoid(h) + bias.
inline constexpr double kPreGateScale = 1.0;
inline constexpr double kPostGateScale = 2.0;
inline constexpr double kPostGateBias = 0.0;

/// scale * sigmoid(h) + bias, without overflow for large |h|.
template <typename T> T gate(T h, T scale, T bias) {
  T s = h >= T(0) ? T(1) / (T(1) + std::exp(-h))
                  : std::exp(h) / (T(1) + std::exp(h));
  return scale * s + bias;
}

struct LayerConfig {
  int64_t n = 4;
  int64_t channels = 0;
  double eps = 1e-6;
  int64_t sinkhornIters = 20;
  SinkhornInit init = SinkhornInit::Exp;
  double sinkhornEps = 1e-6;
  double preEps = 0.0;
  MixOrientation orientation = MixOrientation::Direct;
};

/// The whole static layer, all arithmetic in T. `weight` is given already
/// converted to T (a bf16 weight is exact in any wider type).
template <typename T, typename In, typename W, typename Out>
void staticLayer(const LayerConfig &cfg, int64_t batch, const In *x,
                 const In *hRes, const In *hPre, const In *hPost,
                 const W *weight, Out *out) {
  const int64_t n = cfg.n, c = cfg.channels;
  std::vector<T> logits(n * n), m(n * n), sPre(n), sPost(n), y(c);
  for (int64_t k = 0; k < n * n; ++k)
    logits[k] = T(hRes[k]);
  sinkhorn<T>(logits.data(), n, cfg.sinkhornIters, cfg.init, T(cfg.sinkhornEps),
              m.data());
  for (int64_t i = 0; i < n; ++i) {
    sPre[i] = gate<T>(T(hPre[i]), T(kPreGateScale), T(cfg.preEps));
    sPost[i] = gate<T>(T(hPost[i]), T(kPostGateScale), T(kPostGateBias));
  }
  auto mixCoeff = [&](int64_t i, int64_t j) {
    return cfg.orientation == MixOrientation::Direct ? m[i * n + j]
                                                     : m[j * n + i];
  };
  for (int64_t b = 0; b < batch; ++b) {
    const In *xb = x + b * n * c;
    T sumSq = 0;
    for (int64_t ch = 0; ch < c; ++ch) {
      T acc = 0;
      for (int64_t i = 0; i < n; ++i)
        acc += sPre[i] * T(xb[i * c + ch]);
      y[ch] = acc;
      sumSq += acc * acc;
    }
    T invRms = T(1) / std::sqrt(sumSq / T(c) + T(cfg.eps));
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t ch = 0; ch < c; ++ch) {
        T acc = 0;
        for (int64_t j = 0; j < n; ++j)
          acc += mixCoeff(i, j) * T(xb[j * c + ch]);
        acc += sPost[i] * y[ch] * invRms * T(weight[ch]);
        out[b * n * c + i * c + ch] = Out(acc);
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Dynamic H (Tier 2): per-token coefficients, the pre and the post
//===----------------------------------------------------------------------===//

/// The conventions of mhc.coefficients / mhc.dynamic_layer.
struct DynamicConfig {
  int64_t n = 4;
  int64_t channels = 0;
  double coefficientEps = 1e-6; ///< RMS of the flattened row (eps_coef)
  double preEps = 0.0;
  int64_t sinkhornIters = 20;
  SinkhornInit init = SinkhornInit::Exp;
  double sinkhornEps = 1e-6;
  MixOrientation orientation = MixOrientation::Direct;
  double eps = 1e-6; ///< the stand-in sublayer's RMSNorm (dynamic_layer)
};

/// Per-token coefficients (mhc.coefficients): for each of `batch` tokens,
/// h_pre [n], h_post [n] and M [n, n] (row-major), from x [batch, n, C],
/// phi [n C, n^2 + 2n], alpha [3] and bias [n^2 + 2n], all in T.
template <typename T>
void dynamicCoefficients(const DynamicConfig &cfg, int64_t batch, const T *x,
                         const T *phi, const T *alpha, const T *bias, T *hPre,
                         T *hPost, T *m) {
  const int64_t n = cfg.n, width = cfg.n * cfg.channels;
  const int64_t cols = n * n + 2 * n;
  std::vector<T> mix(cols), logits(n * n);
  for (int64_t b = 0; b < batch; ++b) {
    const T *xb = x + b * width;
    T sumSq = 0;
    for (int64_t k = 0; k < width; ++k)
      sumSq += xb[k] * xb[k];
    T r = T(1) / std::sqrt(sumSq / T(width) + T(cfg.coefficientEps));
    for (int64_t j = 0; j < cols; ++j) {
      T acc = 0;
      for (int64_t k = 0; k < width; ++k)
        acc += xb[k] * phi[k * cols + j];
      mix[j] = acc * r;
    }
    for (int64_t i = 0; i < n; ++i) {
      hPre[b * n + i] =
          gate<T>(alpha[0] * mix[i] + bias[i], T(kPreGateScale), T(cfg.preEps));
      hPost[b * n + i] = gate<T>(alpha[1] * mix[n + i] + bias[n + i],
                                 T(kPostGateScale), T(kPostGateBias));
    }
    for (int64_t k = 0; k < n * n; ++k)
      logits[k] = alpha[2] * mix[2 * n + k] + bias[2 * n + k];
    sinkhorn<T>(logits.data(), n, cfg.sinkhornIters, cfg.init,
                T(cfg.sinkhornEps), m + b * n * n);
  }
}

/// mhc.pre: y[b, c] = sum_i h_pre[b, i] x[b, i, c].
template <typename T>
void dynamicPre(int64_t n, int64_t channels, int64_t batch, const T *x,
                const T *hPre, T *y) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      T acc = 0;
      for (int64_t i = 0; i < n; ++i)
        acc += hPre[b * n + i] * x[(b * n + i) * channels + c];
      y[b * channels + c] = acc;
    }
}

/// mhc.post: out[b, i, c] = sum_j M'[b, i, j] x[b, j, c] + h_post[b, i] f[b,
/// c].
template <typename T>
void dynamicPost(int64_t n, int64_t channels, int64_t batch,
                 MixOrientation orientation, const T *x, const T *f, const T *m,
                 const T *hPost, T *out) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < channels; ++c) {
        T acc = 0;
        for (int64_t j = 0; j < n; ++j) {
          T mij = orientation == MixOrientation::Direct
                      ? m[(b * n + i) * n + j]
                      : m[(b * n + j) * n + i];
          acc += mij * x[(b * n + j) * channels + c];
        }
        out[(b * n + i) * channels + c] =
            acc + hPost[b * n + i] * f[b * channels + c];
      }
}

/// RMSNorm of each row: y / sqrt(mean(y^2) + eps) * weight.
template <typename T>
void rmsNorm(int64_t channels, int64_t batch, double eps, const T *y,
             const T *weight, T *f) {
  for (int64_t b = 0; b < batch; ++b) {
    T sumSq = 0;
    for (int64_t c = 0; c < channels; ++c)
      sumSq += y[b * channels + c] * y[b * channels + c];
    T inv = T(1) / std::sqrt(sumSq / T(channels) + T(eps));
    for (int64_t c = 0; c < channels; ++c)
      f[b * channels + c] = y[b * channels + c] * inv * weight[c];
  }
}

/// `v` rounded to bf16 and back (to the nearest even), as the layer rounds
/// its bf16 interfaces.
inline double roundToBF16(double v) { return fromBF16(toBF16(float(v))); }

/// First-order bound, per token row, on the error an f32 evaluation of the
/// layer can have beyond a few ulps of the output: y is summed in f32 with an
/// error up to (n + 2) u sum_i |s_pre[i] x[b,i,c]|, and RMSNorm amplifies an
/// error in y by up to 2 w r_b (r_b = 1 / sqrt(mean(y^2) + eps)), which is
/// large when a row's mean square is small against eps (for example C = 1).
/// Tests allow |out - ref| <= 1e-5 max(1, max|ref|) + rowBound[b].
template <typename In, typename W>
std::vector<double> conditioningBound(const LayerConfig &cfg, int64_t batch,
                                      const In *x, const In *hPre,
                                      const In *hPost, const W *weight) {
  const int64_t n = cfg.n, c = cfg.channels;
  const double u = 5.96e-8; // f32 unit roundoff
  std::vector<double> sPre(n), bound(batch);
  double sPostMax = 0, wMax = 0;
  for (int64_t i = 0; i < n; ++i) {
    sPre[i] = gate<double>(double(hPre[i]), kPreGateScale, cfg.preEps);
    sPostMax = std::max(sPostMax, gate<double>(double(hPost[i]), kPostGateScale,
                                               kPostGateBias));
  }
  for (int64_t ch = 0; ch < c; ++ch)
    wMax = std::max(wMax, std::fabs(double(weight[ch])));
  for (int64_t b = 0; b < batch; ++b) {
    double sumSq = 0, absMax = 0;
    for (int64_t ch = 0; ch < c; ++ch) {
      double y = 0, a = 0;
      for (int64_t i = 0; i < n; ++i) {
        double term = sPre[i] * double(x[(b * n + i) * c + ch]);
        y += term;
        a += std::fabs(term);
      }
      sumSq += y * y;
      absMax = std::max(absMax, a);
    }
    double r = 1.0 / std::sqrt(sumSq / double(c) + cfg.eps);
    bound[b] = 4.0 * double(n + 2) * u * absMax * r * wMax * sPostMax;
  }
  return bound;
}

} // namespace mhc::reference

#endif // MHC_SUPPORT_REFERENCE_H
