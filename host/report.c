#include "caviar/report.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

/* Removes a folder of our own making and everything in it (files and folders of files). */
static void remove_tree(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    unlink(path);
    return;
  }
  struct dirent *e;
  char child[4400];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    struct stat sb;
    if (lstat(child, &sb) == 0 && S_ISDIR(sb.st_mode)) remove_tree(child);
    else unlink(child);
  }
  closedir(d);
  rmdir(path);
}

/* What a run killed while writing leaves in dir: its staging folders and temporary files (called
 * with dir locked, so never another live run's). */
static void remove_stale(const char *dir) {
  static const char *const prefixes[] = {".caviar-new-", ".caviar-old-", ".best-new-", ".best-old-"};
  char path[4400], folder[4096];
  for (int f = 0; f < 2; f++) { /* dir itself, then dir/best */
    snprintf(folder, sizeof folder, f == 0 ? "%s" : "%s/best", dir);
    DIR *d = opendir(folder);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      bool stale = caviar_is_temporary_name(e->d_name);
      for (int i = 0; f == 0 && i < 4 && !stale; i++) stale = strncmp(e->d_name, prefixes[i], strlen(prefixes[i])) == 0;
      if (!stale) continue;
      snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
      remove_tree(path);
    }
    if (d) closedir(d);
  }
}

/* Creates dir if needed and locks it against another caviar writing there at the same time (the
 * lock goes with the process, so a killed run never holds it); returns the locked descriptor. */
static caviar_status open_dir(const char *dir, bool wait, int *fd, bool *busy, caviar_error *err) {
  *busy = false;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create the output folder: %s", dir, strerror(errno));
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: exists and is not a folder", dir);
  *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot open the output folder: %s", dir, strerror(errno));
  if (flock(*fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
    close(*fd);
    *fd = -1;
    *busy = true;
    return caviar_fail(err, CAVIAR_EINPUT, "%s: another caviar is writing its results there", dir);
  }
  return CAVIAR_OK;
}

caviar_status caviar_report_prepare(const char *dir, caviar_error *err) {
  int fd = -1;
  bool busy;
  struct stat sb;
  bool existed = stat(dir, &sb) == 0;
  caviar_status st = open_dir(dir, false, &fd, &busy, err);
  if (busy) return CAVIAR_OK; /* it cleans up; this run waits its turn to write */
  if (st != CAVIAR_OK) return st;
  remove_stale(dir);
  /* A probe: root writes through permissions; a read-only file system or a full inode table it cannot. */
  char probe[4096];
  snprintf(probe, sizeof probe, "%s/.caviar-new-XXXXXX", dir);
  if (!mkdtemp(probe)) st = caviar_fail(err, CAVIAR_EINPUT, "%s: cannot write in the output folder: %s", dir, strerror(errno));
  else rmdir(probe);
  close(fd);
  if (!existed) rmdir(dir); /* made when the results are written; a run that fails leaves nothing */
  return st;
}

/* Every output into the fresh folder stage: best/ with each survivor, curves.csv, summary.json. */
static caviar_status write_stage(const char *stage, const caviar_report_info *info, const caviar_sweep_result *r,
                                 caviar_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/best", stage);
  if (mkdir(path, 0755) != 0) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create: %s", path, strerror(errno));
  caviar_status st = CAVIAR_OK;
  for (int i = 0; st == CAVIAR_OK && i < r->n_trials; i++) {
    const caviar_trial_result *t = &r->trials[i];
    if (t->status != CAVIAR_TRIAL_SURVIVED) continue;
    caviar_model model = {t->shape, t->trial.hp, t->trial.id, t->params, info->data->scaling};
    snprintf(path, sizeof path, "%s/best/trial-%u.safetensors", stage, (unsigned)t->trial.id);
    st = caviar_model_save(path, &model, err);
  }
  if (st == CAVIAR_OK) {
    snprintf(path, sizeof path, "%s/curves.csv", stage);
    st = write_curves(path, r, err);
  }
  if (st == CAVIAR_OK) {
    cJSON *summary = summary_json(info, r);
    char *text = cJSON_Print(summary);
    cJSON_Delete(summary);
    if (!text) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory writing the summary");
    snprintf(path, sizeof path, "%s/summary.json", stage);
    st = write_line(path, text, err);
    free(text);
  }
  return st;
}

static const char *const outputs[] = {"best", "curves.csv", "summary.json"};
#define N_OUTPUTS 3

/* Swaps the staged outputs in: the old ones step aside into old/ first, and come back if any
 * rename fails, so dir holds the old set or the new one. Renames take no space on a full disk. */
static caviar_status swap_in(const char *dir, const char *stage, const char *old, caviar_error *err) {
  char from[4200], to[4200];
  bool moved_aside[N_OUTPUTS] = {false}, moved_in[N_OUTPUTS] = {false};
  int failure = 0;
  const char *failed = NULL;
  for (int i = 0; i < N_OUTPUTS && !failure; i++) {
    snprintf(from, sizeof from, "%s/%s", dir, outputs[i]);
    snprintf(to, sizeof to, "%s/%s", old, outputs[i]);
    if (rename(from, to) == 0) moved_aside[i] = true;
    else if (errno != ENOENT) failure = errno, failed = outputs[i];
  }
  for (int i = 0; i < N_OUTPUTS && !failure; i++) {
    snprintf(from, sizeof from, "%s/%s", stage, outputs[i]);
    snprintf(to, sizeof to, "%s/%s", dir, outputs[i]);
    if (rename(from, to) == 0) moved_in[i] = true;
    else failure = errno, failed = outputs[i];
  }
  if (!failure) return CAVIAR_OK;
  for (int i = 0; i < N_OUTPUTS; i++) {
    snprintf(from, sizeof from, "%s/%s", dir, outputs[i]);
    snprintf(to, sizeof to, "%s/%s", stage, outputs[i]);
    if (moved_in[i]) rename(from, to);
    snprintf(to, sizeof to, "%s/%s", old, outputs[i]);
    if (moved_aside[i]) rename(to, from);
  }
  return caviar_fail(err, CAVIAR_ERUNTIME, "%s/%s: cannot move the new results into place: %s", dir, failed,
                     strerror(failure));
}

caviar_status caviar_report_write(const char *dir, const caviar_report_info *info, const caviar_sweep_result *r,
                                  caviar_error *err) {
  int fd = -1;
  bool busy;
  caviar_status st = open_dir(dir, true, &fd, &busy, err);
  if (st != CAVIAR_OK) return st;
  remove_stale(dir);
  char stage[4096], old[4096];
  snprintf(stage, sizeof stage, "%s/.caviar-new-XXXXXX", dir);
  snprintf(old, sizeof old, "%s/.caviar-old-XXXXXX", dir);
  if (!mkdtemp(stage)) {
    st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create a folder: %s", dir, strerror(errno));
  } else {
    chmod(stage, 0755);
    st = write_stage(stage, info, r, err);
    if (st == CAVIAR_OK && !mkdtemp(old))
      st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create a folder: %s", dir, strerror(errno));
    if (st == CAVIAR_OK) {
      st = swap_in(dir, stage, old, err);
      remove_tree(old);
    }
    remove_tree(stage);
  }
  close(fd);
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
