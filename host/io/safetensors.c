/* safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the raw little-endian data. */
#include "caviar/safetensors.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/atomic_file.h"
#include "caviar/gzfile.h"

void caviar_st_writer_init(caviar_st_writer *w) {
  memset(w, 0, sizeof *w);
  w->header = cJSON_CreateObject();
  cJSON_AddObjectToObject(w->header, "__metadata__");
}

void caviar_st_meta(caviar_st_writer *w, const char *key, const char *value) {
  cJSON_AddStringToObject(cJSON_GetObjectItem(w->header, "__metadata__"), key, value);
}

void caviar_st_add_dims(caviar_st_writer *w, const char *name, int n_dims, const int *dims, bool as_i64, const float *data) {
  cJSON *t = cJSON_AddObjectToObject(w->header, name);
  cJSON_AddStringToObject(t, "dtype", as_i64 ? "I64" : "F32");
  cJSON *shape = cJSON_AddArrayToObject(t, "shape");
  size_t count = 1;
  for (int i = 0; i < n_dims; i++) {
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(dims[i]));
    count *= (size_t)dims[i];
  }
  size_t bytes = count * (as_i64 ? sizeof(int64_t) : sizeof(float));
  cJSON *range = cJSON_AddArrayToObject(t, "data_offsets");
  cJSON_AddItemToArray(range, cJSON_CreateNumber((double)w->offset));
  cJSON_AddItemToArray(range, cJSON_CreateNumber((double)(w->offset + bytes)));
  w->offset += bytes;
  w->data[w->n] = data;
  w->count[w->n] = count;
  w->i64[w->n] = as_i64;
  w->n++;
}

void caviar_st_add(caviar_st_writer *w, const char *name, int rows, int cols, const float *data) {
  int dims[2] = {rows, cols};
  caviar_st_add_dims(w, name, cols > 0 ? 2 : 1, dims, false, data);
}

caviar_status caviar_st_write(caviar_st_writer *w, const char *path, caviar_error *err) {
  char *json = cJSON_PrintUnformatted(w->header);
  cJSON_Delete(w->header);
  w->header = NULL;
  if (!json) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory building the header", path);
  /* Pad the header with spaces so the data starts 8-byte aligned, as the format recommends. */
  size_t len = strlen(json), padded = (len + 7) / 8 * 8;
  unsigned char size_le[8];
  for (int i = 0; i < 8; i++) size_le[i] = (unsigned char)((uint64_t)padded >> (8 * i));
  caviar_atomic_file af;
  caviar_status st = caviar_atomic_open(&af, path, err);
  if (st == CAVIAR_OK) {
    fwrite(size_le, 1, 8, af.f);
    fwrite(json, 1, len, af.f);
    for (size_t i = len; i < padded; i++) fputc(' ', af.f);
    for (int t = 0; t < w->n; t++) {
      if (!w->i64[t]) {
        fwrite(w->data[t], sizeof(float), w->count[t], af.f);
        continue;
      }
      for (size_t k = 0; k < w->count[t]; k++) {
        int64_t v = (int64_t)llround((double)w->data[t][k]);
        unsigned char le[8];
        for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)v >> (8 * i));
        fwrite(le, 1, 8, af.f);
      }
    }
    st = caviar_atomic_commit(&af, err);
  }
  free(json);
  return st;
}

#define ST_MAX_HEADER ((uint64_t)100 << 20)
#define ST_MAX_DATA ((double)((size_t)1 << 40))

static bool is_whole(const cJSON *v, double max) {
  return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= max && v->valuedouble == floor(v->valuedouble);
}

static int compare_ranges(const void *a, const void *b) {
  const double *x = a, *y = b;
  return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Every tensor's data_offsets: whole numbers, begin <= end, no two ranges overlapping; *end_out is
 * where the last one ends (the data the header promises). */
static caviar_status check_ranges(const caviar_st_file *f, double *end_out, caviar_error *err) {
  int n = cJSON_GetArraySize(f->header);
  double *ranges = malloc(2 * sizeof(double) * (size_t)(n > 0 ? n : 1));
  if (!ranges) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory", f->path);
  int k = 0;
  caviar_status st = CAVIAR_OK;
  *end_out = 0;
  for (const cJSON *t = f->header->child; t && st == CAVIAR_OK; t = t->next) {
    if (strcmp(t->string, "__metadata__") == 0) continue;
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    const cJSON *begin = cJSON_GetArrayItem(range, 0), *end = cJSON_GetArrayItem(range, 1);
    if (!cJSON_IsObject(t) || !cJSON_IsArray(range) || cJSON_GetArraySize(range) != 2 || !is_whole(begin, ST_MAX_DATA) ||
        !is_whole(end, ST_MAX_DATA) || begin->valuedouble > end->valuedouble) {
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: %s: expected data_offsets [begin, end] of whole numbers, begin <= end",
                       f->path, t->string);
      break;
    }
    ranges[2 * k] = begin->valuedouble;
    ranges[2 * k + 1] = end->valuedouble;
    if (end->valuedouble > *end_out) *end_out = end->valuedouble;
    k++;
  }
  if (st == CAVIAR_OK) {
    qsort(ranges, (size_t)k, 2 * sizeof(double), compare_ranges);
    for (int i = 1; i < k && st == CAVIAR_OK; i++)
      if (ranges[2 * i] < ranges[2 * i - 1])
        st = caviar_fail(err, CAVIAR_EINPUT, "%s: tensors overlap (bytes %.0f to %.0f are claimed twice)", f->path,
                         ranges[2 * i], fmin(ranges[2 * i - 1], ranges[2 * i + 1]));
  }
  free(ranges);
  return st;
}

caviar_status caviar_st_open(const char *path, caviar_st_file *f, caviar_error *err) {
  memset(f, 0, sizeof *f);
  f->path = path;
  caviar_in in;
  caviar_status st = caviar_in_open(&in, path, err);
  if (st != CAVIAR_OK) return st;
  unsigned char size_le[8];
  size_t got = 0;
  st = caviar_in_read(&in, size_le, 8, &got, err);
  uint64_t header_len = 0;
  for (int i = 7; got == 8 && i >= 0; i--) header_len = header_len << 8 | size_le[i];
  unsigned char *header = NULL;
  size_t len = 0;
  bool more = false;
  if (st == CAVIAR_OK && (got < 8 || header_len > ST_MAX_HEADER))
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: not a safetensors file (header length %llu, at most %llu)", path,
                     (unsigned long long)header_len, (unsigned long long)ST_MAX_HEADER);
  if (st == CAVIAR_OK && !(header = malloc((size_t)header_len + 1)))
    st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory for a %llu-byte header", path,
                     (unsigned long long)header_len);
  if (st == CAVIAR_OK) st = caviar_in_read(&in, header, (size_t)header_len, &len, err);
  if (st == CAVIAR_OK && len < header_len)
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: not a safetensors file (header length %llu, file %zu bytes)", path,
                     (unsigned long long)header_len, 8 + len);
  if (st == CAVIAR_OK &&
      (!(f->header = cJSON_ParseWithLength((const char *)header, header_len)) || !cJSON_IsObject(f->header)))
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: the safetensors header is not a JSON object", path);
  free(header);
  double data_len = 0;
  if (st == CAVIAR_OK) st = check_ranges(f, &data_len, err);
  /* The data the header promises, and nothing more: a bigger (or gzip-bombed) file stops here. */
  if (st == CAVIAR_OK) st = caviar_in_rest(&in, (size_t)data_len, &f->bytes, &f->data_len, &more, err);
  if (st == CAVIAR_OK && f->data_len < (size_t)data_len)
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: truncated: the header promises %.0f bytes of tensors, the file has %zu",
                     path, data_len, f->data_len);
  if (st == CAVIAR_OK && more)
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: unexpected bytes after the %.0f bytes of tensors", path, data_len);
  caviar_in_close(&in);
  if (st != CAVIAR_OK) {
    caviar_st_close(f);
    return st;
  }
  f->data = f->bytes;
  return CAVIAR_OK;
}

const char *caviar_st_meta_get(const caviar_st_file *f, const char *key) {
  const cJSON *meta = cJSON_GetObjectItemCaseSensitive(f->header, "__metadata__");
  const cJSON *v = meta ? cJSON_GetObjectItemCaseSensitive(meta, key) : NULL;
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool caviar_st_has(const caviar_st_file *f, const char *name) {
  return cJSON_GetObjectItemCaseSensitive(f->header, name) != NULL;
}

caviar_status caviar_st_find(const caviar_st_file *f, const char *name, caviar_st_tensor *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(f->header, name);
  if (!t) return caviar_fail(err, CAVIAR_EINPUT, "%s: no tensor %s", f->path, name);
  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
  const cJSON *range = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
  if (!cJSON_IsString(dtype) || (strcmp(dtype->valuestring, "F32") != 0 && strcmp(dtype->valuestring, "I64") != 0))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %s: expected dtype F32 (or I64 for a counter)", f->path, name);
  out->i64 = strcmp(dtype->valuestring, "I64") == 0;
  if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > CAVIAR_ST_MAX_DIMS || !cJSON_IsArray(range) ||
      cJSON_GetArraySize(range) != 2)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %s: expected a shape of 0 to %d dimensions and data_offsets", f->path,
                       name, CAVIAR_ST_MAX_DIMS);
  out->count = 1;
  out->n_dims = cJSON_GetArraySize(shape);
  for (int i = 0; i < out->n_dims; i++) {
    const cJSON *dim = cJSON_GetArrayItem(shape, i);
    double d = cJSON_IsNumber(dim) ? dim->valuedouble : NAN;
    if (!(d >= 1 && d <= 1 << 24 && d == floor(d)))
      return caviar_fail(err, CAVIAR_EINPUT, "%s: %s: bad dimension %g (expected a whole number from 1 to 2^24)",
                         f->path, name, d);
    out->dims[i] = (int)d;
    out->count *= (size_t)d;
  }
  double begin = cJSON_GetArrayItem(range, 0)->valuedouble, end = cJSON_GetArrayItem(range, 1)->valuedouble;
  size_t size = out->i64 ? sizeof(int64_t) : sizeof(float);
  if (!(begin >= 0 && end <= (double)f->data_len && end - begin == (double)(out->count * size)))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %s: data_offsets [%.0f, %.0f] do not fit %zu %s in %zu data bytes",
                       f->path, name, begin, end, out->count, out->i64 ? "int64s" : "floats", f->data_len);
  out->data = f->data + (size_t)begin;
  return CAVIAR_OK;
}

void caviar_st_floats(const caviar_st_tensor *t, float *out) {
  if (!t->i64) {
    memcpy(out, t->data, t->count * sizeof(float));
    return;
  }
  for (size_t k = 0; k < t->count; k++) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | t->data[8 * k + (size_t)i];
    out[k] = (float)(int64_t)v;
  }
}

void caviar_st_close(caviar_st_file *f) {
  cJSON_Delete(f->header);
  free(f->bytes);
  memset(f, 0, sizeof *f);
}
