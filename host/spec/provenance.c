/* Where a model's examples came from, as text a sample line, a model file or a checkpoint carries:
 * the data section with its paths made absolute, read back by the data section's own parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caviar/json_text.h"
#include "spec/spec_internal.h"

/* A data path as an absolute one, so a file resumes from any working folder (as given when it
 * cannot be resolved). */
static void add_path(cJSON *o, const char *key, const char *path) {
  if (!path) return;
  char *absolute = realpath(path, NULL);
  cJSON_AddStringToObject(o, key, absolute ? absolute : path);
  free(absolute);
}

char *caviar_data_spec_json(const caviar_data_spec *d) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  cJSON_AddStringToObject(o, "format", d->format == CAVIAR_DATA_CSV ? "csv" : "idx");
  add_path(o, "dir", d->dir);
  add_path(o, "train", d->train_csv);
  add_path(o, "test", d->test_csv);
  if (d->format == CAVIAR_DATA_CSV && !d->test_csv) cJSON_AddNumberToObject(o, "test", d->test_fraction);
  if (d->label_name) cJSON_AddStringToObject(o, "label_column", d->label_name);
  else if (d->label_column) cJSON_AddNumberToObject(o, "label_column", d->label_column);
  cJSON_AddNumberToObject(o, "validation", d->validation);
  cJSON_AddStringToObject(o, "scaling", caviar_scaling_name(d->scaling));
  if (d->classes) cJSON_AddNumberToObject(o, "classes", d->classes);
  if (d->shape[0] > 0) cJSON_AddItemToObject(o, "shape", cJSON_CreateIntArray(d->shape, 3));
  if (d->task == CAVIAR_TASK_REGRESSION) cJSON_AddStringToObject(o, "task", "regression");
  if (d->allow_test_overlap) cJSON_AddStringToObject(o, "test_overlap", "allow");
  if (caviar_augment_on(d->augment)) {
    cJSON *augment = cJSON_AddObjectToObject(o, "augment");
    if (augment && d->augment.flip) cJSON_AddBoolToObject(augment, "flip", true);
    if (augment && d->augment.shift) cJSON_AddNumberToObject(augment, "shift", d->augment.shift);
  }
  char *text = caviar_json_print_text(o, false);
  cJSON_Delete(o);
  return text;
}

caviar_status caviar_data_spec_parse(const char *text, const char *source, const char *path, caviar_data_spec *out,
                                     caviar_error *err) {
  memset(out, 0, sizeof *out);
  cJSON *root = caviar_json_parse_text(text, strlen(text));
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %s: expected a data section (a JSON object)", source, path);
  }
  caviar_error inner;
  caviar_json_ctx ctx = {source, &inner, NULL, NULL};
  caviar_status st = caviar_parse_data(&ctx, root, NULL, out);
  cJSON_Delete(root);
  if (st == CAVIAR_OK && out->shape_at) { /* the file holds the section under path, as below */
    size_t len = strlen(source) + strlen(path) + sizeof ": .shape";
    char *at = malloc(len);
    if (!at) {
      caviar_data_spec_free(out);
      return caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory reading %s", source, path);
    }
    snprintf(at, len, "%s: %s.shape", source, path);
    free(out->shape_at);
    out->shape_at = at;
  }
  if (st != CAVIAR_OK) {
    /* The data parser names data.<key>; the file holds it under path. */
    size_t skip = strlen(source) + 2;
    const char *msg = inner.msg;
    if (strlen(msg) > skip && strncmp(msg, source, strlen(source)) == 0 && strncmp(msg + skip, "data", 4) == 0)
      caviar_fail(err, st, "%s: %s%s", source, path, msg + skip + 4);
    else
      *err = inner;
  }
  return st;
}

/* "train.csv,test=0.2,label_column=species": the keys it names, numbers where they read as numbers
 * (label_column=3 is an index, label_column=y a name). */
static caviar_status csv_keys(const char *arg, cJSON *o, caviar_error *err) {
  char *copy = caviar_strdup(arg, err);
  if (!copy) return CAVIAR_ERUNTIME;
  cJSON_AddStringToObject(o, "format", "csv");
  char *save = NULL;
  char *file = strtok_r(copy, ",", &save);
  cJSON_AddStringToObject(o, "train", file ? file : "");
  caviar_status st = CAVIAR_OK;
  for (char *pair = strtok_r(NULL, ",", &save); pair && st == CAVIAR_OK; pair = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(pair, '=');
    if (!eq || eq == pair) {
      st = caviar_fail(err, CAVIAR_EINPUT, "--data %s: expected key=value after the file, got '%s'", arg, pair);
      break;
    }
    *eq = '\0';
    char *end;
    double v = strtod(eq + 1, &end);
    if (cJSON_GetObjectItemCaseSensitive(o, pair)) cJSON_DeleteItemFromObjectCaseSensitive(o, pair);
    if (eq[1] && !*end) cJSON_AddNumberToObject(o, pair, v);
    else cJSON_AddStringToObject(o, pair, eq + 1);
  }
  free(copy);
  return st;
}

/* The keys --data's argument names, as a data section's JSON object: a folder is {"format": "idx",
 * "dir": ...}, a CSV file {"format": "csv", "train": ..., its keys}, JSON as written. */
static caviar_status named_keys(const char *arg, cJSON **out, caviar_error *err) {
  *out = NULL;
  if (arg[0] == '{') {
    cJSON *o = cJSON_Parse(arg);
    if (!cJSON_IsObject(o)) {
      cJSON_Delete(o);
      return caviar_fail(err, CAVIAR_EINPUT, "--data: data: expected a data section (a JSON object)");
    }
    *out = o;
    return CAVIAR_OK;
  }
  cJSON *o = cJSON_CreateObject();
  if (!o) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory reading --data");
  struct stat sb;
  caviar_status st = CAVIAR_OK;
  if (stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    cJSON_AddStringToObject(o, "format", "idx");
    cJSON_AddStringToObject(o, "dir", arg);
  } else {
    st = csv_keys(arg, o, err);
  }
  if (st == CAVIAR_OK) *out = o;
  else cJSON_Delete(o);
  return st;
}

/* Keys that describe one format's files: they go when --data names the other format. */
static const char *const file_keys[] = {"dir", "train", "test", "label_column", "shape", "classes", NULL};

caviar_status caviar_data_spec_override(const caviar_data_spec *base, const char *arg, bool test_set,
                                        caviar_data_spec *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  while (*arg == ' ') arg++;
  cJSON *named = NULL, *merged = NULL;
  char *base_text = caviar_data_spec_json(base);
  caviar_status st = base_text ? named_keys(arg, &named, err)
                               : caviar_fail(err, CAVIAR_ERUNTIME, "out of memory reading --data");
  if (st == CAVIAR_OK && !(merged = cJSON_Parse(base_text)))
    st = caviar_fail(err, CAVIAR_ERUNTIME, "out of memory reading --data");
  free(base_text);
  const cJSON *named_train = named ? cJSON_GetObjectItemCaseSensitive(named, "train") : NULL;
  if (st == CAVIAR_OK && test_set && cJSON_IsString(named_train) && !cJSON_GetObjectItemCaseSensitive(named, "test"))
    /* eval reads a CSV file named without a test key as the test set, whole. */
    cJSON_AddStringToObject(named, "test", named_train->valuestring);
  if (st == CAVIAR_OK) {
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(named, "format");
    const cJSON *was = cJSON_GetObjectItemCaseSensitive(merged, "format");
    if (cJSON_IsString(format) && cJSON_IsString(was) && strcmp(format->valuestring, was->valuestring) != 0)
      for (int i = 0; file_keys[i]; i++) cJSON_DeleteItemFromObjectCaseSensitive(merged, file_keys[i]);
    for (cJSON *key = named->child; key; key = key->next) {
      cJSON_DeleteItemFromObjectCaseSensitive(merged, key->string);
      cJSON_AddItemToObject(merged, key->string, cJSON_Duplicate(key, true));
    }
    const cJSON *now = cJSON_GetObjectItemCaseSensitive(merged, "format");
    bool csv = cJSON_IsString(now) && strcmp(now->valuestring, "csv") == 0;
    if (csv && !cJSON_GetObjectItemCaseSensitive(merged, "test"))
      st = caviar_fail(err, CAVIAR_EINPUT,
                       "--data %s: which examples are the test set? add test=FILE, or test=FRACTION (a part of the "
                       "file carved out by the seed)",
                       arg);
  }
  if (st == CAVIAR_OK) {
    caviar_error inner;
    char source[512];
    snprintf(source, sizeof source, "--data %.480s", arg);
    caviar_json_ctx ctx = {source, &inner, NULL, NULL};
    st = caviar_parse_data(&ctx, merged, NULL, out);
    if (st != CAVIAR_OK) *err = inner;
  }
  if (st == CAVIAR_OK && out->shape[0] > 0 && base->shape_at && !cJSON_GetObjectItemCaseSensitive(named, "shape")) {
    /* data.shape kept from the section --data changes: its errors name where it was written. */
    char *kept = caviar_strdup(base->shape_at, err);
    if (!kept) {
      caviar_data_spec_free(out);
      st = CAVIAR_ERUNTIME;
    } else {
      free(out->shape_at);
      out->shape_at = kept;
    }
  }
  cJSON_Delete(named);
  cJSON_Delete(merged);
  return st;
}
