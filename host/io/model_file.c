/* Saved models: safetensors files PyTorch, JAX and numpy users can load directly. */
#include "caviar/model_file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/spec.h"
#include "caviar/trial_json.h"

void caviar_model_set_origin(caviar_model *model, uint64_t seed, const caviar_data_spec *spec, const caviar_data *data) {
  model->seed = seed;
  model->has_data = spec != NULL;
  if (spec) model->data = *spec;
  if (data) {
    model->target = data->target;
    model->labels = data->train.names;
    model->n_labels = data->train.n_names;
  }
}

void caviar_model_describe(caviar_st_writer *w, const caviar_model *model) {
  char text[2048];
  caviar_st_meta(w, "format", "pt");
  caviar_st_meta(w, "producer", "caviar " CAVIAR_VERSION);
  snprintf(text, sizeof text, "%u", (unsigned)model->trial);
  caviar_st_meta(w, "trial", text);
  caviar_hparams_json(&model->hp, text, sizeof text);
  caviar_st_meta(w, "params", text);
  caviar_st_meta(w, "activation", caviar_activation_name(model->hp.activation));
  caviar_st_meta(w, "input_scaling", caviar_scaling_name(model->scaling.kind));
  caviar_st_meta(w, "input_transform", "x' = (x - input.shift) * input.scale");
  snprintf(text, sizeof text, "%d", model->shape.inputs);
  caviar_st_meta(w, "inputs", text);
  bool regression = model->shape.classes == 1;
  if (!regression) {
    snprintf(text, sizeof text, "%d", model->shape.classes);
    caviar_st_meta(w, "classes", text);
  }
  caviar_st_meta(w, "task", regression ? "regression" : "classification");
  snprintf(text, sizeof text, "%d", model->shape.layers);
  caviar_st_meta(w, "layers", text);
  snprintf(text, sizeof text, "%d", model->shape.hidden);
  caviar_st_meta(w, "hidden", text);
  if (regression) {
    caviar_st_meta(w, "outputs", "one linear output in standardised units: y = output * target_std + target_mean");
    caviar_format_number(text, sizeof text, model->target.mean);
    caviar_st_meta(w, "target_mean", text);
    caviar_format_number(text, sizeof text, model->target.std);
    caviar_st_meta(w, "target_std", text);
  } else {
    caviar_st_meta(w, "outputs", "logits (softmax gives class probabilities; argmax is the class)");
  }
  if (model->labels) {
    cJSON *names = cJSON_CreateStringArray((const char *const *)model->labels, model->n_labels);
    char *json = cJSON_PrintUnformatted(names);
    if (json) caviar_st_meta(w, "labels", json);
    free(json);
    cJSON_Delete(names);
  }
  if (model->has_data) {
    snprintf(text, sizeof text, "%llu", (unsigned long long)model->seed);
    caviar_st_meta(w, "seed", text);
    char *json = caviar_data_spec_json(&model->data);
    if (json) caviar_st_meta(w, "data", json);
    free(json);
  }
  if (model->shape.type != CAVIAR_MODEL_MLP || model->shape.batchnorm) {
    /* What a PyTorch module for the model is built from (README's snippet). */
    snprintf(text, sizeof text, "[%d, %d, %d]", model->shape.image.c, model->shape.image.h, model->shape.image.w);
    if (model->shape.type == CAVIAR_MODEL_CNN) caviar_st_meta(w, "image", text);
    caviar_arch arch;
    caviar_arch_of(&model->shape, &arch);
    char *json = caviar_arch_json(&arch);
    if (json) caviar_st_meta(w, "architecture", json);
    free(json);
  }
  caviar_model_add_tensors(w, &model->shape, "", model->params);
  caviar_st_add(w, "input.shift", model->shape.inputs, 0, model->scaling.shift);
  caviar_st_add(w, "input.scale", model->shape.inputs, 0, model->scaling.scale);
}

/* Every tensor under its saved name (model.h: PyTorch's names and dimensions) after a prefix. */
void caviar_model_add_tensors(caviar_st_writer *w, const caviar_shape *shape, const char *prefix, const float *packed) {
  caviar_arch arch;
  caviar_layout layout;
  caviar_arch_of(shape, &arch);
  caviar_layout_of(&arch, 1, &layout);
  char name[96];
  for (int t = 0; t < layout.n_tensors; t++) {
    caviar_tensor_info info;
    caviar_tensor_info_of(&arch, t, &info);
    snprintf(name, sizeof name, "%s%s", prefix, info.name);
    caviar_st_add_dims(w, name, info.n_dims, info.dims, info.role == CAVIAR_ROLE_COUNT, packed);
    packed += layout.size[t];
  }
}

caviar_status caviar_model_save(const char *path, const caviar_model *model, caviar_error *err) {
  caviar_st_writer w;
  caviar_st_writer_init(&w);
  caviar_model_describe(&w, model);
  return caviar_st_write(&w, path, err);
}

/* A whole decimal number in [0, max] from metadata key; false if absent or malformed. */
static bool meta_u64(const char *text, unsigned long long max, unsigned long long *out) {
  if (!text || text[0] < '0' || text[0] > '9') return false;
  char *end;
  errno = 0;
  *out = strtoull(text, &end, 10);
  return !*end && !errno && *out <= max;
}

/* Seed, data, labels and target scaling: absent in files written before caviar saved them. */
static caviar_status read_origin(const caviar_st_file *f, caviar_model *out, caviar_error *err) {
  const char *seed = caviar_st_meta_get(f, "seed"), *data = caviar_st_meta_get(f, "data");
  if (seed || data) {
    unsigned long long v;
    if (!meta_u64(seed, 9007199254740992ull, &v))
      return caviar_fail(err, CAVIAR_EINPUT, "%s: __metadata__.seed: expected a seed from 0 to 2^53 beside data", f->path);
    if (!data) return caviar_fail(err, CAVIAR_EINPUT, "%s: __metadata__.data: missing beside seed", f->path);
    caviar_status st = caviar_data_spec_parse(data, f->path, "__metadata__.data", &out->data, err);
    if (st != CAVIAR_OK) return st;
    out->seed = v;
    out->has_data = true;
  }
  const char *labels = caviar_st_meta_get(f, "labels");
  if (labels) {
    cJSON *names = cJSON_Parse(labels);
    int n = cJSON_IsArray(names) ? cJSON_GetArraySize(names) : 0;
    bool ok = n >= 2;
    out->labels = ok ? calloc((size_t)n, sizeof *out->labels) : NULL;
    for (int k = 0; ok && out->labels && k < n; k++) {
      const cJSON *name = cJSON_GetArrayItem(names, k);
      ok = cJSON_IsString(name) && (k == 0 || strcmp(out->labels[k - 1], name->valuestring) < 0);
      if (ok && !(out->labels[k] = strdup(name->valuestring))) ok = false;
      out->n_labels = k + 1;
    }
    cJSON_Delete(names);
    if (!ok || !out->labels)
      return caviar_fail(err, CAVIAR_EINPUT, "%s: __metadata__.labels: expected a sorted array of 2 or more distinct names",
                         f->path);
  }
  const char *mean = caviar_st_meta_get(f, "target_mean"), *std = caviar_st_meta_get(f, "target_std");
  if (mean || std) {
    char *end1 = NULL, *end2 = NULL;
    out->target.mean = mean ? strtod(mean, &end1) : NAN;
    out->target.std = std ? strtod(std, &end2) : NAN;
    if (!mean || !std || *end1 || *end2 || !isfinite(out->target.mean) || !(out->target.std > 0) ||
        !isfinite(out->target.std))
      return caviar_fail(err, CAVIAR_EINPUT, "%s: __metadata__.target_mean/target_std: expected a finite mean and std > 0",
                         f->path);
  }
  return CAVIAR_OK;
}

static caviar_status read_metadata(const caviar_st_file *f, caviar_model *out, caviar_error *err) {
  caviar_hparams_default(&out->hp);
  const char *activation = caviar_st_meta_get(f, "activation");
  const caviar_hp_info *act = caviar_hp_find("activation");
  int index = activation ? caviar_hp_choice_index(act, activation) : -1;
  if (index < 0) return caviar_fail(err, CAVIAR_EINPUT, "%s: __metadata__.activation: expected relu or tanh", f->path);
  out->hp.activation = index;
  const char *params = caviar_st_meta_get(f, "params");
  cJSON *parsed = params ? cJSON_Parse(params) : NULL;
  for (int i = 0; parsed && i < caviar_hp_count; i++) {
    const caviar_hp_info *info = &caviar_hp_table[i];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(parsed, info->name);
    if (cJSON_IsNumber(v) && info->type != CAVIAR_HP_CHOICE && caviar_hp_in_range(info, v->valuedouble))
      caviar_hp_set(&out->hp, info, v->valuedouble);
    if (cJSON_IsString(v) && info->type == CAVIAR_HP_CHOICE && caviar_hp_choice_index(info, v->valuestring) >= 0)
      caviar_hp_set(&out->hp, info, caviar_hp_choice_index(info, v->valuestring));
  }
  cJSON_Delete(parsed);
  caviar_hparams_settle(&out->hp, 0);
  caviar_status st = read_origin(f, out, err);
  if (st != CAVIAR_OK) return st;
  const char *trial = caviar_st_meta_get(f, "trial");
  out->trial = 0;
  if (trial) {
    char *end;
    errno = 0;
    unsigned long long id = strtoull(trial, &end, 10);
    if (end == trial || *end || errno || trial[0] == '-' || id > UINT32_MAX)
      return caviar_fail(err, CAVIAR_EINPUT, "%s: __metadata__.trial: expected a trial id from 0 to 4294967295, got '%.40s'",
                         f->path, trial);
    out->trial = (uint32_t)id;
  }
  return CAVIAR_OK;
}

/* Every loaded value must be finite (a NaN weight hides behind ReLU and trains on silently), and
 * at least min: the optimizers' second moments are running averages of squares. */
static caviar_status check_values(const caviar_st_file *f, const char *name, const float *v, size_t n, float min,
                                  caviar_error *err) {
  for (size_t k = 0; k < n; k++) {
    if (!isfinite(v[k]))
      return caviar_fail(err, CAVIAR_EINPUT, "%s: %s[%zu] is %g: expected finite numbers", f->path, name, k,
                         (double)v[k]);
    if (v[k] < min)
      return caviar_fail(err, CAVIAR_EINPUT, "%s: %s[%zu] is %g: expected numbers >= %g", f->path, name, k,
                         (double)v[k], (double)min);
  }
  return CAVIAR_OK;
}

caviar_status caviar_model_read_tensors(const caviar_st_file *f, const char *prefix, const caviar_shape *shape,
                                        float min, float *packed, caviar_error *err) {
  caviar_arch arch;
  caviar_layout layout;
  caviar_arch_of(shape, &arch);
  caviar_layout_of(&arch, 1, &layout);
  char name[96];
  for (int t = 0; t < layout.n_tensors; t++) {
    caviar_tensor_info info;
    caviar_tensor_info_of(&arch, t, &info);
    snprintf(name, sizeof name, "%s%s", prefix, info.name);
    caviar_st_tensor tensor;
    caviar_status st = caviar_st_find(f, name, &tensor, err);
    if (st != CAVIAR_OK) return st;
    bool fits = tensor.n_dims == info.n_dims && tensor.i64 == (info.role == CAVIAR_ROLE_COUNT);
    for (int d = 0; fits && d < info.n_dims; d++) fits = tensor.dims[d] == info.dims[d];
    if (!fits)
      return caviar_fail(err, CAVIAR_EINPUT, "%s: %s: shape or dtype does not match %s of the model", f->path, name,
                         arch.layer[info.layer].name);
    caviar_st_floats(&tensor, packed);
    st = check_values(f, name, packed, layout.size[t], min, err);
    if (st != CAVIAR_OK) return st;
    packed += layout.size[t];
  }
  return CAVIAR_OK;
}

/* The shape of an MLP without batch normalisation from the layers' tensors: they must chain inputs
 * -> hidden ... -> classes (files from before the shape was in the metadata read this way too). */
static caviar_status read_mlp_shape(const caviar_st_file *f, caviar_shape *shape, caviar_error *err) {
  caviar_st_tensor w[CAVIAR_MAX_LAYERS + 1];
  char name[64];
  int n = 0;
  while (n <= CAVIAR_MAX_LAYERS) {
    snprintf(name, sizeof name, "layers.%d.weight", n);
    if (!caviar_st_has(f, name)) break;
    caviar_status st = caviar_st_find(f, name, &w[n], err);
    if (st != CAVIAR_OK) return st;
    if (w[n].n_dims != 2 || (n > 0 && w[n].dims[1] != w[n - 1].dims[0]))
      return caviar_fail(err, CAVIAR_EINPUT, "%s: layers.%d.weight does not chain with layer %d", f->path, n, n - 1);
    n++;
  }
  if (n < 2) return caviar_fail(err, CAVIAR_EINPUT, "%s: expected layers.0 .. layers.N (N from 1 to %d)", f->path, CAVIAR_MAX_LAYERS);
  snprintf(name, sizeof name, "layers.%d.weight", n);
  if (caviar_st_has(f, name)) return caviar_fail(err, CAVIAR_EINPUT, "%s: more than %d hidden layers", f->path, CAVIAR_MAX_LAYERS);
  for (int l = 1; l < n - 1; l++)
    if (w[l].dims[0] != w[0].dims[0])
      return caviar_fail(err, CAVIAR_EINPUT, "%s: hidden layers of different widths are not supported", f->path);
  caviar_hparams hp;
  caviar_hparams_default(&hp);
  hp.layers = n - 1;
  hp.hidden = w[0].dims[0];
  hp.batch_size = 1;
  *shape = caviar_shape_of(&hp, (caviar_dims){w[0].dims[1], 1, 1}, w[n - 1].dims[0]);
  return CAVIAR_OK;
}

/* Any other model's shape from its metadata: the structural hyperparameters in params, the input
 * as `image` ([C, H, W]), the outputs from the last layer's bias; the tensors are checked against
 * it when they are read. */
static caviar_status read_shape(const caviar_st_file *f, const caviar_hparams *hp, caviar_shape *shape,
                                caviar_error *err) {
  if (hp->model == CAVIAR_MODEL_MLP && !hp->batchnorm) return read_mlp_shape(f, shape, err);
  /* A CNN's input is an image; an MLP's its features (`inputs`). */
  char features[64];
  snprintf(features, sizeof features, "[%s, 1, 1]", caviar_st_meta_get(f, "inputs") ? caviar_st_meta_get(f, "inputs") : "0");
  const char *text = hp->model == CAVIAR_MODEL_CNN ? caviar_st_meta_get(f, "image") : features;
  cJSON *image = text ? cJSON_Parse(text) : NULL;
  int dims[3] = {0, 0, 0};
  for (int k = 0; k < 3 && cJSON_GetArraySize(image) == 3; k++) {
    const cJSON *v = cJSON_GetArrayItem(image, k);
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 65536 && v->valuedouble == floor(v->valuedouble))
      dims[k] = (int)v->valuedouble;
  }
  cJSON_Delete(image);
  if (!dims[0] || !dims[1] || !dims[2])
    return caviar_fail(err, CAVIAR_EINPUT, "%s: __metadata__.%s: expected %s of whole numbers from 1 to 65536", f->path,
                       hp->model == CAVIAR_MODEL_CNN ? "image" : "inputs",
                       hp->model == CAVIAR_MODEL_CNN ? "[C, H, W]" : "a count");
  char name[64];
  snprintf(name, sizeof name, "layers.%d.bias", hp->layers);
  caviar_st_tensor bias;
  caviar_status st = caviar_st_find(f, name, &bias, err);
  if (st != CAVIAR_OK) return st;
  if (bias.n_dims != 1) return caviar_fail(err, CAVIAR_EINPUT, "%s: %s: expected a vector of outputs", f->path, name);
  caviar_hparams h = *hp;
  h.batch_size = 1;
  *shape = caviar_shape_of(&h, (caviar_dims){dims[0], dims[1], dims[2]}, bias.dims[0]);
  char why[512];
  if (!caviar_shape_valid(shape, why, sizeof why)) return caviar_fail(err, CAVIAR_EINPUT, "%s: %s", f->path, why);
  return CAVIAR_OK;
}

static caviar_status read_scaling(const caviar_st_file *f, caviar_model *out, caviar_error *err) {
  size_t d = (size_t)out->shape.inputs;
  out->scaling.d = d;
  out->scaling.shift = caviar_alloc(d, sizeof(float), "the input scaling", err);
  out->scaling.scale = caviar_alloc(d, sizeof(float), "the input scaling", err);
  if (!out->scaling.shift || !out->scaling.scale) return CAVIAR_ERUNTIME;
  for (size_t j = 0; j < d; j++) out->scaling.scale[j] = 1.0f;
  out->scaling.kind = CAVIAR_SCALING_NONE;
  const char *names[2] = {"input.shift", "input.scale"};
  float *dst[2] = {out->scaling.shift, out->scaling.scale};
  for (int i = 0; i < 2; i++) {
    if (!caviar_st_has(f, names[i])) continue;
    caviar_st_tensor t;
    caviar_status st = caviar_st_find(f, names[i], &t, err);
    if (st != CAVIAR_OK) return st;
    if (t.n_dims != 1 || t.count != d || t.i64)
      return caviar_fail(err, CAVIAR_EINPUT, "%s: %s must have %zu float entries", f->path, names[i], d);
    memcpy(dst[i], t.data, d * sizeof(float));
    st = check_values(f, names[i], dst[i], d, -INFINITY, err);
    if (st != CAVIAR_OK) return st;
  }
  const char *kind = caviar_st_meta_get(f, "input_scaling");
  for (int k = CAVIAR_SCALING_UNIT; kind && k <= CAVIAR_SCALING_NONE; k++)
    if (strcmp(kind, caviar_scaling_name((caviar_scaling_kind)k)) == 0) out->scaling.kind = (caviar_scaling_kind)k;
  return CAVIAR_OK;
}

caviar_status caviar_model_read(const caviar_st_file *f, caviar_model *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  caviar_status st = read_metadata(f, out, err);
  if (st == CAVIAR_OK) st = read_shape(f, &out->hp, &out->shape, err);
  if (st == CAVIAR_OK) {
    caviar_layout layout;
    caviar_layout_make(&out->shape, 1, &layout);
    out->hp.layers = out->shape.layers;
    out->hp.hidden = out->shape.hidden;
    out->params = caviar_alloc(layout.per_member, sizeof(float), "model parameters", err);
    st = out->params ? caviar_model_read_tensors(f, "", &out->shape, -INFINITY, out->params, err) : CAVIAR_ERUNTIME;
  }
  if (st == CAVIAR_OK) st = read_scaling(f, out, err);
  if (st == CAVIAR_OK && out->shape.classes == 1 && !(out->target.std > 0))
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: a one-output (regression) model without __metadata__.target_mean and target_std",
                     f->path);
  if (st == CAVIAR_OK && out->labels && out->n_labels > out->shape.classes)
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: __metadata__.labels names %d classes, but the model has %d outputs", f->path,
                     out->n_labels, out->shape.classes);
  if (st != CAVIAR_OK) caviar_model_free(out);
  return st;
}

caviar_status caviar_model_load(const char *path, caviar_model *out, caviar_error *err) {
  caviar_st_file f;
  caviar_status st = caviar_st_open(path, &f, err);
  if (st != CAVIAR_OK) return st;
  st = caviar_model_read(&f, out, err);
  caviar_st_close(&f);
  return st;
}

void caviar_model_free(caviar_model *model) {
  free(model->params);
  for (int k = 0; k < model->n_labels; k++) free(model->labels[k]);
  free(model->labels);
  if (model->has_data) caviar_data_spec_free(&model->data);
  caviar_scaling_free(&model->scaling);
  memset(model, 0, sizeof *model);
}
