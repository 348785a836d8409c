/* Sweep specs: the parser, then the sampler on what it accepted (a grid is built, trials drawn). */
#include <stdlib.h>
#include <string.h>

#include "caviar/sampler.h"
#include "caviar/spec.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  caviar_spec spec;
  caviar_error err;
  if (caviar_spec_parse((const char *)data, size, "fuzz.json", "/nonexistent", &spec, &err) != CAVIAR_OK) return 0;
  caviar_sampler sampler;
  if (caviar_sampler_init(&sampler, &spec, spec.seed, spec.trials < 16 ? spec.trials : 16, &err) == CAVIAR_OK) {
    caviar_trial t;
    for (long long k = 0; k < sampler.count; k++) caviar_sampler_draw(&sampler, (uint32_t)k, &t);
    caviar_sampler_free(&sampler);
  }
  caviar_spec_free(&spec);
  return 0;
}
