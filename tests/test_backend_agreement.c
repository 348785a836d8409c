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
#include "caviar/cuda_plan.h"
#include "caviar/trainer.h"
#ifdef CAVIAR_HAVE_CUDA
#include "caviar/cuda_device.h"
#endif
#include "scratch.h"
#include "spec_support.h"
#include "synth_support.h"

static caviar_backend *open_cuda(bool tf32, bool eager, int chunks) {
#ifndef CAVIAR_HAVE_CUDA
  (void)tf32;
  (void)eager;
  (void)chunks;
  cr_skip_test("CUDA backend not built (CAVIAR_CUDA=OFF or no nvcc)");
  return NULL;
#else
  caviar_backend *be = NULL;
  caviar_error err;
  caviar_backend_options options = {.tf32 = tf32, .eager = eager, .chunks = chunks};
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

/* One comparison: the cohort's shape, size and how the GPU runs it. */
typedef struct agree_case {
  bool tf32, eager;
  int chunks; /* the GPU step's member chunks (0: the backend's default) */
  int layers, activation, hidden, batch, inputs, classes, members;
  size_t examples; /* synthetic examples, 80% of them training rows */
  bool dropout;    /* a third of the members drop 20% of their hidden units */
  bool newer;      /* the optimizers added for W&B's configs: SGD with momentum, Nesterov, AdamW, NAdam */
  /* CNNs (model cnn: side x side synthetic images instead of `inputs` features) and batch norm: */
  int model, conv_blocks, channels, kernel, pool, batchnorm, side;
  caviar_augment augment; /* data.augment: the training steps gather augmented images (epoch order 3) */
} agree_case;

static agree_case small_case(int layers, int activation, int hidden) {
  return (agree_case){.layers = layers, .activation = activation, .hidden = hidden, .batch = 32, .inputs = 24,
                      .classes = 5, .members = 8, .examples = 512, .dropout = true};
}

/* Trials mixing every optimizer, dropout, l2 and learning-rate decay. */
static caviar_trial *make_trials(const agree_case *k) {
  caviar_trial *trials = calloc((size_t)k->members, sizeof *trials);
  cr_assert_not_null(trials);
  for (int i = 0; i < k->members; i++) {
    trials[i] = (caviar_trial){.id = (uint32_t)(100 * k->layers + i)};
    caviar_hparams_default(&trials[i].hp);
    trials[i].hp.model = k->model;
    trials[i].hp.conv_blocks = k->conv_blocks ? k->conv_blocks : 1;
    trials[i].hp.channels = k->channels ? k->channels : 4;
    trials[i].hp.kernel_size = k->kernel ? k->kernel : 3;
    trials[i].hp.pool = k->pool;
    trials[i].hp.batchnorm = k->batchnorm;
    trials[i].hp.bn_momentum = 0.05 + 0.1 * (i % 3);
    trials[i].hp.layers = k->layers;
    trials[i].hp.hidden = k->hidden;
    trials[i].hp.batch_size = k->batch;
    trials[i].hp.activation = k->activation;
    trials[i].hp.optimizer = i % 4;
    trials[i].hp.learning_rate = i % 4 == CAVIAR_OPT_SGD || i % 4 == CAVIAR_OPT_MOMENTUM ? 0.05 : 1e-3;
    if (k->newer) {
      static const int newer[] = {CAVIAR_OPT_SGD, CAVIAR_OPT_NESTEROV, CAVIAR_OPT_ADAMW, CAVIAR_OPT_NADAM};
      trials[i].hp.optimizer = newer[i % 4];
      trials[i].hp.momentum = i % 4 < 2 ? 0.9 : 0.0;
      trials[i].hp.learning_rate = i % 4 < 2 ? 0.02 : 1e-3;
    }
    trials[i].hp.dropout = k->dropout && i % 3 == 1 ? 0.2 : 0.0;
    trials[i].hp.l2 = i % 2 ? 1e-3 : 0.0;
    trials[i].hp.lr_decay = i % 5 == 0 ? 0.1 : 0.0;
  }
  return trials;
}

static void make(caviar_backend *be, const caviar_data *data, const caviar_shape *shape, const caviar_trial *trials,
                 int members, caviar_cohort *c) {
  caviar_error err;
  cr_assert_eq(be->upload(be, data, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_cohort_init(c, shape, members, 7, &err), CAVIAR_OK);
  for (int i = 0; i < members; i++) caviar_cohort_add(c, &trials[i]);
  cr_assert_eq(caviar_cohort_alloc(be, c, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_cohort_init_members(be, c, 0, members, &err), CAVIAR_OK, "%s", err.msg);
}

/* A CPU and a GPU cohort of the same trials on the same data. */
typedef struct pair {
  agree_case k;
  caviar_backend *cpu, *gpu;
  caviar_data data;
  caviar_trial *trials;
  caviar_cohort on_cpu, on_gpu;
  float *a, *b; /* members x per_member scratch */
  double tolerance;
} pair;

static void pair_open(pair *p, const agree_case *k) {
  memset(p, 0, sizeof *p);
  p->k = *k;
  p->gpu = open_cuda(k->tf32, k->eager, k->chunks);
  caviar_error err;
  cr_assert_eq(caviar_backend_cpu(&p->cpu, &err), CAVIAR_OK);
  if (k->model == CAVIAR_MODEL_CNN) synth_image_data(&p->data, k->examples, k->side, k->classes);
  else synth_data(&p->data, k->examples, (size_t)k->inputs, k->classes, 1.0);
  cr_assert_geq(p->data.split.n_train, (size_t)(6 * k->batch), "the case needs six minibatches of training rows");
  p->data.augment = k->augment;
  p->trials = make_trials(k);
  caviar_hparams_settle(&p->trials[0].hp, 0);
  caviar_shape shape = caviar_shape_of(&p->trials[0].hp, caviar_data_dims(&p->data), p->data.classes);
  make(p->cpu, &p->data, &shape, p->trials, k->members, &p->on_cpu);
  make(p->gpu, &p->data, &shape, p->trials, k->members, &p->on_gpu);
  p->on_cpu.tick = p->on_gpu.tick = 3;
  size_t per = p->on_cpu.layout.per_member;
  p->a = malloc((size_t)k->members * per * sizeof *p->a);
  p->b = malloc((size_t)k->members * per * sizeof *p->b);
  cr_assert(p->a && p->b);
  p->tolerance = k->tf32 ? 1e-2 : 1e-4;
}

static void pair_close(pair *p) {
  free(p->a);
  free(p->b);
  free(p->trials);
  caviar_cohort_release(p->cpu, &p->on_cpu);
  caviar_cohort_release(p->gpu, &p->on_gpu);
  caviar_cohort_free(&p->on_cpu);
  caviar_cohort_free(&p->on_gpu);
  p->cpu->destroy(p->cpu);
  p->gpu->destroy(p->gpu);
  caviar_data_free(&p->data);
}

static void read_slot(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot, float *out) {
  caviar_error err;
  cr_assert_eq(caviar_cohort_read_arena(be, c, which, slot, out, &err), CAVIAR_OK, "%s: read_arena: %s", be->name, err.msg);
}

/* Every live slot's parameters (and, with state, both optimizer arenas) and books agree. */
static void expect_same_members(pair *p, bool state, const char *when) {
  static const char *names[] = {"parameters", "first optimizer state", "second optimizer state"};
  size_t per = p->on_cpu.layout.per_member;
  cr_assert_eq(p->on_gpu.n, p->on_cpu.n, "%s: %d live slots on the GPU, %d on the CPU", when, p->on_gpu.n,
               p->on_cpu.n);
  for (int m = 0; m < p->on_cpu.n; m++) {
    cr_expect_eq(p->on_gpu.trial[m], p->on_cpu.trial[m], "%s: slot %d holds another trial", when, m);
    cr_expect_eq(p->on_gpu.steps[m], p->on_cpu.steps[m], "%s: slot %d step count", when, m);
    cr_expect_eq(p->on_gpu.epochs[m], p->on_cpu.epochs[m], "%s: slot %d epoch count", when, m);
    for (int which = 0; which < (state ? 3 : 1); which++) {
      read_slot(p->cpu, &p->on_cpu, (caviar_arena)which, m, p->a);
      read_slot(p->gpu, &p->on_gpu, (caviar_arena)which, m, p->b);
      double e = normalized_error(p->b, p->a, per);
      cr_expect_lt(e, p->tolerance, "%s: slot %d (trial %u, %s): %s differ by %g", when, m, p->on_cpu.trial[m],
                   caviar_optimizer_name(p->on_cpu.hp[m].optimizer), names[which], e);
    }
  }
}

/* `steps` optimizer steps of every member on both backends; epoch losses and flags agree. */
static void train_both(pair *p, int steps) {
  int n = p->on_cpu.n;
  float *tl_cpu = calloc((size_t)n, sizeof(float)), *tl_gpu = calloc((size_t)n, sizeof(float));
  uint8_t *dv_cpu = calloc((size_t)n, 1), *dv_gpu = calloc((size_t)n, 1);
  cr_assert(tl_cpu && tl_gpu && dv_cpu && dv_gpu);
  caviar_epoch_stats s_cpu = {tl_cpu, dv_cpu, NULL}, s_gpu = {tl_gpu, dv_gpu, NULL};
  caviar_error err;
  size_t rows = (size_t)steps * (size_t)p->k.batch;
  cr_assert_eq(caviar_cohort_train(p->cpu, &p->on_cpu, p->data.split.train, rows, &s_cpu, &err), CAVIAR_OK, "%s",
               err.msg);
  cr_assert_eq(caviar_cohort_train(p->gpu, &p->on_gpu, p->data.split.train, rows, &s_gpu, &err), CAVIAR_OK, "%s",
               err.msg);
  for (int m = 0; m < n; m++) {
    cr_expect_eq(dv_gpu[m], dv_cpu[m], "slot %d divergence flag", m);
    cr_expect_float_eq(tl_gpu[m], tl_cpu[m], p->tolerance * fabsf(tl_cpu[m]), "slot %d epoch loss %g vs %g", m,
                       tl_gpu[m], tl_cpu[m]);
  }
  free(tl_cpu);
  free(tl_gpu);
  free(dv_cpu);
  free(dv_gpu);
}

static void compare_cohorts(const agree_case *k) {
  pair p;
  pair_open(&p, k);
  caviar_error err;
  int n = k->members;
  size_t per = p.on_cpu.layout.per_member;
  for (int m = 0; m < n; m++) {
    read_slot(p.cpu, &p.on_cpu, CAVIAR_ARENA_PARAMS, m, p.a + m * per);
    read_slot(p.gpu, &p.on_gpu, CAVIAR_ARENA_PARAMS, m, p.b + m * per);
  }
  cr_expect_eq(memcmp(p.a, p.b, (size_t)n * per * sizeof *p.a), 0, "initial weights differ between CPU and GPU");
  float *loss_cpu = calloc((size_t)n, sizeof(float)), *loss_gpu = calloc((size_t)n, sizeof(float));
  cr_assert(loss_cpu && loss_gpu);
  cr_assert_eq(p.cpu->loss_and_grads(p.cpu, &p.on_cpu, p.data.split.train, loss_cpu, p.a, &err), CAVIAR_OK);
  cr_assert_eq(p.gpu->loss_and_grads(p.gpu, &p.on_gpu, p.data.split.train, loss_gpu, p.b, &err), CAVIAR_OK, "%s",
               err.msg);
  for (int m = 0; m < n; m++) {
    cr_expect_float_eq(loss_gpu[m], loss_cpu[m], p.tolerance * fabsf(loss_cpu[m]), "member %d loss %g vs %g", m,
                       loss_gpu[m], loss_cpu[m]);
    for (int t = 0, at = 0; t < p.on_cpu.layout.n_tensors; at += (int)p.on_cpu.layout.size[t], t++) {
      double e = normalized_error(p.b + m * per + at, p.a + m * per + at, p.on_cpu.layout.size[t]);
      cr_expect_lt(e, p.tolerance, "layers %d %s hidden %d batch %d member %d (%s) tensor %d: gradient error %g",
                   k->layers, caviar_activation_name(k->activation), k->hidden, k->batch, m,
                   caviar_optimizer_name(p.trials[m].hp.optimizer), t, e);
    }
  }
  free(loss_cpu);
  free(loss_gpu);
  /* Three optimizer steps, members at different epochs (the decay applies to some). */
  for (int m = 0; m < n; m++) p.on_cpu.epochs[m] = p.on_gpu.epochs[m] = m % 3;
  train_both(&p, 3);
  expect_same_members(&p, true, "after 3 steps");
  /* Evaluation agrees too. */
  float *vl_cpu = calloc((size_t)n, sizeof(float)), *va_cpu = calloc((size_t)n, sizeof(float));
  float *vl_gpu = calloc((size_t)n, sizeof(float)), *va_gpu = calloc((size_t)n, sizeof(float));
  cr_assert(vl_cpu && va_cpu && vl_gpu && va_gpu);
  cr_assert_eq(p.cpu->evaluate(p.cpu, &p.on_cpu, CAVIAR_SET_TRAIN, p.data.split.val, p.data.split.n_val, vl_cpu,
                               va_cpu, &err),
               CAVIAR_OK);
  cr_assert_eq(p.gpu->evaluate(p.gpu, &p.on_gpu, CAVIAR_SET_TRAIN, p.data.split.val, p.data.split.n_val, vl_gpu,
                               va_gpu, &err),
               CAVIAR_OK, "%s", err.msg);
  for (int m = 0; m < n; m++) {
    cr_expect_float_eq(vl_gpu[m], vl_cpu[m], p.tolerance * fabsf(vl_cpu[m]), "member %d validation loss", m);
    cr_expect_float_eq(va_gpu[m], va_cpu[m], 2.0 / p.data.split.n_val + p.tolerance, "member %d validation accuracy",
                       m);
  }
  free(vl_cpu);
  free(va_cpu);
  free(vl_gpu);
  free(va_gpu);
  pair_close(&p);
}

Test(agreement, fp32_every_depth_and_activation) {
  for (int layers = 1; layers <= CAVIAR_MAX_LAYERS; layers++) {
    agree_case relu = small_case(layers, CAVIAR_ACT_RELU, 16), tanh_case = small_case(layers, CAVIAR_ACT_TANH, 16);
    compare_cohorts(&relu);
    compare_cohorts(&tanh_case);
  }
}

/* The kinds added for W&B's configs: sigmoid, gelu and silu (whose input is kept apart from their
 * output), leaky_relu; PyTorch's SGD with momentum, Nesterov, AdamW and NAdam. */
Test(agreement, fp32_newer_activations_and_optimizers) {
  const int acts[] = {CAVIAR_ACT_SIGMOID, CAVIAR_ACT_GELU, CAVIAR_ACT_SILU, CAVIAR_ACT_LEAKY_RELU};
  for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
    for (int layers = 1; layers <= 3; layers += 2) {
      agree_case k = small_case(layers, acts[a], 16);
      compare_cohorts(&k);
      k.newer = true;
      compare_cohorts(&k);
    }
  }
  /* Without dropout gelu's members still need the separate next-layer input; launched directly too. */
  agree_case k = small_case(2, CAVIAR_ACT_GELU, 13);
  k.dropout = false;
  compare_cohorts(&k);
  k.eager = true;
  k.activation = CAVIAR_ACT_SILU;
  compare_cohorts(&k);
}

Test(agreement, regression_squared_error_every_depth_and_activation) {
  /* One linear output and the squared error on standardised targets (the labels' slots hold the
   * targets' bits on the device). */
  for (int layers = 1; layers <= CAVIAR_MAX_LAYERS; layers++) {
    agree_case relu = small_case(layers, CAVIAR_ACT_RELU, 16), tanh_case = small_case(layers, CAVIAR_ACT_TANH, 16);
    relu.classes = tanh_case.classes = 1;
    compare_cohorts(&relu);
    compare_cohorts(&tanh_case);
  }
}

/* CNN cohorts: convolutions (the first one fused over the members as one GEMM, the later ones
 * unfolded per member), batch norm with per-member momentum (its running statistics are compared
 * with the parameters), max and average pooling, flatten and the dense head. */
static agree_case cnn_case(int blocks, int channels, int kernel, int pool, int batchnorm) {
  agree_case k = small_case(1, CAVIAR_ACT_RELU, 16);
  k.model = CAVIAR_MODEL_CNN;
  k.conv_blocks = blocks;
  k.channels = channels;
  k.kernel = kernel;
  k.pool = pool;
  k.batchnorm = batchnorm;
  k.side = 8;
  k.classes = 4;
  k.batch = 16;
  k.examples = 320;
  return k;
}

Test(agreement, cnn_with_batch_norm_and_max_pooling) {
  agree_case k = cnn_case(2, 4, 3, CAVIAR_POOL_CHOICE_MAX, 1);
  compare_cohorts(&k);
  k.activation = CAVIAR_ACT_TANH;
  compare_cohorts(&k);
}

Test(agreement, cnn_on_augmented_images_mirrored_and_moved) {
  agree_case k = cnn_case(1, 4, 3, CAVIAR_POOL_CHOICE_MAX, 1);
  k.augment = (caviar_augment){true, 2};
  compare_cohorts(&k);
}

Test(agreement, cnn_with_average_pooling_a_5x5_kernel_and_conv_biases) {
  agree_case k = cnn_case(1, 3, 5, CAVIAR_POOL_CHOICE_AVG, 0);
  compare_cohorts(&k);
  k = cnn_case(2, 4, 3, CAVIAR_POOL_CHOICE_NONE, 0);
  compare_cohorts(&k);
}

Test(agreement, cnn_padded_first_convolution_uses_the_strided_path) {
  /* 3 x 9 weights of 3 channels: 27 floats, padded to 32 per member. */
  agree_case k = cnn_case(1, 3, 3, CAVIAR_POOL_CHOICE_MAX, 1);
  compare_cohorts(&k);
}

Test(agreement, mlp_with_batch_norm) {
  agree_case k = small_case(2, CAVIAR_ACT_RELU, 16);
  k.batchnorm = 1;
  compare_cohorts(&k);
}

Test(agreement, fp32_padded_first_layer_uses_the_strided_path) {
  /* 24 x 13 weights are not a multiple of 16 floats: member blocks are padded, so layer 1 runs as
   * a strided batch instead of one GEMM. */
  agree_case k = small_case(2, CAVIAR_ACT_RELU, 13);
  compare_cohorts(&k);
}

Test(agreement, tf32_within_its_precision) {
  agree_case k = small_case(2, CAVIAR_ACT_TANH, 16);
  k.tf32 = true;
  compare_cohorts(&k);
}

Test(agreement, eager_launches_without_step_graphs_agree) {
  agree_case k = small_case(3, CAVIAR_ACT_RELU, 16);
  k.eager = true;
  compare_cohorts(&k);
}

Test(agreement, steps_split_into_chunks_with_overlapping_updates_agree) {
  /* 8 members in 3 chunks (2, 3 and 3 members): each chunk's update runs on the second stream
   * while the next chunks compute their gradients. Captured, then launched directly. */
  agree_case k = small_case(2, CAVIAR_ACT_RELU, 16);
  k.chunks = 3;
  compare_cohorts(&k);
  k.eager = true;
  k.chunks = 2;
  k.activation = CAVIAR_ACT_TANH;
  compare_cohorts(&k);
  /* More chunks than members: one member a chunk. */
  k = small_case(1, CAVIAR_ACT_RELU, 13);
  k.members = 3;
  k.chunks = CAVIAR_CUDA_MAX_CHUNKS;
  compare_cohorts(&k);
}

Test(agreement, kernels_spanning_several_thread_blocks_per_member_agree) {
  /* batch 160 x 40 units = 6,400 elements per member: 7 blocks of 256 threads (4 units each) in
   * bias+activation and the activation backward, so blockIdx.x > 0 and dropout's Philox blocks
   * past the first thread block; bias gradients sum 160 rows with 128 threads. */
  agree_case k = {.layers = 2, .activation = CAVIAR_ACT_RELU, .hidden = 40, .batch = 160, .inputs = 40,
                  .classes = 5, .members = 8, .examples = 1500, .dropout = true};
  compare_cohorts(&k);
  k.activation = CAVIAR_ACT_TANH;
  k.hidden = 37; /* padded blocks as well: 40 x 37 is no multiple of 16 */
  compare_cohorts(&k);
}

Test(agreement, the_optimizer_pass_wraps_its_grid_stride_loop) {
  /* 96 members x 50,629 parameters = 1.2 M float4s, more than the pass's grid (16 blocks per SM x
   * 256 threads: 540 K float4s on 132 SMs) covers at once: every thread takes several. */
  agree_case k = {.layers = 1, .activation = CAVIAR_ACT_RELU, .hidden = 64, .batch = 32, .inputs = 784,
                  .classes = 5, .members = 96, .examples = 600, .dropout = false};
  compare_cohorts(&k);
}

Test(agreement, dropout_switched_on_after_a_step_was_captured) {
  agree_case k = small_case(2, CAVIAR_ACT_RELU, 16);
  k.dropout = false;
  pair p;
  pair_open(&p, &k);
  train_both(&p, 3); /* the GPU captures a step with no dropout buffers */
  expect_same_members(&p, true, "before dropout");
  /* As PBT's explore or panda's --set would: two members start dropping units. */
  for (int m = 1; m < k.members; m += 3) p.on_cpu.hp[m].dropout = p.on_gpu.hp[m].dropout = 0.3f;
  train_both(&p, 3);
  expect_same_members(&p, true, "after dropout was switched on");
  pair_close(&p);
}

Test(agreement, compaction_and_copies_move_parameters_and_optimizer_state_as_on_the_cpu) {
  agree_case k = small_case(2, CAVIAR_ACT_TANH, 16);
  k.chunks = 3; /* 8 members in 3 chunks, then 4 members in 3 */
  pair p;
  pair_open(&p, &k);
  caviar_error err;
  train_both(&p, 3);
  const int keep[] = {0, 2, 5, 7};
  cr_assert_eq(caviar_cohort_compact(p.cpu, &p.on_cpu, keep, 4, &err), CAVIAR_OK);
  cr_assert_eq(caviar_cohort_compact(p.gpu, &p.on_gpu, keep, 4, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(p.on_gpu.trial[1], p.trials[2].id, "slot 1 holds trial %u after the compaction", p.trials[2].id);
  expect_same_members(&p, true, "after compaction");
  cr_assert_eq(caviar_cohort_copy(p.cpu, &p.on_cpu, 1, 3, &err), CAVIAR_OK);
  cr_assert_eq(caviar_cohort_copy(p.gpu, &p.on_gpu, 1, 3, &err), CAVIAR_OK, "%s", err.msg);
  /* PBT's exploit: the copy trains on with the donor's hyperparameters' optimizer. */
  p.on_cpu.hp[3] = p.on_cpu.hp[1];
  p.on_gpu.hp[3] = p.on_gpu.hp[1];
  expect_same_members(&p, true, "after a copy");
  read_slot(p.gpu, &p.on_gpu, CAVIAR_ARENA_SECOND, 1, p.a);
  read_slot(p.gpu, &p.on_gpu, CAVIAR_ARENA_SECOND, 3, p.b);
  cr_expect_eq(memcmp(p.a, p.b, p.on_gpu.layout.per_member * sizeof(float)), 0, "the copy holds the donor's state");
  /* The moved and copied members train on as on the CPU (the graph is recaptured for 4 members). */
  train_both(&p, 3);
  expect_same_members(&p, true, "3 steps after compaction and copy");
  pair_close(&p);
}

Test(agreement, a_cohort_of_more_than_65535_members_agrees) {
  /* gridDim.y is at most 65,535: kernels with a member per blockIdx.y launch in chunks. */
  agree_case k = {.layers = 1, .activation = CAVIAR_ACT_RELU, .hidden = 4, .batch = 16, .inputs = 8, .classes = 3,
                  .members = 70000, .examples = 400, .dropout = true};
  pair p;
  pair_open(&p, &k);
  train_both(&p, 2);
  size_t per = p.on_cpu.layout.per_member;
  const int slots[] = {0, 1, 65534, 65535, 65536, 69998, 69999};
  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
    for (int which = 0; which < 3; which++) {
      read_slot(p.cpu, &p.on_cpu, (caviar_arena)which, slots[i], p.a);
      read_slot(p.gpu, &p.on_gpu, (caviar_arena)which, slots[i], p.b);
      double e = normalized_error(p.b, p.a, per);
      cr_expect_lt(e, p.tolerance, "slot %d arena %d differs by %g", slots[i], which, e);
    }
    cr_expect_eq(p.on_gpu.steps[slots[i]], 2, "slot %d took both steps", slots[i]);
  }
  pair_close(&p);
}

Test(agreement, the_memory_plan_counts_what_a_cohort_allocates) {
  caviar_backend *gpu = open_cuda(false, false, 0);
#ifdef CAVIAR_HAVE_CUDA
  /* 512 members of 784-256-256-10 with dropout: about 2.5 GB of arenas and activations. */
  agree_case k = {.layers = 2, .activation = CAVIAR_ACT_RELU, .hidden = 256, .batch = 128, .inputs = 784,
                  .classes = 10, .members = 512, .dropout = true};
  caviar_shape shape = caviar_mlp_shape(k.inputs, k.classes, k.layers, k.hidden, k.batch);
  caviar_data data;
  synth_data(&data, 1000, (size_t)k.inputs, k.classes, 1.0);
  caviar_error err;
  cr_assert_eq(gpu->upload(gpu, &data, &err), CAVIAR_OK, "%s", err.msg);
  caviar_trial *trials = make_trials(&k);
  caviar_cohort c;
  cr_assert_eq(caviar_cohort_init(&c, &shape, k.members, 7, &err), CAVIAR_OK);
  for (int i = 0; i < k.members; i++) caviar_cohort_add(&c, &trials[i]);
  caviar_cohort_keep_best(&c); /* the fifth arena too (model.keep best) */
  size_t free_before, free_after, total;
  cr_assert_eq(caviar_cuda_memory(&free_before, &total, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_cohort_alloc(gpu, &c, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_cuda_memory(&free_after, &total, &err), CAVIAR_OK, "%s", err.msg);
  double used = (double)free_before - (double)free_after, planned = caviar_cuda_cohort_bytes(&shape, k.members, true, true);
  /* cudaMalloc rounds each of the cohort's ~20 buffers up to its 2 MiB pages. */
  cr_expect(fabs(used - planned) <= 0.01 * planned + 48.0 * (1 << 20),
            "the plan says %.1f MiB, the cohort took %.1f MiB", planned / (1 << 20), used / (1 << 20));
  caviar_cohort_release(gpu, &c);
  caviar_cohort_free(&c);
  free(trials);
  caviar_data_free(&data);
  gpu->destroy(gpu);
#else
  (void)gpu;
#endif
}

static void sweep_on(caviar_backend *be, const char *spec_text, caviar_sweep_result *r) {
  sweep_text_on(be, spec_text, r, NULL, NULL);
}

Test(agreement, a_small_sweep_picks_the_same_survivors_at_every_rung) {
  caviar_backend *gpu = open_cuda(false, false, 0), *cpu;
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

/* model.keep best on the GPU: the fifth arena is device memory that save_best, compaction and
 * PBT copies move device to device; every copy must be exact, so the GPU's best arena equals its
 * own parameters as they stood when saved, bit for bit. */
Test(agreement, the_best_epoch_arena_on_the_gpu_saves_moves_and_restarts_exactly) {
  caviar_backend *gpu = open_cuda(false, false, 0);
#ifdef CAVIAR_HAVE_CUDA
  agree_case k = small_case(1, CAVIAR_ACT_RELU, 16);
  caviar_shape shape = caviar_mlp_shape(k.inputs, k.classes, k.layers, k.hidden, k.batch);
  caviar_data data;
  synth_data(&data, k.examples, (size_t)k.inputs, k.classes, 1.0);
  caviar_error err;
  cr_assert_eq(gpu->upload(gpu, &data, &err), CAVIAR_OK, "%s", err.msg);
  caviar_trial *trials = make_trials(&k);
  caviar_cohort c;
  cr_assert_eq(caviar_cohort_init(&c, &shape, k.members, 7, &err), CAVIAR_OK);
  for (int i = 0; i < k.members; i++) caviar_cohort_add(&c, &trials[i]);
  caviar_cohort_keep_best(&c);
  cr_assert_eq(caviar_cohort_alloc(gpu, &c, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_cohort_init_members(gpu, &c, 0, c.n, &err), CAVIAR_OK, "%s", err.msg);
  size_t per = c.layout.per_member;
  float *saved = malloc((size_t)k.members * per * sizeof *saved), *got = malloc(per * sizeof *got);
  float loss[64];
  uint8_t diverged[64];
  caviar_epoch_stats stats = {loss, diverged, NULL};
  cr_assert_eq(caviar_cohort_train(gpu, &c, data.split.train, data.split.n_train, &stats, &err), CAVIAR_OK, "%s", err.msg);
  int improved[] = {1, 2, 3, 5, 6};
  cr_assert_eq(caviar_cohort_save_best(gpu, &c, improved, 5, &err), CAVIAR_OK, "%s", err.msg);
  for (int m = 0; m < k.members; m++)
    cr_assert_eq(caviar_cohort_read_arena(gpu, &c, CAVIAR_ARENA_PARAMS, m, saved + (size_t)m * per, &err), CAVIAR_OK);
  cr_assert_eq(caviar_cohort_train(gpu, &c, data.split.train, data.split.n_train, &stats, &err), CAVIAR_OK, "%s", err.msg);
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(caviar_cohort_read_arena(gpu, &c, CAVIAR_ARENA_BEST, improved[i], got, &err), CAVIAR_OK, "%s", err.msg);
    cr_expect_eq(memcmp(got, saved + (size_t)improved[i] * per, per * sizeof *got), 0, "slot %d", improved[i]);
  }
  int keep[] = {2, 5, 6};
  cr_assert_eq(caviar_cohort_compact(gpu, &c, keep, 3, &err), CAVIAR_OK, "%s", err.msg);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(caviar_cohort_read_arena(gpu, &c, CAVIAR_ARENA_BEST, i, got, &err), CAVIAR_OK, "%s", err.msg);
    cr_expect_eq(memcmp(got, saved + (size_t)keep[i] * per, per * sizeof *got), 0, "slot %d after compaction", i);
  }
  float *donor = malloc(per * sizeof *donor);
  cr_assert_eq(caviar_cohort_read_arena(gpu, &c, CAVIAR_ARENA_PARAMS, 0, donor, &err), CAVIAR_OK);
  cr_assert_eq(caviar_cohort_copy(gpu, &c, 0, 2, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_cohort_read_arena(gpu, &c, CAVIAR_ARENA_BEST, 2, got, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(memcmp(got, donor, per * sizeof *got), 0, "a copy restarts the recipient's best from what it took");
  cr_assert_eq(caviar_cohort_write_arena(gpu, &c, CAVIAR_ARENA_BEST, 1, saved, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_cohort_read_arena(gpu, &c, CAVIAR_ARENA_BEST, 1, got, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(memcmp(got, saved, per * sizeof *got), 0, "write_arena then read_arena");
  free(donor);
  free(saved);
  free(got);
  caviar_cohort_release(gpu, &c);
  caviar_cohort_free(&c);
  free(trials);
  caviar_data_free(&data);
  gpu->destroy(gpu);
#else
  (void)gpu;
#endif
}

Test(agreement, a_keep_best_sweep_keeps_the_same_best_epochs_and_weights_on_both_backends) {
  caviar_backend *gpu = open_cuda(false, false, 0), *cpu;
  caviar_error err;
  cr_assert_eq(caviar_backend_cpu(&cpu, &err), CAVIAR_OK);
  char text[2048];
  /* Few noisy examples and a wide model: val_loss turns up well before the last epoch. */
  snprintf(text, sizeof text,
           "{\"method\": \"grid\", \"seed\": 5, \"data\": {\"dir\": \"%s\", \"validation\": 0.3},"
           " \"metric\": {\"name\": \"val_loss\", \"goal\": \"minimize\"},"
           " \"model\": {\"batch_size\": 16, \"hidden\": 64, \"optimizer\": \"sgd\", \"epochs\": 10, \"keep\": \"best\"},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 0.03, \"max\": 0.3,"
           " \"grid_points\": 3}}}",
           synth_idx_dir("agree-keep", 400, 200, 24, 4, 2.5, true));
  caviar_sweep_result on_cpu, on_gpu;
  sweep_on(cpu, text, &on_cpu);
  sweep_on(gpu, text, &on_gpu);
  cr_assert_eq(on_cpu.n_trials, on_gpu.n_trials);
  for (int i = 0; i < on_cpu.n_trials; i++) {
    const caviar_trial_result *a = &on_cpu.trials[i], *b = &on_gpu.trials[i];
    cr_assert_eq(a->status, CAVIAR_TRIAL_SURVIVED);
    cr_assert_eq(b->status, CAVIAR_TRIAL_SURVIVED);
    cr_expect(a->kept_best && b->kept_best);
    cr_expect_eq(b->best_epoch, a->best_epoch, "trial %d: best epoch %d on the GPU, %d on the CPU", i, b->best_epoch,
                 a->best_epoch);
    caviar_layout layout;
    caviar_layout_make(&a->shape, 1, &layout);
    double e = normalized_error(b->params, a->params, layout.per_member);
    cr_expect_lt(e, 1e-3, "trial %d: the kept weights differ by %g", i, e);
  }
  caviar_sweep_result_free(&on_cpu);
  caviar_sweep_result_free(&on_gpu);
  cpu->destroy(cpu);
  gpu->destroy(gpu);
}
