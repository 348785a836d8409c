// The optimizer: per-step scalars for every member, then a float4-vectorised pass over each tensor
// of the members' arenas with model_math.h's update (the CPU's function). Each float4 lies inside
// one member's block of one tensor (blocks are 16-float aligned), so it takes that member's
// hyperparameters; the Adam step moves 28 bytes per parameter, and this pass is where the step's
// memory floor is.
#include "cuda_check.h"
#include "kernels.cuh"

__global__ void step_begin_kernel(member_vectors mv, int members) {
  int m = blockIdx.x * blockDim.x + threadIdx.x;
  if (m >= members || mv.diverged[m]) return;
  int t = ++mv.steps[m];
  mv.scalars[m] = caviar_step_scalars_at(&mv.hp[m], mv.epochs[m], t);
}

caviar_status launch_step_begin(cudaStream_t s, member_vectors mv, int members, caviar_error *err) {
  step_begin_kernel<<<(unsigned)((members + 127) / 128), 128, 0, s>>>(mv, members);
  CAVIAR_LAUNCH_CHECK(err, "step_begin");
  return CAVIAR_OK;
}

__global__ void step_end_kernel(int *step_index) { ++*step_index; }

caviar_status launch_step_end(cudaStream_t s, int *step_index, caviar_error *err) {
  step_end_kernel<<<1, 1, 0, s>>>(step_index);
  CAVIAR_LAUNCH_CHECK(err, "step_end");
  return CAVIAR_OK;
}

__device__ __forceinline__ void step4(const caviar_member_hp &hp, const caviar_step_scalars &s, float l2, float4 &w,
                                      float4 g, float4 &m, float4 &v) {
  caviar_update_param(&hp, &s, l2, &w.x, g.x, &m.x, &v.x);
  caviar_update_param(&hp, &s, l2, &w.y, g.y, &m.y, &v.y);
  caviar_update_param(&hp, &s, l2, &w.z, g.z, &m.z, &v.z);
  caviar_update_param(&hp, &s, l2, &w.w, g.w, &m.w, &v.w);
}

// One tensor of the members of a span: blockIdx.y is the member (so its hyperparameters and step
// scalars are loaded once, into registers, and every branch on them is uniform across the block),
// the x dimension walks the member's block of the tensor in float4s. Only the state the member's
// optimizer keeps is read and written: SGD moves 12 bytes per parameter, momentum and RMSprop 20,
// Adam 28.
__global__ void update_kernel(float4 *params, const float4 *grads, float4 *first, float4 *second, unsigned quads,
                              unsigned live, bool weight, member_vectors mv, int m0) {
  int m = m0 + (int)blockIdx.y;
  if (mv.diverged[m]) return;
  const caviar_member_hp hp = mv.hp[m];
  const caviar_step_scalars sc = mv.scalars[m];
  const float l2 = weight ? hp.l2 : 0.0f;
  const bool keeps_first = hp.optimizer == CAVIAR_OPT_MOMENTUM || hp.optimizer == CAVIAR_OPT_ADAM;
  const bool keeps_second = hp.optimizer == CAVIAR_OPT_RMSPROP || hp.optimizer == CAVIAR_OPT_ADAM;
  size_t base = (size_t)m * quads;
  for (unsigned q = blockIdx.x * blockDim.x + threadIdx.x; q < live; q += gridDim.x * blockDim.x) {
    size_t at = base + q;
    float4 w = params[at], g = grads[at];
    float4 a = keeps_first ? first[at] : make_float4(0, 0, 0, 0);
    float4 b = keeps_second ? second[at] : make_float4(0, 0, 0, 0);
    step4(hp, sc, l2, w, g, a, b);
    params[at] = w;
    if (keeps_first) first[at] = a;
    if (keeps_second) second[at] = b;
  }
}

caviar_status launch_update(cudaStream_t s, const caviar_layout &layout, int m0, int members, float *params,
                            const float *grads, float *first, float *second, member_vectors mv, int sms,
                            caviar_error *err) {
  if (members <= 0) return CAVIAR_OK;
  for (int t = 0; t < layout.n_tensors; t++) {
    if (!caviar_role_trained(layout.role[t])) continue; // running statistics: the forward pass keeps them
    // Blocks are 16-float aligned: a member's block of tensor t is stride/4 float4s, of which
    // ceil(size/4) hold parameters (the rest is padding, zero and never read).
    unsigned quads = (unsigned)(layout.stride[t] / 4), live = (unsigned)((layout.size[t] + 3) / 4);
    size_t at = (layout.offset[t] + (size_t)m0 * layout.stride[t]) / 4;
    unsigned threads = live >= 256 ? 256 : (live + 31) / 32 * 32;
    // Enough blocks for 16 per SM over all members, each thread walking several float4s.
    unsigned long long want = (16ull * (unsigned)sms + (unsigned)members - 1) / (unsigned)members;
    unsigned long long tiles = (live + threads - 1) / threads;
    unsigned gx = (unsigned)(want < tiles ? (want > 0 ? want : 1) : tiles);
    for (int c0 = 0; c0 < members; c0 += CAVIAR_CUDA_GRID_Y) {
      dim3 grid(gx, (unsigned)member_chunk(members, c0));
      update_kernel<<<grid, threads, 0, s>>>((float4 *)params + at, (const float4 *)grads + at, (float4 *)first + at,
                                             (float4 *)second + at, quads, live, caviar_role_decayed(layout.role[t]), mv, c0);
      CAVIAR_LAUNCH_CHECK(err, "update");
    }
  }
  return CAVIAR_OK;
}

__global__ void init_kernel(caviar_layout layout, int from, uint64_t seed, float *params, float *grads, float *first,
                            float *second, member_vectors mv) {
  int m = from + (int)blockIdx.y;
  for (int t = 0; t < layout.n_tensors; t++) {
    size_t base = layout.offset[t] + (size_t)m * layout.stride[t];
    for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < layout.stride[t];
         k += (size_t)gridDim.x * blockDim.x) {
      params[base + k] = k < layout.size[t] ? caviar_init_param(layout.role[t], seed, mv.trial[m], (uint32_t)t, k,
                                                                layout.fan_in[t], mv.hp[m].activation)
                                            : 0.0f;
      grads[base + k] = first[base + k] = second[base + k] = 0.0f;
    }
  }
}

caviar_status launch_init(cudaStream_t s, const caviar_layout &layout, int from, int count, uint64_t seed,
                          float *params, float *grads, float *first, float *second, member_vectors mv,
                          caviar_error *err) {
  if (count == 0) return CAVIAR_OK;
  for (int m0 = 0; m0 < count; m0 += CAVIAR_CUDA_GRID_Y) {
    init_kernel<<<dim3(64, (unsigned)member_chunk(count, m0)), 256, 0, s>>>(layout, from + m0, seed, params, grads,
                                                                            first, second, mv);
    CAVIAR_LAUNCH_CHECK(err, "init");
  }
  return CAVIAR_OK;
}
