// The optimizer: per-step scalars for every member, then one fused, float4-vectorised pass over the
// live part of the whole arena. Each float4 lies inside one member's block of one tensor (blocks
// are 16-float aligned), so it takes that member's hyperparameters; the Adam step moves 28 bytes
// per parameter, and this pass is where the step's memory floor is.
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

// Where the live elements of each tensor start, counted in float4s: tensor t's live part is
// members * stride[t] floats at layout.offset[t].
struct live_table {
  int n_tensors;
  unsigned long long live_start[CAVIAR_MAX_TENSORS + 1];
  unsigned long long offset[CAVIAR_MAX_TENSORS];
  unsigned long long stride[CAVIAR_MAX_TENSORS];
};

__device__ __forceinline__ void step4(const caviar_member_hp &hp, const caviar_step_scalars &s, float l2, float *w,
                                      float g, float *m, float *v) {
  switch (hp.optimizer) {
    case CAVIAR_OPT_SGD: caviar_sgd_step(&hp, &s, l2, w, g); break;
    case CAVIAR_OPT_MOMENTUM: caviar_momentum_step(&hp, &s, l2, w, g, m); break;
    case CAVIAR_OPT_RMSPROP: caviar_rmsprop_step(&hp, &s, l2, w, g, v); break;
    default: caviar_adam_step(&hp, &s, l2, w, g, m, v);
  }
}

__global__ void update_kernel(live_table table, float4 *params, const float4 *grads, float4 *first, float4 *second,
                              member_vectors mv) {
  unsigned long long total = table.live_start[table.n_tensors];
  for (unsigned long long q = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; q < total;
       q += (unsigned long long)gridDim.x * blockDim.x) {
    int t = 0;
    while (q >= table.live_start[t + 1]) t++;
    unsigned long long local = 4 * (q - table.live_start[t]);
    int m = (int)(local / table.stride[t]);
    if (mv.diverged[m]) continue;
    unsigned long long at = (table.offset[t] + local) / 4;
    caviar_member_hp hp = mv.hp[m];
    caviar_step_scalars s = mv.scalars[m];
    float l2 = t % 2 == 0 ? hp.l2 : 0.0f;
    float4 w = params[at], g = grads[at], a = first[at], b = second[at];
    step4(hp, s, l2, &w.x, g.x, &a.x, &b.x);
    step4(hp, s, l2, &w.y, g.y, &a.y, &b.y);
    step4(hp, s, l2, &w.z, g.z, &a.z, &b.z);
    step4(hp, s, l2, &w.w, g.w, &a.w, &b.w);
    params[at] = w;
    // Store only the state the optimizer keeps: the bandwidth is the cost of this pass.
    if (hp.optimizer == CAVIAR_OPT_MOMENTUM || hp.optimizer == CAVIAR_OPT_ADAM) first[at] = a;
    if (hp.optimizer == CAVIAR_OPT_RMSPROP || hp.optimizer == CAVIAR_OPT_ADAM) second[at] = b;
  }
}

caviar_status launch_update(cudaStream_t s, const caviar_layout &layout, int members, float *params,
                            const float *grads, float *first, float *second, member_vectors mv, unsigned max_blocks,
                            caviar_error *err) {
  live_table table = {};
  table.n_tensors = layout.n_tensors;
  for (int t = 0; t < layout.n_tensors; t++) {
    table.offset[t] = layout.offset[t];
    table.stride[t] = layout.stride[t];
    table.live_start[t + 1] = table.live_start[t] + (unsigned long long)members * layout.stride[t] / 4;
  }
  unsigned long long total = table.live_start[layout.n_tensors];
  if (total == 0) return CAVIAR_OK;
  unsigned long long wanted = (total + 255) / 256;
  unsigned blocks = (unsigned)(wanted < max_blocks ? wanted : max_blocks);
  update_kernel<<<blocks, 256, 0, s>>>(table, (float4 *)params, (const float4 *)grads, (float4 *)first,
                                       (float4 *)second, mv);
  CAVIAR_LAUNCH_CHECK(err, "update");
  return CAVIAR_OK;
}

__global__ void init_kernel(caviar_layout layout, int first, int count, uint64_t seed, float *params, float *grads,
                            float *m1, float *m2, member_vectors mv) {
  int m = first + (int)blockIdx.y;
  for (int t = 0; t < layout.n_tensors; t++) {
    size_t base = layout.offset[t] + (size_t)m * layout.stride[t];
    for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < layout.stride[t];
         k += (size_t)gridDim.x * blockDim.x) {
      bool weight = t % 2 == 0 && k < layout.size[t];
      params[base + k] =
          weight ? caviar_init_weight(seed, mv.trial[m], (uint32_t)t, k, layout.rows[t], mv.hp[m].activation) : 0.0f;
      grads[base + k] = m1[base + k] = m2[base + k] = 0.0f;
    }
  }
}

caviar_status launch_init(cudaStream_t s, const caviar_layout &layout, int first, int count, uint64_t seed,
                          float *params, float *grads, float *first_moment, float *second_moment, member_vectors mv,
                          caviar_error *err) {
  if (count == 0) return CAVIAR_OK;
  for (int m0 = 0; m0 < count; m0 += CAVIAR_CUDA_GRID_Y) {
    init_kernel<<<dim3(64, (unsigned)member_chunk(count, m0)), 256, 0, s>>>(layout, first + m0, count, seed, params,
                                                                            grads, first_moment, second_moment, mv);
    CAVIAR_LAUNCH_CHECK(err, "init");
  }
  return CAVIAR_OK;
}
