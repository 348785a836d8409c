// Device-side Philox blocks, to check that the host's counter RNG (Random123) and cuRAND's Philox
// agree bit for bit: initial weights drawn on either side must be identical.
#include <curand_kernel.h>

#include "caviar/counter_rng.h"
#include "caviar/cuda_device.h"
#include "cuda_check.h"

__global__ void rng_blocks_kernel(uint64_t seed, uint32_t stream, uint32_t purpose, uint64_t first, size_t n,
                                  uint4 *by_curand, uint4 *by_caviar) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint64_t index = first + i;
  uint4 ctr = make_uint4((uint32_t)index, (uint32_t)(index >> 32), stream, purpose);
  uint2 key = make_uint2((uint32_t)seed, (uint32_t)(seed >> 32));
  by_curand[i] = curand_Philox4x32_10(ctr, key);
  caviar_rng_block b = caviar_rng(seed, stream, purpose, index);
  by_caviar[i] = make_uint4(b.v[0], b.v[1], b.v[2], b.v[3]);
}

extern "C" caviar_status caviar_cuda_rng_blocks(uint64_t seed, uint32_t stream, uint32_t purpose,
                                                uint64_t first_index, size_t n, uint32_t *by_curand,
                                                uint32_t *by_caviar, caviar_error *err) {
  uint4 *d_curand = nullptr, *d_caviar = nullptr;
  size_t bytes = n * sizeof(uint4);
  CAVIAR_CUDA_TRY(err, cudaMalloc(&d_curand, bytes));
  cudaError_t rc = cudaMalloc(&d_caviar, bytes);
  if (rc == cudaSuccess) {
    unsigned blocks = (unsigned)((n + 255) / 256);
    rng_blocks_kernel<<<blocks, 256>>>(seed, stream, purpose, first_index, n, d_curand, d_caviar);
    rc = cudaGetLastError();
  }
  if (rc == cudaSuccess) rc = cudaMemcpy(by_curand, d_curand, bytes, cudaMemcpyDeviceToHost);
  if (rc == cudaSuccess) rc = cudaMemcpy(by_caviar, d_caviar, bytes, cudaMemcpyDeviceToHost);
  cudaFree(d_curand);
  cudaFree(d_caviar);
  if (rc != cudaSuccess)
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s:%d: philox check kernel: %s", __FILE__, __LINE__,
                       cudaGetErrorString(rc));
  return CAVIAR_OK;
}
