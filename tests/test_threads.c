/* The CPU backend keeps every thread busy, whatever the population: a cohort with fewer members
 * than threads trains each member with a team of threads. A member's arithmetic must not depend
 * on that: trained alone or in a cohort, with one thread or several, its weights, optimizer state,
 * step count, losses and evaluations are bitwise the same. */
#include <criterion/criterion.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/backend.h"
#include "cpu/layers.h"
#include "scratch.h"
#include "synth_support.h"

static caviar_data data;
static caviar_backend *be;
/* The members' structural values: an MLP, or (the cnn suite) a CNN. */
static caviar_hparams structure;
static caviar_shape shape;

static void use_structure(void) {
  shape = caviar_shape_of(&structure, caviar_data_dims(&data), data.classes);
}

/* 100 hidden units: two GEMM tiles (64 + 36 columns) per layer; batch 50: tiles and dropout's
 * groups of four units straddle each other. */
static void setup(void) {
  be = synth_cpu_backend(&data, 1000, 40, 5);
  caviar_hparams_default(&structure);
  structure.layers = 2;
  structure.hidden = 100;
  structure.batch_size = 50;
  use_structure();
}

/* 12 x 12 images, two blocks of 8 and 16 channels with batch norm and max pooling, a head of 70:
 * the second convolution's weight gradient is two row tiles (64 + 8 of its 8 x 9), and with the
 * unfolded chunks cut to a few examples each, its chunks and the pooling's and batch norm's
 * channels are shared among a team's threads. */
static void setup_cnn(void) {
  memset(&data, 0, sizeof data);
  caviar_error err;
  cr_assert_eq(caviar_synth_images(600, 12, 1, 4, 0.5, 3, 0, &data.train, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_synth_images(50, 12, 1, 4, 0.5, 3, 600, &data.test, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_split_make(data.train.n, 0.2, 1, &data.split, &err), CAVIAR_OK);
  cr_assert_eq(caviar_scaling_fit(&data.train, data.split.train, data.split.n_train, CAVIAR_SCALING_UNIT, &data.scaling,
                                  &err), CAVIAR_OK);
  data.classes = 4;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  cr_assert_eq(be->upload(be, &data, &err), CAVIAR_OK);
  caviar_hparams_default(&structure);
  structure.model = CAVIAR_MODEL_CNN;
  structure.conv_blocks = 2;
  structure.channels = 8;
  structure.channel_growth = 2;
  structure.batchnorm = 1;
  structure.layers = 1;
  structure.hidden = 70;
  structure.batch_size = 20;
  use_structure();
  cpu_conv_chunk_floats = 2000;
}

static void teardown(void) {
  cpu_conv_chunk_floats = 1 << 18;
  be->destroy(be);
  caviar_data_free(&data);
}

TestSuite(threads, .init = setup, .fini = teardown);
TestSuite(threads_cnn, .init = setup_cnn, .fini = teardown);

static caviar_trial trial(uint32_t id, int optimizer, int activation, double dropout, double lr) {
  caviar_trial t = {.id = id};
  caviar_hparams_default(&t.hp);
  caviar_hparams_copy_shape(&t.hp, &structure);
  caviar_hparams_settle(&t.hp, 0);
  t.hp.bn_momentum = 0.2;
  t.hp.optimizer = optimizer;
  t.hp.activation = activation;
  t.hp.dropout = dropout;
  t.hp.l2 = 1e-4;
  t.hp.learning_rate = lr;
  return t;
}

/* What a run leaves of one member: all three arenas, its steps, last epoch loss and flag, and its
 * validation loss and accuracy. */
typedef struct outcome {
  float *arenas[3];
  int steps;
  float loss, val_loss, val_acc;
  uint8_t diverged;
} outcome;

/* Trains `trials` (n of them) as one cohort for two epochs on `threads` threads and returns the
 * outcome of slot `slot`. */
static outcome run(const caviar_trial *trials, int n, int slot, int threads) {
  omp_set_num_threads(threads);
  caviar_cohort c;
  caviar_error err;
  cr_assert_eq(caviar_cohort_init(&c, &shape, n, 42, &err), CAVIAR_OK);
  for (int i = 0; i < n; i++) caviar_cohort_add(&c, &trials[i]);
  cr_assert_eq(caviar_cohort_alloc(be, &c, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_cohort_init_members(be, &c, 0, n, &err), CAVIAR_OK);
  float loss[8], vl[8], va[8];
  uint8_t flags[8];
  caviar_epoch_stats stats = {loss, flags, NULL};
  for (int e = 0; e < 2; e++) {
    for (int m = 0; m < n; m++) c.epochs[m] = e;
    cr_assert_eq(caviar_cohort_train(be, &c, data.split.train, data.split.n_train, &stats, &err), CAVIAR_OK);
  }
  cr_assert_eq(be->evaluate(be, &c, CAVIAR_SET_TRAIN, data.split.val, data.split.n_val, vl, va, &err), CAVIAR_OK);
  outcome o = {.steps = c.steps[slot], .loss = loss[slot], .val_loss = vl[slot], .val_acc = va[slot],
               .diverged = flags[slot]};
  for (int a = 0; a < 3; a++) {
    o.arenas[a] = malloc(c.layout.per_member * sizeof(float));
    cr_assert_eq(caviar_cohort_read_arena(be, &c, (caviar_arena)a, slot, o.arenas[a], &err), CAVIAR_OK);
  }
  caviar_cohort_release(be, &c);
  caviar_cohort_free(&c);
  return o;
}

static size_t per_member(void) {
  caviar_layout layout;
  caviar_layout_make(&shape, 1, &layout);
  return layout.per_member;
}

static void expect_same(const outcome *a, const outcome *b, const char *what) {
  static const char *names[] = {"parameters", "first optimizer state", "second optimizer state"};
  for (int i = 0; i < 3; i++)
    cr_expect_eq(memcmp(a->arenas[i], b->arenas[i], per_member() * sizeof(float)), 0, "%s: %s differ", what,
                 names[i]);
  cr_expect_eq(a->steps, b->steps, "%s: steps", what);
  cr_expect_eq(memcmp(&a->loss, &b->loss, sizeof a->loss), 0, "%s: epoch loss %.9g vs %.9g", what, a->loss, b->loss);
  cr_expect_eq(memcmp(&a->val_loss, &b->val_loss, sizeof a->val_loss), 0, "%s: validation loss", what);
  cr_expect_eq(a->val_acc, b->val_acc, "%s: validation accuracy", what);
  cr_expect_eq(a->diverged, b->diverged, "%s: divergence flag", what);
}

static void outcome_free(outcome *o) {
  for (int i = 0; i < 3; i++) free(o->arenas[i]);
}

static void check_member(const caviar_trial *x) {
  caviar_trial others[3] = {trial(11, CAVIAR_OPT_SGD, CAVIAR_ACT_TANH, 0.0, 0.05),
                            trial(12, CAVIAR_OPT_RMSPROP, CAVIAR_ACT_RELU, 0.3, 1e-3),
                            trial(13, CAVIAR_OPT_MOMENTUM, CAVIAR_ACT_RELU, 0.0, 0.02)};
  outcome alone1 = run(x, 1, 0, 1); /* the reference: one thread, one member */
  outcome alone2 = run(x, 1, 0, 2); /* a team of two */
  outcome alone4 = run(x, 1, 0, 4); /* a team of four (two GEMM tiles: two of them idle there) */
  expect_same(&alone2, &alone1, "alone, 2 threads");
  expect_same(&alone4, &alone1, "alone, 4 threads");
  /* In a cohort of 3 on 2 threads: slots 0 and 1 one per thread, then slot 2 with both threads. */
  caviar_trial first[3] = {*x, others[0], others[1]}, last[3] = {others[0], others[1], *x};
  outcome solo_in_cohort = run(first, 3, 0, 2), team_in_cohort = run(last, 3, 2, 2);
  expect_same(&solo_in_cohort, &alone1, "first of 3 on 2 threads");
  expect_same(&team_in_cohort, &alone1, "last of 3 on 2 threads");
  /* 2 members on 3 threads: teams of one and two threads side by side. */
  caviar_trial pair[2] = {others[2], *x};
  outcome uneven = run(pair, 2, 1, 3);
  expect_same(&uneven, &alone1, "second of 2 on 3 threads");
  outcome_free(&alone1);
  outcome_free(&alone2);
  outcome_free(&alone4);
  outcome_free(&solo_in_cohort);
  outcome_free(&team_in_cohort);
  outcome_free(&uneven);
}

Test(threads, an_adam_member_with_dropout_is_bitwise_the_same_on_any_number_of_threads_alone_or_in_a_cohort) {
  caviar_trial x = trial(7, CAVIAR_OPT_ADAM, CAVIAR_ACT_RELU, 0.2, 2e-3);
  check_member(&x);
}

Test(threads, a_tanh_rmsprop_member_is_bitwise_the_same_on_any_number_of_threads_alone_or_in_a_cohort) {
  caviar_trial x = trial(8, CAVIAR_OPT_RMSPROP, CAVIAR_ACT_TANH, 0.0, 1e-3);
  check_member(&x);
}

Test(threads_cnn, a_cnn_member_with_batch_norm_is_bitwise_the_same_on_any_number_of_threads_alone_or_in_a_cohort) {
  caviar_trial x = trial(7, CAVIAR_OPT_ADAM, CAVIAR_ACT_RELU, 0.2, 2e-3);
  check_member(&x);
}

Test(threads, a_member_diverging_in_a_team_stops_alone_and_the_other_team_trains_on) {
  /* 2 members on 4 threads: two teams of two in lockstep; one diverges in its first epoch and
   * goes idle, still meeting the other team at every barrier. */
  caviar_trial good = trial(21, CAVIAR_OPT_ADAM, CAVIAR_ACT_RELU, 0.1, 1e-3);
  caviar_trial bad = trial(22, CAVIAR_OPT_SGD, CAVIAR_ACT_RELU, 0.0, 1e4);
  caviar_trial both[2] = {bad, good};
  outcome good_alone = run(&good, 1, 0, 1), bad_alone = run(&bad, 1, 0, 1);
  cr_assert(bad_alone.diverged, "a learning rate of 1e4 diverges");
  outcome good_in_team = run(both, 2, 1, 4), bad_in_team = run(both, 2, 0, 4);
  expect_same(&good_in_team, &good_alone, "the good member beside a diverging team");
  expect_same(&bad_in_team, &bad_alone, "the diverging member in a team");
  outcome_free(&good_alone);
  outcome_free(&bad_alone);
  outcome_free(&good_in_team);
  outcome_free(&bad_in_team);
}

/* The newer kinds: gelu and silu keep the activation's input apart from its output (with and
 * without dropout), and the optimizers keep the state their formulas need. */
Test(threads, gelu_silu_and_the_newer_optimizers_are_bitwise_the_same_on_any_number_of_threads_alone_or_in_a_cohort) {
  caviar_trial gelu = trial(31, CAVIAR_OPT_ADAMW, CAVIAR_ACT_GELU, 0.2, 2e-3);
  check_member(&gelu);
  caviar_trial silu = trial(32, CAVIAR_OPT_NESTEROV, CAVIAR_ACT_SILU, 0.0, 0.02);
  silu.hp.momentum = 0.9;
  check_member(&silu);
  caviar_trial sigmoid = trial(33, CAVIAR_OPT_NADAM, CAVIAR_ACT_SIGMOID, 0.1, 3e-3);
  check_member(&sigmoid);
  caviar_trial leaky = trial(34, CAVIAR_OPT_SGD, CAVIAR_ACT_LEAKY_RELU, 0.0, 0.02);
  leaky.hp.momentum = 0.5;
  check_member(&leaky);
}

/* Through the command line on OpenBLAS's Haswell kernel, whose GEMMs give a column other bits when
 * the call that computes it is wider or narrower (docs/PERF.md: every shape of this test): one
 * trial alone on one thread and the same trial trained by a team of two save the same model, byte
 * for byte, only if a member alone makes the same 64-column calls a team does. */
Test(threads_cli, one_member_on_one_thread_and_in_a_team_of_two_saves_the_same_model_on_the_haswell_kernel) {
  const char *dir = synth_idx_dir("threads-flat", 1000, 200, 40, 5, 1.0, true);
  char text[2048], args[2048], a[1200], b[1200];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 1, \"seed\": 3, \"data\": {\"dir\": \"%s\"}, \"model\": {\"epochs\": 2, "
           "\"batch_size\": 50, \"hidden\": 100, \"layers\": 2}, \"parameters\": {\"learning_rate\": {\"values\": [0.003]}}}",
           dir);
  scratch_write_text("one.json", text);
  for (int threads = 1; threads <= 2; threads++) {
    snprintf(args, sizeof args, "sweep %s -o %s/t%d -q --threads %d", scratch_path("one.json"), scratch_dir(), threads,
             threads);
    cli_result r = run_caviar_with("OPENBLAS_CORETYPE=Haswell", args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_result_free(&r);
  }
  snprintf(a, sizeof a, "%s/t1/best/trial-0.safetensors", scratch_dir());
  snprintf(b, sizeof b, "%s/t2/best/trial-0.safetensors", scratch_dir());
  size_t na = 0, nb = 0;
  char *ma = scratch_read(a, &na), *mb = scratch_read(b, &nb);
  cr_assert(ma && mb, "no saved models");
  cr_expect(na == nb && memcmp(ma, mb, na) == 0, "the model trained alone differs from the one trained by a team");
  free(ma);
  free(mb);
}
