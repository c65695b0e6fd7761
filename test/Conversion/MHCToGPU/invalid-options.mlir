// RUN: not mhc-opt %s --convert-mhc-to-gpu="threads-per-block=48" 2>&1 | FileCheck %s --check-prefix=THREADS
// RUN: not mhc-opt %s --convert-mhc-to-gpu="vector-width=3" 2>&1 | FileCheck %s --check-prefix=VECTOR
// RUN: not mhc-opt %s --convert-mhc-to-gpu="prefetch-rows=-1" 2>&1 | FileCheck %s --check-prefix=PREFETCH
// RUN: not mhc-opt %s --convert-mhc-to-gpu="prefetch-max-row-bytes=-16" 2>&1 | FileCheck %s --check-prefix=PREFETCHBYTES
// RUN: not mhc-opt %s --convert-mhc-to-gpu="prefetch-early-max-row-bytes=-1" 2>&1 | FileCheck %s --check-prefix=PREFETCHEARLY
// RUN: not mhc-opt %s --convert-mhc-to-gpu="miss-prefetch-rows=-1" 2>&1 | FileCheck %s --check-prefix=MISSROWS
// RUN: not mhc-opt %s --convert-mhc-to-gpu="stage-rows=-2" 2>&1 | FileCheck %s --check-prefix=STAGE
// RUN: not mhc-opt %s --convert-mhc-to-gpu="stage-rows=2 stage-copy-bytes=1000" 2>&1 | FileCheck %s --check-prefix=STAGECOPY

// Mapping options out of range are diagnosed with the value given.
// THREADS: error: threads-per-block must be a multiple of 32 in [32, 1024], got 48
// VECTOR: error: vector-width must be 1, 2 or 4, got 3
// PREFETCH: error: prefetch-rows, prefetch-max-row-bytes and prefetch-early-max-row-bytes must be >= 0, got -1, 114688 and 32768
// PREFETCHBYTES: error: prefetch-rows, prefetch-max-row-bytes and prefetch-early-max-row-bytes must be >= 0, got 0, -16 and 32768
// PREFETCHEARLY: error: prefetch-rows, prefetch-max-row-bytes and prefetch-early-max-row-bytes must be >= 0, got 0, 114688 and -1
// MISSROWS: error: miss-prefetch-rows must be >= 0, got -1
// STAGE: error: stage-rows and max-shared-memory-bytes must be >= 0, got -2 and 232448
// STAGECOPY: error: stage-copy-bytes must be a non-negative multiple of 16, got 1000
func.func @empty() {
  return
}
