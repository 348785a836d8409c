/* caviar sweep [SPEC] [-o DIR] [--device auto|cpu|cuda] [--seed S] [-n N] ...: the main job. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "caviar/progress_line.h"
#include "caviar/report.h"
#include "caviar/world.h"
#include "cli.h"

static const char usage[] =
    "usage: caviar sweep [SPEC] [-o DIR] [--device auto|cpu|cuda] [--tf32] [--seed S] [-n N] [-p N]\n"
    "                    [--data DATA] [--method grid|random|sobol|tpe] [--threads N] [--time-budget T]\n"
    "                    [--keep N] [--dry-run] [-q] [--json]\n"
    "\n"
    "Train every trial SPEC's sampler draws as one population, cull the losers at each rung of\n"
    "successive halving, evaluate the survivors once on the test split, and save the best.\n"
    "Without SPEC, the built-in default spec (Fashion-MNIST; see `caviar spec`).\n"
    "\n"
    "  -o, --out DIR       output folder (default caviar-out): summary.json, curves.csv and\n"
    "                      best/trial-<id>.safetensors for the best survivors\n"
    "      --device D      auto (default: the GPU when one is present, else the CPU), cpu or cuda\n"
    "      --tf32          let the GPU's GEMMs use TF32 tensor cores (faster, ~1e-3 relative error)\n"
    "      --seed S        sweep seed, overriding the spec's (sampling, split, minibatch order, weights)\n"
    "  -n, --trials N      how many trials, overriding the spec's\n"
    "  -p, --population N  most trials training at once, overriding the spec's (0: all of them)\n"
    CAVIAR_HELP_DATA
    "      --method M      grid, random, sobol or tpe, overriding the spec's (compare them on one spec)\n"
    "      --threads N     CPU threads to train on (default: every core, or $OMP_NUM_THREADS)\n"
    "      --time-budget T\n"
    "                      stop at the last rung boundary that fits T (90, 90s, 10m, 1.5h) and\n"
    "                      report what finished; trials stopped early are listed as running\n"
    "      --keep N        best/ keeps the top N survivors (default 10; 0: all of them)\n"
    "      --dry-run       print the trials, cohorts, memory and an estimated time from a short\n"
    "                      calibration on the device; train nothing, write nothing\n"
    "  -q, --quiet         no progress lines (errors still go to stderr)\n"
    "      --json          the leaderboard as JSON on stdout (the trials as summary.json has them,\n"
    "                      best first, each with its rank)\n"
    "  -h, --help          this text\n"
    "\n"
    "Progress goes to stderr: on a terminal one live line, redrawn about once a second to fit its\n"
    "width (best so far is over every trial, culled ones included; best alive over those still\n"
    "training); otherwise one plain line per epoch. The leaderboard goes to stdout.\n";

typedef struct sweep_args {
  const char *spec_path, *out_dir, *device, *data_dir, *method;
  uint64_t seed;
  bool seed_given, tf32, quiet, json, dry_run;
  long long trials, population; /* < 0: the spec's */
  long long keep;
  double time_budget;
} sweep_args;

static int parse_args(int argc, char **argv, sweep_args *a) {
  static const struct option options[] = {{"out", required_argument, NULL, 'o'},
                                          {"device", required_argument, NULL, 'd'},
                                          {"seed", required_argument, NULL, 's'},
                                          {"trials", required_argument, NULL, 'n'},
                                          {"population", required_argument, NULL, 'p'},
                                          {"tf32", no_argument, NULL, 't'},
                                          {"data", required_argument, NULL, 'D'},
                                          {"method", required_argument, NULL, 'm'},
                                          {"threads", required_argument, NULL, 'T'},
                                          {"time-budget", required_argument, NULL, 'B'},
                                          {"keep", required_argument, NULL, 'k'},
                                          {"dry-run", no_argument, NULL, 'R'},
                                          {"quiet", no_argument, NULL, 'q'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  *a = (sweep_args){.out_dir = "caviar-out", .device = "auto", .trials = -1, .population = -1, .keep = 10};
  uint64_t value;
  int c, rc;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "o:n:p:qh", options, NULL)) != -1) {
    switch (c) {
      case 'o': a->out_dir = optarg; break;
      case 'd': a->device = optarg; break;
      case 't': a->tf32 = true; break;
      case 'D': a->data_dir = optarg; break;
      case 'q': a->quiet = true; break;
      case 'j': a->json = true; break;
      case 'R': a->dry_run = true; break;
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
      case 'p':
        if (!caviar_parse_u64(optarg, (uint64_t)CAVIAR_MAX_TRIALS, &value))
          return caviar_usage_error("sweep", "--population expects a whole number from 0 to %lld, got '%s'",
                                    CAVIAR_MAX_TRIALS, optarg);
        a->population = (long long)value;
        break;
      case 'k':
        if (!caviar_parse_u64(optarg, (uint64_t)CAVIAR_MAX_TRIALS, &value))
          return caviar_usage_error("sweep", "--keep expects a whole number from 0 to %lld, got '%s'", CAVIAR_MAX_TRIALS,
                                    optarg);
        a->keep = (long long)value;
        break;
      case 'B':
        if (!caviar_parse_duration(optarg, &a->time_budget))
          return caviar_usage_error("sweep", "--time-budget expects a duration such as 90, 90s, 10m or 1.5h, got '%s'",
                                    optarg);
        break;
      case 'T':
        if ((rc = caviar_threads_option("sweep", optarg)) != 0) return rc;
        break;
      case 'h': fputs(usage, stdout); return -1;
      default: return caviar_option_error("sweep", "o:n:p:qh", optopt, argv[optind - 1]);
    }
  }
  if (argc - optind > 1) return caviar_usage_error("sweep", "expected at most one SPEC, got %d", argc - optind);
  a->spec_path = optind < argc ? argv[optind] : NULL;
  return 0;
}

/* The leaderboard's width: stdout's terminal, else no limit (a file or a pipe gets every column). */
static int stdout_width(void) {
  struct winsize ws;
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 0;
}

static void print_estimate(const caviar_sweep_estimate *e, const char *device, bool json, bool culls, bool keep_best) {
  if (json) {
    printf("{\"trials\": %d, \"rounds\": %d, \"population\": %d, \"cohorts\": %d, \"model_epochs\": %.0f, "
           "\"arena_bytes\": %.0f, \"data_bytes\": %.0f, \"device\": \"%s\", \"seconds\": %.3f, "
           "\"calibration_seconds\": %.3f}\n",
           e->trials * e->rounds, e->rounds, e->population, e->n_cohorts, e->model_epochs, e->arena_bytes,
           e->data_bytes, device, e->seconds, e->calibration_s);
    return;
  }
  char eta[32];
  caviar_format_duration(e->seconds, eta, sizeof eta);
  printf("trials       %d%s\n", e->trials * e->rounds, e->rounds > 1 ? " (over all rounds)" : "");
  if (e->rounds > 1) printf("rounds       %d of %d trials\n", e->rounds, e->trials);
  printf("population   %d at once\n", e->population);
  printf("cohorts      %d (one per shape: hidden, layers, batch)\n", e->n_cohorts);
  printf("model-epochs %.0f planned%s\n", e->model_epochs, culls ? " (early termination's expected culls)" : "");
  printf("memory       %.1f MiB of arenas%s + %.1f MiB of data on %s\n", e->arena_bytes / 1048576.0,
         keep_best ? " (5 per cohort: model.keep best)" : "", e->data_bytes / 1048576.0, device);
  printf("time         ~%s estimated (calibrated in %.1f s; training and judging only)\n", eta, e->calibration_s);
}

static int count_survivors(const caviar_sweep_result *r) {
  int n = 0;
  for (int i = 0; i < r->n_trials; i++) n += r->trials[i].status == CAVIAR_TRIAL_SURVIVED;
  return n;
}

/* A distributed sweep's end: a failure on any rank ends every rank at once, with a message naming
 * the rank and host (never a rank left waiting for the others); otherwise every rank leaves
 * together. Rank 0 alone reports errors that every rank meets after the sweep. */
static int finish(caviar_world *world, caviar_status st, const caviar_error *err) {
  if (world && st != CAVIAR_OK) caviar_world_fail(world, (int)st, err->msg);
  caviar_world_close(world);
  return caviar_report(st, err);
}

static int sweep(const sweep_args *a, caviar_world *world);

int caviar_cmd_sweep(int argc, char **argv) {
  sweep_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  /* A closed stdout or stderr (| head, | true) fails writes with EPIPE instead of killing the run. */
  signal(SIGPIPE, SIG_IGN);
  /* Under mpirun or srun, this process is one rank of the sweep (host/dist/world_mpi.c). */
  caviar_world *world = NULL;
  caviar_error err;
  caviar_status st = caviar_world_open(&world, &err);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  if (world && world->rank > 0) a.quiet = true;
  /* A dry run estimates on rank 0 alone; the other ranks have nothing to do. */
  if (world && a.dry_run && world->rank > 0) return finish(world, CAVIAR_OK, &err);
  return sweep(&a, world);
}

static int sweep(const sweep_args *args, caviar_world *world) {
  sweep_args a = *args;
  bool root = caviar_world_rank(world) == 0;
  caviar_spec spec;
  caviar_error err;
  caviar_status st = caviar_load_spec_arg(a.spec_path, &spec, &err);
  if (st != CAVIAR_OK) return finish(world, st, &err);
  uint64_t seed = a.seed_given ? a.seed : spec.seed;
  if (a.population > 0 && spec.early_terminate.type == CAVIAR_STOP_PBT) {
    caviar_spec_free(&spec);
    caviar_world_close(world);
    return caviar_usage_error("sweep", "--population: pbt trains the whole population together (the spec's trials)");
  }
  if (a.population >= 0) spec.population = a.population;
  if (a.trials >= 0 && spec.early_terminate.type == CAVIAR_STOP_HYPERBAND) {
    caviar_brackets hb;
    caviar_brackets_make(&spec.early_terminate, 0, &hb);
    long long held = caviar_brackets_trials(&hb);
    if (a.trials != held) {
      caviar_spec_free(&spec);
      return caviar_usage_error("sweep", "--trials: hyperband's brackets hold %lld trials; -n cannot change that", held);
    }
  }
  if (a.method) {
    if (spec.method == CAVIAR_METHOD_COARSE_TO_FINE || spec.rounds > 1) {
      caviar_spec_free(&spec);
      caviar_world_close(world);
      return caviar_usage_error("sweep", "--method cannot replace coarse-to-fine (its rounds have their own keys)");
    }
    bool tpe = strcmp(a.method, "tpe") == 0;
    if (tpe && spec.early_terminate.type == CAVIAR_STOP_PBT) {
      caviar_spec_free(&spec);
      caviar_world_close(world);
      return caviar_usage_error("sweep", "--method tpe cannot run with pbt (pbt explores by itself)");
    }
    /* The grid is built, and a continuous parameter without grid_points refused, by the sampler. */
    spec.method = strcmp(a.method, "grid") == 0    ? CAVIAR_METHOD_GRID
                  : strcmp(a.method, "sobol") == 0 ? CAVIAR_METHOD_SOBOL
                  : tpe                            ? CAVIAR_METHOD_TPE
                                                   : CAVIAR_METHOD_RANDOM;
    /* A grid's trials default to all its points; any other method's to the usual count. */
    if (!spec.trials_given) spec.trials = spec.method == CAVIAR_METHOD_GRID ? CAVIAR_MAX_TRIALS : CAVIAR_DEFAULT_TRIALS;
  }
  if (a.data_dir && (st = caviar_data_arg(&spec.data, a.data_dir, false, &err)) != CAVIAR_OK) {
    caviar_spec_free(&spec);
    return finish(world, st, &err);
  }
  caviar_backend *backend = NULL;
  const char *device = NULL;
  caviar_data data;
  /* The output folder is checked before the first epoch, not after the last (by rank 0, which
   * writes it). Each rank trains on its own GPU: its rank on the host, modulo the GPUs there. */
  caviar_backend_options options = {.tf32 = a.tf32, .device = world ? caviar_local_gpu(world->local_rank) : 0};
  st = root ? caviar_report_prepare(a.out_dir, &err) : CAVIAR_OK;
  if (st == CAVIAR_OK) st = caviar_open_backend_with(a.device, &options, &backend, &device, &err);
  if (st == CAVIAR_OK) st = caviar_data_load(&spec.data, seed, &data, &err);
  if (st == CAVIAR_OK) {
    char warning[1024];
    caviar_labels_look_real(&data, warning, sizeof warning);
    if (warning[0]) fprintf(stderr, "caviar: warning: %s\n", warning);
  }
  if (st != CAVIAR_OK) {
    if (backend) backend->destroy(backend);
    caviar_spec_free(&spec);
    return finish(world, st, &err);
  }
  if (world) snprintf(world->device, sizeof world->device, "%s", device);
  if (!a.quiet)
    fprintf(stderr, "caviar: %s: %zu training, %zu validation, %zu test examples, %d classes; training on %s\n",
            data.train_name, data.split.n_train, data.split.n_val, data.test.n, data.classes, device);
  caviar_progress_printer printer;
  caviar_progress_printer_init(&printer, a.quiet);
  caviar_sweep sweep = {.spec = &spec,
                       .seed = seed,
                       .trials = a.trials,
                       .backend = backend,
                       .data = &data,
                       .progress = root ? caviar_print_progress : NULL,
                       .progress_ctx = root ? &printer : NULL,
                       .world = a.dry_run ? NULL : world};
  if (a.dry_run) {
    caviar_sweep_estimate estimate;
    st = caviar_sweep_estimate_run(&sweep, &estimate, &err);
    if (st == CAVIAR_OK) print_estimate(&estimate, device, a.json, spec.early_terminate.type != CAVIAR_STOP_NONE,
                                       spec.keep == CAVIAR_KEEP_BEST);
    caviar_data_free(&data);
    backend->destroy(backend);
    caviar_spec_free(&spec);
    return finish(world, st, &err);
  }
  caviar_sweep_result result;
  st = caviar_sweep_run_within(&sweep, a.time_budget, &result, &err);
  caviar_progress_printer_end(&printer);
  if (st != CAVIAR_OK) {
    caviar_data_free(&data);
    backend->destroy(backend);
    caviar_spec_free(&spec);
    return finish(world, st, &err);
  }
  if (!root) {
    /* Rank 0 reports and writes; an error every rank meets from here (every trial diverged) is
     * its to print, and the exit status everyone's. */
    bool all_diverged = count_survivors(&result) == 0 && !result.out_of_time;
    caviar_sweep_result_free(&result);
    caviar_data_free(&data);
    backend->destroy(backend);
    caviar_spec_free(&spec);
    caviar_world_close(world);
    return all_diverged ? CAVIAR_ERUNTIME : 0;
  }
  {
    /* Saved before anything is printed: a reader that went away (| head) costs nothing. */
    caviar_report_info info = {&spec, seed, device, &data, (int)(a.keep > 1000000 ? 1000000 : a.keep)};
    st = caviar_report_write(a.out_dir, &info, &result, &err);
    if (a.json) {
      char *text = caviar_leaderboard_json(&info, &result);
      if (text) puts(text);
      free(text);
    } else {
      caviar_leaderboard_print(stdout, &spec, &result, 20, stdout_width());
    }
    fflush(stdout);
    int survivors = count_survivors(&result), saved = caviar_report_saved_count(&info, &result);
    if (st == CAVIAR_OK && result.out_of_time)
      fprintf(stderr, "caviar: the time budget (%.3g s) stopped the sweep: %d trial(s) finished, the rest are listed as running\n",
              a.time_budget, survivors);
    if (st == CAVIAR_OK && !a.quiet)
      fprintf(stderr, "caviar: wrote %s/summary.json, %s/curves.csv and %d model(s) in %s/best/ (%.1f s)\n", a.out_dir,
              a.out_dir, saved, a.out_dir, result.wall_seconds);
    if (st == CAVIAR_OK && survivors == 0 && !result.out_of_time)
      st = caviar_fail(&err, CAVIAR_ERUNTIME,
                       "every trial diverged (NaN or Inf loss): lower learning_rate's range in the spec");
    caviar_sweep_result_free(&result);
  }
  caviar_data_free(&data);
  backend->destroy(backend);
  caviar_spec_free(&spec);
  caviar_world_close(world);
  return caviar_report(st, &err);
}
