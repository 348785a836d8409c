#ifndef CAVIAR_CUDA_CHECK_H
#define CAVIAR_CUDA_CHECK_H
/* Every CUDA runtime and cuBLAS call is checked; a failure becomes a runtime error naming the file,
 * the line, the call and the library's own error string, and the enclosing function returns it. */

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "caviar/status.h"

#define CAVIAR_CUDA_TRY(err, call)                                                                        \
  do {                                                                                                   \
    cudaError_t caviar_rc_ = (call);                                                                     \
    if (caviar_rc_ != cudaSuccess)                                                                       \
      return caviar_fail((err), CAVIAR_ERUNTIME, "%s:%d: %s: %s", __FILE__, __LINE__, #call,             \
                         cudaGetErrorString(caviar_rc_));                                                \
  } while (0)

#define CAVIAR_CUBLAS_TRY(err, call)                                                                      \
  do {                                                                                                   \
    cublasStatus_t caviar_rc_ = (call);                                                                  \
    if (caviar_rc_ != CUBLAS_STATUS_SUCCESS)                                                             \
      return caviar_fail((err), CAVIAR_ERUNTIME, "%s:%d: %s: %s", __FILE__, __LINE__, #call,             \
                         cublasGetStatusString(caviar_rc_));                                             \
  } while (0)

/* After a kernel launch: the launch's own error (a bad configuration, no device). */
#define CAVIAR_LAUNCH_CHECK(err, what)                                                                    \
  do {                                                                                                   \
    cudaError_t caviar_rc_ = cudaGetLastError();                                                         \
    if (caviar_rc_ != cudaSuccess)                                                                       \
      return caviar_fail((err), CAVIAR_ERUNTIME, "%s:%d: launching %s: %s", __FILE__, __LINE__, (what),  \
                         cudaGetErrorString(caviar_rc_));                                                \
  } while (0)

#endif
