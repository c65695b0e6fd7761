/*===- mhc-c/Runtime.h - C API of the mhc runtime ------------------*- C
-*-===*\
|*                                                                            *|
|* A C interface over mhc::runtime (mhc/Runtime/HyperConnection.h) for FFI    *|
|* from Python, Rust and others. No C++ exception crosses it; every call      *|
|* returns a status, and mhc_last_error() gives the reason of the calling     *|
|* thread's last failure. Thread safety and lifetime are those of the C++ API:*|
|* a plan is immutable after select and may be used from several threads.    *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef MHC_C_RUNTIME_H
#define MHC_C_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  MHC_STATUS_OK = 0,
  MHC_STATUS_UNSUPPORTED = 1,
  MHC_STATUS_INVALID_ARGUMENT = 2,
  MHC_STATUS_CUDA_ERROR = 3,
  MHC_STATUS_NO_DEVICE = 4,
  MHC_STATUS_INTERNAL = 5,
  /* Not a status: makes every int32 a value of the type, so a caller's
     out-of-range value reaches the library as it is (and is reported as
     unknown) instead of being undefined behavior in C++. Likewise below. */
  MHC_STATUS_MAX_ENUM = 0x7FFFFFFF
} mhc_status_t;

typedef enum {
  MHC_DTYPE_F32 = 0,
  MHC_DTYPE_BF16 = 1,
  MHC_DTYPE_MAX_ENUM = 0x7FFFFFFF
} mhc_dtype_t;
typedef enum {
  MHC_SINKHORN_EXP = 0,
  MHC_SINKHORN_SOFTMAX = 1,
  MHC_SINKHORN_MAX_ENUM = 0x7FFFFFFF
} mhc_sinkhorn_init_t;
typedef enum {
  MHC_MIX_DIRECT = 0,
  MHC_MIX_TRANSPOSED = 1,
  MHC_MIX_MAX_ENUM = 0x7FFFFFFF
} mhc_orientation_t;

typedef struct {
  int64_t streams;    /* n, 1..32 */
  int64_t channels;   /* C >= 1 */
  int64_t max_batch;  /* largest batch of a run; 0: no limit */
  int32_t activation; /* mhc_dtype_t: MHC_DTYPE_F32 */
  int32_t weight;     /* mhc_dtype_t */
  float eps;
  int32_t sinkhorn_iters;
  int32_t sinkhorn_init; /* mhc_sinkhorn_init_t */
  float sinkhorn_eps;
  float pre_eps;
  int32_t orientation; /* mhc_orientation_t */
} mhc_descriptor_t;

typedef struct {
  const void *x, *h_res, *h_pre, *h_post, *weight;
  void *out;
  int64_t batch;
  int32_t weight_dtype; /* mhc_dtype_t */
} mhc_args_t;

typedef struct {
  int32_t portable;        /* nonzero: general 4-byte-access kernels only */
  int64_t max_blocks;      /* 0: chosen by the plan */
  int32_t no_cluster_rows; /* nonzero: never one thread-block cluster per row */
  int32_t no_coefficient_cache;   /* nonzero: no workspace; M' every run */
  int32_t no_programmatic_launch; /* nonzero: ordinary launches only */
} mhc_preference_t;

typedef struct {
  int32_t deterministic;
  double max_relative_error;
  const char *math;
  const char *accumulation;
} mhc_precision_t;

typedef struct mhc_plan *mhc_plan_t;

/* Fills a descriptor with the defaults of mhc.static_layer for n and C. */
void mhc_descriptor_init(mhc_descriptor_t *descriptor, int64_t streams,
                         int64_t channels);

mhc_status_t mhc_plan_select(void *stream, const mhc_descriptor_t *descriptor,
                             const mhc_preference_t *preference, /* nullable */
                             mhc_plan_t *plan);
void mhc_plan_destroy(mhc_plan_t plan);
mhc_status_t mhc_plan_can_implement(mhc_plan_t plan, const mhc_args_t *args);
/* Bytes of device workspace mhc_plan_run needs (16-byte aligned, any
   contents; it memoizes the Sinkhorn result between runs): never used by two
   runs in flight at once. 0 with no_coefficient_cache. */
size_t mhc_plan_workspace_size(mhc_plan_t plan);
/* Valid while the plan lives. */
const char *mhc_plan_sku(mhc_plan_t plan);
mhc_status_t mhc_plan_precision_guarantee(mhc_plan_t plan,
                                          mhc_precision_t *precision);
mhc_status_t mhc_plan_run(mhc_plan_t plan, void *stream, void *workspace,
                          const mhc_args_t *args);

/* The dynamic-H post (mhc/Runtime/DynamicPost.h): out = M' x + h_post f per
   token. No workspace (size 0). Of the preferences, portable and max_blocks
   apply. */
typedef struct {
  int64_t streams;     /* n, 1..32 */
  int64_t channels;    /* C >= 1 */
  int64_t max_batch;   /* largest batch of a run; 0: no limit */
  int32_t activation;  /* mhc_dtype_t of x and out */
  int32_t sublayer;    /* mhc_dtype_t of f */
  int32_t orientation; /* mhc_orientation_t: M or M^T */
} mhc_post_descriptor_t;

typedef struct {
  const void *x;      /* [batch, n, C] activation */
  const void *f;      /* [batch, C] sublayer */
  const void *matrix; /* [batch, n, n] f32 */
  const void *h_post; /* [batch, n] f32 */
  void *out;          /* [batch, n, C] activation */
  int64_t batch;
} mhc_post_args_t;

typedef struct mhc_post_plan *mhc_post_plan_t;

/* n and C, bf16 activations and sublayer output, M as is. */
void mhc_post_descriptor_init(mhc_post_descriptor_t *descriptor,
                              int64_t streams, int64_t channels);
mhc_status_t mhc_post_plan_select(void *stream,
                                  const mhc_post_descriptor_t *descriptor,
                                  const mhc_preference_t *preference,
                                  mhc_post_plan_t *plan);
void mhc_post_plan_destroy(mhc_post_plan_t plan);
mhc_status_t mhc_post_plan_can_implement(mhc_post_plan_t plan,
                                         const mhc_post_args_t *args);
size_t mhc_post_plan_workspace_size(mhc_post_plan_t plan);
const char *mhc_post_plan_sku(mhc_post_plan_t plan);
mhc_status_t mhc_post_plan_precision_guarantee(mhc_post_plan_t plan,
                                               mhc_precision_t *precision);
mhc_status_t mhc_post_plan_run(mhc_post_plan_t plan, void *stream,
                               void *workspace, const mhc_post_args_t *args);

/* The dynamic-H pre (mhc/Runtime/DynamicPre.h): per token h_pre, h_post, M
   and y = sum_i h_pre[i] x[i]. Two launches; the workspace (the
   projection's partial sums) depends on the batch:
   mhc_pre_plan_workspace_size(plan, batch). Of the preferences, max_blocks
   applies. */
typedef struct {
  int64_t streams;    /* n, 1..8 */
  int64_t channels;   /* C */
  int64_t max_batch;  /* largest batch of a run; 0: no limit */
  int32_t activation; /* mhc_dtype_t of x and y */
  int32_t projection; /* mhc_dtype_t of phi */
  float eps;
  float pre_eps;
  int32_t sinkhorn_iters;
  int32_t sinkhorn_init; /* mhc_sinkhorn_init_t */
  float sinkhorn_eps;
} mhc_pre_descriptor_t;

typedef struct {
  const void *x;     /* [batch, n, C] activation */
  const void *phi;   /* [n C, n^2 + 2n] projection */
  const void *alpha; /* [3] f32 */
  const void *bias;  /* [n^2 + 2n] f32 */
  void *y;           /* [batch, C] activation */
  void *h_pre;       /* [batch, n] f32 */
  void *h_post;      /* [batch, n] f32 */
  void *matrix;      /* [batch, n, n] f32 */
  int64_t batch;
} mhc_pre_args_t;

typedef struct mhc_pre_plan *mhc_pre_plan_t;

/* n and C, bf16 x and phi, the defaults of mhc.coefficients. */
void mhc_pre_descriptor_init(mhc_pre_descriptor_t *descriptor, int64_t streams,
                             int64_t channels);
mhc_status_t mhc_pre_plan_select(void *stream,
                                 const mhc_pre_descriptor_t *descriptor,
                                 const mhc_preference_t *preference,
                                 mhc_pre_plan_t *plan);
void mhc_pre_plan_destroy(mhc_pre_plan_t plan);
mhc_status_t mhc_pre_plan_can_implement(mhc_pre_plan_t plan,
                                        const mhc_pre_args_t *args);
size_t mhc_pre_plan_workspace_size(mhc_pre_plan_t plan, int64_t batch);
/* The two kernels. Valid while the plan lives. */
const char *mhc_pre_plan_sku(mhc_pre_plan_t plan);
mhc_status_t mhc_pre_plan_precision_guarantee(mhc_pre_plan_t plan,
                                              mhc_precision_t *precision);
mhc_status_t mhc_pre_plan_run(mhc_pre_plan_t plan, void *stream,
                              void *workspace, const mhc_pre_args_t *args);

/* The reason of this thread's last failed call ("" after a success). */
const char *mhc_last_error(void);
const char *mhc_status_string(mhc_status_t status);

#ifdef __cplusplus
}
#endif

#endif /* MHC_C_RUNTIME_H */
