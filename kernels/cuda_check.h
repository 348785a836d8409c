#ifndef CAVIAR_CUDA_CHECK_H
#define CAVIAR_CUDA_CHECK_H
/* Every CUDA runtime call is checked; a failure becomes a runtime error naming the file, the line,
 * the call and CUDA's own error string, and the enclosing function returns it. */

#include <cuda_runtime.h>

#include "caviar/status.h"

#define CAVIAR_CUDA_TRY(err, call)                                                                        \
  do {                                                                                                   \
    cudaError_t caviar_rc_ = (call);                                                                     \
    if (caviar_rc_ != cudaSuccess)                                                                       \
      return caviar_fail((err), CAVIAR_ERUNTIME, "%s:%d: %s: %s", __FILE__, __LINE__, #call,             \
                         cudaGetErrorString(caviar_rc_));                                                \
  } while (0)

#endif
