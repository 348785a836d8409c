/* caviar sample [SPEC] [-n N] [--seed S]: print the trial configs a sweep would train. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/sampler.h"
#include "caviar/schedule.h"
#include "caviar/trial_json.h"
#include "cli.h"

static const char usage[] =
    "usage: caviar sample [SPEC] [-n N] [--seed S]\n"
    "\n"
    "Print the trial configurations SPEC's sampler draws, one JSON object per line:\n"
    "  {\"trial\": 0, \"params\": {\"learning_rate\": 0.0031, ...}, \"seed\": 1, \"data\": {...}}\n"
    "Each line carries the sweep's seed and data section (paths absolute, the validation fraction),\n"
    "so `caviar train LINE.json` trains that trial on the same data and split as the sweep would.\n"
    "Without SPEC, the built-in default spec (Fashion-MNIST; see `caviar spec`).\n"
    "Trial k is the same whatever N is, and the same seed gives the same configs.\n"
    "For coarse-to-fine, this is the first (coarse) round; for tpe, its sobol startup points\n"
    "(its later trials are proposed from results during the sweep).\n"
    "\n"
    "  -n, --trials N  how many trials (default: the spec's trials; a grid's size)\n"
    "      --seed S    sweep seed, overriding the spec's (0 .. 2^53)\n"
    "  -h, --help      this text\n";

int caviar_cmd_sample(int argc, char **argv) {
  static const struct option options[] = {
      {"trials", required_argument, NULL, 'n'}, {"seed", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  long long count = -1;
  uint64_t seed = 0, value;
  bool seed_given = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "n:h", options, NULL)) != -1) {
    switch (c) {
      case 'n':
        if (!caviar_parse_u64(optarg, (uint64_t)CAVIAR_MAX_TRIALS, &value) || value == 0)
          return caviar_usage_error("sample", "-n expects a whole number from 1 to %lld, got '%s'", CAVIAR_MAX_TRIALS,
                                    optarg);
        count = (long long)value;
        break;
      case 's':
        if (!caviar_parse_u64(optarg, (uint64_t)CAVIAR_MAX_SEED, &seed))
          return caviar_usage_error("sample", "--seed expects a whole number from 0 to 2^53, got '%s'", optarg);
        seed_given = true;
        break;
      case 'h': fputs(usage, stdout); return 0;
      default: return caviar_option_error("sample", "n:h", optopt, argv[optind - 1]);
    }
  }
  if (argc - optind > 1) return caviar_usage_error("sample", "expected at most one SPEC, got %d", argc - optind);
  caviar_spec spec;
  caviar_error err;
  caviar_status st = caviar_load_spec_arg(optind < argc ? argv[optind] : NULL, &spec, &err);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  if (count < 0 && spec.early_terminate.type == CAVIAR_STOP_HYPERBAND) {
    /* Hyperband's brackets decide how many trials a sweep draws. */
    caviar_brackets brackets;
    caviar_brackets_make(&spec.early_terminate, spec.trials, &brackets);
    count = caviar_brackets_trials(&brackets);
  }
  caviar_sampler sampler;
  st = caviar_sampler_init(&sampler, &spec, seed_given ? seed : spec.seed, count, &err);
  if (st == CAVIAR_OK) {
    static char out_buffer[1 << 20];
    setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
    /* What every line ends with: the seed and the data section. */
    char *data_text = caviar_data_spec_json(&spec.data);
    char tail[16384];
    int tail_n = snprintf(tail, sizeof tail, ", \"seed\": %llu, \"data\": %s}",
                          (unsigned long long)(seed_given ? seed : spec.seed), data_text ? data_text : "null");
    free(data_text);
    if (tail_n < 0 || (size_t)tail_n >= sizeof tail) tail_n = snprintf(tail, sizeof tail, "}");
    char line[4096 + sizeof tail];
    for (long long id = 0; id < sampler.count; id++) {
      caviar_trial trial;
      caviar_sampler_draw(&sampler, (uint32_t)id, &trial);
      int n = caviar_trial_json(&trial, line, 4096) - 1; /* without its closing brace */
      memcpy(line + n, tail, (size_t)tail_n);
      line[n + tail_n] = '\n';
      fwrite(line, 1, (size_t)(n + tail_n) + 1, stdout);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) st = caviar_fail(&err, CAVIAR_ERUNTIME, "cannot write to stdout");
    caviar_sampler_free(&sampler);
  }
  caviar_spec_free(&spec);
  return caviar_report(st, &err);
}
