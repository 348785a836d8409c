#ifndef CAVIAR_CUDA_DEVICE_H
#define CAVIAR_CUDA_DEVICE_H
/* Host-callable entry points of the CUDA side (kernels/*.cu), declared with C linkage. Only present
 * in builds with CAVIAR_HAVE_CUDA. */

#include <stddef.h>
#include <stdint.h>

#include "caviar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of CUDA devices visible (0 when none or no driver), with a one-line description of each
 * (or of why there are none) in buf. */
int caviar_cuda_devices(char *buf, size_t size);

/* n Philox4x32-10 blocks for indices first_index .. first_index + n - 1 of (seed, stream, purpose),
 * computed on the device twice: with cuRAND's curand_Philox4x32_10 into by_curand and with
 * caviar_rng (Random123) into by_caviar, 4 words per block. Tests compare both with the host. */
caviar_status caviar_cuda_rng_blocks(uint64_t seed, uint32_t stream, uint32_t purpose, uint64_t first_index,
                                     size_t n, uint32_t *by_curand, uint32_t *by_caviar, caviar_error *err);

#ifdef __cplusplus
}
#endif

#endif
