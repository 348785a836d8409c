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
  // An activation whose derivative needs its input keeps z in the activation buffer (z) and its
  // output in the next layer's input (out), which the cohort then always has.
  bool keeps_input = hidden && caviar_activation_keeps_input(hp.activation);
  for (size_t k = k0; k < k0 + 4 && k < block; k++) {
    float z = zm[k] + bias[k / batch];
    float a = hidden ? caviar_activate(hp.activation, z) : z;
    zm[k] = keeps_input ? z : a;
    if (om) om[k] = drop ? caviar_dropout_apply(mask, (uint32_t)k, hp.dropout, a) : a;
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
  for (size_t k = k0; k < k0 + 4 && k < block; k++) {
    float g = drop ? caviar_dropout_apply(mask, (uint32_t)k, hp.dropout, dm[k]) : dm[k];
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

// One warp per (unit, member): the unit's column of the member's batch x units block is contiguous,
// read by the 32 lanes together and summed with shuffles. Eight units per 256-thread block.
__global__ void bias_grad_kernel(const float *dz, float *grads, size_t bias_offset, size_t bias_stride, int batch,
                                 int units, unsigned long long columns) {
  unsigned long long warp = ((unsigned long long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
  int lane = (int)(threadIdx.x % 32);
  if (warp >= columns) return;
  unsigned long long m = warp / (unsigned)units;
  int j = (int)(warp % (unsigned)units);
  const float *col = dz + warp * (size_t)batch;  // member m's column j: (m * units + j) * batch
  float sum = 0.0f;
  for (int i = lane; i < batch; i += 32) sum += col[i];
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
  if (lane == 0) grads[bias_offset + m * bias_stride + j] = sum;
}

caviar_status launch_bias_grad(cudaStream_t s, const float *dz, float *grads, size_t bias_offset, size_t bias_stride,
                               int batch, int units, int members, caviar_error *err) {
  unsigned long long columns = (unsigned long long)units * (unsigned)members;
  unsigned long long blocks = (columns + 7) / 8;
  bias_grad_kernel<<<(unsigned)blocks, 256, 0, s>>>(dz, grads, bias_offset, bias_stride, batch, units, columns);
  CAVIAR_LAUNCH_CHECK(err, "bias_grad");
  return CAVIAR_OK;
}
