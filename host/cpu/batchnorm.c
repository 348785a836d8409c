/* Batch normalisation on the CPU, channel by channel (a channel's values over the minibatch and its
 * pixels are one contiguous run of a channel-major block). Training: the batch's mean and biased
 * variance (summed in double), y = (x - mean) / sqrt(var + eps) * scale + shift, and, unless the
 * step is a gradient check, the running statistics moved by the member's momentum as PyTorch does
 * (r = (1 - m) r + m * statistic, the variance unbiased) and the step counted; inference uses the
 * running statistics. Backward recomputes x-hat from the input and the saved mean and 1/std. */
#include <math.h>

#include "cpu/layers.h"

/* The layer's tensors: scale, shift, running mean, running variance, steps. */
enum { BN_SCALE, BN_SHIFT, BN_MEAN, BN_VAR, BN_COUNT };

static void bn_forward(const cpu_pass *p) {
  const caviar_layer *l = p->layer;
  size_t n = (size_t)p->rows * caviar_dims_pixels(l->out), c0, c1;
  float *const *w = p->m->w + l->tensor;
  float *stats = p->ws->stats[p->index];
  bool train = p->drop != NULL, update = train && !p->drop->frozen;
  float momentum = p->hp->bn_momentum;
  cpu_team_share(p->team, (size_t)l->out.c, &c0, &c1);
  for (size_t c = c0; c < c1; c++) {
    const float *x = p->x + c * n;
    float *y = p->y + c * n;
    float mean, inv_std;
    if (train) {
      double sum = 0, sq = 0;
      for (size_t k = 0; k < n; k++) sum += x[k];
      double mu = sum / (double)n;
      for (size_t k = 0; k < n; k++) sq += ((double)x[k] - mu) * ((double)x[k] - mu);
      double var = sq / (double)n;
      mean = (float)mu;
      inv_std = 1.0f / sqrtf((float)var + CAVIAR_BN_EPS);
      stats[2 * c] = mean;
      stats[2 * c + 1] = inv_std;
      if (update) {
        double unbiased = n > 1 ? sq / (double)(n - 1) : var;
        w[BN_MEAN][c] = (1.0f - momentum) * w[BN_MEAN][c] + momentum * mean;
        w[BN_VAR][c] = (1.0f - momentum) * w[BN_VAR][c] + momentum * (float)unbiased;
      }
    } else {
      mean = w[BN_MEAN][c];
      inv_std = 1.0f / sqrtf(w[BN_VAR][c] + CAVIAR_BN_EPS);
    }
    float scale = w[BN_SCALE][c] * inv_std, shift = w[BN_SHIFT][c];
    for (size_t k = 0; k < n; k++) y[k] = (x[k] - mean) * scale + shift;
    if (p->chain) cpu_chain_forward(p->chain, p->hp, p->drop, c * n, (c + 1) * n);
  }
  if (update && p->team->rank == 0) w[BN_COUNT][0] += 1.0f;
  cpu_team_sync(p->team);
}

static void bn_backward(const cpu_pass *p) {
  const caviar_layer *l = p->layer;
  size_t n = (size_t)p->rows * caviar_dims_pixels(l->out), c0, c1;
  float *const *w = p->m->w + l->tensor;
  float *const *g = p->m->g + l->tensor;
  const float *stats = p->ws->stats[p->index];
  cpu_team_share(p->team, (size_t)l->out.c, &c0, &c1);
  for (size_t c = c0; c < c1; c++) {
    const float *x = p->x + c * n, *dy = p->dy + c * n;
    float mean = stats[2 * c], inv_std = stats[2 * c + 1];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (size_t k = 0; k < n; k++) {
      float xhat = (x[k] - mean) * inv_std;
      sum_dy += dy[k];
      sum_dy_xhat += (double)dy[k] * xhat;
    }
    g[BN_SCALE][c] = (float)sum_dy_xhat;
    g[BN_SHIFT][c] = (float)sum_dy;
    if (!p->dx) continue;
    float *dx = p->dx + c * n;
    float a = w[BN_SCALE][c] * inv_std, mean_dy = (float)(sum_dy / (double)n),
          mean_dy_xhat = (float)(sum_dy_xhat / (double)n);
    for (size_t k = 0; k < n; k++) {
      float xhat = (x[k] - mean) * inv_std;
      dx[k] = a * (dy[k] - mean_dy - xhat * mean_dy_xhat);
    }
    if (p->chain) cpu_chain_backward(p->chain, p->hp, p->drop, p->dx, c * n, (c + 1) * n);
  }
  cpu_team_sync(p->team);
}

const cpu_layer_impl cpu_batchnorm_impl = {.forward = bn_forward, .backward = bn_backward, .fuses = true};
