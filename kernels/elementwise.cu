// The elementwise layer kinds on the GPU, activation and dropout (model.h), fused into the layers
// around them: forward a layer's bias (a dense or convolution's), then the activation and inverted
// dropout, in one pass over its output; backward the dropout's mask and the activation's derivative
// in one pass over the gradient at the layer's input; and bias gradients. Blocks are
// rows x units (rows = batch x pixels). The scalar math is model_math.h's, the same the CPU
// backend runs.
#include "cuda_backend.cuh"
#include "cuda_check.h"

// Each thread handles four consecutive units of one member's batch x units block: one Philox block
// decides their dropout masks, as on the CPU.
// z (+ bias), then the activation (in place), then inverted dropout into out (a copy where a member
// does not drop). Each thread handles four consecutive units of one member's rows x units block:
// one Philox block decides their dropout masks, as on the CPU.
__global__ void chain_forward_kernel(float *z, float *out, const float *bias, size_t bias_stride, int rows, int units,
                                     bool act, bool drop, int mask_stream, uint64_t seed, member_vectors mv, int m0) {
  int m = m0 + (int)blockIdx.y;
  size_t block = (size_t)rows * units;
  size_t k0 = 4 * ((size_t)blockIdx.x * blockDim.x + threadIdx.x);
  if (k0 >= block) return;
  const float *b = bias ? bias + (size_t)m * bias_stride : nullptr;
  float *zm = z + (size_t)m * block;
  float *om = out ? out + (size_t)m * block : nullptr;
  caviar_member_hp hp = mv.hp[m];
  bool dropping = drop && hp.dropout > 0.0f;
  caviar_rng_block mask = {};
  if (dropping) mask = caviar_dropout_block(seed, mv.trial[m], (uint32_t)mv.steps[m], mask_stream, (uint32_t)k0);
  for (size_t k = k0; k < k0 + 4 && k < block; k++) {
    float a = b ? zm[k] + b[k / rows] : zm[k];
    if (act) a = caviar_activate(hp.activation, a);
    zm[k] = a;
    if (om) om[k] = dropping ? caviar_dropout_apply(mask, (uint32_t)k, hp.dropout, a) : a;
  }
}

caviar_status cuda_chain_forward(const cuda_pass &p, float *z, const float *bias, size_t bias_stride, int rows,
                                 int units, caviar_error *err) {
  bool drop = p.has_chain && p.chain.drop && p.train;
  bool act = p.has_chain && p.chain.act;
  float *out = p.has_chain && p.chain.out != z ? p.chain.out : nullptr;
  if (!bias && !act && !out) return CAVIAR_OK;
  member_vectors mv = vectors_at(p.cc->mv, p.sp.m0);
  size_t quads = ((size_t)rows * units + 3) / 4;
  for (int m0 = 0; m0 < p.sp.n; m0 += CAVIAR_CUDA_GRID_Y) {
    dim3 grid((unsigned)((quads + 255) / 256), (unsigned)member_chunk(p.sp.n, m0));
    chain_forward_kernel<<<grid, 256, 0, p.ctx->stream>>>(z, out, bias, bias_stride, rows, units, act, drop,
                                                          p.chain.mask, p.c->seed, mv, m0);
    CAVIAR_LAUNCH_CHECK(err, "chain_forward");
  }
  return CAVIAR_OK;
}

// In place: d becomes d * mask / (1 - p) (the forward step's mask) * act'(saved).
__global__ void chain_backward_kernel(float *d, const float *saved, int rows, int units, bool act, bool drop,
                                      int mask_stream, uint64_t seed, member_vectors mv, int m0) {
  int m = m0 + (int)blockIdx.y;
  size_t block = (size_t)rows * units;
  size_t k0 = 4 * ((size_t)blockIdx.x * blockDim.x + threadIdx.x);
  if (k0 >= block) return;
  float *dm = d + (size_t)m * block;
  const float *am = saved ? saved + (size_t)m * block : nullptr;
  caviar_member_hp hp = mv.hp[m];
  bool dropping = drop && hp.dropout > 0.0f;
  caviar_rng_block mask = {};
  if (dropping) mask = caviar_dropout_block(seed, mv.trial[m], (uint32_t)mv.steps[m], mask_stream, (uint32_t)k0);
  for (size_t k = k0; k < k0 + 4 && k < block; k++) {
    float g = dropping ? caviar_dropout_apply(mask, (uint32_t)k, hp.dropout, dm[k]) : dm[k];
    dm[k] = act ? g * caviar_activation_grad(hp.activation, am[k]) : g;
  }
}

caviar_status cuda_chain_backward(const cuda_pass &p, float *d, int rows, int units, caviar_error *err) {
  if (!p.has_chain || (!p.chain.act && !p.chain.drop)) return CAVIAR_OK;
  member_vectors mv = vectors_at(p.cc->mv, p.sp.m0);
  size_t quads = ((size_t)rows * units + 3) / 4;
  for (int m0 = 0; m0 < p.sp.n; m0 += CAVIAR_CUDA_GRID_Y) {
    dim3 grid((unsigned)((quads + 255) / 256), (unsigned)member_chunk(p.sp.n, m0));
    chain_backward_kernel<<<grid, 256, 0, p.ctx->stream>>>(d, p.chain.saved, rows, units, p.chain.act, p.chain.drop,
                                                           p.chain.mask, p.c->seed, mv, m0);
    CAVIAR_LAUNCH_CHECK(err, "chain_backward");
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
