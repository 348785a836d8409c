// Device-side counter RNG blocks, to check that the host's Random123 Philox and the device's
// cuRAND Philox agree bit for bit: initial weights drawn on either side must be identical.
#include "caviar/counter_rng.h"
#include "caviar/cuda_device.h"
#include "cuda_check.h"

__global__ void rng_blocks_kernel(uint64_t seed, uint32_t stream, uint32_t purpose, uint64_t first, size_t n,
                                  uint4 *out) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  caviar_rng_block b = caviar_rng(seed, stream, purpose, first + i);
  out[i] = make_uint4(b.v[0], b.v[1], b.v[2], b.v[3]);
}

extern "C" caviar_status caviar_cuda_rng_blocks(uint64_t seed, uint32_t stream, uint32_t purpose,
                                                uint64_t first_index, size_t n, uint32_t *out, caviar_error *err) {
  uint4 *d_out = nullptr;
  size_t bytes = n * sizeof(uint4);
  CAVIAR_CUDA_TRY(err, cudaMalloc(&d_out, bytes));
  rng_blocks_kernel<<<(unsigned)((n + 255) / 256), 256>>>(seed, stream, purpose, first_index, n, d_out);
  cudaError_t rc = cudaGetLastError();
  if (rc == cudaSuccess) rc = cudaMemcpy(out, d_out, bytes, cudaMemcpyDeviceToHost);
  cudaFree(d_out);
  if (rc != cudaSuccess)
    return CAVIAR_CUDA_FAIL(err, rc, "counter RNG kernel");
  return CAVIAR_OK;
}
