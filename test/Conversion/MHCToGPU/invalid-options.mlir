// RUN: not mhc-opt %s --convert-mhc-to-gpu="threads-per-block=48" 2>&1 | FileCheck %s --check-prefix=THREADS
// RUN: not mhc-opt %s --convert-mhc-to-gpu="vector-width=3" 2>&1 | FileCheck %s --check-prefix=VECTOR
// RUN: not mhc-opt %s --convert-mhc-to-gpu="prefetch-rows=-1" 2>&1 | FileCheck %s --check-prefix=PREFETCH
// RUN: not mhc-opt %s --convert-mhc-to-gpu="prefetch-max-row-bytes=-16" 2>&1 | FileCheck %s --check-prefix=PREFETCHBYTES
// RUN: not mhc-opt %s --convert-mhc-to-gpu="prefetch-early-max-row-bytes=-1" 2>&1 | FileCheck %s --check-prefix=PREFETCHEARLY
// RUN: not mhc-opt %s --convert-mhc-to-gpu="miss-prefetch-rows=-1" 2>&1 | FileCheck %s --check-prefix=MISSROWS
// RUN: not mhc-opt %s --convert-mhc-to-gpu="chip=gfx90a" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not mhc-opt %s --mhc-gpu-pipeline="chip=sm90" 2>&1 | FileCheck %s --check-prefix=PIPECHIP

// Mapping options out of range are diagnosed with the value given, by the
// pass and by the GPU pipeline, which forwards them.
// THREADS: error: threads-per-block must be a multiple of 32 in [32, 1024], got 48
// VECTOR: error: vector-width must be 1, 2 or 4, got 3
// PREFETCH: error: prefetch-rows, prefetch-max-row-bytes, prefetch-early-max-row-bytes and miss-prefetch-rows must be >= 0, got -1, 114688, 32768 and 1
// PREFETCHBYTES: error: prefetch-rows, prefetch-max-row-bytes, prefetch-early-max-row-bytes and miss-prefetch-rows must be >= 0, got 1, -16, 32768 and 1
// PREFETCHEARLY: error: prefetch-rows, prefetch-max-row-bytes, prefetch-early-max-row-bytes and miss-prefetch-rows must be >= 0, got 1, 114688, -1 and 1
// MISSROWS: error: prefetch-rows, prefetch-max-row-bytes, prefetch-early-max-row-bytes and miss-prefetch-rows must be >= 0, got 1, 114688, 32768 and -1
// CHIP: error: chip must name an NVIDIA compute capability as sm_<version>, got 'gfx90a'
// PIPECHIP: error: chip must name an NVIDIA compute capability as sm_<version>, got 'sm90'
func.func @empty() {
  return
}
