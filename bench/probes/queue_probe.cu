// Does warp 0's chain of dependent shuffles, L2-hit loads or reciprocals
// (rcp.approx with and without .ftz)
// slow down while the SM's other warps have their row loads in flight?
// A hardware probe for bench/NOTES.md (attempt 35), not part of mhc: the
// fused kernel's warp 0 runs the coefficient-cache lookup and the Sinkhorn
// rounds right after every warp of the block has asked for its row.
//
// Blocks of `threads` threads, `blocks` blocks (two per SM on an H200 at
// 512), each thread loads `loads` float4 of a large buffer at once (the
// kernel's row in registers: 8 x 16 bytes at n = 4, C = 4096, 512 threads),
// and warp 0 times `chain` dependent operations with clock64 after issuing
// its own loads (own=1) or without them (own=0). loads = 0 is the idle SM.
//
// build: nvcc -O3 -arch=sm_90 -o queue_probe queue_probe.cu
// run:   ./queue_probe            (prints one line per configuration)
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <cuda_runtime.h>

#include "probe.cuh"

constexpr int kMaxLoads = 16;

__device__ __forceinline__ float rcpApprox(float x) {
  float r;
  asm volatile("rcp.approx.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
}

__device__ __forceinline__ float rcpApproxFtz(float x) {
  float r;
  asm volatile("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
}

__global__ void probe(const float4 *__restrict__ big, const int *__restrict__ small,
                      float *sink, long long *cycles, int mode, int loads, int own,
                      int chain) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  const size_t base = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  float4 v[kMaxLoads];
  const bool loadsHere = warp != 0 || own;
#pragma unroll
  for (int k = 0; k < kMaxLoads; ++k)
    if (k < loads && loadsHere)
      v[k] = big[base + k * stride];
  float acc = 0.f;
  if (warp == 0) {
    __syncwarp();
    long long t0 = clock64();
    float x = 1.0f + lane;
    int idx = lane;
    for (int i = 0; i < chain; ++i) {
      if (mode == 0)
        x = __shfl_xor_sync(0xffffffffu, x, 1) + 1.0f;
      else if (mode == 1)
        idx = __ldcg(small + idx);
      else if (mode == 2)
        x = rcpApprox(x + 1.0f);
      else
        x = rcpApproxFtz(x + 1.0f);
    }
    long long t1 = clock64();
    if (lane == 0)
      cycles[blockIdx.x] = t1 - t0;
    acc = x + (float)idx;
  }
#pragma unroll
  for (int k = 0; k < kMaxLoads; ++k)
    if (k < loads && loadsHere)
      acc += v[k].x + v[k].y + v[k].z + v[k].w;
  if (acc == -1.2345f)
    sink[base] = acc;
}

int main(int argc, char **argv) {
  int threads = 512, blocks = 264, chain = 64;
  if (argc > 1)
    blocks = std::atoi(argv[1]);
  const size_t bigFloats4 = (size_t)blocks * threads * kMaxLoads;
  float4 *big;
  int *small;
  float *sink;
  long long *cycles;
  CHECK(cudaMalloc(&big, bigFloats4 * sizeof(float4)));
  CHECK(cudaMemset(big, 0, bigFloats4 * sizeof(float4)));
  std::vector<int> ring(1024);
  for (int i = 0; i < 1024; ++i)
    ring[i] = (i + 32) % 1024; // lane l chases l, l+32, ... (one line each step)
  CHECK(cudaMalloc(&small, ring.size() * sizeof(int)));
  CHECK(cudaMemcpy(small, ring.data(), ring.size() * sizeof(int),
                   cudaMemcpyHostToDevice));
  CHECK(cudaMalloc(&sink, (size_t)blocks * threads * sizeof(float)));
  CHECK(cudaMalloc(&cycles, blocks * sizeof(long long)));
  // A buffer larger than L2, read before each timed launch, so that `big`
  // comes from DRAM.
  size_t flushBytes = 256u << 20;
  char *flush;
  CHECK(cudaMalloc(&flush, flushBytes));
  const char *names[] = {"shuffle", "L2-hit load", "rcp.approx",
                         "rcp.approx.ftz"};
  std::printf("threads %d blocks %d chain %d: warp 0's cycles per dependent "
              "operation (median over blocks; min, max)\n",
              threads, blocks, chain);
  for (int mode = 0; mode < 4; ++mode)
    for (int loads : {0, 4, 8, 16})
      for (int own : {0, 1}) {
        if (loads == 0 && own == 1)
          continue;
        std::vector<long long> all;
        for (int rep = 0; rep < 5; ++rep) {
          CHECK(cudaMemset(flush, rep, flushBytes));
          probe<<<blocks, threads>>>(big, small, sink, cycles, mode, loads, own,
                                     chain);
          CHECK(cudaGetLastError());
          std::vector<long long> c(blocks);
          CHECK(cudaMemcpy(c.data(), cycles, blocks * sizeof(long long),
                           cudaMemcpyDeviceToHost));
          if (rep > 0)
            all.insert(all.end(), c.begin(), c.end());
        }
        std::sort(all.begin(), all.end());
        double per = 1.0 / chain;
        std::printf("%-14s loads/thread %2d warp0-own-loads %d: %7.1f (%.1f, "
                    "%.1f)\n",
                    names[mode], loads, own, all[all.size() / 2] * per,
                    all.front() * per, all.back() * per);
      }
  return 0;
}
