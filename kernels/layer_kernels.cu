// The elementwise layers around the GEMMs: bias + activation (+ inverted dropout) forward, the
// activation (+ dropout) backward, and bias gradients. The scalar math is model_math.h's, the
// same the CPU backend runs.
#include "cuda_check.h"
#include "kernels.cuh"

// Each thread handles four consecutive units of one member's batch x units block: one Philox block
// decides their dropout masks, as on the CPU.
__global__ void bias_activation_kernel(float *z, float *out, const float *params, size_t bias_offset,
                                       size_t bias_stride, int batch, int units, bool hidden, bool train, int layer,
                                       uint64_t seed, member_vectors mv, int m0) {
  int m = m0 + (int)blockIdx.y;
  size_t block = (size_t)batch * units;
  size_t k0 = 4 * ((size_t)blockIdx.x * blockDim.x + threadIdx.x);
  if (k0 >= block) return;
  const float *bias = params + bias_offset + (size_t)m * bias_stride;
  float *zm = z + (size_t)m * block;
  float *om = out ? out + (size_t)m * block : nullptr;
  caviar_member_hp hp = mv.hp[m];
  bool drop = train && hidden && hp.dropout > 0.0f;
  caviar_rng_block mask = {};
  if (drop) mask = caviar_dropout_block(seed, mv.trial[m], (uint32_t)mv.steps[m], layer, (uint32_t)k0);
  float keep_scale = drop ? 1.0f / (1.0f - hp.dropout) : 1.0f;
  for (size_t k = k0; k < k0 + 4 && k < block; k++) {
    float a = zm[k] + bias[k / batch];
    if (hidden) a = caviar_activate(hp.activation, a);
    zm[k] = a;
    if (om) om[k] = drop ? (caviar_dropout_kept(mask, (uint32_t)k, hp.dropout) ? a * keep_scale : 0.0f) : a;
  }
}

caviar_status launch_bias_activation(cudaStream_t s, float *z, float *out, const float *params, size_t bias_offset,
                                     size_t bias_stride, int batch, int units, int members, bool hidden, bool train,
                                     int layer, uint64_t seed, member_vectors mv, caviar_error *err) {
  size_t quads = ((size_t)batch * units + 3) / 4;
  for (int m0 = 0; m0 < members; m0 += CAVIAR_CUDA_GRID_Y) {
    dim3 grid((unsigned)((quads + 255) / 256), (unsigned)member_chunk(members, m0));
    bias_activation_kernel<<<grid, 256, 0, s>>>(z, out, params, bias_offset, bias_stride, batch, units, hidden, train,
                                                layer, seed, mv, m0);
    CAVIAR_LAUNCH_CHECK(err, "bias_activation");
  }
  return CAVIAR_OK;
}

__global__ void activation_backward_kernel(float *da, const float *act, int batch, int units, int layer,
                                           uint64_t seed, member_vectors mv, int m0) {
  int m = m0 + (int)blockIdx.y;
  size_t block = (size_t)batch * units;
  size_t k0 = 4 * ((size_t)blockIdx.x * blockDim.x + threadIdx.x);
  if (k0 >= block) return;
  float *dm = da + (size_t)m * block;
  const float *am = act + (size_t)m * block;
  caviar_member_hp hp = mv.hp[m];
  bool drop = hp.dropout > 0.0f;
  caviar_rng_block mask = {};
  if (drop) mask = caviar_dropout_block(seed, mv.trial[m], (uint32_t)mv.steps[m], layer, (uint32_t)k0);
  float keep_scale = drop ? 1.0f / (1.0f - hp.dropout) : 1.0f;
  for (size_t k = k0; k < k0 + 4 && k < block; k++) {
    float g = drop ? (caviar_dropout_kept(mask, (uint32_t)k, hp.dropout) ? dm[k] * keep_scale : 0.0f) : dm[k];
    dm[k] = g * caviar_activation_grad(hp.activation, am[k]);
  }
}

caviar_status launch_activation_backward(cudaStream_t s, float *da, const float *act, int batch, int units,
                                         int members, int layer, uint64_t seed, member_vectors mv, caviar_error *err) {
  size_t quads = ((size_t)batch * units + 3) / 4;
  for (int m0 = 0; m0 < members; m0 += CAVIAR_CUDA_GRID_Y) {
    dim3 grid((unsigned)((quads + 255) / 256), (unsigned)member_chunk(members, m0));
    activation_backward_kernel<<<grid, 256, 0, s>>>(da, act, batch, units, layer, seed, mv, m0);
    CAVIAR_LAUNCH_CHECK(err, "activation_backward");
  }
  return CAVIAR_OK;
}

// One block per (unit, member): a tree reduction over the batch.
__global__ void bias_grad_kernel(const float *dz, float *grads, size_t bias_offset, size_t bias_stride, int batch,
                                 int units, int m0) {
  __shared__ float partial[128];
  int j = blockIdx.x, m = m0 + (int)blockIdx.y;
  const float *col = dz + (size_t)m * batch * units + (size_t)j * batch;
  float sum = 0.0f;
  for (int i = threadIdx.x; i < batch; i += blockDim.x) sum += col[i];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int width = blockDim.x / 2; width > 0; width /= 2) {
    if ((int)threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) grads[bias_offset + (size_t)m * bias_stride + j] = partial[0];
}

caviar_status launch_bias_grad(cudaStream_t s, const float *dz, float *grads, size_t bias_offset, size_t bias_stride,
                               int batch, int units, int members, caviar_error *err) {
  for (int m0 = 0; m0 < members; m0 += CAVIAR_CUDA_GRID_Y) {
    bias_grad_kernel<<<dim3((unsigned)units, (unsigned)member_chunk(members, m0)), 128, 0, s>>>(
        dz, grads, bias_offset, bias_stride, batch, units, m0);
    CAVIAR_LAUNCH_CHECK(err, "bias_grad");
  }
  return CAVIAR_OK;
}
