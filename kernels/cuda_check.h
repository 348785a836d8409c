#ifndef CAVIAR_CUDA_CHECK_H
#define CAVIAR_CUDA_CHECK_H
/* Every CUDA runtime and cuBLAS call is checked; a failure becomes a runtime error naming the file,
 * the line, the call and the library's own error string. Calls whose failure needs cleanup first
 * (freeing buffers, ending a capture) keep the code and report it with CAVIAR_CUDA_FAIL; every
 * other call goes through CAVIAR_CUDA_TRY, which returns at once. */

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

/* The one way a .cu file reports a failed CUDA runtime or cuBLAS call: a runtime error naming the
 * file, the line, what was being done and the library's own message. */
#define CAVIAR_CUDA_FAIL(err, rc, what)                                                                   \
  caviar_fail((err), CAVIAR_ERUNTIME, "%s:%d: %s: %s", __FILE__, __LINE__, (what), cudaGetErrorString(rc))
#define CAVIAR_CUBLAS_FAIL(err, rc, what)                                                                 \
  caviar_fail((err), CAVIAR_ERUNTIME, "%s:%d: %s: %s", __FILE__, __LINE__, (what), cublasGetStatusString(rc))

/* A call that must succeed for the enclosing function to go on: on failure it returns the error. */
#define CAVIAR_CUDA_TRY(err, call)                                                                        \
  do {                                                                                                   \
    cudaError_t caviar_rc_ = (call);                                                                     \
    if (caviar_rc_ != cudaSuccess) return CAVIAR_CUDA_FAIL((err), caviar_rc_, #call);                    \
  } while (0)

#define CAVIAR_CUBLAS_TRY(err, call)                                                                      \
  do {                                                                                                   \
    cublasStatus_t caviar_rc_ = (call);                                                                  \
    if (caviar_rc_ != CUBLAS_STATUS_SUCCESS) return CAVIAR_CUBLAS_FAIL((err), caviar_rc_, #call);        \
  } while (0)

/* After a kernel launch: the launch's own error (a bad configuration, no device). */
#define CAVIAR_LAUNCH_CHECK(err, what)                                                                    \
  do {                                                                                                   \
    cudaError_t caviar_rc_ = cudaGetLastError();                                                         \
    if (caviar_rc_ != cudaSuccess) return CAVIAR_CUDA_FAIL((err), caviar_rc_, "launching " what);         \
  } while (0)

CAVIAR_C_END

#endif
