#include "caviar/report.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caviar/atomic_file.h"
#include "caviar/model_file.h"
#include "caviar/trial_json.h"
#include "caviar/zoom.h"

static cJSON *number_or_null(double x) { return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull(); }

static cJSON *trial_json(const caviar_trial_result *t) {
  char text[2048];
  cJSON *obj = cJSON_CreateObject();
  cJSON_AddNumberToObject(obj, "trial", t->trial.id);
  cJSON_AddNumberToObject(obj, "round", t->trial.round);
  cJSON_AddNumberToObject(obj, "bracket", t->bracket);
  caviar_hparams_json(&t->trial.hp, text, sizeof text);
  cJSON_AddItemToObject(obj, "params", cJSON_Parse(text));
  cJSON_AddStringToObject(obj, "status", caviar_trial_status_name(t->status));
  cJSON_AddNumberToObject(obj, "epochs", t->epochs);
  cJSON_AddItemToObject(obj, "train_loss", number_or_null(t->train_loss));
  cJSON_AddItemToObject(obj, "val_loss", number_or_null(t->val_loss));
  cJSON_AddItemToObject(obj, "val_acc", number_or_null(t->val_acc));
  if (t->status == CAVIAR_TRIAL_SURVIVED) {
    cJSON_AddItemToObject(obj, "test_loss", number_or_null(t->test_loss));
    cJSON_AddItemToObject(obj, "test_acc", number_or_null(t->test_acc));
    snprintf(text, sizeof text, "best/trial-%u.safetensors", (unsigned)t->trial.id);
    cJSON_AddStringToObject(obj, "model", text);
  }
  if (t->lineage) cJSON_AddItemToObject(obj, "lineage", cJSON_Duplicate(t->lineage, true));
  return obj;
}

static cJSON *summary_json(const caviar_report_info *info, const caviar_sweep_result *r) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "caviar_version", CAVIAR_VERSION);
  cJSON_AddStringToObject(root, "spec_file", info->spec->source);
  cJSON *spec = cJSON_Parse(info->spec->text);
  cJSON_AddItemToObject(root, "spec", spec ? spec : cJSON_CreateNull());
  cJSON_AddNumberToObject(root, "seed", (double)info->seed);
  cJSON_AddStringToObject(root, "device", info->device);
  cJSON_AddNumberToObject(root, "wall_seconds", r->wall_seconds);
  cJSON_AddNumberToObject(root, "model_samples", r->model_samples);
  cJSON_AddNumberToObject(root, "model_samples_per_second", r->wall_seconds > 0 ? r->model_samples / r->wall_seconds : 0);
  const caviar_data *d = info->data;
  cJSON *data = cJSON_AddObjectToObject(root, "data");
  cJSON_AddStringToObject(data, "train", d->train_name);
  cJSON_AddStringToObject(data, "test", d->test_name);
  cJSON_AddNumberToObject(data, "train_examples", (double)d->split.n_train);
  cJSON_AddNumberToObject(data, "validation_examples", (double)d->split.n_val);
  cJSON_AddNumberToObject(data, "test_examples", (double)d->test.n);
  cJSON_AddNumberToObject(data, "features", (double)d->train.d);
  cJSON_AddNumberToObject(data, "classes", d->classes);
  cJSON_AddStringToObject(data, "scaling", caviar_scaling_name(d->scaling.kind));
  cJSON *rungs = cJSON_AddArrayToObject(root, "rungs");
  for (int i = 0; i < r->rungs.n; i++) cJSON_AddItemToArray(rungs, cJSON_CreateNumber(r->rungs.epochs[i]));
  cJSON *brackets = cJSON_AddArrayToObject(root, "brackets");
  for (int b = 0; b < r->plan.n_brackets; b++) {
    const caviar_bracket *br = &r->plan.brackets[b];
    cJSON *bracket = cJSON_CreateObject();
    cJSON_AddNumberToObject(bracket, "s", br->s);
    cJSON_AddNumberToObject(bracket, "trials", br->trials);
    cJSON *at = cJSON_AddArrayToObject(bracket, "rungs");
    for (int i = 0; i < br->rungs.n; i++) cJSON_AddItemToArray(at, cJSON_CreateNumber(br->rungs.epochs[i]));
    cJSON_AddItemToArray(brackets, bracket);
  }
  /* Each round's search box (coarse to fine zooms it round by round). */
  cJSON *rounds = cJSON_AddArrayToObject(root, "rounds");
  int per_round = r->n_rounds ? r->n_trials / r->n_rounds : 0;
  for (int i = 0; i < r->n_rounds; i++) {
    cJSON *round = cJSON_CreateObject();
    cJSON_AddNumberToObject(round, "round", i);
    cJSON_AddNumberToObject(round, "first_trial", i * per_round);
    cJSON_AddNumberToObject(round, "trials", per_round);
    cJSON_AddItemToObject(round, "box", caviar_space_box_json(&r->boxes[i]));
    cJSON_AddItemToArray(rounds, round);
  }
  int *order = malloc((size_t)(r->n_trials > 0 ? r->n_trials : 1) * sizeof *order);
  if (order && r->n_trials > 0) {
    caviar_result_order(info->spec, r, order);
    const caviar_trial_result *best = &r->trials[order[0]];
    if (best->status == CAVIAR_TRIAL_SURVIVED) cJSON_AddItemToObject(root, "best", trial_json(best));
  }
  free(order);
  cJSON *trials = cJSON_AddArrayToObject(root, "trials");
  for (int i = 0; i < r->n_trials; i++) cJSON_AddItemToArray(trials, trial_json(&r->trials[i]));
  return root;
}

/* The text and a final newline. */
static caviar_status write_line(const char *path, const char *text, caviar_error *err) {
  caviar_atomic_file af;
  caviar_status st = caviar_atomic_open(&af, path, err);
  if (st != CAVIAR_OK) return st;
  fputs(text, af.f);
  fputc('\n', af.f);
  return caviar_atomic_commit(&af, err);
}

static caviar_status write_curves(const char *path, const caviar_sweep_result *r, caviar_error *err) {
  caviar_atomic_file af;
  caviar_status st = caviar_atomic_open(&af, path, err);
  if (st != CAVIAR_OK) return st;
  fputs("trial,epoch,train_loss,val_loss,val_acc\n", af.f);
  for (size_t i = 0; i < r->n_curve; i++) {
    const caviar_curve_point *p = &r->curve[i];
    fprintf(af.f, "%u,%d,%.9g,%.9g,%.9g\n", (unsigned)p->trial, p->epoch, (double)p->train_loss, (double)p->val_loss,
            (double)p->val_acc);
  }
  return caviar_atomic_commit(&af, err);
}

/* Removes a folder of our own files (no subfolders). */
static void remove_flat_dir(const char *path) {
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  char file[4096];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(file, sizeof file, "%s/%s", path, e->d_name);
    unlink(file);
  }
  closedir(d);
  rmdir(path);
}

/* Writes every survivor into a fresh folder, then swaps it in for best/: a reader sees the old set
 * or the new one, never a mixture. */
static caviar_status write_models(const char *dir, const caviar_report_info *info, const caviar_sweep_result *r,
                                  caviar_error *err) {
  char fresh[4096], old[4096], best[4096], path[4200];
  snprintf(fresh, sizeof fresh, "%s/.best-new-XXXXXX", dir);
  snprintf(best, sizeof best, "%s/best", dir);
  if (!mkdtemp(fresh)) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create a folder: %s", dir, strerror(errno));
  chmod(fresh, 0755);
  caviar_status st = CAVIAR_OK;
  for (int i = 0; st == CAVIAR_OK && i < r->n_trials; i++) {
    const caviar_trial_result *t = &r->trials[i];
    if (t->status != CAVIAR_TRIAL_SURVIVED) continue;
    caviar_model model = {t->shape, t->trial.hp, t->trial.id, t->params, info->data->scaling};
    snprintf(path, sizeof path, "%s/trial-%u.safetensors", fresh, (unsigned)t->trial.id);
    st = caviar_model_save(path, &model, err);
  }
  if (st == CAVIAR_OK) {
    snprintf(old, sizeof old, "%s/.best-old-XXXXXX", dir);
    bool had_old = access(best, F_OK) == 0 && mkdtemp(old) && rename(best, old) == 0;
    if (rename(fresh, best) != 0) {
      st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot move the new models into place: %s", best, strerror(errno));
      if (had_old) rename(old, best);
    } else if (had_old) {
      remove_flat_dir(old);
    } else {
      rmdir(old);
    }
  }
  if (st != CAVIAR_OK) remove_flat_dir(fresh);
  return st;
}

caviar_status caviar_report_write(const char *dir, const caviar_report_info *info, const caviar_sweep_result *r,
                                  caviar_error *err) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create the output folder: %s", dir, strerror(errno));
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: exists and is not a folder", dir);
  char path[4200];
  caviar_status st = write_models(dir, info, r, err);
  if (st == CAVIAR_OK) {
    snprintf(path, sizeof path, "%s/curves.csv", dir);
    st = write_curves(path, r, err);
  }
  if (st == CAVIAR_OK) {
    cJSON *summary = summary_json(info, r);
    char *text = cJSON_Print(summary);
    cJSON_Delete(summary);
    if (!text) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory writing the summary");
    snprintf(path, sizeof path, "%s/summary.json", dir);
    st = write_line(path, text, err);
    free(text);
  }
  return st;
}

void caviar_leaderboard_print(FILE *f, const caviar_spec *spec, const caviar_sweep_result *r, int max_rows) {
  int *order = malloc((size_t)(r->n_trials > 0 ? r->n_trials : 1) * sizeof *order);
  if (!order) return;
  caviar_result_order(spec, r, order);
  fprintf(f, "%4s %6s %-9s %6s %8s %8s %8s  %-10s %-8s %6s %6s %-5s %7s\n", "rank", "trial", "status", "epochs",
          "val_acc", "val_loss", "test_acc", "lr", "optim", "hidden", "layers", "act", "dropout");
  int rows = r->n_trials < max_rows ? r->n_trials : max_rows;
  for (int k = 0; k < rows; k++) {
    const caviar_trial_result *t = &r->trials[order[k]];
    char test[16] = "-";
    if (t->status == CAVIAR_TRIAL_SURVIVED) snprintf(test, sizeof test, "%.4f", (double)t->test_acc);
    fprintf(f, "%4d %6u %-9s %6d %8.4f %8.4f %8s  %-10.3g %-8s %6d %6d %-5s %7.2f\n", k + 1, (unsigned)t->trial.id,
            caviar_trial_status_name(t->status), t->epochs, (double)t->val_acc, (double)t->val_loss, test,
            t->trial.hp.learning_rate, caviar_optimizer_name(t->trial.hp.optimizer), t->trial.hp.hidden,
            t->trial.hp.layers, caviar_activation_name(t->trial.hp.activation), t->trial.hp.dropout);
  }
  if (rows < r->n_trials) fprintf(f, "(%d more in summary.json)\n", r->n_trials - rows);
  free(order);
}
