/* Labels beyond class indices: string names, regression targets, carved subsets, data specs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"

caviar_status caviar_dataset_subset(const caviar_dataset *src, const uint32_t *rows, size_t n, caviar_dataset *out,
                                    caviar_error *err) {
  memset(out, 0, sizeof *out);
  out->n = n;
  out->d = src->d;
  memcpy(out->image, src->image, sizeof out->image);
  out->labels = caviar_alloc(n, sizeof *out->labels, "a data subset", err);
  if (src->x_u8) out->x_u8 = caviar_alloc(n * src->d, 1, "a data subset", err);
  if (src->x_f32) out->x_f32 = caviar_alloc(n * src->d, sizeof(float), "a data subset", err);
  if (src->targets) out->targets = caviar_alloc(n, sizeof(float), "a data subset", err);
  if (!out->labels || (src->x_u8 && !out->x_u8) || (src->x_f32 && !out->x_f32) || (src->targets && !out->targets)) {
    caviar_dataset_free(out);
    return CAVIAR_ERUNTIME;
  }
  for (size_t i = 0; i < n; i++) {
    size_t r = rows[i];
    out->labels[i] = src->labels[r];
    if (src->targets) out->targets[i] = src->targets[r];
    if (src->x_u8) memcpy(out->x_u8 + i * src->d, src->x_u8 + r * src->d, src->d);
    if (src->x_f32) memcpy(out->x_f32 + i * src->d, src->x_f32 + r * src->d, src->d * sizeof(float));
  }
  return CAVIAR_OK;
}

/* class_of[k]: the index among names[0..n) (sorted) of ds's name k; an unknown name is an error
 * naming path. Whether both sides are names or both indices is checked first. */
static caviar_status class_table(const caviar_dataset *ds, char *const *names, int n, const char *path,
                                 int32_t **class_of, caviar_error *err) {
  *class_of = NULL;
  if (!names)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: labels are names ('%s', ...), but the training labels are class indices",
                       path, ds->names[0]);
  if (!ds->names)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: labels are class indices, but the training labels are names ('%s', ...)",
                       path, names[0]);
  int32_t *table = caviar_alloc((size_t)ds->n_names, sizeof *table, "label names", err);
  if (!table) return CAVIAR_ERUNTIME;
  for (int k = 0; k < ds->n_names; k++) {
    /* names are sorted: a binary search. */
    int lo = 0, hi = n;
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      if (strcmp(names[mid], ds->names[k]) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo == n || strcmp(names[lo], ds->names[k]) != 0) {
      caviar_status st = caviar_fail(err, CAVIAR_EINPUT, "%s: label '%.60s' is not one of the %d classes trained on",
                                     path, ds->names[k], n);
      free(table);
      return st;
    }
    table[k] = lo;
  }
  *class_of = table;
  return CAVIAR_OK;
}

static void drop_names(caviar_dataset *ds) {
  for (int k = 0; k < ds->n_names; k++) free(ds->names[k]);
  free(ds->names);
  ds->names = NULL;
  ds->n_names = 0;
}

caviar_status caviar_labels_map(caviar_dataset *ds, char *const *names, int n, const char *path, caviar_error *err) {
  if (!ds->names && !names) return CAVIAR_OK;
  int32_t *class_of;
  caviar_status st = class_table(ds, names, n, path, &class_of, err);
  if (st != CAVIAR_OK) return st;
  for (size_t i = 0; i < ds->n; i++) ds->labels[i] = class_of[ds->labels[i]];
  free(class_of);
  drop_names(ds);
  return CAVIAR_OK;
}

caviar_status caviar_data_labels_map(caviar_data *data, char *const *names, int n, caviar_error *err) {
  if (!data->train.names && !names) return CAVIAR_OK;
  int32_t *class_of;
  caviar_status st = class_table(&data->train, names, n, data->train_labels, &class_of, err);
  if (st != CAVIAR_OK) return st;
  /* The test set is numbered as the training file (its names, or the part carved from it). */
  for (size_t i = 0; i < data->train.n; i++) data->train.labels[i] = class_of[data->train.labels[i]];
  for (size_t i = 0; i < data->test.n; i++) data->test.labels[i] = class_of[data->test.labels[i]];
  free(class_of);
  drop_names(&data->train);
  data->classes = n;
  return CAVIAR_OK;
}

void caviar_targets_standardize(caviar_dataset *ds, caviar_target_scaling t) {
  for (size_t i = 0; ds->targets && i < ds->n; i++) ds->targets[i] = (float)((ds->targets[i] - t.mean) / t.std);
}

/* Rounded real-valued targets read as classes have many classes with about one example each. */
void caviar_labels_look_real(const caviar_data *data, char *buf, size_t size) {
  buf[0] = '\0';
  if (data->task != CAVIAR_TASK_CLASSIFICATION || data->classes < 20) return;
  double per_class = (double)data->split.n_train / data->classes;
  if (per_class >= 5) return;
  snprintf(buf, size,
           "%s: %d classes with %.1f training examples each on average: if the labels are a real-valued target, set "
           "task: regression in the data section",
           data->train_labels, data->classes, per_class);
}

static char *dup_or_null(const char *s, bool *ok) {
  if (!s) return NULL;
  char *copy = strdup(s);
  if (!copy) *ok = false;
  return copy;
}

caviar_status caviar_data_spec_copy(const caviar_data_spec *in, caviar_data_spec *out, caviar_error *err) {
  bool ok = true;
  *out = *in;
  out->dir = dup_or_null(in->dir, &ok);
  out->train_csv = dup_or_null(in->train_csv, &ok);
  out->test_csv = dup_or_null(in->test_csv, &ok);
  out->label_name = dup_or_null(in->label_name, &ok);
  out->shape_at = dup_or_null(in->shape_at, &ok);
  if (ok) return CAVIAR_OK;
  caviar_data_spec_free(out);
  return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory copying a data section");
}

void caviar_data_spec_free(caviar_data_spec *d) {
  free(d->dir);
  free(d->train_csv);
  free(d->test_csv);
  free(d->label_name);
  free(d->shape_at);
  d->dir = d->train_csv = d->test_csv = d->label_name = d->shape_at = NULL;
}
