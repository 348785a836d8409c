/* caviar sweep [SPEC] [-o DIR] [--device auto|cpu|cuda] [--seed S] [-n N]: the main job. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/report.h"
#include "cli.h"

static const char usage[] =
    "usage: caviar sweep [SPEC] [-o DIR] [--device auto|cpu|cuda] [--tf32] [--seed S] [-n N] [--data DIR]\n"
    "                    [--method grid|random|sobol|tpe]\n"
    "\n"
    "Train every trial SPEC's sampler draws as one population, cull the losers at each rung of\n"
    "successive halving, evaluate the survivors once on the test split, and save them.\n"
    "Without SPEC, the built-in default spec (Fashion-MNIST; see `caviar spec`).\n"
    "\n"
    "  -o, --out DIR     output folder (default caviar-out): summary.json, curves.csv and\n"
    "                    best/trial-<id>.safetensors for each survivor\n"
    "      --device D    auto (default: the GPU when one is present, else the CPU), cpu or cuda\n"
    "      --tf32        let the GPU's GEMMs use TF32 tensor cores (faster, ~1e-3 relative error)\n"
    "      --seed S      sweep seed, overriding the spec's (sampling, split, minibatch order, weights)\n"
    "  -n, --trials N    how many trials, overriding the spec's\n"
    "      --data DIR    the IDX folder to read, overriding the spec's data.dir\n"
    "      --method M    grid, random, sobol or tpe, overriding the spec's (compare them on one spec)\n"
    "  -h, --help        this text\n"
    "\n"
    "Progress goes to stderr (one live line on a terminal); the leaderboard to stdout.\n";

typedef struct sweep_args {
  const char *spec_path, *out_dir, *device, *data_dir, *method;
  uint64_t seed;
  bool seed_given, tf32;
  long long trials;
} sweep_args;

static int parse_args(int argc, char **argv, sweep_args *a) {
  static const struct option options[] = {{"out", required_argument, NULL, 'o'},
                                          {"device", required_argument, NULL, 'd'},
                                          {"seed", required_argument, NULL, 's'},
                                          {"trials", required_argument, NULL, 'n'},
                                          {"tf32", no_argument, NULL, 't'},
                                          {"data", required_argument, NULL, 'D'},
                                          {"method", required_argument, NULL, 'm'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  *a = (sweep_args){NULL, "caviar-out", "auto", NULL, NULL, 0, false, false, -1};
  uint64_t value;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "o:n:h", options, NULL)) != -1) {
    switch (c) {
      case 'o': a->out_dir = optarg; break;
      case 'd': a->device = optarg; break;
      case 't': a->tf32 = true; break;
      case 'D': a->data_dir = optarg; break;
      case 'm':
        if (strcmp(optarg, "grid") != 0 && strcmp(optarg, "random") != 0 && strcmp(optarg, "sobol") != 0 &&
            strcmp(optarg, "tpe") != 0)
          return caviar_usage_error("sweep", "--method expects grid, random, sobol or tpe, got '%s'", optarg);
        a->method = optarg;
        break;
      case 's':
        if (!caviar_parse_u64(optarg, (uint64_t)CAVIAR_MAX_SEED, &a->seed))
          return caviar_usage_error("sweep", "--seed expects a whole number from 0 to 2^53, got '%s'", optarg);
        a->seed_given = true;
        break;
      case 'n':
        if (!caviar_parse_u64(optarg, (uint64_t)CAVIAR_MAX_TRIALS, &value) || value == 0)
          return caviar_usage_error("sweep", "-n expects a whole number from 1 to %lld, got '%s'", CAVIAR_MAX_TRIALS,
                                    optarg);
        a->trials = (long long)value;
        break;
      case 'h': fputs(usage, stdout); return -1;
      default: return caviar_option_error("sweep", optopt, argv[optind - 1]);
    }
  }
  if (argc - optind > 1) return caviar_usage_error("sweep", "expected at most one SPEC, got %d", argc - optind);
  a->spec_path = optind < argc ? argv[optind] : NULL;
  return 0;
}

static int count_survivors(const caviar_sweep_result *r) {
  int n = 0;
  for (int i = 0; i < r->n_trials; i++) n += r->trials[i].status == CAVIAR_TRIAL_SURVIVED;
  return n;
}

int caviar_cmd_sweep(int argc, char **argv) {
  sweep_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  caviar_spec spec;
  caviar_error err;
  caviar_status st = caviar_load_spec_arg(a.spec_path, &spec, &err);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  uint64_t seed = a.seed_given ? a.seed : spec.seed;
  if (a.method) {
    if (spec.method == CAVIAR_METHOD_COARSE_TO_FINE || spec.rounds > 1) {
      caviar_spec_free(&spec);
      return caviar_usage_error("sweep", "--method cannot replace coarse-to-fine (its rounds have their own keys)");
    }
    bool tpe = strcmp(a.method, "tpe") == 0;
    if (tpe && spec.early_terminate.type == CAVIAR_STOP_PBT) {
      caviar_spec_free(&spec);
      return caviar_usage_error("sweep", "--method tpe cannot run with pbt (pbt explores by itself)");
    }
    /* The grid is built, and a continuous parameter without grid_points refused, by the sampler. */
    spec.method = strcmp(a.method, "grid") == 0    ? CAVIAR_METHOD_GRID
                  : strcmp(a.method, "sobol") == 0 ? CAVIAR_METHOD_SOBOL
                  : tpe                            ? CAVIAR_METHOD_TPE
                                                   : CAVIAR_METHOD_RANDOM;
  }
  if (a.data_dir && (st = caviar_override_data_dir(&spec.data, a.data_dir, &err)) != CAVIAR_OK) {
    caviar_spec_free(&spec);
    return caviar_report(st, &err);
  }
  caviar_backend *backend = NULL;
  const char *device = NULL;
  caviar_data data;
  st = caviar_open_backend(a.device, a.tf32, &backend, &device, &err);
  if (st == CAVIAR_OK) st = caviar_data_load(&spec.data, seed, &data, &err);
  if (st != CAVIAR_OK) {
    if (backend) backend->destroy(backend);
    caviar_spec_free(&spec);
    return caviar_report(st, &err);
  }
  fprintf(stderr, "caviar: %s: %zu training, %zu validation, %zu test examples, %d classes; training on %s\n",
          data.train_name, data.split.n_train, data.split.n_val, data.test.n, data.classes, device);
  caviar_sweep sweep = {&spec, seed, a.trials, backend, &data, caviar_print_progress, NULL};
  caviar_sweep_result result;
  st = caviar_sweep_run(&sweep, &result, &err);
  if (st == CAVIAR_OK) {
    caviar_leaderboard_print(stdout, &spec, &result, 20);
    fflush(stdout);
    caviar_report_info info = {&spec, seed, device, &data};
    st = caviar_report_write(a.out_dir, &info, &result, &err);
    int survivors = count_survivors(&result);
    if (st == CAVIAR_OK)
      fprintf(stderr, "caviar: wrote %s/summary.json, %s/curves.csv and %d model(s) in %s/best/ (%.1f s)\n", a.out_dir,
              a.out_dir, survivors, a.out_dir, result.wall_seconds);
    if (st == CAVIAR_OK && survivors == 0)
      st = caviar_fail(&err, CAVIAR_ERUNTIME,
                       "every trial diverged (NaN or Inf loss): lower learning_rate's range in the spec");
    caviar_sweep_result_free(&result);
  }
  caviar_data_free(&data);
  backend->destroy(backend);
  caviar_spec_free(&spec);
  return caviar_report(st, &err);
}
