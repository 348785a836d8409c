#ifndef CAVIAR_MODEL_MATH_H
#define CAVIAR_MODEL_MATH_H
/* The scalar math of training, written once for the CPU backend and the CUDA kernels: activations
 * and their derivatives, the optimizer update of one parameter, initial weights, dropout masks.
 * Everything here is float arithmetic in a fixed order, so both backends compute the same values. */

#include <math.h>
#include <stdint.h>

#include "caviar/counter_rng.h"
#include "caviar/hostdevice.h"
#include "caviar/hparams.h"
#include "caviar/model.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

/* Per-member hyperparameters as the update and dropout use them (floats, as trained). */
typedef struct caviar_member_hp {
  float learning_rate, beta1, beta2, epsilon, l2, dropout, lr_decay;
  int optimizer, activation;
  float bn_momentum; /* batch normalisation's running statistics */
} caviar_member_hp;

static inline CAVIAR_HD float caviar_activate(int activation, float z) {
  return activation == CAVIAR_ACT_TANH ? tanhf(z) : (z > 0.0f ? z : 0.0f);
}

/* The derivative, from the activation's output a (relu: a > 0; tanh: 1 - a^2). */
static inline CAVIAR_HD float caviar_activation_grad(int activation, float a) {
  return activation == CAVIAR_ACT_TANH ? 1.0f - a * a : (a > 0.0f ? 1.0f : 0.0f);
}

/* The learning rate of an epoch: lr / (1 + lr_decay * epoch), the course's 1/t decay. */
static inline CAVIAR_HD float caviar_epoch_lr(const caviar_member_hp *hp, int epoch) {
  return hp->learning_rate / (1.0f + hp->lr_decay * (float)epoch);
}

/* Whether a minibatch's mean loss says the member has diverged: NaN or Inf, or beyond 100 times
 * the loss of a uniform guess (100 ln C). Floats rarely overflow on the way: a learning rate of
 * 1e3 typically leaves losses of 1e3 to 1e13 that never come back to sense, and such a member is
 * as dead as a NaN one, so it is culled as soon as it is seen. */
static inline CAVIAR_HD int caviar_loss_diverged(double loss, int classes) {
  /* Regression (one output): 100 times the loss of predicting the mean of standardised targets. */
  return !(loss <= (classes == 1 ? 100.0 : 100.0 * log((double)classes)));
}

/* Regression, the network's single linear output z against the example's standardised target y:
 * returns the squared error (z - y)^2; with rows > 0 (the minibatch's size) z is replaced by the
 * gradient of the minibatch's mean squared error, 2 (z - y) / rows. A network with one output is a
 * regression everywhere (a classifier has 2 or more classes). */
static inline CAVIAR_HD float caviar_squared_error(float *z, float y, float rows) {
  float d = *z - y;
  if (rows > 0) *z = 2.0f * d / rows;
  return d * d;
}

/* Softmax cross-entropy of one example whose logits are z[0], z[stride], ... (classes of them):
 * returns its loss and whether the top logit is the label's. With rows > 0 (the minibatch's size)
 * the logits are replaced by the gradient of the minibatch's mean loss, (softmax - onehot) / rows. */
static inline CAVIAR_HD float caviar_softmax_xent(float *z, size_t stride, int classes, int y, float rows,
                                                  int *correct) {
  float top = z[0];
  int best = 0;
  for (int c = 1; c < classes; c++)
    if (z[c * stride] > top) top = z[c * stride], best = c;
  float sum = 0.0f;
  for (int c = 0; c < classes; c++) sum += expf(z[c * stride] - top);
  float loss = logf(sum) + top - z[y * stride];
  *correct = best == y;
  if (rows > 0) {
    float inv = 1.0f / (sum * rows);
    for (int c = 0; c < classes; c++) z[c * stride] = expf(z[c * stride] - top) * inv - (c == y ? 1.0f / rows : 0.0f);
  }
  return loss;
}

/* Bias corrections of Adam at step t (1-based): 1 - beta^t, computed once per member and step. */
typedef struct caviar_step_scalars {
  float lr;           /* this epoch's learning rate */
  float correction1;  /* 1 - beta1^t */
  float correction2;  /* 1 - beta2^t */
} caviar_step_scalars;

static inline CAVIAR_HD caviar_step_scalars caviar_step_scalars_at(const caviar_member_hp *hp, int epoch, int t) {
  caviar_step_scalars s;
  s.lr = caviar_epoch_lr(hp, epoch);
  s.correction1 = 1.0f - powf(hp->beta1, (float)t);
  s.correction2 = 1.0f - powf(hp->beta2, (float)t);
  return s;
}

/* One parameter's update, one function per optimizer so a loop over a segment can pick the
 * function once and vectorise. g is the loss gradient; l2 is the member's L2 coefficient for
 * weights and 0 for biases. m and v are the optimizer's first and second state (the arenas
 * CAVIAR_ARENA_FIRST and CAVIAR_ARENA_SECOND, `first`/`second` everywhere else). The course's
 * formulations: momentum v = b1 v + (1 - b1) g; RMSprop s = b2 s + (1 - b2) g^2,
 * w -= lr g / (sqrt(s) + eps); Adam with bias correction. */
static inline CAVIAR_HD void caviar_sgd_step(const caviar_member_hp *hp, const caviar_step_scalars *s, float l2,
                                             float *w, float g) {
  (void)hp;
  g += l2 * *w;
  *w -= s->lr * g;
}

static inline CAVIAR_HD void caviar_momentum_step(const caviar_member_hp *hp, const caviar_step_scalars *s, float l2,
                                                  float *w, float g, float *m) {
  g += l2 * *w;
  *m = hp->beta1 * *m + (1.0f - hp->beta1) * g;
  *w -= s->lr * *m;
}

static inline CAVIAR_HD void caviar_rmsprop_step(const caviar_member_hp *hp, const caviar_step_scalars *s, float l2,
                                                 float *w, float g, float *v) {
  g += l2 * *w;
  *v = hp->beta2 * *v + (1.0f - hp->beta2) * g * g;
  *w -= s->lr * g / (sqrtf(*v) + hp->epsilon);
}

static inline CAVIAR_HD void caviar_adam_step(const caviar_member_hp *hp, const caviar_step_scalars *s, float l2,
                                              float *w, float g, float *m, float *v) {
  g += l2 * *w;
  *m = hp->beta1 * *m + (1.0f - hp->beta1) * g;
  *v = hp->beta2 * *v + (1.0f - hp->beta2) * g * g;
  float m_hat = *m / s->correction1, v_hat = *v / s->correction2;
  *w -= s->lr * m_hat / (sqrtf(v_hat) + hp->epsilon);
}

/* The update of one parameter under the member's optimizer (the reference the loops follow). */
static inline CAVIAR_HD void caviar_update_param(const caviar_member_hp *hp, const caviar_step_scalars *s, float l2,
                                                 float *w, float g, float *m, float *v) {
  switch (hp->optimizer) {
    case CAVIAR_OPT_SGD: caviar_sgd_step(hp, s, l2, w, g); break;
    case CAVIAR_OPT_MOMENTUM: caviar_momentum_step(hp, s, l2, w, g, m); break;
    case CAVIAR_OPT_RMSPROP: caviar_rmsprop_step(hp, s, l2, w, g, v); break;
    default: caviar_adam_step(hp, s, l2, w, g, m, v); break;
  }
}

/* Initial weight `index` of tensor `tensor` of a trial: uniform in [-limit, limit) with
 * limit = sqrt(6 / fan_in) for relu (He) and sqrt(3 / fan_in) for tanh (LeCun), from 24 random
 * bits. Only exact operations and a correctly rounded sqrt, so the CPU and GPU agree bit for bit. */
#if defined(__CUDACC__)
static __device__ __forceinline__
#else
static inline
#endif
float caviar_init_weight(uint64_t seed, uint32_t trial, uint32_t tensor, uint64_t index, int fan_in, int activation) {
  caviar_rng_block r = caviar_rng(seed, trial, CAVIAR_RNG_INIT, ((uint64_t)tensor << 40) | (index >> 2));
  float u = caviar_u01_float(r.v[index & 3]);
  float limit = sqrtf((activation == CAVIAR_ACT_TANH ? 3.0f : 6.0f) / (float)fan_in);
  return (2.0f * u - 1.0f) * limit;
}

/* Initial value `index` of tensor `tensor` by its role (model.h): weights drawn as above (fan_in:
 * the layer's inputs per output), batch normalisation's scale and running variance 1, the rest
 * (biases, shifts, running means) 0. */
#if defined(__CUDACC__)
static __device__ __forceinline__
#else
static inline
#endif
float caviar_init_param(int role, uint64_t seed, uint32_t trial, uint32_t tensor, uint64_t index, int fan_in,
                        int activation) {
  if (role == CAVIAR_ROLE_WEIGHT) return caviar_init_weight(seed, trial, tensor, index, fan_in, activation);
  return role == CAVIAR_ROLE_SCALE || role == CAVIAR_ROLE_RUNNING_VAR ? 1.0f : 0.0f;
}

/* Dropout masks: hidden unit `index` (column-major position in the rows x hidden block) of layer
 * `layer` at a member's step t (1-based) is kept with probability 1 - p. One Philox block decides
 * four consecutive units; a pure function, so backward recomputes the forward mask. */
#if defined(__CUDACC__)
static __device__ __forceinline__
#else
static inline
#endif
caviar_rng_block caviar_dropout_block(uint64_t seed, uint32_t trial, uint32_t t, int layer, uint32_t index) {
  return caviar_rng(seed, trial, CAVIAR_RNG_DROPOUT, ((uint64_t)t << 34) | ((uint64_t)layer << 32) | (index >> 2));
}

static inline CAVIAR_HD int caviar_dropout_kept(caviar_rng_block block, uint32_t index, float p) {
  return caviar_u01_float(block.v[index & 3]) >= p;
}

/* Inverted dropout of x, unit `index` of the block's four: x / (1 - p) where kept, else 0. The
 * forward pass applies it to activations and the backward pass, with the same block, to their
 * gradients. */
static inline CAVIAR_HD float caviar_dropout_apply(caviar_rng_block block, uint32_t index, float p, float x) {
  return caviar_dropout_kept(block, index, p) ? x * (1.0f / (1.0f - p)) : 0.0f;
}

CAVIAR_C_END

#endif
