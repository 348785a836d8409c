#include "spec_support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void spec_ok(const char *text, caviar_spec *spec) {
  caviar_error err = {{0}};
  caviar_status st = caviar_spec_parse(text, strlen(text), "spec.json", NULL, spec, &err);
  cr_assert_eq(st, CAVIAR_OK, "spec rejected: %s\n%s", err.msg, text);
}

caviar_status spec_fails(const char *text, caviar_error *err) {
  caviar_spec spec;
  memset(err, 0, sizeof *err);
  caviar_status st = caviar_spec_parse(text, strlen(text), "spec.json", NULL, &spec, err);
  if (st == CAVIAR_OK) caviar_spec_free(&spec);
  return st;
}

double *draw_param(const char *name, const char *entry, int n, unsigned long long seed) {
  return draw_param_by("random", name, entry, n, seed);
}

double *draw_param_by(const char *method, const char *name, const char *entry, int n, unsigned long long seed) {
  char text[2048];
  snprintf(text, sizeof text, "{\"method\": \"%s\", \"seed\": %llu, \"parameters\": {\"%s\": %s}}", method, seed,
           name, entry);
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_sampler sampler;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&sampler, &spec, spec.seed, n, &err), CAVIAR_OK, "%s", err.msg);
  const caviar_hp_info *hp = caviar_hp_find(name);
  double *values = malloc((size_t)n * sizeof *values);
  for (int i = 0; i < n; i++) {
    caviar_trial trial;
    caviar_sampler_draw(&sampler, (uint32_t)i, &trial);
    values[i] = caviar_hp_get(&trial.hp, hp);
  }
  caviar_sampler_free(&sampler);
  caviar_spec_free(&spec);
  return values;
}

void sweep_text_on(caviar_backend *be, const char *text, caviar_sweep_result *r, caviar_progress_fn progress,
                   void *ctx) {
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec.data, spec.seed, &data, &err), CAVIAR_OK, "%s", err.msg);
  caviar_sweep sweep = {&spec, spec.seed, -1, be, &data, progress, ctx, NULL, NULL, 0, NULL, NULL};
  cr_assert_eq(caviar_sweep_run(&sweep, r, &err), CAVIAR_OK, "%s", err.msg);
  caviar_data_free(&data);
  caviar_spec_free(&spec);
}
