/* Each optimizer's update against the textbook formulas, computed by hand in float64 for several
 * steps, including L2 on weights (not biases) and the per-epoch learning-rate decay. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "cpu/member.h"

enum { STEPS = 4 };

static const double grads[STEPS] = {0.5, -0.25, 1.0, 0.125};

/* Runs cpu_update on a 1-1-1 network (weight w0, bias b0, output weight, bias) and returns the
 * first weight after each step. */
static void run(const caviar_member_hp *hp, int epoch, double w_out[STEPS], double b_out[STEPS]) {
  caviar_shape shape = caviar_mlp_shape(1, 1, 1, 1, 1);
  caviar_arch arch;
  caviar_layout layout;
  caviar_arch_of(&shape, &arch);
  caviar_layout_of(&arch, 1, &layout);
  float *p = calloc(layout.arena, 4), *g = calloc(layout.arena, 4), *m = calloc(layout.arena, 4),
        *v = calloc(layout.arena, 4);
  cpu_member mem;
  cpu_member_bind(&mem, &arch, &layout, p, g, m, v, 0);
  mem.w[0][0] = 0.75f;
  mem.w[1][0] = 0.75f;
  for (int t = 1; t <= STEPS; t++) {
    mem.g[0][0] = mem.g[1][0] = (float)grads[t - 1];
    caviar_step_scalars s = caviar_step_scalars_at(hp, epoch, t);
    cpu_update(&mem, hp, &s, &cpu_solo);
    w_out[t - 1] = mem.w[0][0];
    b_out[t - 1] = mem.w[1][0];
  }
  free(p);
  free(g);
  free(m);
  free(v);
}

static void expect_close(const double *got, const double *want, const char *what) {
  for (int t = 0; t < STEPS; t++)
    cr_expect_float_eq(got[t], want[t], 2e-6 * fmax(1.0, fabs(want[t])), "%s step %d: got %.9g want %.9g", what,
                       t + 1, got[t], want[t]);
}

static caviar_member_hp member(int optimizer) {
  caviar_member_hp hp = {0.1f, 0.9f, 0.99f, 1e-8f, 0.01f, 0.0f, 0.5f, optimizer, CAVIAR_ACT_RELU, 0.1f};
  return hp;
}

Test(optimizers, sgd_with_l2_and_decay) {
  caviar_member_hp hp = member(CAVIAR_OPT_SGD);
  double w[STEPS], b[STEPS], ww = 0.75, bb = 0.75, want_w[STEPS], want_b[STEPS];
  const double lr = 0.1 / (1 + 0.5 * 2); /* epoch 2 */
  for (int t = 0; t < STEPS; t++) {
    ww -= lr * (grads[t] + 0.01 * ww);
    bb -= lr * grads[t];
    want_w[t] = ww;
    want_b[t] = bb;
  }
  run(&hp, 2, w, b);
  expect_close(w, want_w, "sgd weight");
  expect_close(b, want_b, "sgd bias (no L2)");
}

Test(optimizers, momentum) {
  caviar_member_hp hp = member(CAVIAR_OPT_MOMENTUM);
  double w[STEPS], b[STEPS], ww = 0.75, vel = 0, want[STEPS];
  for (int t = 0; t < STEPS; t++) {
    double g = grads[t] + 0.01 * ww;
    vel = 0.9 * vel + 0.1 * g;
    ww -= 0.1 * vel;
    want[t] = ww;
  }
  run(&hp, 0, w, b);
  expect_close(w, want, "momentum");
}

Test(optimizers, rmsprop) {
  caviar_member_hp hp = member(CAVIAR_OPT_RMSPROP);
  double w[STEPS], b[STEPS], ww = 0.75, sq = 0, want[STEPS];
  for (int t = 0; t < STEPS; t++) {
    double g = grads[t] + 0.01 * ww;
    sq = 0.99 * sq + 0.01 * g * g;
    ww -= 0.1 * g / (sqrt(sq) + 1e-8);
    want[t] = ww;
  }
  run(&hp, 0, w, b);
  expect_close(w, want, "rmsprop");
}

Test(optimizers, adam_with_bias_correction) {
  caviar_member_hp hp = member(CAVIAR_OPT_ADAM);
  double w[STEPS], b[STEPS], ww = 0.75, m = 0, v = 0, want[STEPS];
  for (int t = 1; t <= STEPS; t++) {
    double g = grads[t - 1] + 0.01 * ww;
    m = 0.9 * m + 0.1 * g;
    v = 0.99 * v + 0.01 * g * g;
    double m_hat = m / (1 - pow(0.9, t)), v_hat = v / (1 - pow(0.99, t));
    ww -= 0.1 * m_hat / (sqrt(v_hat) + 1e-8);
    want[t - 1] = ww;
  }
  run(&hp, 0, w, b);
  expect_close(w, want, "adam");
  /* The first bias-corrected Adam step moves by lr * sign(g), whatever the gradient's size. */
  cr_expect_float_eq(b[0], 0.75 - 0.1, 1e-6);
}
