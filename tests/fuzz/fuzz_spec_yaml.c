/* Sweep specs written as YAML: fuzz_spec.c's target with the input read as a .yaml file. */
#define FUZZ_SPEC_SOURCE "fuzz.yaml"
#include "fuzz_spec.c"
