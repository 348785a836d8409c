/* Panda-mode files: checkpoints (a model plus optimizer state and the run's position and history)
 * and the configs a run starts from. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/gzfile.h"
#include "caviar/model.h"
#include "caviar/model_file.h"
#include "caviar/panda.h"
#include "caviar/sampler.h"
#include "spec/spec_internal.h"

void caviar_panda_model(const caviar_panda *p, caviar_model *out) {
  memset(out, 0, sizeof *out);
  out->shape = p->shape;
  out->hp = p->hp;
  out->trial = p->trial;
  out->params = p->params;
  out->scaling = p->scaling;
  out->seed = p->seed;
  out->has_data = true;
  out->data = p->data;
  out->target = p->target;
  out->labels = p->labels;
  out->n_labels = p->n_labels;
}

caviar_status caviar_panda_save(const caviar_panda *p, const char *path, caviar_error *err) {
  if (!p->params) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: nothing trained to save yet", path);
  caviar_model model;
  caviar_panda_model(p, &model);
  cJSON *run = cJSON_CreateObject();
  cJSON_AddNumberToObject(run, "epochs_done", p->epochs_done);
  cJSON_AddNumberToObject(run, "steps", p->steps);
  cJSON_AddNumberToObject(run, "seed", (double)p->seed);
  cJSON_AddNumberToObject(run, "batch_size", p->shape.batch);
  char *data_text = caviar_data_spec_json(&p->data);
  cJSON_AddItemToObject(run, "data", data_text ? cJSON_Parse(data_text) : NULL);
  free(data_text);
  cJSON_AddItemToObject(run, "history", cJSON_Duplicate(p->history, true));
  cJSON_AddItemToObject(run, "curve", cJSON_Duplicate(p->curve, true));
  char *text = cJSON_PrintUnformatted(run);
  cJSON_Delete(run);
  if (!text) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory describing the run", path);
  caviar_st_writer w;
  caviar_st_writer_init(&w);
  caviar_model_describe(&w, &model);
  caviar_st_meta(&w, "checkpoint", text);
  caviar_model_add_tensors(&w, &p->shape, "optimizer.first.", p->first);
  caviar_model_add_tensors(&w, &p->shape, "optimizer.second.", p->second);
  caviar_status st = caviar_st_write(&w, path, err);
  free(text);
  return st;
}

static caviar_status bad_checkpoint(const char *path, const char *what, caviar_error *err) {
  return caviar_fail(err, CAVIAR_EINPUT, "%s: not a caviar checkpoint (%s)", path, what);
}

/* The run's position and history out of the "checkpoint" metadata, every field checked: whole
 * numbers in range (a resumed run adds up to 100,000 epochs to epochs_done and counts steps in an
 * int), so nothing converts or overflows out of range later. */
static caviar_status read_run(const caviar_st_file *f, caviar_panda *p, caviar_error *err) {
  const char *text = caviar_st_meta_get(f, "checkpoint");
  if (!text) return bad_checkpoint(f->path, "no __metadata__.checkpoint; a model file starts a run with --from", err);
  cJSON *run = cJSON_Parse(text);
  const cJSON *epochs = cJSON_GetObjectItem(run, "epochs_done"), *steps = cJSON_GetObjectItem(run, "steps"),
              *seed = cJSON_GetObjectItem(run, "seed"), *batch = cJSON_GetObjectItem(run, "batch_size"),
              *data = cJSON_GetObjectItem(run, "data"), *history = cJSON_GetObjectItem(run, "history"),
              *curve = cJSON_GetObjectItem(run, "curve");
  caviar_status st = CAVIAR_OK;
  if (!epochs || !steps || !seed || !batch || !cJSON_IsObject(data) || !cJSON_IsArray(history) || !cJSON_IsArray(curve))
    st = bad_checkpoint(f->path, "its run description is incomplete", err);
  caviar_json_ctx ctx = {f->path, err};
  long long epochs_done = 0, step_count = 0, seed_value = 0, batch_size = 0;
  const caviar_hp_info *batch_info = caviar_hp_find("batch_size");
  if (st == CAVIAR_OK)
    st = caviar_json_int(&ctx, epochs, "__metadata__.checkpoint.epochs_done", 0, CAVIAR_MAX_EPOCHS_DONE, &epochs_done);
  if (st == CAVIAR_OK) st = caviar_json_int(&ctx, steps, "__metadata__.checkpoint.steps", 0, INT_MAX, &step_count);
  if (st == CAVIAR_OK)
    st = caviar_json_int(&ctx, seed, "__metadata__.checkpoint.seed", 0, CAVIAR_MAX_SEED, &seed_value);
  if (st == CAVIAR_OK)
    st = caviar_json_int(&ctx, batch, "__metadata__.checkpoint.batch_size", batch_info->lo, batch_info->hi,
                         &batch_size);
  if (st == CAVIAR_OK) st = caviar_parse_data(&ctx, data, NULL, &p->data);
  if (st == CAVIAR_OK) {
    p->epochs_done = (int)epochs_done;
    p->steps = (int)step_count;
    p->seed = (uint64_t)seed_value;
    p->shape.batch = (int)batch_size;
    p->hp.batch_size = (int)batch_size;
    p->history = cJSON_Duplicate(history, true);
    p->curve = cJSON_Duplicate(curve, true);
  }
  cJSON_Delete(run);
  return st;
}

void caviar_panda_take_model(caviar_panda *p, caviar_model *model) {
  p->shape = model->shape;
  p->params = model->params;
  p->scaling = model->scaling;
  p->target = model->target;
  p->labels = model->labels;
  p->n_labels = model->n_labels;
  model->params = NULL;
  model->scaling = (caviar_scaling){0};
  model->labels = NULL;
  model->n_labels = 0;
}

caviar_status caviar_panda_load(const char *path, caviar_panda *p, caviar_error *err) {
  memset(p, 0, sizeof *p);
  caviar_st_file f;
  caviar_status st = caviar_st_open(path, &f, err);
  if (st != CAVIAR_OK) return st;
  caviar_model model;
  st = caviar_model_read(&f, &model, err);
  if (st == CAVIAR_OK) {
    p->hp = model.hp;
    p->trial = model.trial;
    caviar_panda_take_model(p, &model);
    caviar_model_free(&model);
    st = read_run(&f, p, err);
  }
  size_t n = 0;
  if (st == CAVIAR_OK) {
    caviar_layout layout;
    caviar_layout_make(&p->shape, 1, &layout);
    n = layout.per_member;
    p->first = caviar_alloc(n, sizeof(float), "optimizer state", err);
    p->second = caviar_alloc(n, sizeof(float), "optimizer state", err);
    if (!p->first || !p->second) st = CAVIAR_ERUNTIME;
  }
  if (st == CAVIAR_OK) st = caviar_model_read_tensors(&f, "optimizer.first.", &p->shape, -INFINITY, p->first, err);
  if (st == CAVIAR_OK) st = caviar_model_read_tensors(&f, "optimizer.second.", &p->shape, 0.0f, p->second, err);
  caviar_st_close(&f);
  if (st != CAVIAR_OK) caviar_panda_free(p);
  return st;
}

/* {"trial": k, "params": {...}, "data": {...}, "seed": s}: one configuration. */
static caviar_status parse_config(const caviar_json_ctx *ctx, const cJSON *root, const char *base_dir, caviar_panda *p) {
  static const char *const keys[] = {"trial", "params", "data", "seed", NULL};
  if (caviar_json_known_keys(ctx, root, "", keys)) return CAVIAR_EINPUT;
  caviar_hparams hp;
  caviar_hparams_default(&hp);
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
  if (caviar_json_object(ctx, params, "params")) return CAVIAR_EINPUT;
  char path[512];
  for (const cJSON *item = params->child; item; item = item->next) {
    caviar_json_path(path, sizeof path, "params", item->string);
    const caviar_hp_info *info = caviar_hp_find(item->string);
    if (!info) return caviar_json_fail(ctx, path, "unknown hyperparameter (expected one of: %s)", caviar_hp_names());
    double value;
    if (caviar_parse_hp_value(ctx, item, path, info, &value)) return CAVIAR_EINPUT;
    caviar_hp_set(&hp, info, value);
  }
  caviar_hparams_settle(&hp, 0);
  long long trial = 0, seed = 0;
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "trial"), *s = cJSON_GetObjectItemCaseSensitive(root, "seed");
  if (t && caviar_json_int(ctx, t, "trial", 0, 4294967295.0, &trial)) return CAVIAR_EINPUT;
  if (s && caviar_json_int(ctx, s, "seed", 0, CAVIAR_MAX_SEED, &seed)) return CAVIAR_EINPUT;
  caviar_data_spec data;
  caviar_status st = caviar_parse_data(ctx, cJSON_GetObjectItemCaseSensitive(root, "data"), base_dir, &data);
  if (st == CAVIAR_OK) st = caviar_panda_init(p, &hp, (uint32_t)trial, (uint64_t)seed, &data, ctx->source, ctx->err);
  caviar_data_spec_free(&data);
  return st;
}

caviar_status caviar_panda_from_config(caviar_panda *p, const char *path, long long trial_given, caviar_error *err) {
  uint32_t trial = trial_given < 0 ? 0 : (uint32_t)trial_given;
  unsigned char *text;
  size_t len;
  caviar_status st = caviar_read_all(path, (size_t)64 << 20, "a training config", &text, &len, err);
  if (st != CAVIAR_OK) return st;
  caviar_json_ctx ctx = {path, err};
  cJSON *root = NULL;
  st = caviar_json_parse((const char *)text, len, &ctx, &root);
  char base_dir[4096];
  snprintf(base_dir, sizeof base_dir, "%s", path);
  char *slash = strrchr(base_dir, '/');
  if (slash) *slash = '\0';
  else strcpy(base_dir, ".");
  if (st == CAVIAR_OK && cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "params")) {
    if (trial_given >= 0)
      st = caviar_fail(err, CAVIAR_EINPUT,
                       "%s: --trial picks a trial of a sweep spec, but this is one trial's configuration", path);
    else
      st = parse_config(&ctx, root, base_dir, p);
  } else if (st == CAVIAR_OK) {
    /* A sweep spec: train one of its trials. */
    caviar_spec spec;
    st = caviar_spec_load(path, &spec, err);
    caviar_sampler sampler;
    if (st == CAVIAR_OK) {
      long long count = (long long)trial + 1;
      st = caviar_sampler_init(&sampler, &spec, spec.seed, count, err);
      if (st == CAVIAR_OK) {
        caviar_trial t;
        caviar_sampler_draw(&sampler, trial, &t);
        char origin[4200];
        snprintf(origin, sizeof origin, "%s trial %u", path, (unsigned)trial);
        st = caviar_panda_init(p, &t.hp, trial, spec.seed, &spec.data, origin, err);
        caviar_sampler_free(&sampler);
      }
      caviar_spec_free(&spec);
    }
  }
  cJSON_Delete(root);
  free(text);
  return st;
}
