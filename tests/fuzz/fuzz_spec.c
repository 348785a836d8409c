/* Sweep specs: the parser, then the sampler on what it accepted (a grid is built, trials drawn:
 * caviar's models' configs, or outside code's, printed as the CLI prints them). fuzz_spec_yaml.c
 * is this target reading YAML. */
#include <stdlib.h>
#include <string.h>

#include "caviar/sampler.h"
#include "caviar/spec.h"
#include "caviar/trial_json.h"
#include "fuzz_file.h"

#ifndef FUZZ_SPEC_SOURCE
#define FUZZ_SPEC_SOURCE "fuzz.json"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  caviar_spec spec;
  caviar_error err;
  if (caviar_spec_parse((const char *)data, size, FUZZ_SPEC_SOURCE, "/nonexistent", &spec, &err) != CAVIAR_OK) return 0;
  cJSON_Delete(caviar_spec_tree(&spec));
  caviar_sampler sampler;
  if (caviar_sampler_init(&sampler, &spec, spec.seed, spec.trials < 16 ? spec.trials : 16, &err) == CAVIAR_OK) {
    caviar_trial t;
    double *values = malloc((size_t)(spec.space.n + 1) * sizeof *values);
    char line[4096];
    for (long long k = 0; values && k < sampler.count; k++) {
      if (spec.outside) {
        caviar_sampler_values(&sampler, (uint32_t)k, values);
        caviar_values_json(&spec.space, values, line, sizeof line);
      } else {
        caviar_sampler_draw(&sampler, (uint32_t)k, &t);
        caviar_trial_json(&t, line, sizeof line);
      }
    }
    free(values);
    caviar_sampler_free(&sampler);
  }
  caviar_spec_free(&spec);
  return 0;
}
