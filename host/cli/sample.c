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
    "For coarse-to-fine, this is the first (coarse) round; for tpe and bayes, their sobol startup\n"
    "points (their later trials are proposed from results during the sweep).\n"
    "\n"
    "SPEC is JSON or YAML: a W&B sweep config is read as written. One for someone else's program\n"
    "(program, command, or parameters caviar's models lack) is drawn by W&B's definitions of its\n"
    "distributions, nested parameters nested and W&B's types kept:\n"
    "  {\"trial\": 0, \"params\": {\"batch_size\": 64, \"optimizer\": {\"lr\": 0.001}}, \"seed\": 1}\n"
    "Warnings (YAML 1.1 booleans, log_uniform bounds that look like values) and what Hyperband\n"
    "will run go to stderr.\n"
    "\n"
    "  -n, --trials N  how many trials (default: the spec's trials or run_cap; a grid's size, at\n"
    "                  most; hyperband: its brackets' own total, or scaled to N)\n"
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
  caviar_print_spec_notes(&spec, count);
  if (spec.outside)
    fprintf(stderr, "caviar: note: %s is a config for outside code (%s); its trials are drawn by W&B's rules\n",
            spec.source, spec.outside_reason);
  caviar_sampler sampler;
  st = caviar_sampler_init(&sampler, &spec, seed_given ? seed : spec.seed, caviar_round_request(&spec, count), &err);
  double *values = NULL;
  if (st == CAVIAR_OK && spec.outside) {
    values = caviar_alloc(spec.space.n > 0 ? (size_t)spec.space.n : 1, sizeof *values, "a trial", &err);
    if (!values) st = CAVIAR_ERUNTIME;
  }
  if (st == CAVIAR_OK) {
    static char out_buffer[1 << 20];
    setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
    /* What every line ends with: the seed and (caviar's models) the data section. */
    char *data_text = spec.outside ? NULL : caviar_data_spec_json(&spec.data);
    char tail[16384];
    int tail_n = spec.outside ? snprintf(tail, sizeof tail, ", \"seed\": %llu}", (unsigned long long)(seed_given ? seed : spec.seed))
                              : snprintf(tail, sizeof tail, ", \"seed\": %llu, \"data\": %s}",
                                         (unsigned long long)(seed_given ? seed : spec.seed), data_text ? data_text : "null");
    free(data_text);
    if (tail_n < 0 || (size_t)tail_n >= sizeof tail) tail_n = snprintf(tail, sizeof tail, "}");
    size_t cap = 4096;
    char *line = malloc(cap + sizeof tail);
    for (long long id = 0; line && id < sampler.count; id++) {
      int n;
      if (spec.outside) {
        caviar_sampler_values(&sampler, (uint32_t)id, values);
        int head = snprintf(line, cap, "{\"trial\": %lld, \"params\": ", id);
        n = head + caviar_values_json(&spec.space, values, line + head, cap - (size_t)head);
        if ((size_t)n >= cap) { /* a long config: grow and write it again */
          char *grown = realloc(line, (size_t)n + 1 + sizeof tail);
          if (!grown) break;
          line = grown;
          cap = (size_t)n + 1;
          id--;
          continue;
        }
      } else {
        caviar_trial trial;
        caviar_sampler_draw(&sampler, (uint32_t)id, &trial);
        n = caviar_trial_json(&trial, line, cap) - 1; /* without its closing brace */
      }
      memcpy(line + n, tail, (size_t)tail_n);
      line[n + tail_n] = '\n';
      fwrite(line, 1, (size_t)(n + tail_n) + 1, stdout);
    }
    if (!line) st = caviar_fail(&err, CAVIAR_ERUNTIME, "out of memory writing trials");
    free(line);
    if (st == CAVIAR_OK && (fflush(stdout) != 0 || ferror(stdout))) st = caviar_fail(&err, CAVIAR_ERUNTIME, "cannot write to stdout");
    caviar_sampler_free(&sampler);
  }
  free(values);
  caviar_spec_free(&spec);
  return caviar_report(st, &err);
}
