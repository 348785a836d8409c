/* model.keep: best | last. With best, a survivor's saved weights are those of its best validation
 * epoch, kept as a fifth arena per cohort that moves with the member. The reference is the trial
 * trained alone (panda mode) for its best epoch's count of epochs: on the CPU a member's
 * arithmetic is the same alone or in a cohort (tests/test_threads.c), so the weights must agree bit
 * for bit. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/backend.h"
#include "caviar/panda.h"
#include "caviar/trainer.h"
#include "scratch.h"
#include "spec_support.h"
#include "synth_support.h"

/* Few noisy examples and a wide, fast-learning model: validation peaks before the last epoch. */
static void keep_spec(char *text, size_t size, const char *dir, const char *keep, const char *early) {
  snprintf(text, size,
           "{\"method\": \"random\", \"trials\": 6, \"seed\": 4,"
           " \"data\": {\"dir\": \"%s\", \"validation\": 0.3},"
           " \"model\": {\"batch_size\": 16, \"hidden\": 64, \"optimizer\": \"adam\", \"epochs\": 12%s%s%s},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 3e-3, \"max\": 3e-2},"
           "   \"activation\": {\"values\": [\"relu\", \"tanh\"]}}%s}",
           dir, keep ? ", \"keep\": \"" : "", keep ? keep : "", keep ? "\"" : "", early ? early : "");
}

static const char *overfit_dir(void) { return synth_idx_dir("keep", 400, 200, 24, 4, 2.5, false); }

static void run(const char *text, caviar_sweep_result *r) {
  caviar_backend *be;
  caviar_error err;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  sweep_text_on(be, text, r, NULL, NULL);
  be->destroy(be);
}

/* val_acc and val_loss of a trial after `epoch` epochs, from the learning curves. */
static caviar_curve_point curve_at(const caviar_sweep_result *r, uint32_t trial, int epoch) {
  for (size_t i = 0; i < r->n_curve; i++)
    if (r->curve[i].trial == trial && r->curve[i].epoch == epoch) return r->curve[i];
  cr_assert_fail("no curve point for trial %u epoch %d", trial, epoch);
  return r->curve[0];
}

/* The trial trained alone for `epochs` epochs (panda mode, the sweep's seed and data). */
static float *alone(const caviar_spec *spec, const caviar_trial_result *t, int epochs, size_t *n) {
  caviar_panda p;
  caviar_error err;
  cr_assert_eq(caviar_panda_init(&p, &t->trial.hp, t->trial.id, spec->seed, &spec->data, "test", &err), CAVIAR_OK, "%s",
               err.msg);
  caviar_backend *be;
  caviar_data data;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  cr_assert_eq(caviar_data_load(&p.data, p.seed, &data, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_panda_train(&p, be, &data, epochs, NULL, NULL, NULL, &err), CAVIAR_OK, "%s", err.msg);
  caviar_layout layout;
  caviar_layout_make(&p.shape, 1, &layout);
  *n = layout.per_member;
  float *params = malloc(*n * sizeof *params);
  memcpy(params, p.params, *n * sizeof *params);
  caviar_data_free(&data);
  be->destroy(be);
  caviar_panda_free(&p);
  return params;
}

Test(keep, a_panda_run_of_a_trial_equals_its_keep_last_survivor_bit_for_bit) {
  char text[2048];
  keep_spec(text, sizeof text, overfit_dir(), "last", NULL);
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_sweep_result r;
  run(text, &r);
  for (int i = 0; i < r.n_trials; i++) {
    const caviar_trial_result *t = &r.trials[i];
    cr_assert_eq(t->status, CAVIAR_TRIAL_SURVIVED);
    cr_expect_not(t->kept_best);
    size_t n;
    float *ref = alone(&spec, t, t->epochs, &n);
    cr_expect_eq(memcmp(ref, t->params, n * sizeof(float)), 0, "trial %d: the sweep and panda mode differ", i);
    free(ref);
  }
  caviar_sweep_result_free(&r);
  caviar_spec_free(&spec);
}

Test(keep, keep_best_saves_each_survivors_weights_at_its_best_validation_epoch) {
  char text[2048];
  keep_spec(text, sizeof text, overfit_dir(), "best", NULL);
  caviar_spec spec;
  spec_ok(text, &spec);
  cr_assert_eq(spec.keep, CAVIAR_KEEP_BEST);
  caviar_sweep_result r;
  run(text, &r);
  int earlier = 0;
  for (int i = 0; i < r.n_trials; i++) {
    const caviar_trial_result *t = &r.trials[i];
    cr_assert_eq(t->status, CAVIAR_TRIAL_SURVIVED);
    cr_expect(t->kept_best);
    /* The best epoch by val_acc, ties to the earlier one, from the learning curves. */
    int best = 1;
    for (int e = 2; e <= t->epochs; e++)
      if (curve_at(&r, t->trial.id, e).val_acc > curve_at(&r, t->trial.id, best).val_acc) best = e;
    cr_expect_eq(t->best_epoch, best, "trial %d", i);
    cr_expect_eq(t->best_val_acc, curve_at(&r, t->trial.id, best).val_acc);
    cr_expect_eq(t->best_val_loss, curve_at(&r, t->trial.id, best).val_loss);
    earlier += t->best_epoch < t->epochs;
    size_t n;
    float *ref = alone(&spec, t, t->best_epoch, &n);
    cr_expect_eq(memcmp(ref, t->params, n * sizeof(float)), 0, "trial %d: best epoch %d's weights differ", i,
                 t->best_epoch);
    free(ref);
  }
  cr_expect_gt(earlier, 0, "no survivor peaked before its last epoch: the case shows nothing");
  caviar_sweep_result_free(&r);
  caviar_spec_free(&spec);
}

Test(keep, keep_best_trains_exactly_as_keep_last_and_keep_last_is_the_default) {
  char text[2048];
  const char *dir = overfit_dir();
  const char *sh = ", \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 2, \"eta\": 2}";
  caviar_sweep_result last, best, plain;
  keep_spec(text, sizeof text, dir, "last", sh);
  run(text, &last);
  keep_spec(text, sizeof text, dir, "best", sh);
  run(text, &best);
  keep_spec(text, sizeof text, dir, NULL, sh);
  caviar_spec spec;
  spec_ok(text, &spec);
  cr_expect_eq(spec.keep, CAVIAR_KEEP_LAST);
  run(text, &plain);
  /* The same learning curves and rung decisions: keeping a copy changes no training. */
  cr_assert_eq(best.n_curve, last.n_curve);
  cr_expect_eq(memcmp(best.curve, last.curve, last.n_curve * sizeof *last.curve), 0);
  cr_assert_eq(plain.n_trials, last.n_trials);
  int culled = 0;
  for (int i = 0; i < last.n_trials; i++) {
    const caviar_trial_result *a = &last.trials[i], *b = &best.trials[i], *c = &plain.trials[i];
    cr_expect_eq(a->status, b->status);
    cr_expect_eq(a->status, c->status);
    culled += a->status == CAVIAR_TRIAL_CULLED;
    /* Every trial's best epoch is recorded either way; only the kept weights differ. */
    cr_expect_eq(a->best_epoch, b->best_epoch);
    if (a->status != CAVIAR_TRIAL_SURVIVED) continue;
    size_t n = 0;
    caviar_layout layout;
    caviar_layout_make(&a->shape, 1, &layout);
    n = layout.per_member;
    cr_expect_eq(memcmp(a->params, c->params, n * sizeof(float)), 0, "keep last is not the default");
    cr_expect_eq(a->test_acc, c->test_acc);
    bool same = memcmp(a->params, b->params, n * sizeof(float)) == 0;
    cr_expect_eq(same, b->best_epoch == b->epochs, "trial %d: best epoch %d of %d", i, b->best_epoch, b->epochs);
  }
  cr_expect_gt(culled, 0, "the rungs culled nobody: compaction was not exercised");
  caviar_sweep_result_free(&last);
  caviar_sweep_result_free(&best);
  caviar_sweep_result_free(&plain);
  caviar_spec_free(&spec);
}

/* A cohort of four on the CPU backend with the fifth arena. */
static void open_cohort(caviar_backend **be, caviar_data *data, caviar_cohort *c, bool keep_best) {
  *be = synth_cpu_backend(data, 300, 12, 3);
  caviar_shape shape = caviar_mlp_shape(12, 3, 1, 8, 10);
  caviar_error err;
  cr_assert_eq(caviar_cohort_init(c, &shape, 4, 9, &err), CAVIAR_OK);
  for (uint32_t k = 0; k < 4; k++) {
    caviar_trial trial = {.id = k};
    caviar_hparams_default(&trial.hp);
    trial.hp.learning_rate = 0.01 * (k + 1);
    caviar_cohort_add(c, &trial);
  }
  if (keep_best) caviar_cohort_keep_best(c);
  cr_assert_eq(caviar_cohort_alloc(*be, c, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_cohort_init_members(*be, c, 0, 4, &err), CAVIAR_OK, "%s", err.msg);
}

static void train_epoch(caviar_backend *be, caviar_cohort *c, const caviar_data *data) {
  float loss[4];
  uint8_t diverged[4];
  caviar_epoch_stats stats = {loss, diverged, NULL};
  caviar_error err;
  cr_assert_eq(caviar_cohort_train(be, c, data->split.train, data->split.n_train, &stats, &err), CAVIAR_OK, "%s",
               err.msg);
  caviar_cohort_end_epoch(c);
}

static float *read(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot) {
  float *out = malloc(c->layout.per_member * sizeof *out);
  caviar_error err;
  cr_assert_eq(caviar_cohort_read_arena(be, c, which, slot, out, &err), CAVIAR_OK, "%s", err.msg);
  return out;
}

static bool same(const float *a, const float *b, const caviar_cohort *c) {
  return memcmp(a, b, c->layout.per_member * sizeof *a) == 0;
}

Test(keep, the_best_epoch_arena_moves_with_its_member_on_compaction_and_restarts_on_a_copy) {
  caviar_backend *be;
  caviar_data data;
  caviar_cohort c;
  open_cohort(&be, &data, &c, true);
  caviar_error err;
  /* A fresh member's best copy is its initial weights. */
  float *init0 = read(be, &c, CAVIAR_ARENA_PARAMS, 0), *best0 = read(be, &c, CAVIAR_ARENA_BEST, 0);
  cr_expect(same(init0, best0, &c));
  train_epoch(be, &c, &data);
  int improved[] = {1, 2, 3};
  cr_assert_eq(caviar_cohort_save_best(be, &c, improved, 3, &err), CAVIAR_OK, "%s", err.msg);
  float *saved[4];
  for (int k = 0; k < 4; k++) saved[k] = read(be, &c, CAVIAR_ARENA_PARAMS, k);
  float *still0 = read(be, &c, CAVIAR_ARENA_BEST, 0);
  cr_expect(same(still0, init0, &c), "slot 0 was not listed: its copy stays");
  train_epoch(be, &c, &data);
  for (int k = 1; k < 4; k++) {
    float *now = read(be, &c, CAVIAR_ARENA_PARAMS, k), *best = read(be, &c, CAVIAR_ARENA_BEST, k);
    cr_expect_not(same(now, saved[k], &c), "training moved the parameters");
    cr_expect(same(best, saved[k], &c), "slot %d's copy is the first epoch's", k);
    free(now);
    free(best);
  }
  /* Compaction keeps slots 1 and 3: their copies move with them. */
  int keep[] = {1, 3};
  cr_assert_eq(caviar_cohort_compact(be, &c, keep, 2, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(c.n, 2);
  float *moved0 = read(be, &c, CAVIAR_ARENA_BEST, 0), *moved1 = read(be, &c, CAVIAR_ARENA_BEST, 1);
  cr_expect(same(moved0, saved[1], &c));
  cr_expect(same(moved1, saved[3], &c));
  /* A PBT copy: the recipient's copy starts afresh from the weights it took; the donor's stays. */
  float *donor = read(be, &c, CAVIAR_ARENA_PARAMS, 0);
  cr_assert_eq(caviar_cohort_copy(be, &c, 0, 1, &err), CAVIAR_OK, "%s", err.msg);
  float *recipient = read(be, &c, CAVIAR_ARENA_BEST, 1), *donor_best = read(be, &c, CAVIAR_ARENA_BEST, 0);
  cr_expect(same(recipient, donor, &c));
  cr_expect(same(donor_best, saved[1], &c));
  /* write_arena restores a copy (a resumed sweep) and read_arena gives it back. */
  cr_assert_eq(caviar_cohort_write_arena(be, &c, CAVIAR_ARENA_BEST, 1, saved[2], &err), CAVIAR_OK, "%s", err.msg);
  float *written = read(be, &c, CAVIAR_ARENA_BEST, 1);
  cr_expect(same(written, saved[2], &c));
  free(written);
  free(recipient);
  free(donor_best);
  free(donor);
  free(moved0);
  free(moved1);
  for (int k = 0; k < 4; k++) free(saved[k]);
  free(init0);
  free(best0);
  free(still0);
  caviar_cohort_release(be, &c);
  caviar_cohort_free(&c);
  caviar_data_free(&data);
  be->destroy(be);
}

Test(keep, a_cohort_without_the_best_arena_refuses_to_read_it) {
  caviar_backend *be;
  caviar_data data;
  caviar_cohort c;
  open_cohort(&be, &data, &c, false);
  float out[1024];
  caviar_error err;
  cr_assert_lt(c.layout.per_member, 1024u);
  cr_expect_neq(caviar_cohort_read_arena(be, &c, CAVIAR_ARENA_BEST, 0, out, &err), CAVIAR_OK);
  cr_expect(strstr(err.msg, "model.keep") != NULL, "%s", err.msg);
  int slots[] = {0};
  cr_expect_eq(caviar_cohort_save_best(be, &c, slots, 1, &err), CAVIAR_OK, "keep last: nothing to save");
  caviar_cohort_release(be, &c);
  caviar_cohort_free(&c);
  caviar_data_free(&data);
  be->destroy(be);
}

Test(keep, pbt_with_keep_best_saves_weights_no_worse_than_the_best_validation_since_the_last_copy) {
  char text[2048];
  keep_spec(text, sizeof text, overfit_dir(), "best",
            ", \"early_terminate\": {\"type\": \"pbt\", \"interval\": 3, \"quantile\": 0.34}");
  caviar_sweep_result r;
  run(text, &r);
  int copied = 0;
  for (int i = 0; i < r.n_trials; i++) {
    const caviar_trial_result *t = &r.trials[i];
    if (t->status != CAVIAR_TRIAL_SURVIVED) continue;
    /* The last copy this trial took, if any (the lineage's last event with a donor). */
    int last_copy = 0;
    for (int k = 0; k < t->n_lineage; k++)
      if (t->lineage[k].from >= 0) last_copy = t->lineage[k].epoch;
    copied += last_copy > 0;
    cr_expect_geq(t->best_epoch, last_copy, "trial %d: a best epoch from before its last copy", i);
    /* After the copy its own curve decides; at the copy the donor's figures stand. */
    for (int e = last_copy + 1; e <= t->epochs; e++)
      cr_expect_geq(t->best_val_acc, curve_at(&r, t->trial.id, e).val_acc, "trial %d epoch %d", i, e);
    if (t->best_epoch > last_copy)
      cr_expect_eq(t->best_val_acc, curve_at(&r, t->trial.id, t->best_epoch).val_acc);
  }
  cr_expect_gt(copied, 0, "no survivor took a copy: PBT's copy path was not exercised");
  caviar_sweep_result_free(&r);
}

Test(keep, summary_json_records_the_best_epoch_and_which_weights_were_kept) {
  char text[2048], args[4096], out[1024], path[1200];
  keep_spec(text, sizeof text, overfit_dir(), "best", NULL);
  scratch_write_text("keep.json", text);
  strcpy(out, scratch_path("out"));
  snprintf(args, sizeof args, "sweep %s -o %s", scratch_path("keep.json"), out);
  cli_result run_ = run_caviar(args);
  cr_assert_eq(run_.status, 0, "%s", run_.err);
  cli_result_free(&run_);
  snprintf(path, sizeof path, "%s/summary.json", out);
  char *body = scratch_read(path, NULL);
  cJSON *summary = cJSON_Parse(body);
  free(body);
  cr_assert_not_null(summary);
  cr_expect_str_eq(cJSON_GetObjectItem(summary, "keep")->valuestring, "best");
  cJSON *trial;
  int n = 0;
  cJSON_ArrayForEach(trial, cJSON_GetObjectItem(summary, "trials")) {
    cr_expect_str_eq(cJSON_GetObjectItem(trial, "kept")->valuestring, "best");
    int best = cJSON_GetObjectItem(trial, "best_epoch")->valueint;
    cr_expect_eq(cJSON_GetObjectItem(trial, "kept_epoch")->valueint, best);
    cr_expect(best >= 1 && best <= cJSON_GetObjectItem(trial, "epochs")->valueint);
    cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(trial, "best_val_acc")));
    cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(trial, "best_val_loss")));
    /* The saved model is the best epoch's: eval reproduces the test accuracy the sweep reported. */
    snprintf(args, sizeof args, "eval %s/%s", out, cJSON_GetObjectItem(trial, "model")->valuestring);
    cli_result ev = run_caviar(args);
    cr_assert_eq(ev.status, 0, "%s", ev.err);
    char expected[64];
    snprintf(expected, sizeof expected, "test_acc %.4f", cJSON_GetObjectItem(trial, "test_acc")->valuedouble);
    cr_expect(strncmp(ev.out, expected, strlen(expected)) == 0, "eval says '%s', the sweep '%s'", ev.out, expected);
    cli_result_free(&ev);
    n++;
  }
  cr_expect_eq(n, 6);
  cJSON_Delete(summary);
}

Test(keep, the_dry_run_counts_the_fifth_arena_only_with_keep_best) {
  char text[2048];
  const char *dir = overfit_dir();
  double bytes[2];
  for (int k = 0; k < 2; k++) {
    keep_spec(text, sizeof text, dir, k ? "best" : "last", NULL);
    caviar_spec spec;
    spec_ok(text, &spec);
    caviar_error err;
    caviar_data data;
    cr_assert_eq(caviar_data_load(&spec.data, spec.seed, &data, &err), CAVIAR_OK, "%s", err.msg);
    caviar_backend *be;
    cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
    caviar_sweep sweep = {.spec = &spec, .seed = spec.seed, .trials = -1, .backend = be, .data = &data};
    caviar_sweep_estimate e;
    cr_assert_eq(caviar_sweep_estimate_run(&sweep, &e, &err), CAVIAR_OK, "%s", err.msg);
    bytes[k] = e.arena_bytes;
    be->destroy(be);
    caviar_data_free(&data);
    caviar_spec_free(&spec);
  }
  cr_expect_float_eq(bytes[1], bytes[0] * 5 / 4, 0.5, "keep best %g bytes, keep last %g", bytes[1], bytes[0]);
}
