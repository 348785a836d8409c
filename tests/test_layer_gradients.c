/* Every layer kind of the CPU backend (convolution with padding at the borders, max and average
 * pooling, batch normalisation in training mode, flatten, dense, activation, dropout) in whole
 * models: the forward loss against an independent float64 computation written from the layers'
 * definitions (no BLAS, no shared code but the model's layer list and the dropout mask), and every
 * trained parameter's gradient against central finite differences of that float64 loss. Batch
 * normalisation's running statistics move as PyTorch's do, and not at all in a frozen step;
 * inference uses them. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "activation_reference.h"
#include "caviar/counter_rng.h"
#include "cpu/layers.h"

enum { ROWS = 3, CLASSES = 3, MAXV = 4096 };

typedef struct net {
  caviar_shape shape;
  caviar_arch arch;
  caviar_layout layout;
  float *params, *grads, *first, *second;
  cpu_member member;
  cpu_workspace ws;
  caviar_member_hp hp;
} net;

/* A CNN on C x H x W images (or an MLP when blocks is 0), filled with deterministic values. */
static void net_make(net *n, int c, int h, int w, int blocks, int pool, int batchnorm, int kernel, int activation) {
  caviar_hparams hp;
  caviar_hparams_default(&hp);
  hp.model = blocks ? CAVIAR_MODEL_CNN : CAVIAR_MODEL_MLP;
  hp.conv_blocks = blocks ? blocks : 1;
  hp.channels = 2;
  hp.channel_growth = 1.5;
  hp.kernel_size = kernel;
  hp.pool = pool;
  hp.batchnorm = batchnorm;
  hp.layers = 1;
  hp.hidden = 4;
  hp.batch_size = ROWS;
  n->shape = caviar_shape_of(&hp, (caviar_dims){c, h, w}, CLASSES);
  caviar_arch_of(&n->shape, &n->arch);
  caviar_layout_of(&n->arch, 1, &n->layout);
  n->params = calloc(n->layout.arena, sizeof(float));
  n->grads = calloc(n->layout.arena, sizeof(float));
  n->first = calloc(n->layout.arena, sizeof(float));
  n->second = calloc(n->layout.arena, sizeof(float));
  cpu_member_bind(&n->member, &n->arch, &n->layout, n->params, n->grads, n->first, n->second, 0);
  caviar_error err;
  cr_assert_eq(cpu_workspace_alloc(&n->ws, &n->arch, ROWS, &err), CAVIAR_OK, "%s", err.msg);
  for (int t = 0; t < n->layout.n_tensors; t++)
    for (size_t k = 0; k < n->layout.size[t]; k++) {
      caviar_rng_block r = caviar_rng(11, (uint32_t)t, CAVIAR_RNG_SYNTH, k);
      float u = caviar_u01_float(r.v[0]);
      float v;
      switch (n->layout.role[t]) {
        case CAVIAR_ROLE_WEIGHT: v = caviar_init_weight(5, 1, (uint32_t)t, k, n->layout.fan_in[t], activation); break;
        case CAVIAR_ROLE_SCALE: v = 0.6f + u; break;
        case CAVIAR_ROLE_RUNNING_VAR: v = 0.5f + u; break;
        case CAVIAR_ROLE_COUNT: v = 0; break;
        default: v = 0.2f * (u - 0.5f) + 0.03f; /* never exactly 0: a relu kink */
      }
      n->member.w[t][k] = v;
    }
  size_t d = (size_t)c * (size_t)h * (size_t)w;
  for (size_t i = 0; i < ROWS * d; i++) {
    caviar_rng_block r = caviar_rng(9, 0, CAVIAR_RNG_SYNTH, (uint64_t)i);
    n->ws.xt[i] = 2.0f * caviar_u01_float(r.v[0]) - 1.0f;
  }
  for (int i = 0; i < ROWS; i++) n->ws.labels[i] = i % CLASSES;
  n->hp = (caviar_member_hp){.activation = activation, .bn_momentum = 0.25f};
}

static void net_free(net *n) {
  free(n->params);
  free(n->grads);
  free(n->first);
  free(n->second);
  cpu_workspace_free(&n->ws);
}

/* ---- the float64 reference: values as [example][channel][y][x] ---- */

static double act(int activation, double z) { return activate64(activation, z); }

/* Layer i's forward on v (ROWS examples of its input's size) into out. */
static void reference_layer(const net *n, int i, const cpu_dropout *drop, const double *v, double *out) {
  const caviar_layer *l = &n->arch.layer[i];
  float *const *w = n->member.w;
  int ci = l->in.c, H = l->in.h, W = l->in.w, co = l->out.c, OH = l->out.h, OW = l->out.w;
  size_t din = caviar_dims_size(l->in), dout = caviar_dims_size(l->out);
  switch (l->kind) {
    case CAVIAR_LAYER_CONV2D:
      for (int b = 0; b < ROWS; b++)
        for (int o = 0; o < co; o++)
          for (int y = 0; y < OH; y++)
            for (int x = 0; x < OW; x++) {
              double z = l->bias ? w[l->tensor + 1][o] : 0;
              for (int c = 0; c < ci; c++)
                for (int ky = 0; ky < l->kernel; ky++)
                  for (int kx = 0; kx < l->kernel; kx++) {
                    int iy = y + ky - l->pad, ix = x + kx - l->pad;
                    if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
                    /* PyTorch's weight[o][c][ky][kx] */
                    double wt = w[l->tensor][((o * ci + c) * l->kernel + ky) * l->kernel + kx];
                    z += wt * v[b * din + ((size_t)c * H + iy) * W + ix];
                  }
              out[b * dout + ((size_t)o * OH + y) * OW + x] = z;
            }
      break;
    case CAVIAR_LAYER_POOL:
      for (int b = 0; b < ROWS; b++)
        for (int c = 0; c < co; c++)
          for (int y = 0; y < OH; y++)
            for (int x = 0; x < OW; x++) {
              double m = l->pool == CAVIAR_POOL_MAX ? -INFINITY : 0;
              for (int k = 0; k < 4; k++) {
                double e = v[b * din + ((size_t)c * H + 2 * y + k / 2) * W + 2 * x + k % 2];
                m = l->pool == CAVIAR_POOL_MAX ? fmax(m, e) : m + e / 4;
              }
              out[b * dout + ((size_t)c * OH + y) * OW + x] = m;
            }
      break;
    case CAVIAR_LAYER_BATCHNORM: {
      size_t px = (size_t)OH * OW;
      for (int c = 0; c < co; c++) {
        double mean = 0, var = 0;
        if (drop) {
          for (int b = 0; b < ROWS; b++)
            for (size_t k = 0; k < px; k++) mean += v[b * din + c * px + k];
          mean /= ROWS * px;
          for (int b = 0; b < ROWS; b++)
            for (size_t k = 0; k < px; k++) var += pow(v[b * din + c * px + k] - mean, 2);
          var /= ROWS * px;
        } else {
          mean = w[l->tensor + 2][c];
          var = w[l->tensor + 3][c];
        }
        for (int b = 0; b < ROWS; b++)
          for (size_t k = 0; k < px; k++)
            out[b * dout + c * px + k] = (v[b * din + c * px + k] - mean) / sqrt(var + 1e-5) * w[l->tensor][c] +
                                         w[l->tensor + 1][c];
      }
      break;
    }
    case CAVIAR_LAYER_DENSE:
      for (int b = 0; b < ROWS; b++)
        for (int j = 0; j < co; j++) {
          double z = l->bias ? w[l->tensor + 1][j] : 0;
          for (size_t k = 0; k < din; k++) z += v[b * din + k] * (double)w[l->tensor][k + (size_t)j * din];
          out[b * dout + j] = z;
        }
      break;
    case CAVIAR_LAYER_ACTIVATION:
      for (size_t k = 0; k < ROWS * din; k++) out[k] = act(n->hp.activation, v[k]);
      break;
    case CAVIAR_LAYER_DROPOUT:
      for (int b = 0; b < ROWS; b++)
        for (size_t j = 0; j < din; j++) {
          double z = v[b * din + j];
          if (drop && drop->p > 0) {
            uint32_t index = (uint32_t)((size_t)b + j * ROWS); /* the unit's place in the column-major block */
            caviar_rng_block block = caviar_dropout_block(drop->seed, drop->trial, drop->step, l->mask, index);
            z = caviar_dropout_kept(block, index, drop->p) ? z / (1.0 - drop->p) : 0.0;
          }
          out[b * din + j] = z;
        }
      break;
    case CAVIAR_LAYER_FLATTEN:
    default: memcpy(out, v, ROWS * din * sizeof(double)); break;
  }
}

/* The mean softmax cross-entropy of the model in float64; the logits into logits if not NULL. */
static double reference_loss(const net *n, const cpu_dropout *drop, double *logits) {
  static double a[ROWS * MAXV], b[ROWS * MAXV];
  size_t d = caviar_dims_size(n->arch.input);
  cr_assert_leq(d, MAXV);
  for (size_t i = 0; i < ROWS * d; i++) a[i] = n->ws.xt[i];
  for (int i = 0; i < n->arch.n_layers; i++) {
    cr_assert_leq(caviar_dims_size(n->arch.layer[i].out), MAXV);
    reference_layer(n, i, drop, a, b);
    memcpy(a, b, ROWS * caviar_dims_size(n->arch.layer[i].out) * sizeof(double));
  }
  double total = 0;
  for (int i = 0; i < ROWS; i++) {
    double top = a[i * CLASSES];
    for (int c = 1; c < CLASSES; c++) top = fmax(top, a[i * CLASSES + c]);
    double sum = 0;
    for (int c = 0; c < CLASSES; c++) sum += exp(a[i * CLASSES + c] - top);
    total += log(sum) + top - a[i * CLASSES + n->ws.labels[i]];
    for (int c = 0; logits && c < CLASSES; c++) logits[i * CLASSES + c] = a[i * CLASSES + c];
  }
  return total / ROWS;
}

static void check_model(int c, int h, int w, int blocks, int pool, int batchnorm, int kernel, int activation,
                        float dropout) {
  net n;
  net_make(&n, c, h, w, blocks, pool, batchnorm, kernel, activation);
  n.hp.dropout = dropout;
  cpu_dropout drop = {3, 7, 11, dropout, true};
  const char *what = blocks ? "cnn" : "mlp";
  cpu_forward(&n.member, &n.hp, &drop, ROWS, &n.ws, &cpu_solo);
  cpu_softmax_xent(&n.ws, ROWS, CLASSES, 1, &cpu_solo);
  double loss = n.ws.loss;
  cr_assert_float_eq(loss, reference_loss(&n, &drop, NULL), 1e-5, "%s %dx%dx%d, %d blocks, pool %d, bn %d: forward loss",
                     what, c, h, w, blocks, pool, batchnorm);
  cpu_backward(&n.member, &n.hp, &drop, ROWS, &n.ws, NULL, &cpu_solo);
  for (int t = 0; t < n.layout.n_tensors; t++) {
    if (!caviar_role_trained(n.layout.role[t])) continue;
    double diff = 0, norm = 0;
    for (size_t k = 0; k < n.layout.size[t]; k++) {
      float *p = &n.member.w[t][k], saved = *p;
      const double step_h = 1e-3;
      *p = (float)(saved + step_h);
      double up = reference_loss(&n, &drop, NULL);
      *p = (float)(saved - step_h);
      double down = reference_loss(&n, &drop, NULL);
      *p = saved;
      double step = (double)(float)(saved + step_h) - (double)(float)(saved - step_h);
      double fd = (up - down) / step, analytic = n.member.g[t][k];
      diff += (fd - analytic) * (fd - analytic);
      norm += fd * fd;
    }
    double rel = sqrt(diff / (norm > 1e-20 ? norm : 1e-20));
    caviar_tensor_info info;
    caviar_tensor_info_of(&n.arch, t, &info);
    cr_expect_lt(rel, 5e-3, "%s %dx%dx%d, %d blocks, pool %d, bn %d, kernel %d, %s, dropout %g: %s relative error %g",
                 what, c, h, w, blocks, pool, batchnorm, kernel, caviar_activation_name(activation), dropout, info.name,
                 rel);
  }
  net_free(&n);
}

Test(layer_gradients, convolution_with_padding_then_max_pooling_and_a_dense_head) {
  check_model(1, 6, 6, 1, CAVIAR_POOL_CHOICE_MAX, 0, 3, CAVIAR_ACT_TANH, 0);
  check_model(2, 5, 7, 2, CAVIAR_POOL_CHOICE_MAX, 0, 3, CAVIAR_ACT_RELU, 0);
}

Test(layer_gradients, average_pooling_and_no_pooling_and_a_5x5_kernel) {
  check_model(1, 6, 6, 2, CAVIAR_POOL_CHOICE_AVG, 0, 3, CAVIAR_ACT_TANH, 0);
  check_model(2, 4, 4, 1, CAVIAR_POOL_CHOICE_NONE, 0, 5, CAVIAR_ACT_TANH, 0);
}

/* Kernels wider and taller than the image (a 7 x 7 kernel's padding of 3 on 2 x 2 and 1 x 3
 * images, 5 x 5 on 1 x 4): most of each patch is padding. */
Test(layer_gradients, kernels_larger_than_the_image_read_only_padding_around_it) {
  check_model(1, 2, 2, 1, CAVIAR_POOL_CHOICE_NONE, 0, 7, CAVIAR_ACT_TANH, 0);
  check_model(2, 1, 3, 1, CAVIAR_POOL_CHOICE_NONE, 1, 7, CAVIAR_ACT_RELU, 0);
  check_model(1, 1, 4, 2, CAVIAR_POOL_CHOICE_NONE, 0, 5, CAVIAR_ACT_TANH, 0);
}

Test(layer_gradients, batch_normalisation_in_training_mode_in_a_cnn_and_an_mlp) {
  check_model(1, 6, 6, 2, CAVIAR_POOL_CHOICE_MAX, 1, 3, CAVIAR_ACT_TANH, 0);
  check_model(2, 4, 5, 1, CAVIAR_POOL_CHOICE_NONE, 1, 3, CAVIAR_ACT_RELU, 0);
  check_model(10, 1, 1, 0, CAVIAR_POOL_CHOICE_MAX, 1, 3, CAVIAR_ACT_TANH, 0);
}

Test(layer_gradients, dropout_in_the_dense_head_of_a_cnn) {
  check_model(1, 6, 6, 1, CAVIAR_POOL_CHOICE_MAX, 1, 3, CAVIAR_ACT_RELU, 0.3f);
}

/* Running statistics: a training step moves them by the momentum towards the batch's mean and
 * unbiased variance and counts the step, a frozen step leaves them, and inference normalises by them. */
/* The activations added for W&B's configs in convolution blocks too, where no dropout follows:
 * gelu and silu need their input, kept apart from their output. */
Test(layer_gradients, gelu_silu_sigmoid_and_leaky_relu_in_a_cnn) {
  check_model(1, 6, 6, 2, CAVIAR_POOL_CHOICE_AVG, 0, 3, CAVIAR_ACT_GELU, 0);
  check_model(1, 6, 6, 2, CAVIAR_POOL_CHOICE_NONE, 0, 3, CAVIAR_ACT_GELU, 0);
  check_model(2, 5, 7, 2, CAVIAR_POOL_CHOICE_MAX, 0, 3, CAVIAR_ACT_GELU, 0);
  check_model(1, 6, 6, 2, CAVIAR_POOL_CHOICE_MAX, 0, 3, CAVIAR_ACT_SILU, 0);
  check_model(2, 5, 7, 1, CAVIAR_POOL_CHOICE_NONE, 1, 3, CAVIAR_ACT_SILU, 0.3f);
  check_model(1, 6, 6, 1, CAVIAR_POOL_CHOICE_AVG, 1, 3, CAVIAR_ACT_SIGMOID, 0);
  check_model(1, 6, 6, 1, CAVIAR_POOL_CHOICE_MAX, 0, 3, CAVIAR_ACT_LEAKY_RELU, 0.3f);
  check_model(10, 1, 1, 0, CAVIAR_POOL_CHOICE_MAX, 1, 3, CAVIAR_ACT_GELU, 0.3f);
}

Test(layer_gradients, batch_norm_running_statistics_follow_pytorchs_rule) {
  net n;
  net_make(&n, 1, 4, 4, 1, CAVIAR_POOL_CHOICE_NONE, 1, 3, CAVIAR_ACT_TANH);
  const caviar_layer *conv = &n.arch.layer[0], *bn = &n.arch.layer[1];
  cr_assert_eq(conv->kind, CAVIAR_LAYER_CONV2D);
  cr_assert_eq(bn->kind, CAVIAR_LAYER_BATCHNORM);
  int C = bn->out.c;
  float mean0[8], var0[8];
  memcpy(mean0, n.member.w[bn->tensor + 2], (size_t)C * sizeof(float));
  memcpy(var0, n.member.w[bn->tensor + 3], (size_t)C * sizeof(float));
  cpu_dropout frozen = {1, 2, 3, 0, true}, step = {1, 2, 3, 0, false};
  cpu_forward(&n.member, &n.hp, &frozen, ROWS, &n.ws, &cpu_solo);
  for (int c = 0; c < C; c++) cr_expect_eq(n.member.w[bn->tensor + 2][c], mean0[c], "a frozen step moved the mean");
  cr_expect_eq(n.member.w[bn->tensor + 4][0], 0.0f, "a frozen step was counted");
  cpu_forward(&n.member, &n.hp, &step, ROWS, &n.ws, &cpu_solo);
  /* The batch statistics of the convolution's output, in float64 from the reference. */
  static double in[ROWS * MAXV], out[ROWS * MAXV];
  for (size_t i = 0; i < ROWS * caviar_dims_size(n.arch.input); i++) in[i] = n.ws.xt[i];
  reference_layer(&n, 0, &step, in, out);
  size_t px = caviar_dims_pixels(bn->out), d = caviar_dims_size(bn->out);
  for (int c = 0; c < C; c++) {
    double mean = 0, sq = 0;
    for (int b = 0; b < ROWS; b++)
      for (size_t k = 0; k < px; k++) mean += out[b * d + c * px + k];
    mean /= ROWS * px;
    for (int b = 0; b < ROWS; b++)
      for (size_t k = 0; k < px; k++) sq += pow(out[b * d + c * px + k] - mean, 2);
    double unbiased = sq / (ROWS * px - 1), m = 0.25;
    cr_expect_float_eq(n.member.w[bn->tensor + 2][c], (1 - m) * mean0[c] + m * mean, 1e-5, "running mean %d", c);
    cr_expect_float_eq(n.member.w[bn->tensor + 3][c], (1 - m) * var0[c] + m * unbiased, 1e-5, "running var %d", c);
  }
  cr_expect_eq(n.member.w[bn->tensor + 4][0], 1.0f, "num_batches_tracked");
  /* Inference: the reference with the running statistics. */
  double logits[ROWS * CLASSES];
  double ref = reference_loss(&n, NULL, logits);
  cpu_forward(&n.member, &n.hp, NULL, ROWS, &n.ws, &cpu_solo);
  for (int i = 0; i < ROWS; i++)
    for (int c = 0; c < CLASSES; c++)
      cr_expect_float_eq(n.ws.logits[i + c * ROWS], logits[i * CLASSES + c], 1e-5, "inference logit %d,%d", i, c);
  cpu_softmax_xent(&n.ws, ROWS, CLASSES, 0, &cpu_solo);
  cr_expect_float_eq(n.ws.loss, ref, 1e-5);
  net_free(&n);
}

/* Two copies of one model take three steps: one with the optimizer's step taken inside the
 * backward pass (each layer's as soon as its gradients are final, as training does), one with a
 * gradients-only backward pass and cpu_update after it. Every parameter, optimizer state and
 * gradient must be the same bits: the early step must never reach a weight a lower layer's
 * gradient still reads. */
static void check_step_inside_backward(int blocks, int batchnorm, int optimizer) {
  net a, b;
  net_make(&a, 2, 6, 6, blocks, CAVIAR_POOL_CHOICE_MAX, batchnorm, 3, CAVIAR_ACT_RELU);
  net_make(&b, 2, 6, 6, blocks, CAVIAR_POOL_CHOICE_MAX, batchnorm, 3, CAVIAR_ACT_RELU);
  caviar_member_hp hp = a.hp;
  hp.optimizer = optimizer;
  hp.learning_rate = 0.05f;
  hp.beta1 = 0.9f;
  hp.beta2 = 0.99f;
  hp.epsilon = 1e-8f;
  hp.l2 = 0.01f;
  hp.momentum = 0.9f;
  for (int t = 1; t <= 3; t++) {
    caviar_step_scalars s = caviar_step_scalars_at(&hp, 0, t);
    cpu_dropout drop = {3, 7, (uint32_t)t, 0, false};
    cpu_forward(&a.member, &hp, &drop, ROWS, &a.ws, &cpu_solo);
    cpu_softmax_xent(&a.ws, ROWS, CLASSES, 1, &cpu_solo);
    cpu_backward(&a.member, &hp, &drop, ROWS, &a.ws, NULL, &cpu_solo);
    cpu_update(&a.member, &hp, &s, &cpu_solo);
    cpu_forward(&b.member, &hp, &drop, ROWS, &b.ws, &cpu_solo);
    cpu_softmax_xent(&b.ws, ROWS, CLASSES, 1, &cpu_solo);
    cpu_backward(&b.member, &hp, &drop, ROWS, &b.ws, &s, &cpu_solo);
  }
  size_t bytes = a.layout.arena * sizeof(float);
  bool moved = false;
  net c;
  net_make(&c, 2, 6, 6, blocks, CAVIAR_POOL_CHOICE_MAX, batchnorm, 3, CAVIAR_ACT_RELU);
  for (size_t k = 0; k < a.layout.arena; k++) moved |= a.params[k] != c.params[k];
  cr_assert(moved, "three steps left every parameter where it was");
  cr_expect_eq(memcmp(a.params, b.params, bytes), 0, "%d blocks, bn %d, optimizer %d: parameters differ", blocks,
               batchnorm, optimizer);
  cr_expect_eq(memcmp(a.first, b.first, bytes), 0, "first moments differ");
  cr_expect_eq(memcmp(a.second, b.second, bytes), 0, "second moments differ");
  cr_expect_eq(memcmp(a.grads, b.grads, bytes), 0, "gradients left differ (both must be zeros)");
  net_free(&a);
  net_free(&b);
  net_free(&c);
}

Test(layer_gradients, the_optimizer_step_inside_the_backward_pass_equals_cpu_update_after_it_bit_for_bit) {
  check_step_inside_backward(0, 0, CAVIAR_OPT_ADAM);
  check_step_inside_backward(0, 0, CAVIAR_OPT_SGD);
  check_step_inside_backward(2, 1, CAVIAR_OPT_ADAM);
  check_step_inside_backward(1, 0, CAVIAR_OPT_RMSPROP);
}

/* A row of 2 x 2 windows by the definition: forward the first largest of a, b, c, d (or their mean
 * as ((a + b) + (c + d)) / 4), backward the gradient to that first largest (or a quarter to each). */
static void pool_row_reference(bool max, bool backward, const float *r0, const float *r1, const float *g, float *out0,
                               float *out1, int ow) {
  for (int ox = 0; ox < ow; ox++) {
    const float v[4] = {r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]};
    int first = 0;
    for (int k = 1; k < 4; k++)
      if (v[k] > v[first]) first = k;
    if (!backward) {
      out0[ox] = max ? v[first] : ((v[0] + v[1]) + (v[2] + v[3])) * 0.25f;
      continue;
    }
    for (int k = 0; k < 4; k++) {
      float *at = k < 2 ? out0 + 2 * ox + k : out1 + 2 * ox + k - 2;
      *at = max ? (k == first ? g[ox] : 0.0f) : g[ox] * 0.25f;
    }
  }
}

/* A pooling row as the layer computes it (vector or scalar) and as the reference does, over widths
 * of 1 to 45 windows (one and several 16-window steps, and partial ones), with values drawn from a
 * few levels so that ties are common; -0 and +0 included. The outputs' neighbours stay untouched. */
Test(layer_gradients, pooling_rows_send_the_gradient_to_the_first_largest_in_both_forms_ties_included) {
  enum { MOST = 45, PAD = 8 };
  static const float levels[] = {-1.5f, -0.0f, 0.0f, 0.25f, 0.25f, 2.0f, 3.0f};
  float r[2][2 * MOST + 1], g[MOST];
  for (int ow = 1; ow <= MOST; ow++)
    for (int trial = 0; trial < 6; trial++) {
      for (int i = 0; i < 2 * (2 * MOST + 1); i++) {
        caviar_rng_block b = caviar_rng(77, (uint32_t)(ow * 8 + trial), CAVIAR_RNG_SYNTH, (uint64_t)i);
        r[i / (2 * MOST + 1)][i % (2 * MOST + 1)] = levels[b.v[0] % 7];
        if (i < MOST) g[i] = caviar_u01_float(b.v[1]) - 0.5f;
      }
      for (int mode = 0; mode < 4; mode++) {
        bool max = mode & 1, backward = mode & 2;
        float want[2][2 * MOST + 2 * PAD], got[2][2][2 * MOST + 2 * PAD];
        memset(want, 0x7f, sizeof want);
        memset(got, 0x7f, sizeof got);
        pool_row_reference(max, backward, r[0], r[1], g, want[0] + PAD, want[1] + PAD, ow);
        for (int v = 0; v < 2; v++)
          cpu_pool_rows(v, max, backward, r[0], r[1], g, got[v][0] + PAD, got[v][1] + PAD, ow);
        for (int v = 0; v < 2; v++)
          cr_assert_eq(memcmp(got[v], want, sizeof want), 0, "%s %s, %d windows, %s form: not the reference's bits",
                       max ? "max" : "average", backward ? "backward" : "forward", ow, v ? "vector" : "scalar");
      }
    }
}

/* NaN in any place of a window: the vector form gives the scalar rule's bits (forward: the scan
 * a, b, c, d; backward: the pairs' winners), whatever each makes of it. */
Test(layer_gradients, pooling_rows_with_nan_give_the_same_bits_in_the_vector_and_scalar_forms) {
  enum { OW = 21 };
  float r[2][2 * OW], g[OW];
  for (int place = 0; place < 4; place++) {
    for (int i = 0; i < 2 * OW; i++) {
      r[0][i] = (float)((i * 7) % 5) - 2.0f;
      r[1][i] = (float)((i * 3) % 4) - 1.5f;
    }
    for (int ox = 0; ox < OW; ox += 2) r[place / 2][2 * ox + place % 2] = NAN;
    for (int ox = 0; ox < OW; ox++) g[ox] = 0.125f * (float)(ox + 1);
    for (int mode = 0; mode < 4; mode++) {
      bool max = mode & 1, backward = mode & 2;
      float out[2][2][2 * OW];
      memset(out, 0, sizeof out);
      for (int v = 0; v < 2; v++) cpu_pool_rows(v, max, backward, r[0], r[1], g, out[v][0], out[v][1], OW);
      cr_assert_eq(memcmp(out[0], out[1], sizeof out[0]), 0, "NaN at place %d, %s %s: the forms differ", place,
                   max ? "max" : "average", backward ? "backward" : "forward");
    }
  }
}
