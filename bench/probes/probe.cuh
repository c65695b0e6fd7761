// What the hardware probes in bench/probes/ (queue_probe.cu, row_floor_probe.cu)
// share. They are single-file CUDA programs, not part of mhc.
#ifndef MHC_BENCH_PROBE_CUH
#define MHC_BENCH_PROBE_CUH

#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#define CHECK(x)                                                               \
  do {                                                                         \
    cudaError_t e = (x);                                                       \
    if (e != cudaSuccess) {                                                    \
      std::fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e));             \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

#endif // MHC_BENCH_PROBE_CUH
