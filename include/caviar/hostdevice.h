#ifndef CAVIAR_HOSTDEVICE_H
#define CAVIAR_HOSTDEVICE_H
/* CAVIAR_HD marks scalar functions compiled for both the host (C11) and the device (CUDA), so the
 * CPU reference and the GPU kernels share one definition and cannot drift apart. */
#if defined(__CUDACC__)
#define CAVIAR_HD __host__ __device__
#else
#define CAVIAR_HD
#endif

#include "caviar/status.h"

CAVIAR_C_BEGIN
CAVIAR_C_END

#endif
