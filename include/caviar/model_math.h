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
  float momentum;    /* sgd and nesterov */
} caviar_member_hp;

#define CAVIAR_LEAKY_SLOPE 0.01f /* leaky_relu below 0: PyTorch's default negative_slope */

static inline CAVIAR_HD float caviar_sigmoid(float z) { return 1.0f / (1.0f + expf(-z)); }

static inline CAVIAR_HD float caviar_activate(int activation, float z) {
  switch (activation) {
    case CAVIAR_ACT_TANH: return tanhf(z);
    case CAVIAR_ACT_SIGMOID: return caviar_sigmoid(z);
    case CAVIAR_ACT_GELU: return 0.5f * z * (1.0f + erff(z * 0.70710678118654752f));
    case CAVIAR_ACT_SILU: return z * caviar_sigmoid(z);
    case CAVIAR_ACT_LEAKY_RELU: return z > 0.0f ? z : CAVIAR_LEAKY_SLOPE * z;
    default: return z > 0.0f ? z : 0.0f;
  }
}

/* Whether the derivative needs the activation's input z: gelu and silu are not monotonic, so
 * their output does not give z back. The backends then keep z where the layer before the
 * activation wrote it and the activation's output in a buffer of its own; caviar_activation_grad
 * is given z for them and the output for the others. */
static inline CAVIAR_HD int caviar_activation_keeps_input(int activation) {
  return activation == CAVIAR_ACT_GELU || activation == CAVIAR_ACT_SILU;
}

/* The derivative, from x: the output a for relu (a > 0),
 * tanh (1 - a^2), sigmoid (a (1 - a)) and leaky_relu (a > 0: 1, else the slope); the input z for
 * gelu (Phi(z) + z phi(z)) and silu (s (1 + z (1 - s)), s = sigmoid(z)). */
static inline CAVIAR_HD float caviar_activation_grad(int activation, float x) {
  switch (activation) {
    case CAVIAR_ACT_TANH: return 1.0f - x * x;
    case CAVIAR_ACT_SIGMOID: return x * (1.0f - x);
    case CAVIAR_ACT_GELU:
      return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.39894228040143268f * expf(-0.5f * x * x);
    case CAVIAR_ACT_SILU: {
      float s = caviar_sigmoid(x);
      return s * (1.0f + x * (1.0f - s));
    }
    case CAVIAR_ACT_LEAKY_RELU: return x > 0.0f ? 1.0f : CAVIAR_LEAKY_SLOPE;
    default: return x > 0.0f ? 1.0f : 0.0f;
  }
}

/* Initial weights' scale: He's for the relu family (relu, leaky_relu, gelu, silu), LeCun's for
 * the saturating ones (tanh, sigmoid): the limit is sqrt(this / fan_in). */
static inline CAVIAR_HD float caviar_init_gain(int activation) {
  return activation == CAVIAR_ACT_TANH || activation == CAVIAR_ACT_SIGMOID ? 3.0f : 6.0f;
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
  float correction1_next; /* 1 - beta1^(t+1) (nadam's look-ahead) */
} caviar_step_scalars;

static inline CAVIAR_HD caviar_step_scalars caviar_step_scalars_at(const caviar_member_hp *hp, int epoch, int t) {
  caviar_step_scalars s;
  s.lr = caviar_epoch_lr(hp, epoch);
  s.correction1 = 1.0f - powf(hp->beta1, (float)t);
  s.correction2 = 1.0f - powf(hp->beta2, (float)t);
  s.correction1_next = 1.0f - powf(hp->beta1, (float)(t + 1));
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

/* PyTorch's SGD with momentum mu (dampening 0; its buffer starts at g, as v = mu 0 + g does
 * here): v = mu v + g, w -= lr v; with nesterov, w -= lr (g + mu v). l2 is added to g first, as
 * PyTorch's weight_decay is. */
static inline CAVIAR_HD void caviar_sgd_momentum_step(const caviar_member_hp *hp, const caviar_step_scalars *s,
                                                      float l2, float *w, float g, float *m, int nesterov) {
  g += l2 * *w;
  *m = hp->momentum * *m + g;
  *w -= s->lr * (nesterov ? g + hp->momentum * *m : *m);
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

/* AdamW (Loshchilov & Hutter; PyTorch's AdamW): l2 is a decay of the weight itself, w -= lr l2 w,
 * then Adam's step on the plain gradient. */
static inline CAVIAR_HD void caviar_adamw_step(const caviar_member_hp *hp, const caviar_step_scalars *s, float l2,
                                               float *w, float g, float *m, float *v) {
  *w -= s->lr * l2 * *w;
  *m = hp->beta1 * *m + (1.0f - hp->beta1) * g;
  *v = hp->beta2 * *v + (1.0f - hp->beta2) * g * g;
  float m_hat = *m / s->correction1, v_hat = *v / s->correction2;
  *w -= s->lr * m_hat / (sqrtf(v_hat) + hp->epsilon);
}

/* NAdam, Dozat's Nesterov Adam without PyTorch's momentum-decay schedule (as optax.nadam):
 * the first moment looks one step ahead, b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t). */
static inline CAVIAR_HD void caviar_nadam_step(const caviar_member_hp *hp, const caviar_step_scalars *s, float l2,
                                               float *w, float g, float *m, float *v) {
  g += l2 * *w;
  *m = hp->beta1 * *m + (1.0f - hp->beta1) * g;
  *v = hp->beta2 * *v + (1.0f - hp->beta2) * g * g;
  float m_hat = hp->beta1 * *m / s->correction1_next + (1.0f - hp->beta1) * g / s->correction1;
  float v_hat = *v / s->correction2;
  *w -= s->lr * m_hat / (sqrtf(v_hat) + hp->epsilon);
}

/* Which optimizer state a member's optimizer reads and writes (the other arena is left alone). */
static inline CAVIAR_HD int caviar_optimizer_keeps_first(const caviar_member_hp *hp) {
  switch (hp->optimizer) {
    case CAVIAR_OPT_SGD: return hp->momentum != 0.0f;
    case CAVIAR_OPT_RMSPROP: return 0;
    default: return 1;
  }
}

static inline CAVIAR_HD int caviar_optimizer_keeps_second(const caviar_member_hp *hp) {
  return hp->optimizer == CAVIAR_OPT_RMSPROP || hp->optimizer == CAVIAR_OPT_ADAM || hp->optimizer == CAVIAR_OPT_ADAMW ||
         hp->optimizer == CAVIAR_OPT_NADAM;
}

/* The update of one parameter under the member's optimizer (the reference the loops follow). */
static inline CAVIAR_HD void caviar_update_param(const caviar_member_hp *hp, const caviar_step_scalars *s, float l2,
                                                 float *w, float g, float *m, float *v) {
  switch (hp->optimizer) {
    case CAVIAR_OPT_SGD:
      if (hp->momentum != 0.0f) caviar_sgd_momentum_step(hp, s, l2, w, g, m, 0);
      else caviar_sgd_step(hp, s, l2, w, g);
      break;
    case CAVIAR_OPT_NESTEROV: caviar_sgd_momentum_step(hp, s, l2, w, g, m, 1); break;
    case CAVIAR_OPT_MOMENTUM: caviar_momentum_step(hp, s, l2, w, g, m); break;
    case CAVIAR_OPT_RMSPROP: caviar_rmsprop_step(hp, s, l2, w, g, v); break;
    case CAVIAR_OPT_ADAMW: caviar_adamw_step(hp, s, l2, w, g, m, v); break;
    case CAVIAR_OPT_NADAM: caviar_nadam_step(hp, s, l2, w, g, m, v); break;
    default: caviar_adam_step(hp, s, l2, w, g, m, v); break;
  }
}

/* Initial weight `index` of tensor `tensor` of a trial: uniform in [-limit, limit) with
 * limit = sqrt(caviar_init_gain / fan_in): He's for the relu family, LeCun's for tanh and sigmoid, from 24 random
 * bits. Only exact operations and a correctly rounded sqrt, so the CPU and GPU agree bit for bit. */
#if defined(__CUDACC__)
static __device__ __forceinline__
#else
static inline
#endif
float caviar_init_weight(uint64_t seed, uint32_t trial, uint32_t tensor, uint64_t index, int fan_in, int activation) {
  caviar_rng_block r = caviar_rng(seed, trial, CAVIAR_RNG_INIT, ((uint64_t)tensor << 40) | (index >> 2));
  float u = caviar_u01_float(r.v[index & 3]);
  float limit = sqrtf(caviar_init_gain(activation) / (float)fan_in);
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
