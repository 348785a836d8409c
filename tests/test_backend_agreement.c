/* The CUDA backend against the CPU backend (like ggml's test-backend-ops): identical initial
 * weights, then forward loss, every gradient and several optimizer steps by normalized error, for
 * random small cohorts of every optimizer, activation and depth; and a whole small sweep picking
 * the same survivors at every rung. Skips, saying why, without a GPU. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/backend.h"
#include "caviar/trainer.h"
#include "scratch.h"
#include "spec_support.h"
#include "synth_support.h"

static caviar_backend *open_cuda(bool tf32) {
#ifndef CAVIAR_HAVE_CUDA
  (void)tf32;
  cr_skip_test("CUDA backend not built (CAVIAR_CUDA=OFF or no nvcc)");
  return NULL;
#else
  caviar_backend *be = NULL;
  caviar_error err;
  caviar_backend_options options = {tf32};
  if (caviar_backend_cuda(&options, &be, &err) != CAVIAR_OK) cr_skip_test("%s", err.msg);
  return be;
#endif
}

static double normalized_error(const float *a, const float *b, size_t n) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < n; i++) {
    diff += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    norm += (double)b[i] * b[i];
  }
  return sqrt(diff / (norm > 1e-30 ? norm : 1e-30));
}

enum { MEMBERS = 8 };

static void make(caviar_backend *be, const caviar_data *data, const caviar_shape *shape, const caviar_trial *trials,
                 caviar_cohort *c) {
  caviar_error err;
  cr_assert_eq(be->upload(be, data, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_cohort_init(c, shape, MEMBERS, 7, &err), CAVIAR_OK);
  for (int i = 0; i < MEMBERS; i++) caviar_cohort_add(c, &trials[i]);
  cr_assert_eq(be->cohort_alloc(be, c, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(be->init_members(be, c, 0, MEMBERS, &err), CAVIAR_OK, "%s", err.msg);
}

static void compare_cohorts(bool tf32, int layers, int activation, int hidden) {
  caviar_backend *gpu = open_cuda(tf32), *cpu;
  caviar_error err;
  cr_assert_eq(caviar_backend_cpu(&cpu, &err), CAVIAR_OK);
  caviar_data data;
  synth_data(&data, 512, 24, 5, 1.0);
  caviar_shape shape = {24, 5, layers, hidden, 32};
  caviar_trial trials[MEMBERS];
  for (int i = 0; i < MEMBERS; i++) {
    trials[i] = (caviar_trial){.id = (uint32_t)(100 * layers + i)};
    caviar_hparams_default(&trials[i].hp);
    trials[i].hp.layers = layers;
    trials[i].hp.hidden = hidden;
    trials[i].hp.batch_size = 32;
    trials[i].hp.activation = activation;
    trials[i].hp.optimizer = i % 4;
    trials[i].hp.learning_rate = i % 4 == CAVIAR_OPT_SGD || i % 4 == CAVIAR_OPT_MOMENTUM ? 0.05 : 1e-3;
    trials[i].hp.dropout = i % 3 == 1 ? 0.2 : 0.0;
    trials[i].hp.l2 = i % 2 ? 1e-3 : 0.0;
    trials[i].hp.lr_decay = i % 5 == 0 ? 0.1 : 0.0;
  }
  caviar_cohort on_cpu, on_gpu;
  make(cpu, &data, &shape, trials, &on_cpu);
  make(gpu, &data, &shape, trials, &on_gpu);
  size_t per = on_cpu.layout.per_member;
  float *a = malloc(MEMBERS * per * sizeof *a), *b = malloc(MEMBERS * per * sizeof *b);
  for (int m = 0; m < MEMBERS; m++) {
    cr_assert_eq(cpu->read_arena(cpu, &on_cpu, CAVIAR_ARENA_PARAMS, m, a + m * per, &err), CAVIAR_OK);
    cr_assert_eq(gpu->read_arena(gpu, &on_gpu, CAVIAR_ARENA_PARAMS, m, b + m * per, &err), CAVIAR_OK, "%s", err.msg);
  }
  cr_expect_eq(memcmp(a, b, MEMBERS * per * sizeof *a), 0, "initial weights differ between CPU and GPU");
  double tolerance = tf32 ? 1e-2 : 1e-4;
  float loss_cpu[MEMBERS], loss_gpu[MEMBERS];
  cr_assert_eq(cpu->loss_and_grads(cpu, &on_cpu, data.split.train, loss_cpu, a, &err), CAVIAR_OK);
  cr_assert_eq(gpu->loss_and_grads(gpu, &on_gpu, data.split.train, loss_gpu, b, &err), CAVIAR_OK, "%s", err.msg);
  for (int m = 0; m < MEMBERS; m++) {
    cr_expect_float_eq(loss_gpu[m], loss_cpu[m], tolerance * fabsf(loss_cpu[m]), "member %d loss %g vs %g", m,
                       loss_gpu[m], loss_cpu[m]);
    for (int t = 0, at = 0; t < on_cpu.layout.n_tensors; at += (int)on_cpu.layout.size[t], t++) {
      double e = normalized_error(b + m * per + at, a + m * per + at, on_cpu.layout.size[t]);
      cr_expect_lt(e, tolerance, "layers %d %s hidden %d member %d (%s) tensor %d: gradient error %g", layers,
                   caviar_activation_name(activation), hidden, m, caviar_optimizer_name(trials[m].hp.optimizer), t, e);
    }
  }
  /* Three optimizer steps, members at different epochs (the decay applies to some). */
  float tl_cpu[MEMBERS], tl_gpu[MEMBERS];
  uint8_t dv_cpu[MEMBERS], dv_gpu[MEMBERS];
  caviar_epoch_stats s_cpu = {tl_cpu, dv_cpu}, s_gpu = {tl_gpu, dv_gpu};
  for (int m = 0; m < MEMBERS; m++) on_cpu.epochs[m] = on_gpu.epochs[m] = m % 3; /* decay at members' own epochs */
  cr_assert_eq(cpu->train_epoch(cpu, &on_cpu, data.split.train, 3 * 32, &s_cpu, &err), CAVIAR_OK);
  cr_assert_eq(gpu->train_epoch(gpu, &on_gpu, data.split.train, 3 * 32, &s_gpu, &err), CAVIAR_OK, "%s", err.msg);
  for (int m = 0; m < MEMBERS; m++) {
    cr_expect_eq(on_gpu.steps[m], on_cpu.steps[m]);
    cr_expect_eq(dv_gpu[m], dv_cpu[m]);
    cr_expect_float_eq(tl_gpu[m], tl_cpu[m], tolerance * fabsf(tl_cpu[m]), "member %d epoch loss", m);
    cpu->read_arena(cpu, &on_cpu, CAVIAR_ARENA_PARAMS, m, a, &err);
    gpu->read_arena(gpu, &on_gpu, CAVIAR_ARENA_PARAMS, m, b, &err);
    double e = normalized_error(b, a, per);
    cr_expect_lt(e, tolerance, "layers %d member %d (%s): parameters after 3 steps differ by %g", layers, m,
                 caviar_optimizer_name(trials[m].hp.optimizer), e);
  }
  /* Evaluation agrees too. */
  float vl_cpu[MEMBERS], va_cpu[MEMBERS], vl_gpu[MEMBERS], va_gpu[MEMBERS];
  cr_assert_eq(cpu->evaluate(cpu, &on_cpu, CAVIAR_SET_TRAIN, data.split.val, data.split.n_val, vl_cpu, va_cpu, &err),
               CAVIAR_OK);
  cr_assert_eq(gpu->evaluate(gpu, &on_gpu, CAVIAR_SET_TRAIN, data.split.val, data.split.n_val, vl_gpu, va_gpu, &err),
               CAVIAR_OK, "%s", err.msg);
  for (int m = 0; m < MEMBERS; m++) {
    cr_expect_float_eq(vl_gpu[m], vl_cpu[m], tolerance * fabsf(vl_cpu[m]), "member %d validation loss", m);
    cr_expect_float_eq(va_gpu[m], va_cpu[m], 2.0 / data.split.n_val + tolerance, "member %d validation accuracy", m);
  }
  free(a);
  free(b);
  cpu->cohort_free(cpu, &on_cpu);
  gpu->cohort_free(gpu, &on_gpu);
  caviar_cohort_free(&on_cpu);
  caviar_cohort_free(&on_gpu);
  cpu->destroy(cpu);
  gpu->destroy(gpu);
  caviar_data_free(&data);
}

Test(agreement, fp32_every_depth_and_activation) {
  for (int layers = 1; layers <= CAVIAR_MAX_LAYERS; layers++) {
    compare_cohorts(false, layers, CAVIAR_ACT_RELU, 16);
    compare_cohorts(false, layers, CAVIAR_ACT_TANH, 16);
  }
}

Test(agreement, fp32_padded_first_layer_uses_the_strided_path) {
  /* 24 x 13 weights are not a multiple of 16 floats: member blocks are padded, so layer 1 runs as
   * a strided batch instead of one GEMM. */
  compare_cohorts(false, 2, CAVIAR_ACT_RELU, 13);
}

Test(agreement, tf32_within_its_precision) { compare_cohorts(true, 2, CAVIAR_ACT_TANH, 16); }

static void sweep_on(caviar_backend *be, const char *spec_text, caviar_sweep_result *r) {
  caviar_spec spec;
  spec_ok(spec_text, &spec);
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec.data, spec.seed, &data, &err), CAVIAR_OK, "%s", err.msg);
  caviar_sweep sweep = {&spec, spec.seed, -1, be, &data, NULL, NULL};
  cr_assert_eq(caviar_sweep_run(&sweep, r, &err), CAVIAR_OK, "%s", err.msg);
  caviar_data_free(&data);
  caviar_spec_free(&spec);
}

Test(agreement, a_small_sweep_picks_the_same_survivors_at_every_rung) {
  caviar_backend *gpu = open_cuda(false), *cpu;
  caviar_error err;
  cr_assert_eq(caviar_backend_cpu(&cpu, &err), CAVIAR_OK);
  char text[2048];
  /* Learning rates spread over two decades: the validation gaps between trials are wide. */
  snprintf(text, sizeof text,
           "{\"method\": \"grid\", \"seed\": 5, \"data\": {\"dir\": \"%s\", \"validation\": 0.2},"
           " \"model\": {\"batch_size\": 32, \"hidden\": 16, \"optimizer\": \"sgd\"},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1,"
           " \"grid_points\": 9}},"
           " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 6, \"eta\": 3}}",
           synth_idx_dir("agree", 1500, 300, 32, 4, 2.0, true));
  caviar_sweep_result on_cpu, on_gpu;
  sweep_on(cpu, text, &on_cpu);
  sweep_on(gpu, text, &on_gpu);
  cr_assert_eq(on_cpu.n_trials, on_gpu.n_trials);
  for (int i = 0; i < on_cpu.n_trials; i++) {
    cr_expect_eq(on_gpu.trials[i].status, on_cpu.trials[i].status, "trial %d: %s on the GPU, %s on the CPU", i,
                 caviar_trial_status_name(on_gpu.trials[i].status), caviar_trial_status_name(on_cpu.trials[i].status));
    cr_expect_eq(on_gpu.trials[i].epochs, on_cpu.trials[i].epochs, "trial %d was culled at a different rung", i);
  }
  caviar_sweep_result_free(&on_cpu);
  caviar_sweep_result_free(&on_gpu);
  cpu->destroy(cpu);
  gpu->destroy(gpu);
}
