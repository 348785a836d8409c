/* The population's guarantees on the CPU backend: a member trains bit for bit the same alone or in
 * a cohort of 16; compaction keeps exactly the right members; a diverging member is flagged and
 * leaves its neighbours untouched. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/backend.h"
#include "synth_support.h"

static caviar_data data;
static caviar_backend *be;

static void setup(void) { be = synth_cpu_backend(&data, 1000, 20, 4); }

static void teardown(void) {
  be->destroy(be);
  caviar_data_free(&data);
}

TestSuite(population, .init = setup, .fini = teardown);

#define shape (*population_shape())
static const caviar_shape *population_shape(void) {
  static caviar_shape s;
  s = caviar_mlp_shape(20, 4, 2, 8, 16);
  return &s;
}

/* Trial id with varied hyperparameters: every optimizer, both activations, some dropout. */
static caviar_trial varied_trial(uint32_t id) {
  caviar_trial t = {.id = id};
  caviar_hparams_default(&t.hp);
  t.hp.layers = shape.layers;
  t.hp.hidden = shape.hidden;
  t.hp.batch_size = shape.batch;
  t.hp.optimizer = (int)(id % 4);
  t.hp.activation = (int)(id / 4 % 2);
  t.hp.learning_rate = 1e-3 * (1 + id % 5);
  t.hp.dropout = id % 3 == 0 ? 0.25 : 0.0;
  t.hp.l2 = id % 2 ? 1e-3 : 0.0;
  return t;
}

static void make_cohort(caviar_cohort *c, const caviar_trial *trials, int n) {
  caviar_error err;
  cr_assert_eq(caviar_cohort_init(c, &shape, n, 42, &err), CAVIAR_OK);
  for (int i = 0; i < n; i++) caviar_cohort_add(c, &trials[i]);
  cr_assert_eq(caviar_cohort_alloc(be, c, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_cohort_init_members(be, c, 0, n, &err), CAVIAR_OK);
}

static void drop_cohort(caviar_cohort *c) {
  caviar_cohort_release(be, c);
  caviar_cohort_free(c);
}

static void train(caviar_cohort *c, int epochs, uint8_t *diverged) {
  float loss[32];
  uint8_t flags[32];
  caviar_epoch_stats stats = {loss, flags, NULL};
  caviar_error err;
  for (int e = 0; e < epochs; e++) {
    for (int m = 0; m < c->n; m++) c->epochs[m] = e;
    cr_assert_eq(caviar_cohort_train(be, c, data.split.train, data.split.n_train, &stats, &err), CAVIAR_OK);
    if (diverged) memcpy(diverged, flags, (size_t)c->n);
  }
}

static float *params_of(caviar_cohort *c, int slot) {
  float *p = malloc(c->layout.per_member * sizeof *p);
  caviar_error err;
  cr_assert_eq(caviar_cohort_read_arena(be, c, CAVIAR_ARENA_PARAMS, slot, p, &err), CAVIAR_OK);
  return p;
}

Test(population, member_alone_equals_member_in_a_cohort_of_16) {
  caviar_trial trials[16];
  for (int i = 0; i < 16; i++) trials[i] = varied_trial((uint32_t)i);
  for (int who = 0; who < 16; who += 5) {
    caviar_cohort all, alone;
    make_cohort(&all, trials, 16);
    make_cohort(&alone, &trials[who], 1);
    train(&all, 2, NULL);
    train(&alone, 2, NULL);
    float *a = params_of(&all, who), *b = params_of(&alone, 0);
    cr_expect_eq(memcmp(a, b, all.layout.per_member * sizeof *a), 0, "trial %d differs alone and in the cohort", who);
    cr_expect_eq(all.steps[who], alone.steps[0]);
    free(a);
    free(b);
    drop_cohort(&all);
    drop_cohort(&alone);
  }
}

Test(population, training_changes_and_initial_weights_depend_on_the_trial) {
  caviar_trial trials[2] = {varied_trial(0), varied_trial(4)};
  trials[1].hp = trials[0].hp; /* same hyperparameters, different trial id */
  caviar_cohort c;
  make_cohort(&c, trials, 2);
  float *p0 = params_of(&c, 0), *p1 = params_of(&c, 1);
  cr_expect_neq(memcmp(p0, p1, c.layout.per_member * sizeof *p0), 0);
  train(&c, 1, NULL);
  float *q0 = params_of(&c, 0);
  cr_expect_neq(memcmp(p0, q0, c.layout.per_member * sizeof *p0), 0);
  free(p0);
  free(p1);
  free(q0);
  drop_cohort(&c);
}

Test(population, compaction_keeps_the_right_members_and_their_state) {
  caviar_trial trials[6];
  for (int i = 0; i < 6; i++) trials[i] = varied_trial((uint32_t)(10 + i));
  caviar_cohort kept, full;
  make_cohort(&kept, trials, 6);
  make_cohort(&full, trials, 6);
  train(&kept, 1, NULL);
  train(&full, 1, NULL);
  const int keep[] = {1, 3, 4};
  caviar_error err;
  cr_assert_eq(caviar_cohort_compact(be, &kept, keep, 3, &err), CAVIAR_OK);
  cr_assert_eq(kept.n, 3);
  for (int i = 0; i < 3; i++) {
    cr_expect_eq(kept.trial[i], trials[keep[i]].id);
    float *a = params_of(&kept, i), *b = params_of(&full, keep[i]);
    cr_expect_eq(memcmp(a, b, kept.layout.per_member * sizeof *a), 0, "slot %d after compaction", i);
    free(a);
    free(b);
  }
  /* Training on: the optimizer state moved with the weights, so the compacted members continue
   * exactly as they would have. */
  train(&kept, 1, NULL);
  train(&full, 1, NULL);
  for (int i = 0; i < 3; i++) {
    float *a = params_of(&kept, i), *b = params_of(&full, keep[i]);
    cr_expect_eq(memcmp(a, b, kept.layout.per_member * sizeof *a), 0, "slot %d one epoch after compaction", i);
    free(a);
    free(b);
  }
  drop_cohort(&kept);
  drop_cohort(&full);
}

Test(population, copy_member_copies_weights_and_optimizer_state) {
  caviar_trial trials[3] = {varied_trial(3), varied_trial(7), varied_trial(11)};
  caviar_cohort c;
  make_cohort(&c, trials, 3);
  train(&c, 1, NULL);
  caviar_error err;
  cr_assert_eq(caviar_cohort_copy(be, &c, 0, 2, &err), CAVIAR_OK);
  /* Trial 3 trains with Adam: both optimizer slots hold state after an epoch. */
  size_t n = c.layout.per_member;
  float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  static const char *names[] = {"parameters", "first optimizer state", "second optimizer state"};
  for (int which = 0; which < 3; which++) {
    cr_assert_eq(caviar_cohort_read_arena(be, &c, (caviar_arena)which, 0, a, &err), CAVIAR_OK);
    cr_assert_eq(caviar_cohort_read_arena(be, &c, (caviar_arena)which, 2, b, &err), CAVIAR_OK);
    cr_expect_eq(memcmp(a, b, n * sizeof *a), 0, "the copy's %s differ from the donor's", names[which]);
    size_t nonzero = 0;
    for (size_t k = 0; k < n; k++) nonzero += a[k] != 0.0f;
    cr_expect_gt(nonzero, n / 2, "the donor's %s are mostly set (%zu of %zu)", names[which], nonzero, n);
  }
  cr_expect_eq(c.steps[2], c.steps[0]);
  cr_expect_eq(c.epochs[2], c.epochs[0]);
  free(a);
  free(b);
  drop_cohort(&c);
}

Test(population, diverging_member_is_flagged_and_neighbours_are_unchanged) {
  caviar_trial trials[4], without[3];
  for (int i = 0; i < 4; i++) trials[i] = varied_trial((uint32_t)(20 + i));
  trials[2].hp.learning_rate = 1e3;
  trials[2].hp.optimizer = CAVIAR_OPT_SGD;
  trials[2].hp.activation = CAVIAR_ACT_RELU; /* unbounded activations: the blow-up reaches Inf */
  without[0] = trials[0];
  without[1] = trials[1];
  without[2] = trials[3];
  caviar_cohort with_bad, clean;
  make_cohort(&with_bad, trials, 4);
  make_cohort(&clean, without, 3);
  uint8_t diverged[4], clean_flags[3];
  train(&with_bad, 2, diverged);
  train(&clean, 2, clean_flags);
  cr_expect_eq(diverged[2], 1, "learning_rate 1e3 must diverge");
  const int map[] = {0, 1, -1, 2};
  for (int i = 0; i < 4; i++) {
    if (map[i] < 0) continue;
    cr_expect_eq(diverged[i], 0, "slot %d flagged", i);
    float *a = params_of(&with_bad, i), *b = params_of(&clean, map[i]);
    cr_expect_eq(memcmp(a, b, with_bad.layout.per_member * sizeof *a), 0, "neighbour %d changed", i);
    for (size_t k = 0; k < with_bad.layout.per_member; k++) cr_assert(isfinite(a[k]));
    free(a);
    free(b);
  }
  drop_cohort(&with_bad);
  drop_cohort(&clean);
}

Test(population, layout_is_tensor_major_with_aligned_member_blocks) {
  caviar_layout layout;
  caviar_layout_make(&shape, 5, &layout);
  cr_expect_eq(layout.n_tensors, 6);
  cr_expect_eq(layout.size[0], 20u * 8);
  cr_expect_eq(layout.size[1], 8u);
  cr_expect_eq(layout.size[4], 8u * 4);
  size_t expected = 0;
  for (int t = 0; t < layout.n_tensors; t++) {
    cr_expect_eq(layout.offset[t], expected);
    cr_expect_eq(layout.stride[t] % CAVIAR_BLOCK_ALIGN, 0u);
    cr_expect_geq(layout.stride[t], layout.size[t]);
    expected += 5 * layout.stride[t];
  }
  cr_expect_eq(layout.arena, expected);
  cr_expect_eq(layout.per_member, 20u * 8 + 8 + 8 * 8 + 8 + 8 * 4 + 4);
  /* 6 FLOP per weight per sample, less 2 per first-layer weight (no input gradient there). */
  cr_expect_float_eq(caviar_shape_train_flops(&shape), 6.0 * (160 + 64 + 32) - 2.0 * 160, 1e-9);
}

/* 500,000 trials of 250,000 shapes: grouped by hashing in milliseconds; a linear search of the
 * cohorts per trial (about 6 * 10^10 steps) runs into the timeout. */
Test(population, grouping_many_shapes_is_fast_and_exact, .timeout = 20) {
  int n = 500000;
  caviar_trial *trials = calloc((size_t)n, sizeof *trials);
  cr_assert_not_null(trials);
  for (int i = 0; i < n; i++) {
    int draw = (int)(((unsigned)i * 2654435761u) % 250000u);
    trials[i].id = (uint32_t)i;
    trials[i].hp.layers = 1 + draw % 4;
    trials[i].hp.hidden = 1 + (draw / 4) % 250;
    trials[i].hp.batch_size = 1 + draw / 1000;
  }
  caviar_grouping g;
  caviar_error err;
  cr_assert_eq(caviar_group_trials(trials, n, (caviar_dims){10, 1, 1}, 3, &g, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(g.n_cohorts, 250000);
  int *seen = calloc((size_t)g.n_cohorts, sizeof *seen);
  for (int i = 0; i < n; i++) {
    const caviar_shape *s = &g.shapes[g.cohort_of[i]];
    cr_assert(s->layers == trials[i].hp.layers && s->hidden == trials[i].hp.hidden &&
                  s->batch == trials[i].hp.batch_size && s->inputs == 10 && s->classes == 3,
              "trial %d in the wrong cohort", i);
    cr_assert_eq(g.slot_of[i], seen[g.cohort_of[i]]++, "slots count up in trial order");
  }
  for (int c = 0; c < g.n_cohorts; c++) cr_assert_eq(g.members[c], seen[c]);
  free(seen);
  caviar_grouping_free(&g);
  free(trials);
}
