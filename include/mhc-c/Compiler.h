/*===- mhc-c/Compiler.h - C API of the mhc compiler ----------------*- C
-*-===*\
|*                                                                            *|
|* Runs mhc-opt's passes and pipelines in-process on MLIR text, for FFI       *|
|* (the Python package uses it through ctypes). Links libMLIR.so.             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef MHC_C_COMPILER_H
#define MHC_C_COMPILER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The result of one compilation. `ir` is the module after the pipeline;
   `binaries` holds the object of every gpu.binary (PTX text or cubin bytes),
   concatenated, with `binary_sizes` and `binary_names`; `diagnostics` the
   MLIR diagnostics, one per line. Free with mhc_compile_result_destroy. */
typedef struct mhc_compile_result *mhc_compile_result_t;

/* Parses `ir`, runs `pipeline` (textual pass pipeline, e.g.
   "builtin.module(mhc-gpu-pipeline{chip=sm_90})") and returns 0 on success,
   nonzero on failure; in both cases *result holds the diagnostics. */
int mhc_compile(const char *ir, size_t ir_size, const char *pipeline,
                mhc_compile_result_t *result);

const char *mhc_compile_result_ir(mhc_compile_result_t result);
const char *mhc_compile_result_diagnostics(mhc_compile_result_t result);
size_t mhc_compile_result_num_binaries(mhc_compile_result_t result);
const char *mhc_compile_result_binary_name(mhc_compile_result_t result,
                                           size_t index);
/* The format of binary `index`: "ptx", "cubin" or "fatbin". */
const char *mhc_compile_result_binary_format(mhc_compile_result_t result,
                                             size_t index);
const char *mhc_compile_result_binary(mhc_compile_result_t result, size_t index,
                                      size_t *size);
void mhc_compile_result_destroy(mhc_compile_result_t result);

#ifdef __cplusplus
}
#endif

#endif /* MHC_C_COMPILER_H */
