// What does one call cost, against a copy of the same bytes, for any kernel
// that must read a whole row before it writes any of it? A hardware probe for
// bench/NOTES.md (attempt 40), not part of mhc: the fused kernel cannot store
// a row's first output before the row's RMS, so each block holds its row
// from its loads to its stores. Here the same data flow without the layer's
// arithmetic: each block loads its row into registers (16-byte loads), sums
// the squares across the block (shuffles, one barrier), and stores the row
// scaled by rsqrt(mean + 1e-6). Its blocks and grid are mhc's for the same
// shapes: 64 KB rows one block of 512 threads per row, two blocks per SM;
// 20 KB rows a grid-stride loop of three 320-thread blocks per SM, each
// prefetching its next row into L2 at the start of an iteration. Against
// cudaMemcpyAsync (what `out.copy_(x)` runs) and a streaming float4 copy
// kernel of the same bytes, in the same process. Then, for the 64 KB rows,
// mhc's shape with a prologue like mhc's (a lookup and the gates behind a
// barrier), with the layer's arithmetic as well (rowLayer), and three other
// launch shapes of the same data flow.
//
// Each timed call is queued behind a GPU spin (as bench.py does), so the
// events time the GPU alone; median of 100 calls; buffers rotated over 4 sets
// so that no call finds its input in L2.
//
// build: nvcc -O3 -arch=sm_90 -o row_floor_probe row_floor_probe.cu
// run:   ./row_floor_probe   (one line per shape and kernel)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include "probe.cuh"

__global__ void spin(long long cycles) {
  long long t0 = clock64();
  while (clock64() - t0 < cycles) {
  }
}

__global__ void streamCopy(const float4 *__restrict__ x, float4 *__restrict__ out,
                           size_t n) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = x[i];
}

// The sum of the squares of a thread's VECS float4, summed across its warp.
template <int VECS> __device__ float warpSumSquares(const float4 (&v)[VECS]) {
  const float ss = warpSumSquares(v);
  return ss;
}

// One row per iteration: VECS float4 per thread, THREADS threads. With
// `entry`, a prologue like mhc's after the row's loads are issued: warp 0
// reads 32 words of a small buffer and votes on them (the coefficient
// cache's lookup), warp 1 reads 4 gate logits and takes their sigmoids,
// both into shared memory behind a barrier, and the row's scale uses them.
template <int THREADS, int VECS, int MIN_BLOCKS>
__global__ void __launch_bounds__(THREADS, MIN_BLOCKS)
    rowScale(const float4 *__restrict__ x, float4 *__restrict__ out, int rows,
             int prefetch, const int *__restrict__ entry = nullptr) {
  constexpr int kRowVecs = THREADS * VECS;
  constexpr int kWarps = THREADS / 32;
  __shared__ float partials[2][kWarps];
  __shared__ float coefficients[5];
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  int parity = 0;
  for (int row = blockIdx.x; row < rows; row += gridDim.x, parity ^= 1) {
    if (prefetch && tid == 0 && row + (int)gridDim.x < rows) {
      const float4 *next = x + (size_t)(row + gridDim.x) * kRowVecs;
      asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(next),
                   "r"(kRowVecs * 16)
                   : "memory");
    }
    const float4 *src = x + (size_t)row * kRowVecs;
    float4 v[VECS];
#pragma unroll
    for (int k = 0; k < VECS; ++k)
      v[k] = src[k * THREADS + tid];
    float gate = 1.f;
    if (entry) {
      if (warp == 0) {
        const bool differs =
            *(const volatile int *)&entry[lane] != lane; // never, all hit
        const bool miss = __any_sync(0xffffffffu, differs);
        if (lane == 0)
          coefficients[4] = miss ? 0.f : 1.f;
      } else if (warp == 1 && lane < 4) {
        const float logit = __int_as_float(entry[32 + lane]);
        coefficients[lane] = 1.f / (1.f + __expf(-logit));
      }
      __syncthreads();
      gate = coefficients[4] * (coefficients[0] + coefficients[1] +
                                coefficients[2] + coefficients[3]);
    }
    const float ss = warpSumSquares(v);
    if (lane == 0)
      partials[parity][warp] = ss;
    __syncthreads();
    float total = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w)
      total += partials[parity][w];
    const float s = gate * rsqrtf(total / (kRowVecs * 4) + 1e-6f);
    float4 *dst = out + (size_t)row * kRowVecs;
#pragma unroll
    for (int k = 0; k < VECS; ++k)
      dst[k * THREADS + tid] =
          make_float4(v[k].x * s, v[k].y * s, v[k].z * s, v[k].w * s);
  }
}

// The row split over a cluster of two blocks: each loads half of it, and
// the two halves' sums of squares are exchanged through distributed shared
// memory (mhc's cluster-row-split data flow).
template <int THREADS, int VECS, int MIN_BLOCKS>
__global__ void __cluster_dims__(2, 1, 1) __launch_bounds__(THREADS, MIN_BLOCKS)
    rowScaleCluster2(const float4 *__restrict__ x, float4 *__restrict__ out) {
  namespace cg = cooperative_groups;
  cg::cluster_group cluster = cg::this_cluster();
  constexpr int kHalfVecs = THREADS * VECS;
  constexpr int kWarps = THREADS / 32;
  __shared__ float partials[kWarps];
  __shared__ float blockSum;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const unsigned rank = cluster.block_rank();
  const size_t base = (size_t)(blockIdx.x / 2) * 2 * kHalfVecs + rank * kHalfVecs;
  float4 v[VECS];
#pragma unroll
  for (int k = 0; k < VECS; ++k)
    v[k] = x[base + k * THREADS + tid];
  const float ss = warpSumSquares(v);
  if (lane == 0)
    partials[warp] = ss;
  __syncthreads();
  if (tid == 0) {
    float t = 0.f;
    for (int w = 0; w < kWarps; ++w)
      t += partials[w];
    blockSum = t;
  }
  cluster.sync();
  const float total = blockSum + *cluster.map_shared_rank(&blockSum, rank ^ 1);
  const float s = rsqrtf(total / (2 * kHalfVecs * 4) + 1e-6f);
#pragma unroll
  for (int k = 0; k < VECS; ++k)
    out[base + k * THREADS + tid] =
        make_float4(v[k].x * s, v[k].y * s, v[k].z * s, v[k].w * s);
  cluster.sync(); // the partner has read blockSum
}

// mhc's layer itself on 4 x 4096 rows (n = 4, C = 4096), one block of 512
// threads per row, two per SM, the row in registers (2 chunks x 4 streams
// of float4 per thread): the prologue of rowScale's `entry` (here also
// M' and s_post, 24 coefficients in registers), y = sum_i s_pre[i] x_i,
// the block's sum of y^2, then out_i = sum_j M'[i][j] x_j + s_post[i] *
// y * rsqrt(mean + eps) * w with fused multiply-adds, w an f32 array.
__global__ void __launch_bounds__(512, 2)
    rowLayer(const float4 *__restrict__ x, float4 *__restrict__ out,
             const float4 *__restrict__ w, const float *__restrict__ coeffs) {
  constexpr int kN = 4, kChunks = 2, kThreads = 512, kWarps = kThreads / 32;
  constexpr int kRowVecs = kN * kChunks * kThreads; // 4 x 4096 floats
  __shared__ float partials[kWarps];
  __shared__ float shared[kN * kN + 2 * kN];
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const size_t base = (size_t)blockIdx.x * kRowVecs;
  float4 v[kChunks][kN];
#pragma unroll
  for (int k = 0; k < kChunks; ++k)
#pragma unroll
    for (int i = 0; i < kN; ++i)
      v[k][i] = x[base + i * (kChunks * kThreads) + k * kThreads + tid];
  if (warp == 1 && lane < kN * kN + 2 * kN)
    shared[lane] = *(const volatile float *)&coeffs[lane];
  __syncthreads();
  float m[kN][kN], pre[kN], post[kN];
#pragma unroll
  for (int i = 0; i < kN; ++i) {
    pre[i] = shared[kN * kN + i];
    post[i] = shared[kN * kN + kN + i];
#pragma unroll
    for (int j = 0; j < kN; ++j)
      m[i][j] = shared[i * kN + j];
  }
  float4 y[kChunks];
  float ss = 0.f;
#pragma unroll
  for (int k = 0; k < kChunks; ++k) {
    y[k] = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int i = 0; i < kN; ++i) {
      y[k].x = fmaf(pre[i], v[k][i].x, y[k].x);
      y[k].y = fmaf(pre[i], v[k][i].y, y[k].y);
      y[k].z = fmaf(pre[i], v[k][i].z, y[k].z);
      y[k].w = fmaf(pre[i], v[k][i].w, y[k].w);
    }
    ss = fmaf(y[k].x, y[k].x, ss);
    ss = fmaf(y[k].y, y[k].y, ss);
    ss = fmaf(y[k].z, y[k].z, ss);
    ss = fmaf(y[k].w, y[k].w, ss);
  }
#pragma unroll
  for (int o = 16; o > 0; o /= 2)
    ss += __shfl_xor_sync(0xffffffffu, ss, o);
  if (lane == 0)
    partials[warp] = ss;
  __syncthreads();
  float total = 0.f;
#pragma unroll
  for (int i = 0; i < kWarps; ++i)
    total += partials[i];
  const float r = rsqrtf(total / (kChunks * kThreads * 4) + 1e-6f);
#pragma unroll
  for (int k = 0; k < kChunks; ++k) {
    const float4 wk = w[k * kThreads + tid];
    const float4 f = make_float4(y[k].x * r * wk.x, y[k].y * r * wk.y,
                                 y[k].z * r * wk.z, y[k].w * r * wk.w);
#pragma unroll
    for (int i = 0; i < kN; ++i) {
      float4 a = make_float4(m[i][0] * v[k][0].x, m[i][0] * v[k][0].y,
                             m[i][0] * v[k][0].z, m[i][0] * v[k][0].w);
#pragma unroll
      for (int j = 1; j < kN; ++j) {
        a.x = fmaf(m[i][j], v[k][j].x, a.x);
        a.y = fmaf(m[i][j], v[k][j].y, a.y);
        a.z = fmaf(m[i][j], v[k][j].z, a.z);
        a.w = fmaf(m[i][j], v[k][j].w, a.w);
      }
      a.x = fmaf(post[i], f.x, a.x);
      a.y = fmaf(post[i], f.y, a.y);
      a.z = fmaf(post[i], f.z, a.z);
      a.w = fmaf(post[i], f.w, a.w);
      out[base + i * (kChunks * kThreads) + k * kThreads + tid] = a;
    }
  }
}

template <typename Launch>
double timeCalls(Launch launch, int sets, cudaStream_t stream);

// `sets` pairs of input and output buffers of `bytes` each, the inputs
// filled with values in [-1, 1).
struct Buffers {
  std::vector<float4 *> x, out;
  size_t bytes;
  Buffers(size_t bytes, int sets) : bytes(bytes) {
    std::vector<float> host(bytes / 4);
    for (int i = 0; i < sets; ++i) {
      float4 *in, *o;
      CHECK(cudaMalloc(&in, bytes));
      CHECK(cudaMalloc(&o, bytes));
      for (size_t k = 0; k < host.size(); ++k)
        host[k] = (float)((k * 2654435761u + i) % 1000) / 500.f - 1.f;
      CHECK(cudaMemcpy(in, host.data(), bytes, cudaMemcpyHostToDevice));
      x.push_back(in);
      out.push_back(o);
    }
  }
  ~Buffers() {
    for (size_t i = 0; i < x.size(); ++i) {
      CHECK(cudaFree(x[i]));
      CHECK(cudaFree(out[i]));
    }
  }
  // The floor: cudaMemcpyAsync of the same bytes (what out.copy_(x) runs).
  double timeMemcpy(cudaStream_t stream) {
    return timeCalls(
        [&](int i) {
          CHECK(cudaMemcpyAsync(out[i], x[i], bytes, cudaMemcpyDeviceToDevice,
                                stream));
        },
        (int)x.size(), stream);
  }
};

template <typename Launch>
double timeCalls(Launch launch, int sets, cudaStream_t stream) {
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < 10; ++i)
    launch(i % sets);
  std::vector<float> ms;
  for (int i = 0; i < 100; ++i) {
    spin<<<1, 1, 0, stream>>>(200000); // ~100 us: the call is queued first
    CHECK(cudaEventRecord(start, stream));
    launch(i % sets);
    CHECK(cudaEventRecord(stop, stream));
    CHECK(cudaEventSynchronize(stop));
    float t;
    CHECK(cudaEventElapsedTime(&t, start, stop));
    ms.push_back(t);
  }
  CHECK(cudaGetLastError());
  std::sort(ms.begin(), ms.end());
  CHECK(cudaEventDestroy(start));
  CHECK(cudaEventDestroy(stop));
  return ms[ms.size() / 2] * 1e3;
}

int main() {
  int sms = 0;
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("%s, %d SMs\n", prop.name, sms);
  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  struct Shape {
    int rows, rowFloats;
  };
  // B x n x C: 1024x4x4096, 8192x4x4096, 2560x4x1280, 8192x4x1280.
  const Shape shapes[] = {{1024, 16384}, {8192, 16384}, {2560, 5120},
                          {8192, 5120}};
  const int sets = 4;
  std::printf("%6s %6s %10s %10s %10s %10s %8s %8s\n", "rows", "floats",
              "memcpy_us", "stream_us", "row_us", "row/memcpy", "row/strm",
              "strm/mcp");
  for (Shape s : shapes) {
    size_t vecs = (size_t)s.rows * s.rowFloats / 4;
    Buffers b(vecs * 16, sets);
    double memcpyUs = b.timeMemcpy(stream);
    double streamUs = timeCalls(
        [&](int i) {
          streamCopy<<<(unsigned)((vecs + 255) / 256), 256, 0, stream>>>(
              b.x[i], b.out[i], vecs);
        },
        sets, stream);
    double rowUs;
    if (s.rowFloats == 16384) {
      int perSM = 0;
      CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
          &perSM, rowScale<512, 8, 2>, 512, 0));
      if (perSM != 2)
        std::printf("note: %d blocks of 512 threads per SM, not 2\n", perSM);
      // mhc: n = 4, C = 4096, 512 threads, one block per row, 2 per SM.
      rowUs = timeCalls(
          [&](int i) {
            rowScale<512, 8, 2><<<s.rows, 512, 0, stream>>>(b.x[i], b.out[i],
                                                             s.rows, 0);
          },
          sets, stream);
    } else {
      // mhc: n = 4, C = 1280, 320 threads, 3 blocks per SM, grid-stride. This
      // kernel needs fewer registers than mhc's, so 72 KB of dynamic shared
      // memory (unused) holds it to mhc's three blocks per SM.
      int grid = std::min(s.rows, 3 * sms);
      const int pad = 72 * 1024;
      CHECK(cudaFuncSetAttribute(rowScale<320, 4, 3>,
                                 cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 pad));
      int perSM = 0;
      CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
          &perSM, rowScale<320, 4, 3>, 320, pad));
      if (perSM != 3)
        std::printf("note: %d blocks of 320 threads per SM, not 3\n", perSM);
      rowUs = timeCalls(
          [&](int i) {
            rowScale<320, 4, 3><<<grid, 320, pad, stream>>>(b.x[i], b.out[i],
                                                             s.rows, 1);
          },
          sets, stream);
    }
    std::printf("%6d %6d %10.2f %10.2f %10.2f %10.3f %8.3f %8.3f\n", s.rows,
                s.rowFloats, memcpyUs, streamUs, rowUs, rowUs / memcpyUs,
                rowUs / streamUs, streamUs / memcpyUs);
  }

  // Other launch shapes for the 64 KB rows (n = 4, C = 4096): the same data
  // flow with 1024-thread blocks, as a grid-stride loop of two 512-thread
  // blocks per SM with the next row prefetched, and split over a cluster of
  // two 512-thread blocks.
  std::printf("64 KB rows, other launch shapes (us per call; / memcpy)\n");
  for (int rows : {1024, 8192}) {
    Buffers b((size_t)rows * 16384 * 4, sets);
    double memcpyUs = b.timeMemcpy(stream);
    double base = timeCalls(
        [&](int i) {
          rowScale<512, 8, 2><<<rows, 512, 0, stream>>>(b.x[i], b.out[i], rows,
                                                         0);
        },
        sets, stream);
    int wide = 0, cl = 0;
    CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &wide, rowScale<1024, 4, 2>, 1024, 0));
    double wideUs = timeCalls(
        [&](int i) {
          rowScale<1024, 4, 2><<<rows, 1024, 0, stream>>>(b.x[i], b.out[i],
                                                           rows, 0);
        },
        sets, stream);
    // A lookup entry that always hits: words 0..31 equal their index, then
    // four gate logits of 0 (sigmoid 0.5).
    int *entry;
    CHECK(cudaMalloc(&entry, 36 * sizeof(int)));
    std::vector<int> words(36, 0);
    for (int w = 0; w < 32; ++w)
      words[w] = w;
    CHECK(cudaMemcpy(entry, words.data(), words.size() * sizeof(int),
                     cudaMemcpyHostToDevice));
    double lookupUs = timeCalls(
        [&](int i) {
          rowScale<512, 8, 2><<<rows, 512, 0, stream>>>(b.x[i], b.out[i], rows,
                                                         0, entry);
        },
        sets, stream);
    CHECK(cudaFree(entry));
    // The layer's arithmetic too (rowLayer): coefficients and weight of
    // plausible sizes (M' near 1/4, gates near 0.5 and 1, w near 1).
    float *coeffs;
    float4 *weight;
    CHECK(cudaMalloc(&coeffs, 24 * sizeof(float)));
    CHECK(cudaMalloc(&weight, 4096 * sizeof(float)));
    std::vector<float> c(24), wh(4096);
    for (int k = 0; k < 24; ++k)
      c[k] = k < 16 ? 0.25f + 0.01f * (k % 5) : (k < 20 ? 0.5f : 1.f);
    for (int k = 0; k < 4096; ++k)
      wh[k] = 0.75f + (k % 7) * 0.1f;
    CHECK(cudaMemcpy(coeffs, c.data(), 24 * sizeof(float),
                     cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(weight, wh.data(), 4096 * sizeof(float),
                     cudaMemcpyHostToDevice));
    double layerUs = timeCalls(
        [&](int i) {
          rowLayer<<<rows, 512, 0, stream>>>(b.x[i], b.out[i], weight, coeffs);
        },
        sets, stream);
    CHECK(cudaFree(coeffs));
    CHECK(cudaFree(weight));
    std::printf("%6d rows: the layer (n = 4, C = 4096), 512x1/row %.2f "
                "(%.3f)\n",
                rows, layerUs, layerUs / memcpyUs);
    double strideUs = timeCalls(
        [&](int i) {
          rowScale<512, 8, 2><<<std::min(rows, 2 * sms), 512, 0, stream>>>(
              b.x[i], b.out[i], rows, 1);
        },
        sets, stream);
    CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &cl, rowScaleCluster2<512, 4, 2>, 512, 0));
    double clusterUs = timeCalls(
        [&](int i) {
          rowScaleCluster2<512, 4, 2><<<2 * rows, 512, 0, stream>>>(
              b.x[i], b.out[i]);
        },
        sets, stream);
    int cl4 = 0;
    CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &cl4, rowScaleCluster2<512, 4, 4>, 512, 0));
    double cluster4Us = timeCalls(
        [&](int i) {
          rowScaleCluster2<512, 4, 4><<<2 * rows, 512, 0, stream>>>(
              b.x[i], b.out[i]);
        },
        sets, stream);
    std::printf("%6d rows: 512x1/row with a prologue %.2f (%.3f)\n", rows,
                lookupUs, lookupUs / memcpyUs);
    std::printf("%6d rows: memcpy %.2f; 512x1/row %.2f (%.3f); 1024x1/row "
                "[%d/SM] %.2f (%.3f); 512 grid-stride %.2f (%.3f); cluster "
                "2x512/row [%d/SM] %.2f (%.3f), [%d/SM] %.2f (%.3f)\n",
                rows, memcpyUs, base, base / memcpyUs, wide, wideUs,
                wideUs / memcpyUs, strideUs, strideUs / memcpyUs, cl,
                clusterUs, clusterUs / memcpyUs, cl4, cluster4Us,
                cluster4Us / memcpyUs);
  }
  return 0;
}
