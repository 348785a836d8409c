#ifndef CAVIAR_CUDA_DEVICE_H
#define CAVIAR_CUDA_DEVICE_H
/* Host-callable entry points of the CUDA side (the .cu files in kernels/), declared with C linkage. Only present
 * in builds with CAVIAR_HAVE_CUDA. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/backend.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

#ifdef __cplusplus
extern "C" {
#endif

/* Number of CUDA devices visible (0 when none or no driver), with a one-line description of each
 * (or of why there are none) in buf. */
int caviar_cuda_devices(char *buf, size_t size);

/* n blocks of caviar_rng(seed, stream, purpose, first_index + i) computed on the device (where it
 * is cuRAND's Philox), 4 words per block, for the host/device agreement test. */
caviar_status caviar_cuda_rng_blocks(uint64_t seed, uint32_t stream, uint32_t purpose, uint64_t first_index,
                                     size_t n, uint32_t *out, caviar_error *err);

/* The cuBLAS this process loaded: library and version (cublasGetProperty; no device needed). */
void caviar_cuda_blas(caviar_blas_info *out);

/* The current device's free and total memory in bytes (cudaMemGetInfo). */
caviar_status caviar_cuda_memory(size_t *free_bytes, size_t *total_bytes, caviar_error *err);

/* The device's ceilings, measured now: device-to-device copy bandwidth in GB/s (bytes read plus
 * bytes written, 1 GiB buffers, best of 5) and cuBLAS SGEMM at 8192^3 in GFLOP/s (fp32, or TF32
 * tensor cores when tf32 is set; best of 3). */
caviar_status caviar_cuda_ceilings(bool tf32, double *copy_gbs, double *sgemm_gflops, caviar_error *err);

#ifdef __cplusplus
}
#endif

CAVIAR_C_END

#endif
