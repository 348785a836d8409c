/* Sweeps end to end on synthetic data: successive-halving bookkeeping, divergence, the outputs,
 * and `caviar eval` reproducing a saved survivor's reported accuracy. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/report.h"
#include "scratch.h"
#include "spec_support.h"
#include "synth_support.h"

/* A spec over a synthetic IDX folder: 4 classes, 32 features. */
static void sweep_spec(char *text, size_t size, const char *dir, int trials, const char *lr_range, int max_epochs) {
  snprintf(text, size,
           "{\"method\": \"random\", \"trials\": %d, \"seed\": 3,"
           " \"data\": {\"dir\": \"%s\", \"validation\": 0.2},"
           " \"model\": {\"batch_size\": 32, \"hidden\": 16},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", %s},"
           "   \"optimizer\": {\"values\": [\"sgd\", \"momentum\", \"rmsprop\", \"adam\"]},"
           "   \"layers\": {\"values\": [1, 2]}, \"activation\": {\"values\": [\"relu\", \"tanh\"]}},"
           " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": %d, \"eta\": 3}}",
           trials, dir, lr_range, max_epochs);
}

static void run_sweep(const char *text, caviar_spec *spec, caviar_data *data, caviar_sweep_result *result) {
  spec_ok(text, spec);
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec->data, spec->seed, data, &err), CAVIAR_OK, "%s", err.msg);
  caviar_backend *be;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  caviar_sweep sweep = {.spec = spec, .seed = spec->seed, .trials = -1, .backend = be, .data = data};
  cr_assert_eq(caviar_sweep_run(&sweep, result, &err), CAVIAR_OK, "%s", err.msg);
  be->destroy(be);
}

/* val_acc of a trial after `epoch` epochs, from the learning curves. */
static float curve_acc(const caviar_sweep_result *r, uint32_t trial, int epoch) {
  for (size_t i = 0; i < r->n_curve; i++)
    if (r->curve[i].trial == trial && r->curve[i].epoch == epoch) return r->curve[i].val_acc;
  cr_assert_fail("no curve point for trial %u epoch %d", trial, epoch);
  return NAN;
}

Test(sweep, successive_halving_keeps_the_top_third_at_each_rung) {
  char text[2048];
  sweep_spec(text, sizeof text, synth_idx_dir("sh", 1500, 400, 32, 4, 1.5, true), 27,
             "\"min\": 1e-3, \"max\": 3e-2", 9);
  caviar_spec spec;
  caviar_data data;
  caviar_sweep_result r;
  run_sweep(text, &spec, &data, &r);
  cr_assert_eq(r.rungs.n, 2);
  cr_expect_eq(r.rungs.epochs[0], 1);
  cr_expect_eq(r.rungs.epochs[1], 3);
  int culled_at[10] = {0}, survived = 0;
  for (int i = 0; i < r.n_trials; i++) {
    const caviar_trial_result *t = &r.trials[i];
    cr_assert_neq(t->status, CAVIAR_TRIAL_DIVERGED, "trial %d diverged at a sane learning rate", i);
    if (t->status == CAVIAR_TRIAL_CULLED) culled_at[t->epochs]++;
    if (t->status == CAVIAR_TRIAL_SURVIVED) {
      survived++;
      cr_expect_eq(t->epochs, 9);
      cr_expect(t->params != NULL && isfinite(t->test_acc));
    }
  }
  cr_expect_eq(culled_at[1], 18, "27 -> 9 at the first rung");
  cr_expect_eq(culled_at[3], 6, "9 -> 3 at the second");
  cr_expect_eq(survived, 3);
  /* Everyone who went on from a rung was at least as good there as everyone culled at it. */
  for (int rung = 0; rung < 2; rung++) {
    int e = r.rungs.epochs[rung];
    float worst_kept = INFINITY, best_culled = -INFINITY;
    for (int i = 0; i < r.n_trials; i++) {
      const caviar_trial_result *t = &r.trials[i];
      if (t->epochs < e) continue;
      float acc = curve_acc(&r, t->trial.id, e);
      if (t->epochs == e && t->status == CAVIAR_TRIAL_CULLED) best_culled = fmaxf(best_culled, acc);
      else worst_kept = fminf(worst_kept, acc);
    }
    cr_expect_geq(worst_kept, best_culled, "rung %d: kept %.4f < culled %.4f", rung, worst_kept, best_culled);
  }
  caviar_sweep_result_free(&r);
  caviar_data_free(&data);
  caviar_spec_free(&spec);
}

Test(sweep, diverging_trials_are_culled_at_once_and_never_survive) {
  char text[2048];
  sweep_spec(text, sizeof text, synth_idx_dir("div", 1000, 200, 32, 4, 1.5, true), 12,
             "\"min\": 1e-3, \"max\": 1e3", 3);
  caviar_spec spec;
  caviar_data data;
  caviar_sweep_result r;
  run_sweep(text, &spec, &data, &r);
  int diverged = 0;
  for (int i = 0; i < r.n_trials; i++) {
    const caviar_trial_result *t = &r.trials[i];
    if (t->status != CAVIAR_TRIAL_DIVERGED) continue;
    diverged++;
    cr_expect_gt(t->trial.hp.learning_rate, 0.1, "trial %d diverged at lr %g", i, t->trial.hp.learning_rate);
    int last = 0;
    for (size_t k = 0; k < r.n_curve; k++)
      if (r.curve[k].trial == t->trial.id && r.curve[k].epoch > last) last = r.curve[k].epoch;
    cr_expect_eq(last, t->epochs, "trial %d trained on after diverging", i);
  }
  cr_expect_gt(diverged, 0, "learning rates up to 1e3 must make some trial diverge");
  caviar_sweep_result_free(&r);
  caviar_data_free(&data);
  caviar_spec_free(&spec);
}

static cJSON *read_json(const char *path) {
  char *text = scratch_read(path, NULL);
  cJSON *json = cJSON_Parse(text);
  free(text);
  cr_assert_not_null(json, "%s is not JSON", path);
  return json;
}

Test(sweep, cli_end_to_end_best_model_reloads_and_eval_agrees) {
  const char *dir = synth_idx_dir("e2e", 2000, 500, 32, 4, 1.5, true);
  char data_dir[1024], text[2048], args[4096], out[1024];
  strcpy(data_dir, dir);
  sweep_spec(text, sizeof text, data_dir, 9, "\"min\": 1e-3, \"max\": 3e-2", 6);
  scratch_write_text("e2e.json", text);
  strcpy(out, scratch_path("out"));
  snprintf(args, sizeof args, "sweep %s -o %s", scratch_path("e2e.json"), out);
  cli_result run = run_caviar(args);
  cr_assert_eq(run.status, 0, "%s", run.err);
  cr_expect(strstr(run.out, "rank") && strstr(run.out, "survived"), "no leaderboard: %s", run.out);
  cli_result_free(&run);

  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", out);
  cJSON *summary = read_json(path);
  cJSON *best = cJSON_GetObjectItem(summary, "best");
  cr_assert_not_null(best);
  double best_acc = cJSON_GetObjectItem(best, "test_acc")->valuedouble;
  cr_expect_gt(best_acc, 0.8, "4 classes: chance is 0.25, the best survivor reached %g", best_acc);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(summary, "trials")), 9);
  int curve_points = 0;
  cJSON *trial;
  cJSON_ArrayForEach(trial, cJSON_GetObjectItem(summary, "trials")) {
    curve_points += cJSON_GetObjectItem(trial, "epochs")->valueint;
    if (strcmp(cJSON_GetObjectItem(trial, "status")->valuestring, "survived") != 0) {
      cr_expect_null(cJSON_GetObjectItem(trial, "test_acc"), "the test split is for survivors only");
      continue;
    }
    /* The saved model, reloaded by `caviar eval`, scores what the sweep reported. */
    snprintf(args, sizeof args, "eval %s/%s --data %s", out, cJSON_GetObjectItem(trial, "model")->valuestring, data_dir);
    cli_result ev = run_caviar(args);
    cr_assert_eq(ev.status, 0, "%s", ev.err);
    char expected[64];
    snprintf(expected, sizeof expected, "test_acc %.4f", cJSON_GetObjectItem(trial, "test_acc")->valuedouble);
    cr_expect(strncmp(ev.out, expected, strlen(expected)) == 0, "eval says '%s', the sweep '%s'", ev.out, expected);
    cli_result_free(&ev);
  }
  snprintf(path, sizeof path, "%s/curves.csv", out);
  char *curves = scratch_read(path, NULL);
  cr_expect_eq(count_lines(curves), curve_points + 1, "one curve line per trained epoch, plus the header");
  free(curves);
  cJSON_Delete(summary);
}

Test(sweep, a_second_run_replaces_best_as_a_whole) {
  const char *dir = synth_idx_dir("twice", 800, 200, 32, 4, 1.5, true);
  char data_dir[1024], text[2048], args[4096], out[1024];
  strcpy(data_dir, dir);
  strcpy(out, scratch_path("twice-out"));
  for (int seed = 1; seed <= 2; seed++) {
    sweep_spec(text, sizeof text, data_dir, 6, "\"min\": 1e-3, \"max\": 3e-2", 3);
    scratch_write_text("twice.json", text);
    snprintf(args, sizeof args, "sweep %s -o %s --force --seed %d -n %d", scratch_path("twice.json"), out, seed,
             seed == 1 ? 6 : 3);
    cli_result run = run_caviar(args);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cli_result_free(&run);
  }
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", out);
  cJSON *summary = read_json(path);
  cr_expect_eq(cJSON_GetObjectItem(summary, "seed")->valueint, 2);
  int survivors = 0;
  cJSON *trial;
  cJSON_ArrayForEach(trial, cJSON_GetObjectItem(summary, "trials")) survivors += cJSON_GetObjectItem(trial, "model") != NULL;
  snprintf(path, sizeof path, "ls %s/best | wc -l > %s", out, scratch_path("count"));
  cr_assert_eq(system(path), 0);
  char *count = scratch_read(scratch_path("count"), NULL);
  cr_expect_eq(atoi(count), survivors, "best/ holds exactly the second run's survivors");
  free(count);
  cJSON_Delete(summary);
}

Test(sweep, bad_data_folder_is_an_input_error) {
  scratch_write_text("nodata.json", "{\"method\": \"random\", \"data\": {\"dir\": \"/nonexistent/data\"}, \"parameters\": {}}");
  char args[1200];
  snprintf(args, sizeof args, "sweep %s -o %s", scratch_path("nodata.json"), scratch_path("never"));
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "/nonexistent/data: no readable train-images-idx3-ubyte") != NULL, "%s", r.err);
  cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
  cli_result_free(&r);
}

/* The CPU backend, except that trial 1 starts with a NaN first-layer weight: what a NaN weight
 * behind ReLU looks like, its unit's output 0 and its loss still finite, the weight NaN to the end. */
static caviar_status (*real_init_members)(caviar_backend *, caviar_cohort *, int, int, caviar_error *);

static caviar_status init_members_with_a_nan(caviar_backend *be, caviar_cohort *c, int first, int count,
                                             caviar_error *err) {
  caviar_status st = real_init_members(be, c, first, count, err);
  for (int slot = first; st == CAVIAR_OK && slot < first + count; slot++)
    if (c->trial[slot] == 1) caviar_block(c->arena[CAVIAR_ARENA_PARAMS], &c->layout, 0, slot)[3] = NAN;
  return st;
}

Test(sweep, a_survivor_with_nan_parameters_counts_as_diverged) {
  char text[2048];
  sweep_spec(text, sizeof text, synth_idx_dir("nanparams", 600, 150, 32, 4, 1.5, true), 3, "\"min\": 1e-3, \"max\": 3e-2",
             1);
  caviar_spec spec;
  caviar_data data;
  caviar_sweep_result r;
  caviar_error err;
  spec_ok(text, &spec);
  cr_assert_eq(caviar_data_load(&spec.data, spec.seed, &data, &err), CAVIAR_OK, "%s", err.msg);
  caviar_backend *be;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  real_init_members = be->init_members;
  be->init_members = init_members_with_a_nan;
  caviar_sweep sweep = {.spec = &spec, .seed = spec.seed, .trials = -1, .backend = be, .data = &data};
  cr_assert_eq(caviar_sweep_run(&sweep, &r, &err), CAVIAR_OK, "%s", err.msg);
  for (int i = 0; i < r.n_trials; i++) {
    const caviar_trial_result *t = &r.trials[i];
    cr_expect_eq(t->status, t->trial.id == 1 ? CAVIAR_TRIAL_DIVERGED : CAVIAR_TRIAL_SURVIVED, "trial %u: %s",
                 (unsigned)t->trial.id, caviar_trial_status_name(t->status));
    cr_expect_eq(t->params == NULL, t->trial.id == 1, "trial %u keeps parameters to save", (unsigned)t->trial.id);
  }
  be->destroy(be);
  caviar_sweep_result_free(&r);
  caviar_data_free(&data);
  caviar_spec_free(&spec);
}

/* A backend whose training sleeps a known time and which remembers what it was asked. */
typedef struct sleepy {
  int trained, evaluated;
  size_t rows;
} sleepy;

static void nap(double seconds) {
  double until = caviar_now() + seconds;
  while (caviar_now() < until) {
  }
}

static caviar_status sleepy_train(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, size_t n_rows,
                                  caviar_epoch_stats *stats, caviar_error *err) {
  (void)c, (void)rows, (void)stats, (void)err;
  sleepy *s = be->ctx;
  s->trained++;
  s->rows = n_rows;
  nap(0.03);
  return CAVIAR_OK;
}

static caviar_status sleepy_evaluate(caviar_backend *be, caviar_cohort *c, caviar_set set, const uint32_t *rows,
                                     size_t n_rows, float *loss, float *accuracy, caviar_error *err) {
  (void)c, (void)set, (void)rows, (void)n_rows, (void)loss, (void)accuracy;
  ((sleepy *)be->ctx)->evaluated++;
  nap(0.02);
  return caviar_fail(err, CAVIAR_EINPUT, "refused");
}

Test(sweep, the_timed_backend_counts_the_seconds_inside_its_calls_and_forwards_them) {
  sleepy s = {0};
  caviar_backend inner = {.name = "sleepy", .ctx = &s, .train_epoch = sleepy_train, .evaluate = sleepy_evaluate};
  caviar_timed_backend timed;
  caviar_timed_backend_init(&timed, &inner);
  caviar_backend *be = &timed.backend;
  cr_expect_str_eq(be->name, "sleepy");
  caviar_error err = {{0}};
  double t0 = caviar_now();
  cr_expect_eq(be->train_epoch(be, NULL, NULL, 77, NULL, &err), CAVIAR_OK);
  nap(0.05); /* outside the backend: not counted */
  cr_expect_eq(be->evaluate(be, NULL, CAVIAR_SET_TEST, NULL, 0, NULL, NULL, &err), CAVIAR_EINPUT, "the status comes back");
  double wall = caviar_now() - t0;
  cr_expect_str_eq(err.msg, "refused");
  cr_expect_eq(s.trained, 1);
  cr_expect_eq(s.evaluated, 1);
  cr_expect_eq(s.rows, 77, "the arguments reach the inner backend");
  cr_expect_geq(timed.seconds, 0.05, "30 + 20 ms inside the calls, counted %g s", timed.seconds);
  cr_expect_leq(timed.seconds, wall - 0.05, "the 50 ms between the calls counted too: %g of %g s", timed.seconds, wall);
}

Test(sweep, summary_json_says_how_much_of_the_wall_time_the_device_took) {
  char text[2048], out[1100], cmd[4096];
  sweep_spec(text, sizeof text, synth_idx_dir("timed", 400, 100, 32, 4, 1.5, true), 6, "\"min\": 0.001, \"max\": 0.1", 3);
  scratch_write_text("timed.json", text);
  snprintf(out, sizeof out, "%s", scratch_path("timed-out"));
  snprintf(cmd, sizeof cmd, "%s sweep %s -o %s -q > /dev/null", CAVIAR_BIN, scratch_path("timed.json"), out);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", out);
  char *json = scratch_read(path, NULL);
  cJSON *summary = cJSON_Parse(json);
  free(json);
  cr_assert_not_null(summary);
  double wall = cJSON_GetObjectItem(summary, "wall_seconds")->valuedouble;
  const cJSON *device = cJSON_GetObjectItem(summary, "device_seconds");
  cr_assert(cJSON_IsNumber(device), "no device_seconds");
  cr_expect_gt(device->valuedouble, 0, "training takes time");
  cr_expect_leq(device->valuedouble, wall, "device %g s of a %g s sweep", device->valuedouble, wall);
  cJSON_Delete(summary);
}
