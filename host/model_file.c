/* safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the raw little-endian data. */
#include "caviar/model_file.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/atomic_file.h"
#include "caviar/gzfile.h"
#include "caviar/trial_json.h"

static cJSON *tensor_entry(int rows, int cols, size_t *offset) {
  cJSON *t = cJSON_CreateObject();
  cJSON_AddStringToObject(t, "dtype", "F32");
  cJSON *shape = cJSON_AddArrayToObject(t, "shape");
  cJSON_AddItemToArray(shape, cJSON_CreateNumber(rows));
  if (cols > 0) cJSON_AddItemToArray(shape, cJSON_CreateNumber(cols));
  size_t bytes = (size_t)rows * (size_t)(cols > 0 ? cols : 1) * sizeof(float);
  cJSON *range = cJSON_AddArrayToObject(t, "data_offsets");
  cJSON_AddItemToArray(range, cJSON_CreateNumber((double)*offset));
  cJSON_AddItemToArray(range, cJSON_CreateNumber((double)(*offset + bytes)));
  *offset += bytes;
  return t;
}

static void add_metadata(cJSON *header, const caviar_model *model) {
  char text[2048];
  cJSON *meta = cJSON_AddObjectToObject(header, "__metadata__");
  cJSON_AddStringToObject(meta, "format", "pt");
  cJSON_AddStringToObject(meta, "producer", "caviar " CAVIAR_VERSION);
  snprintf(text, sizeof text, "%u", (unsigned)model->trial);
  cJSON_AddStringToObject(meta, "trial", text);
  caviar_hparams_json(&model->hp, text, sizeof text);
  cJSON_AddStringToObject(meta, "params", text);
  cJSON_AddStringToObject(meta, "activation", caviar_activation_name(model->hp.activation));
  cJSON_AddStringToObject(meta, "input_scaling", caviar_scaling_name(model->scaling.kind));
  cJSON_AddStringToObject(meta, "input_transform", "x' = (x - input.shift) * input.scale");
  snprintf(text, sizeof text, "%d", model->shape.inputs);
  cJSON_AddStringToObject(meta, "inputs", text);
  snprintf(text, sizeof text, "%d", model->shape.classes);
  cJSON_AddStringToObject(meta, "classes", text);
}

caviar_status caviar_model_save(const char *path, const caviar_model *model, caviar_error *err) {
  caviar_layout layout;
  caviar_layout_make(&model->shape, 1, &layout);
  cJSON *header = cJSON_CreateObject();
  add_metadata(header, model);
  size_t offset = 0;
  char name[64];
  for (int t = 0; t < layout.n_tensors; t++) {
    /* Our in x out column-major weight block is PyTorch's out x in row-major tensor. */
    bool weight = t % 2 == 0;
    snprintf(name, sizeof name, "layers.%d.%s", t / 2, weight ? "weight" : "bias");
    cJSON_AddItemToObject(header, name,
                          weight ? tensor_entry(layout.cols[t], layout.rows[t], &offset) : tensor_entry(layout.rows[t], 0, &offset));
  }
  cJSON_AddItemToObject(header, "input.shift", tensor_entry(model->shape.inputs, 0, &offset));
  cJSON_AddItemToObject(header, "input.scale", tensor_entry(model->shape.inputs, 0, &offset));
  char *json = cJSON_PrintUnformatted(header);
  cJSON_Delete(header);
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
    fwrite(model->params, sizeof(float), layout.per_member, af.f);
    fwrite(model->scaling.shift, sizeof(float), (size_t)model->shape.inputs, af.f);
    fwrite(model->scaling.scale, sizeof(float), (size_t)model->shape.inputs, af.f);
    st = caviar_atomic_commit(&af, err);
  }
  free(json);
  return st;
}

/* A tensor of the header, checked: F32, the expected shape, a byte range inside the data. */
typedef struct tensor_ref {
  const unsigned char *data; /* not necessarily float-aligned: read with memcpy */
  int dims[2];
  int n_dims;
} tensor_ref;

static caviar_status find_tensor(const char *path, const cJSON *header, const char *name, const unsigned char *data,
                                 size_t data_len, bool required, tensor_ref *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(header, name);
  if (!t) return required ? caviar_fail(err, CAVIAR_EINPUT, "%s: no tensor %s", path, name) : CAVIAR_OK;
  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
  const cJSON *range = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
  if (!cJSON_IsString(dtype) || strcmp(dtype->valuestring, "F32") != 0)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %s: expected dtype F32", path, name);
  if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) < 1 || cJSON_GetArraySize(shape) > 2 ||
      !cJSON_IsArray(range) || cJSON_GetArraySize(range) != 2)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %s: expected a shape of 1 or 2 dimensions and data_offsets", path, name);
  size_t count = 1;
  out->n_dims = cJSON_GetArraySize(shape);
  for (int i = 0; i < out->n_dims; i++) {
    double d = cJSON_GetArrayItem(shape, i)->valuedouble;
    if (!(d >= 1 && d <= 1 << 24)) return caviar_fail(err, CAVIAR_EINPUT, "%s: %s: bad dimension %g", path, name, d);
    out->dims[i] = (int)d;
    count *= (size_t)d;
  }
  double begin = cJSON_GetArrayItem(range, 0)->valuedouble, end = cJSON_GetArrayItem(range, 1)->valuedouble;
  if (!(begin >= 0 && end <= (double)data_len && end - begin == (double)(count * sizeof(float))))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %s: data_offsets [%.0f, %.0f] do not fit %zu floats in %zu data bytes",
                       path, name, begin, end, count, data_len);
  out->data = data + (size_t)begin;
  return CAVIAR_OK;
}

static caviar_status read_metadata(const char *path, const cJSON *header, caviar_model *out, caviar_error *err) {
  caviar_hparams_default(&out->hp);
  const cJSON *meta = cJSON_GetObjectItemCaseSensitive(header, "__metadata__");
  const cJSON *activation = meta ? cJSON_GetObjectItemCaseSensitive(meta, "activation") : NULL;
  const caviar_hp_info *act = caviar_hp_find("activation");
  int index = cJSON_IsString(activation) ? caviar_hp_choice_index(act, activation->valuestring) : -1;
  if (index < 0) return caviar_fail(err, CAVIAR_EINPUT, "%s: __metadata__.activation: expected relu or tanh", path);
  out->hp.activation = index;
  const cJSON *params = meta ? cJSON_GetObjectItemCaseSensitive(meta, "params") : NULL;
  cJSON *parsed = cJSON_IsString(params) ? cJSON_Parse(params->valuestring) : NULL;
  for (int i = 0; parsed && i < caviar_hp_count; i++) {
    const caviar_hp_info *info = &caviar_hp_table[i];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(parsed, info->name);
    if (cJSON_IsNumber(v) && info->type != CAVIAR_HP_CHOICE) caviar_hp_set(&out->hp, info, v->valuedouble);
    if (cJSON_IsString(v) && info->type == CAVIAR_HP_CHOICE && caviar_hp_choice_index(info, v->valuestring) >= 0)
      caviar_hp_set(&out->hp, info, caviar_hp_choice_index(info, v->valuestring));
  }
  cJSON_Delete(parsed);
  const cJSON *trial = meta ? cJSON_GetObjectItemCaseSensitive(meta, "trial") : NULL;
  out->trial = cJSON_IsString(trial) ? (uint32_t)strtoul(trial->valuestring, NULL, 10) : 0;
  return CAVIAR_OK;
}

/* The layers' tensors: shapes must chain inputs -> hidden ... -> classes. */
static caviar_status read_layers(const char *path, const cJSON *header, const unsigned char *data, size_t data_len,
                                 caviar_model *out, caviar_error *err) {
  tensor_ref w[CAVIAR_MAX_LAYERS + 1], b[CAVIAR_MAX_LAYERS + 1];
  char name[64];
  int n = 0;
  while (n <= CAVIAR_MAX_LAYERS) {
    snprintf(name, sizeof name, "layers.%d.weight", n);
    if (!cJSON_GetObjectItemCaseSensitive(header, name)) break;
    caviar_status st = find_tensor(path, header, name, data, data_len, true, &w[n], err);
    snprintf(name, sizeof name, "layers.%d.bias", n);
    if (st == CAVIAR_OK) st = find_tensor(path, header, name, data, data_len, true, &b[n], err);
    if (st != CAVIAR_OK) return st;
    if (w[n].n_dims != 2 || b[n].n_dims != 1 || b[n].dims[0] != w[n].dims[0] ||
        (n > 0 && w[n].dims[1] != w[n - 1].dims[0]))
      return caviar_fail(err, CAVIAR_EINPUT, "%s: layers.%d: weight and bias shapes do not chain with layer %d", path,
                         n, n - 1);
    n++;
  }
  if (n < 2) return caviar_fail(err, CAVIAR_EINPUT, "%s: expected layers.0 .. layers.N (N from 1 to %d)", path, CAVIAR_MAX_LAYERS);
  snprintf(name, sizeof name, "layers.%d.weight", n);
  if (cJSON_GetObjectItemCaseSensitive(header, name))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: more than %d hidden layers", path, CAVIAR_MAX_LAYERS);
  for (int l = 1; l < n - 1; l++)
    if (w[l].dims[0] != w[0].dims[0])
      return caviar_fail(err, CAVIAR_EINPUT, "%s: hidden layers of different widths are not supported", path);
  out->shape = (caviar_shape){w[0].dims[1], w[n - 1].dims[0], n - 1, w[0].dims[0], 1};
  caviar_layout layout;
  caviar_layout_make(&out->shape, 1, &layout);
  out->params = caviar_alloc(layout.per_member, sizeof(float), "model parameters", err);
  if (!out->params) return CAVIAR_ERUNTIME;
  float *dst = out->params;
  for (int l = 0; l < n; l++) {
    memcpy(dst, w[l].data, layout.size[2 * l] * sizeof(float));
    dst += layout.size[2 * l];
    memcpy(dst, b[l].data, layout.size[2 * l + 1] * sizeof(float));
    dst += layout.size[2 * l + 1];
  }
  return CAVIAR_OK;
}

static caviar_status read_scaling(const char *path, const cJSON *header, const unsigned char *data, size_t data_len,
                                  caviar_model *out, caviar_error *err) {
  tensor_ref shift, scale;
  caviar_status st = find_tensor(path, header, "input.shift", data, data_len, false, &shift, err);
  if (st == CAVIAR_OK) st = find_tensor(path, header, "input.scale", data, data_len, false, &scale, err);
  if (st != CAVIAR_OK) return st;
  size_t d = (size_t)out->shape.inputs;
  if ((shift.data && shift.dims[0] != (int)d) || (scale.data && scale.dims[0] != (int)d))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: input.shift and input.scale must have %zu entries", path, d);
  out->scaling.d = d;
  out->scaling.kind = shift.data ? CAVIAR_SCALING_UNIT : CAVIAR_SCALING_NONE;
  out->scaling.shift = caviar_alloc(d, sizeof(float), "the input scaling", err);
  out->scaling.scale = caviar_alloc(d, sizeof(float), "the input scaling", err);
  if (!out->scaling.shift || !out->scaling.scale) return CAVIAR_ERUNTIME;
  for (size_t j = 0; j < d; j++) {
    out->scaling.shift[j] = 0.0f;
    out->scaling.scale[j] = 1.0f;
  }
  if (shift.data) memcpy(out->scaling.shift, shift.data, d * sizeof(float));
  if (scale.data) memcpy(out->scaling.scale, scale.data, d * sizeof(float));
  const cJSON *meta = cJSON_GetObjectItemCaseSensitive(header, "__metadata__");
  const cJSON *kind = meta ? cJSON_GetObjectItemCaseSensitive(meta, "input_scaling") : NULL;
  if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "standardize")) out->scaling.kind = CAVIAR_SCALING_STANDARDIZE;
  return CAVIAR_OK;
}

caviar_status caviar_model_load(const char *path, caviar_model *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  unsigned char *bytes;
  size_t len;
  caviar_status st = caviar_read_all(path, &bytes, &len, err);
  if (st != CAVIAR_OK) return st;
  uint64_t header_len = 0;
  for (int i = 7; len >= 8 && i >= 0; i--) header_len = header_len << 8 | bytes[i];
  cJSON *header = NULL;
  if (len < 8 || header_len > len - 8)
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: not a safetensors file (header length %llu, file %zu bytes)", path,
                     (unsigned long long)header_len, len);
  else if (!(header = cJSON_ParseWithLength((const char *)bytes + 8, header_len)) || !cJSON_IsObject(header))
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: the safetensors header is not a JSON object", path);
  const unsigned char *data = bytes + 8 + header_len;
  size_t data_len = st == CAVIAR_OK ? len - 8 - header_len : 0;
  if (st == CAVIAR_OK) st = read_metadata(path, header, out, err);
  if (st == CAVIAR_OK) st = read_layers(path, header, data, data_len, out, err);
  if (st == CAVIAR_OK) st = read_scaling(path, header, data, data_len, out, err);
  cJSON_Delete(header);
  free(bytes);
  if (st != CAVIAR_OK) caviar_model_free(out);
  return st;
}

void caviar_model_free(caviar_model *model) {
  free(model->params);
  caviar_scaling_free(&model->scaling);
  memset(model, 0, sizeof *model);
}
