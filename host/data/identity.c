/* What identifies the data a sweep or a run trained on (data.h: caviar_data_identity): each file
 * read, with its size and the CRC-32 of its bytes taken while reading, and the examples, features
 * and classes. A resumed sweep or checkpoint that loads other data would otherwise mix two data
 * sets in one result without a word. */
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "caviar/data.h"
#include "caviar/json_text.h"

/* The files in the order read, each once (a CSV is its own label file, and the test file too when
 * the test set is carved from it), their paths absolute: a run resumed from another working
 * folder reads the same files. */
static int distinct_files(const caviar_data *d, char names[4][PATH_MAX], caviar_file_id ids[4]) {
  const char *all[4] = {d->train_name, d->train_labels, d->test_name, d->test_labels};
  int n = 0;
  for (int i = 0; i < 4; i++) {
    if (!all[i][0]) continue;
    if (!realpath(all[i], names[n])) snprintf(names[n], PATH_MAX, "%s", all[i]);
    bool seen = false;
    for (int k = 0; k < n; k++) seen = seen || strcmp(names[k], names[n]) == 0;
    if (seen) continue;
    ids[n] = d->files[i];
    n++;
  }
  return n;
}

char *caviar_data_identity(const caviar_data *d) {
  cJSON *o = cJSON_CreateObject(), *files = cJSON_AddArrayToObject(o, "files");
  char names[4][PATH_MAX];
  caviar_file_id ids[4];
  int n = distinct_files(d, names, ids);
  for (int i = 0; i < n; i++) {
    cJSON *f = cJSON_CreateObject();
    char crc[16];
    snprintf(crc, sizeof crc, "%08" PRIx32, ids[i].crc);
    cJSON_AddStringToObject(f, "path", names[i]);
    cJSON_AddNumberToObject(f, "bytes", (double)ids[i].bytes);
    cJSON_AddStringToObject(f, "crc32", crc);
    cJSON_AddItemToArray(files, f);
  }
  cJSON_AddNumberToObject(o, "train_examples", (double)d->train.n);
  cJSON_AddNumberToObject(o, "test_examples", (double)d->test.n);
  cJSON_AddNumberToObject(o, "features", (double)d->train.d);
  cJSON_AddNumberToObject(o, "classes", d->classes);
  char *text = caviar_json_print_text(o, false);
  cJSON_Delete(o);
  return text;
}

static double number(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Whether the file an identity's entry f describes differs from what was read now (why says how,
 * with counts, the data's changed sizes, after it). */
static bool file_changed(const cJSON *f, const char *name, caviar_file_id now, const char *counts, char *why,
                         size_t size) {
  const cJSON *path = cJSON_GetObjectItemCaseSensitive(f, "path"), *crc = cJSON_GetObjectItemCaseSensitive(f, "crc32");
  double bytes = number(f, "bytes");
  if (!cJSON_IsString(path) || !cJSON_IsString(crc) || bytes < 0) {
    snprintf(why, size, "the record of the data is damaged (a file without path, bytes and crc32)");
    return true;
  }
  char crc_now[16];
  snprintf(crc_now, sizeof crc_now, "%08" PRIx32, now.crc);
  if (bytes != (double)now.bytes)
    snprintf(why, size, "%s: %.0f bytes then, %llu now%s%s%s", name, bytes, now.bytes, counts[0] ? " (" : "", counts,
             counts[0] ? ")" : "");
  else if (strcmp(crc->valuestring, crc_now) != 0)
    snprintf(why, size, "%s: other contents of the same size (CRC-32 %s then, %s now)%s%s%s", name, crc->valuestring,
             crc_now, counts[0] ? " (" : "", counts, counts[0] ? ")" : "");
  return why[0] != '\0';
}

bool caviar_data_file_changed(const char *identity, const char *path, caviar_file_id now, char *why, size_t size) {
  why[0] = '\0';
  char real[PATH_MAX];
  if (!realpath(path, real)) snprintf(real, sizeof real, "%s", path);
  cJSON *was = caviar_json_parse_text(identity, strlen(identity));
  const cJSON *f;
  bool changed = false;
  cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(was, "files")) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "path");
    if (cJSON_IsString(name) && strcmp(name->valuestring, real) == 0) {
      changed = file_changed(f, real, now, "", why, size);
      break;
    }
  }
  cJSON_Delete(was);
  return changed;
}

bool caviar_data_changed(const char *identity, const caviar_data *now, char *why, size_t size) {
  why[0] = '\0';
  cJSON *was = caviar_json_parse_text(identity, strlen(identity));
  const cJSON *files = cJSON_GetObjectItemCaseSensitive(was, "files");
  if (!cJSON_IsArray(files)) {
    cJSON_Delete(was);
    snprintf(why, size, "the record of the data is damaged (expected {\"files\": [...], ...})");
    return true;
  }
  /* The examples, features and classes, said beside the file that changed. */
  char counts[512] = "";
  size_t used = 0;
  const struct {
    const char *key, *what;
    double now;
  } facts[] = {{"train_examples", "training examples", (double)now->train.n},
               {"test_examples", "test examples", (double)now->test.n},
               {"features", "features", (double)now->train.d},
               {"classes", "classes", (double)now->classes}};
  for (size_t i = 0; i < sizeof facts / sizeof *facts; i++) {
    double then = number(was, facts[i].key);
    if (then >= 0 && then != facts[i].now && used < sizeof counts)
      used += (size_t)snprintf(counts + used, sizeof counts - used, "%s%.0f %s then, %.0f now", used ? ", " : "", then,
                               facts[i].what, facts[i].now);
  }
  char names[4][PATH_MAX];
  caviar_file_id ids[4];
  int n = distinct_files(now, names, ids);
  const cJSON *f;
  cJSON_ArrayForEach(f, files) {
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(f, "path");
    int k = 0;
    while (k < n && cJSON_IsString(path) && strcmp(names[k], path->valuestring) != 0) k++;
    if (cJSON_IsString(path) && k == n) {
      snprintf(why, size, "%s: read then, not now (now: %s)", path->valuestring, n > 0 ? names[0] : "no file");
      break;
    }
    if (file_changed(f, names[k], ids[k], counts, why, size)) break;
  }
  if (!why[0] && counts[0]) snprintf(why, size, "%s: %s", now->train_name, counts);
  cJSON_Delete(was);
  return why[0] != '\0';
}
