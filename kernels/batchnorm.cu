// Batch normalisation on the GPU: one block per member and channel (a channel's values over the
// minibatch and its pixels are contiguous). Training: the batch's mean and biased variance summed
// in double, x-hat, scale and shift; the member's running statistics moved by its own momentum
// (PyTorch's rule, the variance unbiased) and its step counted, unless the step is frozen or the
// member has diverged. Inference: the running statistics. Backward: the scale's and shift's
// gradients and the input gradient from the saved mean and 1/std.
#include "cuda_backend.cuh"
#include "cuda_check.h"

namespace {

enum { BN_THREADS = 256 };

// Where a cohort's batch norm tensors are: scale, shift, running mean, running variance, count.
struct bn_tensors {
  float *at[5];
  size_t stride[5];
};

__device__ double block_sum(double v, double *shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int width = blockDim.x / 2; width > 0; width /= 2) {
    if ((int)threadIdx.x < width) shared[threadIdx.x] += shared[threadIdx.x + width];
    __syncthreads();
  }
  double total = shared[0];
  __syncthreads();
  return total;
}

__global__ void bn_forward_kernel(const float *x, float *y, bn_tensors t, float *stats, int n, int channels, bool train,
                                  bool update, member_vectors mv, int m0) {
  __shared__ double part[BN_THREADS];
  int m = m0 + (int)blockIdx.y, c = (int)blockIdx.x;
  size_t base = ((size_t)m * channels + c) * (size_t)n;
  const float *xm = x + base;
  float *ym = y + base;
  float mean, inv_std;
  if (train) {
    double sum = 0;
    for (int k = threadIdx.x; k < n; k += blockDim.x) sum += xm[k];
    double mu = block_sum(sum, part) / n;
    double sq = 0;
    for (int k = threadIdx.x; k < n; k += blockDim.x) sq += ((double)xm[k] - mu) * ((double)xm[k] - mu);
    sq = block_sum(sq, part);
    double var = sq / n;
    mean = (float)mu;
    inv_std = 1.0f / sqrtf((float)var + CAVIAR_BN_EPS);
    if (threadIdx.x == 0) {
      stats[2 * ((size_t)m * channels + c)] = mean;
      stats[2 * ((size_t)m * channels + c) + 1] = inv_std;
      if (update && !mv.diverged[m]) {
        float momentum = mv.hp[m].bn_momentum;
        double unbiased = n > 1 ? sq / (n - 1) : var;
        float *rm = t.at[2] + (size_t)m * t.stride[2], *rv = t.at[3] + (size_t)m * t.stride[3];
        rm[c] = (1.0f - momentum) * rm[c] + momentum * mean;
        rv[c] = (1.0f - momentum) * rv[c] + momentum * (float)unbiased;
        if (c == 0) t.at[4][(size_t)m * t.stride[4]] += 1.0f;
      }
    }
  } else {
    mean = t.at[2][(size_t)m * t.stride[2] + c];
    inv_std = 1.0f / sqrtf(t.at[3][(size_t)m * t.stride[3] + c] + CAVIAR_BN_EPS);
  }
  float scale = t.at[0][(size_t)m * t.stride[0] + c] * inv_std, shift = t.at[1][(size_t)m * t.stride[1] + c];
  for (int k = threadIdx.x; k < n; k += blockDim.x) ym[k] = (xm[k] - mean) * scale + shift;
}

__global__ void bn_backward_kernel(const float *x, const float *dy, float *dx, bn_tensors t, float *grads_scale,
                                   float *grads_shift, const float *stats, int n, int channels, int m0) {
  __shared__ double part[BN_THREADS];
  int m = m0 + (int)blockIdx.y, c = (int)blockIdx.x;
  size_t base = ((size_t)m * channels + c) * (size_t)n;
  const float *xm = x + base, *dym = dy + base;
  float mean = stats[2 * ((size_t)m * channels + c)], inv_std = stats[2 * ((size_t)m * channels + c) + 1];
  double s_dy = 0, s_dy_xhat = 0;
  for (int k = threadIdx.x; k < n; k += blockDim.x) {
    float xhat = (xm[k] - mean) * inv_std;
    s_dy += dym[k];
    s_dy_xhat += (double)dym[k] * xhat;
  }
  s_dy = block_sum(s_dy, part);
  s_dy_xhat = block_sum(s_dy_xhat, part);
  if (threadIdx.x == 0) {
    grads_scale[(size_t)m * t.stride[0] + c] = (float)s_dy_xhat;
    grads_shift[(size_t)m * t.stride[1] + c] = (float)s_dy;
  }
  if (!dx) return;
  float a = t.at[0][(size_t)m * t.stride[0] + c] * inv_std, mean_dy = (float)(s_dy / n),
        mean_dy_xhat = (float)(s_dy_xhat / n);
  for (int k = threadIdx.x; k < n; k += blockDim.x) {
    float xhat = (xm[k] - mean) * inv_std;
    dx[base + k] = a * (dym[k] - mean_dy - xhat * mean_dy_xhat);
  }
}

bn_tensors tensors_of(const cuda_pass &p, float *arena) {
  const caviar_layout &lay = p.c->layout;
  bn_tensors t;
  for (int k = 0; k < 5; k++) {
    int tensor = p.layer->tensor + k;
    t.at[k] = arena + lay.offset[tensor] + (size_t)p.sp.m0 * lay.stride[tensor];
    t.stride[k] = lay.stride[tensor];
  }
  return t;
}

}  // namespace

caviar_status cuda_batchnorm_forward(const cuda_pass &p, caviar_error *err) {
  const caviar_layer *l = p.layer;
  int n = p.c->shape.batch * (int)caviar_dims_pixels(l->out), channels = l->out.c;
  bn_tensors t = tensors_of(p, p.cc->params);
  member_vectors mv = vectors_at(p.cc->mv, p.sp.m0);
  float *stats = p.cc->stats[p.index] + 2 * (size_t)p.sp.m0 * channels;
  for (int m0 = 0; m0 < p.sp.n; m0 += CAVIAR_CUDA_GRID_Y) {
    dim3 grid((unsigned)channels, (unsigned)member_chunk(p.sp.n, m0));
    bn_forward_kernel<<<grid, BN_THREADS, 0, p.ctx->stream>>>(p.x, p.y, t, stats, n, channels, p.train,
                                                              p.train && !p.frozen, mv, m0);
    CAVIAR_LAUNCH_CHECK(err, "batchnorm_forward");
  }
  return cuda_chain_forward(p, p.y, nullptr, 0, n, channels, err);
}

caviar_status cuda_batchnorm_backward(const cuda_pass &p, caviar_error *err) {
  const caviar_layer *l = p.layer;
  int n = p.c->shape.batch * (int)caviar_dims_pixels(l->out), channels = l->out.c;
  bn_tensors t = tensors_of(p, p.cc->params);
  bn_tensors g = tensors_of(p, p.cc->grads);
  const float *stats = p.cc->stats[p.index] + 2 * (size_t)p.sp.m0 * channels;
  for (int m0 = 0; m0 < p.sp.n; m0 += CAVIAR_CUDA_GRID_Y) {
    dim3 grid((unsigned)channels, (unsigned)member_chunk(p.sp.n, m0));
    bn_backward_kernel<<<grid, BN_THREADS, 0, p.ctx->stream>>>(p.x, p.dy, p.dx, t, g.at[0], g.at[1], stats, n, channels,
                                                               m0);
    CAVIAR_LAUNCH_CHECK(err, "batchnorm_backward");
  }
  if (!p.dx) return CAVIAR_OK;
  return cuda_chain_backward(p, p.dx, n, channels, err);
}
