/* Batch normalisation on the CPU, channel by channel (a channel's values over the minibatch and its
 * pixels are one contiguous run of a channel-major block). Training: the batch's mean and biased
 * variance (16 float lanes folded into a double every 4096 values, a fixed order), y = (x - mean) / sqrt(var + eps) * scale + shift, and, unless the
 * step is a gradient check, the running statistics moved by the member's momentum as PyTorch does
 * (r = (1 - m) r + m * statistic, the variance unbiased) and the step counted; inference uses the
 * running statistics. Backward recomputes x-hat from the input and the saved mean and 1/std. */
#include <math.h>
#include <string.h>

#include "cpu/layers.h"

/* The layer's tensors: scale, shift, running mean, running variance, steps. */
enum { BN_SCALE, BN_SHIFT, BN_MEAN, BN_VAR, BN_COUNT };

/* Sums over a channel's values: 16 float lanes, folded into a double every 4096 values and at the
 * end, always in the same order. */
enum { BN_LANES = 16, BN_FOLD = 4096 };

/* The 16 lanes as one vector (GCC's vector extension: one AVX-512 register, or two or four narrower
 * ones, the same arithmetic lane by lane; a float array indexed in a loop was vectorised with
 * permutes across iterations instead). */
typedef float bn_lanes __attribute__((vector_size(BN_LANES * sizeof(float))));

/* Two sums at once over i in [0, n): total_a of expr_a and total_b of expr_b, expressions of xv and
 * dyv (X[i] and DY[i]), lane j taking the values i = j mod 16 of each block of 4096 in order and
 * lane 0 the block's last few; each in its own lanes and order (the same bits as either taken
 * alone). */
#define BN_SUMS(n, X, DY, total_a, expr_a, total_b, expr_b)             \
  do {                                                                  \
    for (size_t k0 = 0; k0 < (n); k0 += BN_FOLD) {                      \
      size_t k1 = k0 + BN_FOLD < (n) ? k0 + BN_FOLD : (n), k = k0;      \
      bn_lanes lane_a = {0}, lane_b = {0};                              \
      for (; k + BN_LANES <= k1; k += BN_LANES) {                       \
        bn_lanes xv, dyv; /* loaded by memcpy: no function returns one */ \
        memcpy(&xv, (X) + k, sizeof xv);                                \
        memcpy(&dyv, (DY) + k, sizeof dyv);                             \
        (void)dyv;                                                      \
        lane_a += (expr_a);                                             \
        lane_b += (expr_b);                                             \
      }                                                                 \
      for (; k < k1; k++) {                                             \
        float xv = (X)[k], dyv = (DY)[k];                               \
        (void)dyv;                                                      \
        lane_a[0] += (expr_a);                                          \
        lane_b[0] += (expr_b);                                          \
      }                                                                 \
      for (int j = 0; j < BN_LANES; j++) (total_a) += lane_a[j];        \
      for (int j = 0; j < BN_LANES; j++) (total_b) += lane_b[j];        \
    }                                                                   \
  } while (0)

/* One sum (the second, never read, is dropped by the compiler). */
#define BN_SUM(n, X, total, expr)                 \
  do {                                            \
    double unread_ = 0;                           \
    BN_SUMS(n, X, X, total, expr, unread_, 0.0f); \
    (void)unread_;                                \
  } while (0)

static double sum_x(const float *x, size_t n) {
  double total = 0;
  BN_SUM(n, x, total, xv);
  return total;
}

static double sum_squares_about(const float *x, size_t n, float mean) {
  double total = 0;
  BN_SUM(n, x, total, (xv - mean) * (xv - mean));
  return total;
}

/* The backward pass's two sums, sum dy and sum dy x-hat, in one pass over the channel. */
static void sum_dy_and_dy_xhat(const float *x, const float *dy, size_t n, float mean, float inv_std, double *sum_dy,
                               double *sum_dy_xh) {
  double total = 0, total_xh = 0;
  BN_SUMS(n, x, dy, total, dyv, total_xh, dyv * ((xv - mean) * inv_std));
  *sum_dy = total;
  *sum_dy_xh = total_xh;
}

/* Channel c's forward, then the chain after it on the channel's values. */
void cpu_bn_forward_channel(const cpu_pass *p, size_t c) {
  const caviar_layer *l = p->layer;
  size_t n = (size_t)p->rows * caviar_dims_pixels(l->out);
  float *const *w = p->m->w + l->tensor;
  float *stats = p->ws->stats[p->index];
  bool train = p->drop != NULL, update = train && !p->drop->frozen;
  float momentum = p->hp->bn_momentum;
  const float *x = p->x + c * n;
  float *y = p->y + c * n;
  float mean, inv_std;
  if (train) {
    mean = (float)(sum_x(x, n) / (double)n);
    double sq = sum_squares_about(x, n, mean);
    double var = sq / (double)n;
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

void cpu_bn_count_step(const cpu_pass *p) {
  if (p->drop && !p->drop->frozen && p->team->rank == 0) p->m->w[p->layer->tensor + BN_COUNT][0] += 1.0f;
}

static void bn_forward(const cpu_pass *p) {
  size_t c0, c1;
  cpu_team_share(p->team, (size_t)p->layer->out.c, &c0, &c1);
  for (size_t c = c0; c < c1; c++) cpu_bn_forward_channel(p, c);
  cpu_bn_count_step(p);
  cpu_team_sync(p->team);
}

void cpu_bn_backward_channel(const cpu_pass *p, size_t c, const float *dy) {
  const caviar_layer *l = p->layer;
  size_t n = (size_t)p->rows * caviar_dims_pixels(l->out);
  float *const *w = p->m->w + l->tensor;
  float *const *g = p->m->g + l->tensor;
  const float *stats = p->ws->stats[p->index];
  const float *x = p->x + c * n;
  float mean = stats[2 * c], inv_std = stats[2 * c + 1];
  double sum_dy, sum_dy_xh;
  sum_dy_and_dy_xhat(x, dy, n, mean, inv_std, &sum_dy, &sum_dy_xh);
  g[BN_SCALE][c] = (float)sum_dy_xh;
  g[BN_SHIFT][c] = (float)sum_dy;
  if (!p->dx) return;
  float *dx = p->dx + c * n;
  float a = w[BN_SCALE][c] * inv_std, mean_dy = (float)(sum_dy / (double)n), mean_dy_xhat = (float)(sum_dy_xh / (double)n);
  for (size_t k = 0; k < n; k++) {
    float xhat = (x[k] - mean) * inv_std;
    dx[k] = a * (dy[k] - mean_dy - xhat * mean_dy_xhat);
  }
  if (p->chain) cpu_chain_backward(p->chain, p->hp, p->drop, p->dx, c * n, (c + 1) * n);
}

static void bn_backward(const cpu_pass *p) {
  size_t n = (size_t)p->rows * caviar_dims_pixels(p->layer->out), c0, c1;
  cpu_team_share(p->team, (size_t)p->layer->out.c, &c0, &c1);
  for (size_t c = c0; c < c1; c++) cpu_bn_backward_channel(p, c, p->dy + c * n);
  cpu_team_sync(p->team);
}

const cpu_layer_impl cpu_batchnorm_impl = {.forward = bn_forward, .backward = bn_backward, .fuses = true};
