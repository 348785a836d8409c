/* Every gradient of the CPU backend (each layer's weights and biases, through the loss, every
 * activation, with and without dropout) against central finite differences of an independent
 * float64 forward pass. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/counter_rng.h"
#include "activation_reference.h"
#include "cpu/member.h"

enum { ROWS = 6, INPUTS = 5, HIDDEN = 4, CLASSES = 3 };

typedef struct net {
  caviar_shape shape;
  caviar_arch arch;
  caviar_layout layout;
  float *params, *grads, *m, *v;
  cpu_member member;
  cpu_workspace ws;
} net;

/* The network's outputs: CLASSES (softmax cross-entropy) or 1 (a regression: squared error). */
static int outputs = CLASSES;

static void net_make(net *n, int layers, int activation) {
  n->shape = caviar_mlp_shape(INPUTS, outputs, layers, HIDDEN, ROWS);
  caviar_arch_of(&n->shape, &n->arch);
  caviar_layout_of(&n->arch, 1, &n->layout);
  n->params = calloc(n->layout.arena, sizeof(float));
  n->grads = calloc(n->layout.arena, sizeof(float));
  n->m = calloc(n->layout.arena, sizeof(float));
  n->v = calloc(n->layout.arena, sizeof(float));
  cpu_member_bind(&n->member, &n->arch, &n->layout, n->params, n->grads, n->m, n->v, 0);
  caviar_error err;
  cr_assert_eq(cpu_workspace_alloc(&n->ws, &n->arch, ROWS, &err), CAVIAR_OK);
  for (int t = 0; t < n->layout.n_tensors; t++)
    for (size_t k = 0; k < n->layout.size[t]; k++)
      n->member.w[t][k] = n->layout.role[t] == CAVIAR_ROLE_BIAS
                              ? 0.1f * (float)((int)k % 3 - 1) + 0.05f /* never exactly 0: a relu kink */
                              : caviar_init_weight(5, 1, (uint32_t)t, k, n->layout.rows[t], activation);
  for (int i = 0; i < ROWS * INPUTS; i++) {
    caviar_rng_block r = caviar_rng(9, 0, CAVIAR_RNG_SYNTH, (uint64_t)i);
    n->ws.xt[i] = 2.0f * caviar_u01_float(r.v[0]) - 1.0f;
  }
  for (int i = 0; i < ROWS; i++) n->ws.labels[i] = i % CLASSES;
  for (int i = 0; i < ROWS; i++) n->ws.targets[i] = 0.7f * (float)(i % 4) - 1.1f;
}

static void net_free(net *n) {
  free(n->params);
  free(n->grads);
  free(n->m);
  free(n->v);
  cpu_workspace_free(&n->ws);
}

/* The mean loss in float64, written from the definitions: no BLAS, no shared code but the
 * activation choice and the dropout mask (which defines the function being differentiated). */
static double reference_loss(const net *n, int activation, const cpu_dropout *drop) {
  const caviar_shape *s = &n->shape;
  double in[ROWS][HIDDEN > INPUTS ? HIDDEN : INPUTS], out[ROWS][HIDDEN > CLASSES ? HIDDEN : CLASSES];
  for (int i = 0; i < ROWS; i++)
    for (int j = 0; j < INPUTS; j++) in[i][j] = n->ws.xt[i * INPUTS + j];
  /* The dense layers in order (the model's list says which tensors are theirs). */
  const caviar_layer *dense[CAVIAR_MAX_LAYERS + 1];
  int n_dense = 0;
  for (int i = 0; i < n->arch.n_layers; i++)
    if (n->arch.layer[i].kind == CAVIAR_LAYER_DENSE) dense[n_dense++] = &n->arch.layer[i];
  cr_assert_eq(n_dense, s->layers + 1);
  for (int l = 0; l <= s->layers; l++) {
    int n_in = l == 0 ? INPUTS : HIDDEN, n_out = l == s->layers ? outputs : HIDDEN;
    const float *w = n->member.w[dense[l]->tensor], *b = n->member.w[dense[l]->tensor + 1];
    for (int i = 0; i < ROWS; i++)
      for (int j = 0; j < n_out; j++) {
        double z = b[j];
        for (int k = 0; k < n_in; k++) z += in[i][k] * (double)w[k + j * n_in];
        if (l < s->layers) {
          z = activate64(activation, z);
          if (drop) {
            uint32_t index = (uint32_t)(i + j * ROWS);
            caviar_rng_block block = caviar_dropout_block(drop->seed, drop->trial, drop->step, l, index);
            z = caviar_dropout_kept(block, index, drop->p) ? z / (1.0 - drop->p) : 0.0;
          }
        }
        out[i][j] = z;
      }
    for (int i = 0; i < ROWS; i++)
      for (int j = 0; j < n_out; j++) in[i][j] = out[i][j];
  }
  double total = 0;
  for (int i = 0; i < ROWS && outputs == 1; i++) total += (in[i][0] - n->ws.targets[i]) * (in[i][0] - n->ws.targets[i]);
  for (int i = 0; i < ROWS && outputs > 1; i++) {
    double top = in[i][0], sum = 0;
    for (int c = 1; c < CLASSES; c++) top = fmax(top, in[i][c]);
    for (int c = 0; c < CLASSES; c++) sum += exp(in[i][c] - top);
    total += log(sum) + top - in[i][n->ws.labels[i]];
  }
  return total / ROWS;
}

static void check_gradients(int layers, int activation, float dropout) {
  net n;
  net_make(&n, layers, activation);
  cpu_dropout drop = {3, 7, 11, dropout, false};
  const cpu_dropout *d = dropout > 0 ? &drop : NULL;
  caviar_member_hp hp = {.activation = activation, .dropout = dropout};
  cpu_forward(&n.member, &hp, d, ROWS, &n.ws, &cpu_solo);
  cpu_softmax_xent(&n.ws, ROWS, outputs, 1, &cpu_solo);
  double loss = n.ws.loss;
  cr_assert_float_eq(loss, reference_loss(&n, activation, d), 1e-5, "forward loss");
  cpu_backward(&n.member, &hp, d, ROWS, &n.ws, NULL, &cpu_solo);
  for (int t = 0; t < n.layout.n_tensors; t++) {
    double diff = 0, norm = 0;
    for (size_t k = 0; k < n.layout.size[t]; k++) {
      float *w = &n.member.w[t][k], saved = *w;
      const double h = 1e-4;
      *w = (float)(saved + h);
      double up = reference_loss(&n, activation, d);
      *w = (float)(saved - h);
      double down = reference_loss(&n, activation, d);
      *w = saved;
      /* The step actually taken in float, so the difference quotient is exact about it. */
      double step = (double)(float)(saved + h) - (double)(float)(saved - h);
      double fd = (up - down) / step, analytic = n.member.g[t][k];
      diff += (fd - analytic) * (fd - analytic);
      norm += fd * fd;
    }
    double rel = sqrt(diff / (norm > 1e-20 ? norm : 1e-20));
    caviar_tensor_info info;
    caviar_tensor_info_of(&n.arch, t, &info);
    cr_expect_lt(rel, 2e-3, "layers %d, %s, dropout %g: tensor %s relative error %g", layers,
                 caviar_activation_name(activation), dropout, info.name, rel);
  }
  net_free(&n);
}

Test(gradients, tanh_every_depth) {
  for (int layers = 1; layers <= CAVIAR_MAX_LAYERS; layers++) check_gradients(layers, CAVIAR_ACT_TANH, 0);
}

Test(gradients, relu_every_depth) {
  for (int layers = 1; layers <= CAVIAR_MAX_LAYERS; layers++) check_gradients(layers, CAVIAR_ACT_RELU, 0);
}

Test(gradients, through_dropout) {
  check_gradients(2, CAVIAR_ACT_TANH, 0.3f);
  check_gradients(3, CAVIAR_ACT_RELU, 0.5f);
}

Test(gradients, regression_mean_squared_error_every_depth_and_activation) {
  outputs = 1;
  for (int layers = 1; layers <= CAVIAR_MAX_LAYERS; layers++) {
    check_gradients(layers, CAVIAR_ACT_TANH, 0);
    check_gradients(layers, CAVIAR_ACT_RELU, 0);
  }
  check_gradients(2, CAVIAR_ACT_RELU, 0.3f);
  outputs = CLASSES;
}

/* The activations caviar added for W&B configs: sigmoid, gelu and silu (whose derivatives need
 * the activation's input, kept apart from its output) and leaky_relu. */
static const int newer[] = {CAVIAR_ACT_SIGMOID, CAVIAR_ACT_GELU, CAVIAR_ACT_SILU, CAVIAR_ACT_LEAKY_RELU};

Test(gradients, sigmoid_gelu_silu_and_leaky_relu_every_depth) {
  for (size_t a = 0; a < sizeof newer / sizeof newer[0]; a++)
    for (int layers = 1; layers <= CAVIAR_MAX_LAYERS; layers++) check_gradients(layers, newer[a], 0);
}

Test(gradients, sigmoid_gelu_silu_and_leaky_relu_through_dropout) {
  for (size_t a = 0; a < sizeof newer / sizeof newer[0]; a++) {
    check_gradients(2, newer[a], 0.3f);
    check_gradients(3, newer[a], 0.5f);
  }
}

Test(gradients, sigmoid_gelu_silu_and_leaky_relu_in_a_regression) {
  outputs = 1;
  for (size_t a = 0; a < sizeof newer / sizeof newer[0]; a++) check_gradients(2, newer[a], 0);
  outputs = CLASSES;
}

/* The scalar derivative against a central difference of the float64 definition, over a range of
 * inputs: from the output where the buffer holds it, from the input for gelu and silu. */
Test(gradients, each_activations_derivative_matches_its_definition) {
  const int all[] = {CAVIAR_ACT_RELU, CAVIAR_ACT_TANH, CAVIAR_ACT_SIGMOID, CAVIAR_ACT_GELU, CAVIAR_ACT_SILU, CAVIAR_ACT_LEAKY_RELU};
  for (size_t a = 0; a < sizeof all / sizeof all[0]; a++) {
    for (double z = -6.05; z < 6; z += 0.1) {
      double h = 1e-6, want = (activate64(all[a], z + h) - activate64(all[a], z - h)) / (2 * h);
      float kept = caviar_activation_keeps_input(all[a]) ? (float)z : caviar_activate(all[a], (float)z);
      cr_expect_float_eq(caviar_activate(all[a], (float)z), activate64(all[a], (float)z), 2e-6 * fmax(1, fabs(z)), "%s(%g)",
                         caviar_activation_name(all[a]), z);
      cr_expect_float_eq(caviar_activation_grad(all[a], kept), want, 2e-5, "%s'(%g)", caviar_activation_name(all[a]), z);
    }
  }
}

Test(gradients, softmax_gradient_rows_sum_to_zero) {
  net n;
  net_make(&n, 1, CAVIAR_ACT_RELU);
  caviar_member_hp hp = {.activation = CAVIAR_ACT_RELU};
  cpu_forward(&n.member, &hp, NULL, ROWS, &n.ws, &cpu_solo);
  cpu_softmax_xent(&n.ws, ROWS, CLASSES, 1, &cpu_solo);
  for (int i = 0; i < ROWS; i++) {
    double sum = 0;
    for (int c = 0; c < CLASSES; c++) sum += n.ws.logits[i + c * ROWS];
    cr_expect_float_eq(sum, 0.0, 1e-7, "row %d", i);
  }
  net_free(&n);
}

Test(gradients, dropout_keeps_about_one_minus_p) {
  long kept = 0;
  const int n = 100000;
  for (int k = 0; k < n; k++) {
    caviar_rng_block b = caviar_dropout_block(1, 2, 3, 0, (uint32_t)k);
    kept += caviar_dropout_kept(b, (uint32_t)k, 0.3f);
  }
  /* Binomial(1e5, 0.7): standard deviation 145. */
  cr_expect(labs(kept - 70000) < 5 * 145, "kept %ld of %d", kept, n);
}
