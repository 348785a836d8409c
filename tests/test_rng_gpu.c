/* The device's counter RNG (cuRAND's curand_Philox4x32_10) against the host's (Random123), bit for
 * bit. Skips, saying why, in builds without CUDA or on machines without a GPU. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "caviar/counter_rng.h"
#ifdef CAVIAR_HAVE_CUDA
#include "caviar/cuda_device.h"
#endif

Test(rng_gpu, device_philox_matches_host_bit_for_bit) {
#ifndef CAVIAR_HAVE_CUDA
  cr_skip_test("CUDA backend not built (CAVIAR_CUDA=OFF or no nvcc)");
#else
  char devices[1024];
  if (caviar_cuda_devices(devices, sizeof devices) == 0) cr_skip_test("%s", devices);
  const size_t n = 1 << 16;
  uint32_t *device = malloc(n * 16);
  caviar_error err;
  /* Indices straddle 2^32 so both counter words are exercised. */
  const uint64_t seed = 0x9e3779b97f4a7c15ULL, first = (1ULL << 32) - 1000;
  cr_assert_eq(caviar_cuda_rng_blocks(seed, 17, CAVIAR_RNG_INIT, first, n, device, &err), CAVIAR_OK, "%s", err.msg);
  for (size_t i = 0; i < n; i++) {
    caviar_rng_block host = caviar_rng(seed, 17, CAVIAR_RNG_INIT, first + i);
    for (int w = 0; w < 4; w++) cr_assert_eq(device[4 * i + w], host.v[w], "block %zu word %d", i, w);
  }
  free(device);
#endif
}
