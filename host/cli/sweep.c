/* caviar sweep [SPEC] [-o DIR] [--device auto|cpu|cuda] [--seed S] [-n N] ...: the main job. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "caviar/atomic_file.h"
#include "caviar/json_text.h"
#include "caviar/progress_line.h"
#include "caviar/report.h"
#include "caviar/report_html.h"
#include "caviar/sampler.h"
#include "caviar/tensorboard.h"
#include "caviar/sweep_state.h"
#include "caviar/world.h"
#include "caviar/writer_lock.h"
#include "cli.h"

/* The exit status of a sweep stopped by SIGINT or SIGTERM after saving its snapshot and results. */
#define EXIT_STOPPED 3

static const char usage[] =
    "usage: caviar sweep [SPEC] [-o DIR] [--device auto|cpu|cuda] [--tf32] [--seed S] [-n N] [-p N]\n"
    "                    [--data DATA] [--method grid|random|sobol|tpe|bayes] [--threads N] [--time-budget T]\n"
    "                    [--keep N] [--dry-run] [-q] [--json] [--force] [--snapshot-every T]\n"
    "                    [--results-every T] [--tensorboard DIR]\n"
    "       caviar sweep --resume DIR [SPEC] [flags]\n"
    "\n"
    "Train every trial SPEC's sampler draws as one population, cull the losers at each rung of\n"
    "successive halving, evaluate the survivors once on the test split, and save the best.\n"
    "Without SPEC, the built-in default spec (Fashion-MNIST; see `caviar spec`). SPEC is JSON or\n"
    "YAML (a W&B sweep config); one for someone else's program (program, command, or parameters\n"
    "caviar's models lack) is refused in one line: `caviar sample` draws its trials.\n"
    "\n"
    "  -o, --out DIR       output folder (default caviar-out; missing parents are made): summary.json,\n"
    "                      curves.csv, best/trial-<id>.safetensors for the best survivors and\n"
    "                      report.html\n"
    "      --device D      auto (default: the GPU when one is present, else the CPU), cpu or cuda\n"
    "      --tf32          let the GPU's GEMMs use TF32 tensor cores (faster, ~1e-3 relative error)\n"
    "      --seed S        sweep seed, overriding the spec's (sampling, split, minibatch order, weights)\n"
    "  -n, --trials N      how many trials, overriding the spec's (a grid: at most its points;\n"
    "                      hyperband: its brackets scaled to N, as `caviar sample -n N` draws)\n"
    "  -p, --population N  most trials training at once, overriding the spec's (0: all of them)\n"
    CAVIAR_HELP_DATA
    "      --method M      grid, random, sobol, tpe or bayes, overriding the spec's (compare them on one\n"
    "                      spec)\n"
    "      --threads N     CPU threads to train on (default: every core, or $OMP_NUM_THREADS)\n"
    "      --time-budget T\n"
    "                      stop at the last rung boundary that fits T (90, 90s, 10m, 1.5h) and\n"
    "                      report what finished; trials stopped early are listed as running\n"
    "                      (the sweep is then over: --resume cannot continue it)\n"
    "      --keep N        best/ keeps the top N survivors (default 10; 0: all of them)\n"
    "      --dry-run       print the trials, cohorts, device and host memory and an estimated time\n"
    "                      from a short calibration of a sample of each cohort on the device;\n"
    "                      train nothing, write nothing\n"
    "      --force         replace the sweep an existing -o folder holds (its results, state and plots)\n"
    "      --resume DIR    continue the interrupted sweep in DIR from its last snapshot; the results\n"
    "                      end bit-identical to an uninterrupted run. SPEC and the flags that shape\n"
    "                      the sweep (--seed, -n, -p, --method, --data, --keep, --device) may be left\n"
    "                      out; given, they must match what the sweep started with. A sweep killed\n"
    "                      before its first write left nothing in DIR: --resume DIR SPEC starts it\n"
    "      --blas-kernel NAME\n"
    "                      run OpenBLAS's NAME kernels (Haswell, SkylakeX, ...; as OPENBLAS_CORETYPE)\n"
    "                      so the same spec and seed give the same results on any machine that runs\n"
    "                      NAME; summary.json's \"blas\" names the kernel run (caviar info: this one's)\n"
    "      --snapshot-every T\n"
    "                      write the sweep's state (DIR/sweep-state/) at an epoch boundary at most\n"
    "                      every T (default 60s; 0: every epoch), in big sweeps no more often\n"
    "                      than keeps writing it under 2% of the time\n"
    "      --results-every T\n"
    "                      rewrite summary.json, curves.csv and report.html at every rung and at\n"
    "                      most every T otherwise (default 30s; 0: every epoch), in big sweeps no\n"
    "                      more often than keeps writing them under 2% of the time\n"
    "      --tensorboard DIR\n"
    "                      also write TensorBoard event files, one run per trial (DIR/trial-<id>/),\n"
    "                      flushed every epoch, with the HParams dashboard's records (overrides\n"
    "                      the spec's \"tensorboard\"); tensorboard --logdir DIR shows the sweep live\n"
    "  -q, --quiet         no progress lines (errors still go to stderr)\n"
    "      --json          the leaderboard as JSON on stdout (the trials as summary.json has them,\n"
    "                      best first, each with its rank)\n"
    "  -h, --help          this text\n"
    "\n"
    "Progress goes to stderr: on a terminal one live line, redrawn about once a second to fit its\n"
    "width (best: the leaderboard's first so far, with the epoch its value is from; best alive:\n"
    "the best value of those still training); otherwise one plain line per epoch. The leaderboard\n"
    "goes to stdout, its ranking rule under it (docs/SPEC.md, \"The best trial\").\n"
    "DIR/report.html shows the sweep in a browser as it runs (it reloads itself until the sweep is\n"
    "over).\n"
    "\n"
    "SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGUSR1: the sweep finishes its epoch, writes a snapshot and\n"
    "the results so far, says how to resume, and exits with status 3 (before training begins it\n"
    "stops at once: nothing to save); a second Ctrl-C stops at once, leaving the last good snapshot.\n"
    "Under mpirun or srun a signal to any rank stops every rank (kill -USR1 MPIRUN_PID: mpirun\n"
    "forwards SIGUSR1), and --resume continues on any number of ranks.\n"
    "\n"
    "One writer per folder: the sweep holds DIR for its whole life; another sweep or resume into it\n"
    "is refused at once (status 2, naming the holder's pid). Reading DIR (caviar report, summary.json)\n"
    "is never refused; summary.json says \"finished\": true only for the final results.\n"
    "Exit status: 0 done, 1 runtime error, 2 bad input or a busy folder, 3 stopped (resumable).\n";

typedef struct sweep_args {
  const char *spec_path, *out_dir, *device, *data_dir, *method;
  const char *resume, *tensorboard;
  char tensorboard_kept[PATH_MAX]; /* --resume: the sweep's --tensorboard, as sweep.json keeps it */
  uint64_t seed;
  bool seed_given, tf32, quiet, json, dry_run, force, keep_given, device_given;
  long long trials, population; /* < 0: the spec's */
  long long given_trials, given_population; /* --resume: as given, checked against the spec's */
  const char *given_method;
  long long keep;
  double time_budget, snapshot_every, results_every;
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
                                          {"force", no_argument, NULL, 'F'},
                                          {"resume", required_argument, NULL, 'r'},
                                          {"snapshot-every", required_argument, NULL, 'S'},
                                          {"results-every", required_argument, NULL, 'E'},
                                          {"tensorboard", required_argument, NULL, 'b'},
                                          {NULL, 0, NULL, 0}};
  *a = (sweep_args){.out_dir = NULL, .device = "auto", .trials = -1, .population = -1, .keep = 10,
                    .given_trials = -1, .given_population = -1,
                    .snapshot_every = 60, .results_every = 30};
  uint64_t value;
  int c, rc;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "o:n:p:qh", options, NULL)) != -1) {
    switch (c) {
      case 'o': a->out_dir = optarg; break;
      case 'd': a->device = optarg, a->device_given = true; break;
      case 'F': a->force = true; break;
      case 'r': a->resume = optarg; break;
      case 'b': a->tensorboard = optarg; break;
      case 'S':
        if ((rc = caviar_duration_option("sweep", "--snapshot-every", optarg, true, &a->snapshot_every)) != 0) return rc;
        break;
      case 'E':
        if ((rc = caviar_duration_option("sweep", "--results-every", optarg, true, &a->results_every)) != 0) return rc;
        break;
      case 't': a->tf32 = true; break;
      case 'D': a->data_dir = optarg; break;
      case 'q': a->quiet = true; break;
      case 'j': a->json = true; break;
      case 'R': a->dry_run = true; break;
      case 'm':
        if (strcmp(optarg, "grid") != 0 && strcmp(optarg, "random") != 0 && strcmp(optarg, "sobol") != 0 &&
            strcmp(optarg, "tpe") != 0 && strcmp(optarg, "bayes") != 0)
          return caviar_usage_error("sweep", "--method expects grid, random, sobol, tpe or bayes, got '%s'", optarg);
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
        a->keep_given = true;
        break;
      case 'B':
        if ((rc = caviar_duration_option("sweep", "--time-budget", optarg, false, &a->time_budget)) != 0) return rc;
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
  if (a->resume && a->out_dir && !caviar_same_file(a->resume, a->out_dir))
    return caviar_usage_error("sweep", "--resume %s and -o %s name different folders", a->resume, a->out_dir);
  if (a->resume && a->force) return caviar_usage_error("sweep", "--resume continues a sweep, --force replaces it: not both");
  if (!a->out_dir) a->out_dir = a->resume ? a->resume : "caviar-out";
  if (!a->dry_run && (rc = caviar_out_path_option("sweep", a->resume ? "--resume" : "-o", a->out_dir, true)) != 0)
    return rc;
  return 0;
}

static void print_estimate(const caviar_sweep_estimate *e, const char *device, bool json, bool culls, bool keep_best) {
  if (json) {
    printf("{\"trials\": %d, \"rounds\": %d, \"population\": %d, \"cohorts\": %d, \"model_epochs\": %.0f, "
           "\"arena_bytes\": %.0f, \"data_bytes\": %.0f, \"host_bytes\": %.0f, \"device\": \"%s\", "
           "\"seconds\": %.3f, \"calibration_seconds\": %.3f}\n",
           e->trials * e->rounds, e->rounds, e->population, e->n_cohorts, e->model_epochs, e->arena_bytes,
           e->data_bytes, e->host_bytes, device, e->seconds, e->calibration_s);
    return;
  }
  char eta[32];
  caviar_format_duration(e->seconds, eta, sizeof eta);
  printf("trials       %d%s\n", e->trials * e->rounds, e->rounds > 1 ? " (over all rounds)" : "");
  if (e->rounds > 1) printf("rounds       %d of %d trials\n", e->rounds, e->trials);
  printf("population   %d at once\n", e->population);
  printf("cohorts      %d (one per architecture: model, its layers and widths, batch size)\n", e->n_cohorts);
  printf("model-epochs %.0f planned%s\n", e->model_epochs, culls ? " (early termination's expected culls)" : "");
  printf("memory       %.1f MiB of arenas%s + %.1f MiB of data on %s\n", e->arena_bytes / 1048576.0,
         keep_best ? " (5 per cohort: model.keep best)" : "", e->data_bytes / 1048576.0, device);
  int trials = e->trials * e->rounds;
  printf("host memory  %.1f MiB for the trials' results, curves and outputs (about %.0f bytes a trial)\n",
         e->host_bytes / 1048576.0, trials > 0 ? e->host_bytes / trials : 0);
  printf("time         ~%s estimated (calibrated in %.1f s; training and judging only)\n", eta, e->calibration_s);
}

static int count_survivors(const caviar_sweep_result *r) {
  int n = 0;
  for (int i = 0; i < r->n_trials; i++) n += r->trials[i].status == CAVIAR_TRIAL_SURVIVED;
  return n;
}

/* ---- interrupting and resuming ---- */

static volatile sig_atomic_t stop_requested;
/* Ranks other than 0 stop as quietly as they run. */
static volatile sig_atomic_t stop_quietly;
/* What a second signal says before it ends the process. */
static char stop_hint[4400];
/* Whether a stop can wait for an epoch boundary: training has begun (the first progress report)
 * or, across ranks, always (a rank that leaves early leaves the launcher waiting). Before that
 * there is nothing to save, and the process may be stuck where no boundary comes (waiting for
 * memory): a stop ends it at once, with status 3. */
static volatile sig_atomic_t stop_can_wait;
static const char stop_early[] = "\ncaviar: stopped before training began: nothing to save\n";

static void on_stop_signal(int sig) {
  if (!stop_can_wait) {
    if (!stop_quietly) {
      ssize_t ignored = write(STDERR_FILENO, stop_early, sizeof stop_early - 1);
      (void)ignored;
    }
    _exit(EXIT_STOPPED);
  }
  if (stop_requested) {
    /* The second: at once, by the signal itself (the last good snapshot stays on disk). */
    if (!stop_quietly) {
      ssize_t ignored = write(STDERR_FILENO, stop_hint, strlen(stop_hint));
      (void)ignored;
    }
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  stop_requested = 1;
  if (stop_quietly) return;
  static const char msg[] = "\ncaviar: stopping at the end of this epoch to save a snapshot (again to stop at once)\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
}

static void install_stop_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  /* A closed terminal or ssh session: as SIGTERM, a snapshot first. */
  sigaction(SIGHUP, &sa, NULL);
  /* mpirun forwards SIGUSR1 to every rank (its own SIGINT becomes SIGTERM, then SIGKILL a second
   * later); Slurm's --signal=USR1@T asks ahead of a time limit. */
  sigaction(SIGUSR1, &sa, NULL);
}

/* Whether dir holds (part of) another sweep: results, state or plots. */
static const char *sweep_file_in(const char *dir) {
  static const char *const names[] = {"summary.json", "curves.csv", "best", CAVIAR_STATE_DIR};
  char path[4200];
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (access(path, F_OK) == 0) return names[i];
  }
  return NULL;
}

/* Pictures scripts/plot_sweep.py drew from an earlier sweep's results: they would describe other
 * results than the new ones. (report.html stays: it is rewritten with every write of the results,
 * so the old page goes when the old results do, and a sweep that fails before leaves both whole.) */
static void remove_stale_plots(const char *dir) {
  static const char *const names[] = {"curves.png",     "params.png",  "history.png", "parallel.png",
                                      "importance.png", "rounds.png", "lineage.png"};
  char path[4200];
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
}

/* The first place two JSON values differ, as "path: was X, now Y". */
static bool json_difference(const cJSON *a, const cJSON *b, const char *path, char *out, size_t size) {
  if (cJSON_Compare(a, b, true)) return false;
  char sub[1024];
  if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
    const cJSON *x;
    cJSON_ArrayForEach(x, a) {
      snprintf(sub, sizeof sub, "%.700s%s%.200s", path, *path ? "." : "", x->string);
      const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
      if (!y) {
        char *was = cJSON_PrintUnformatted(x);
        snprintf(out, size, "%.600s: was %.200s, now left out", sub, was ? was : "?");
        free(was);
        return true;
      }
      if (json_difference(x, y, sub, out, size)) return true;
    }
    cJSON_ArrayForEach(x, b) if (!cJSON_GetObjectItemCaseSensitive(a, x->string)) {
      snprintf(sub, sizeof sub, "%.700s%s%.200s", path, *path ? "." : "", x->string);
      char *now = cJSON_PrintUnformatted(x);
      snprintf(out, size, "%.600s: not there before, now %.200s", sub, now ? now : "?");
      free(now);
      return true;
    }
  }
  if (cJSON_IsArray(a) && cJSON_IsArray(b) && cJSON_GetArraySize(a) == cJSON_GetArraySize(b)) {
    for (int i = 0; i < cJSON_GetArraySize(a); i++) {
      snprintf(sub, sizeof sub, "%.900s[%d]", path, i);
      if (json_difference(cJSON_GetArrayItem(a, i), cJSON_GetArrayItem(b, i), sub, out, size)) return true;
    }
  }
  char *was = cJSON_PrintUnformatted(a), *now = cJSON_PrintUnformatted(b);
  snprintf(out, size, "%.600s: was %.200s, now %.200s", *path ? path : "(the whole spec)", was ? was : "?", now ? now : "?");
  free(was);
  free(now);
  return true;
}

/* --data as sweep.json keeps it: a folder or file path made absolute (with a CSV's ",key=value"
 * options after it), so a resume from another folder reads the same data; JSON as given. */
static void absolute_data(const char *arg, char *out, size_t size) {
  size_t len = strcspn(arg, ",");
  char path[PATH_MAX], real[PATH_MAX];
  snprintf(path, sizeof path, "%.*s", (int)(len < sizeof path ? len : sizeof path - 1), arg);
  if (arg[0] != '{' && realpath(path, real)) snprintf(out, size, "%s%s", real, arg + len);
  else snprintf(out, size, "%s", arg);
}

static const char *kind_name(const caviar_backend *be) { return be->kind == CAVIAR_BACKEND_CUDA ? "cuda" : "cpu"; }

/* What a sweep was started with, as sweep.json keeps it from its first moment: the spec (and its
 * folder, absolute, so a resume from elsewhere finds its relative data paths) and the flags. */
static cJSON *identity_base(const sweep_args *a, const caviar_spec *spec) {
  char spec_dir[PATH_MAX] = "", folder[PATH_MAX];
  if (a->spec_path) {
    snprintf(folder, sizeof folder, "%s", a->spec_path);
    char *slash = strrchr(folder, '/');
    if (slash) *slash = '\0';
    else strcpy(folder, ".");
    if (!realpath(folder, spec_dir)) spec_dir[0] = '\0';
  }
  cJSON *id = cJSON_CreateObject();
  cJSON_AddStringToObject(id, "spec_file", spec->source);
  if (a->spec_path) cJSON_AddStringToObject(id, "spec_dir", spec_dir);
  cJSON_AddStringToObject(id, "spec", spec->text);
  cJSON_AddNumberToObject(id, "seed", (double)a->seed);
  cJSON_AddBoolToObject(id, "seed_given", a->seed_given);
  cJSON_AddNumberToObject(id, "trials", (double)a->trials);
  cJSON_AddNumberToObject(id, "population", (double)a->population);
  cJSON_AddNumberToObject(id, "keep", (double)a->keep);
  if (a->method) cJSON_AddStringToObject(id, "method", a->method);
  if (a->data_dir) {
    char data[PATH_MAX + 512];
    absolute_data(a->data_dir, data, sizeof data);
    cJSON_AddStringToObject(id, "data", data);
  }
  if (a->tensorboard) {
    char where[PATH_MAX + 8];
    absolute_data(a->tensorboard, where, sizeof where);
    cJSON_AddStringToObject(id, "tensorboard", where);
  }
  return id;
}

/* The identity completed once the backend is open and the data loaded (id is changed): the
 * backend, its BLAS (a resume on another kernel is warned) and what identifies the data read ("data_read": a resume with other data is refused).
 * NULL when out of memory. */
static char *identity_complete(cJSON *id, const caviar_backend *backend, const caviar_data *data) {
  cJSON_DeleteItemFromObject(id, "backend");
  cJSON_DeleteItemFromObject(id, "blas");
  cJSON_DeleteItemFromObject(id, "data_read");
  cJSON_AddStringToObject(id, "backend", kind_name(backend));
  cJSON *blas = caviar_blas_json(&backend->blas);
  if (!blas) return NULL;
  cJSON_AddItemToObject(id, "blas", blas);
  char *read = caviar_data_identity(data);
  cJSON *parsed = read ? caviar_json_parse_text(read, strlen(read)) : NULL;
  free(read);
  if (!parsed) return NULL;
  cJSON_AddItemToObject(id, "data_read", parsed);
  return caviar_json_print_text(id, true);
}

/* --resume: the data loaded now must be what the sweep started with (sweep.json's data_read; a
 * folder written by an older caviar has none to compare). */
static caviar_status same_data(const sweep_args *a, const cJSON *identity, const caviar_data *data, caviar_error *err) {
  const cJSON *read = cJSON_GetObjectItemCaseSensitive(identity, "data_read");
  if (!read) return CAVIAR_OK;
  char *text = caviar_json_print_text(read, false), why[9000];
  if (!text) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory comparing the data");
  bool changed = caviar_data_changed(text, data, why, sizeof why);
  free(text);
  if (!changed) return CAVIAR_OK;
  return caviar_fail(err, CAVIAR_EINPUT,
                     "--resume %s: the data changed since the sweep started: %s; resuming would mix two data sets "
                     "(restore the data, or start a new sweep with --force)",
                     a->resume, why);
}

/* A distributed sweep's end: a failure on any rank ends every rank at once, with a message naming
 * the rank and host (never a rank left waiting for the others); otherwise every rank leaves
 * together. Rank 0 alone reports errors that every rank meets after the sweep. */
static int finish(caviar_world *world, caviar_status st, const caviar_error *err) {
  if (world && st != CAVIAR_OK) caviar_world_fail(world, (int)st, err->msg);
  caviar_world_close(world);
  return caviar_report(st, err);
}

/* finish() with what is kept said on the error's line (one line, whatever went wrong). */
static int finish_noting(caviar_world *world, caviar_status st, caviar_error *err, const char *note) {
  size_t used = strlen(err->msg);
  if (note[0] && used < sizeof err->msg) snprintf(err->msg + used, sizeof err->msg - used, "; %s", note);
  return finish(world, st, err);
}

/* A refusal of the flags or the folder: a usage error in one process; across ranks the job ends
 * at once (every rank would otherwise wait for the one that left). */
#define REFUSE(world, ...)                                                   \
  do {                                                                       \
    if (!(world)) return caviar_usage_error("sweep", __VA_ARGS__);           \
    caviar_error refused_;                                                   \
    return finish((world), caviar_fail(&refused_, CAVIAR_EINPUT, __VA_ARGS__), &refused_); \
  } while (0)

/* --resume: the stored sweep's flags and spec; a flag or SPEC given must agree with them. */
static int resume_args(sweep_args *a, caviar_world *world, cJSON *id, char *stored_dir, size_t dir_size) {
  const char *dir = a->resume;
  const cJSON *seed = cJSON_GetObjectItem(id, "seed"), *trials = cJSON_GetObjectItem(id, "trials"),
              *population = cJSON_GetObjectItem(id, "population"), *keep = cJSON_GetObjectItem(id, "keep"),
              *method = cJSON_GetObjectItem(id, "method"), *data = cJSON_GetObjectItem(id, "data"),
              *seed_given = cJSON_GetObjectItem(id, "seed_given"), *spec_dir = cJSON_GetObjectItem(id, "spec_dir");
  if (!cJSON_IsNumber(seed) || !cJSON_IsNumber(trials) || !cJSON_IsNumber(population) || !cJSON_IsNumber(keep) ||
      !cJSON_IsString(cJSON_GetObjectItem(id, "spec")) || !cJSON_IsString(cJSON_GetObjectItem(id, "spec_file")))
    REFUSE(world, "%s/%s/sweep.json: damaged (expected spec, spec_file, seed, trials, population, keep)", dir,
           CAVIAR_STATE_DIR);
  /* A flag given must say what the sweep started with; -1 stored means the spec's value, checked
   * once the spec is read (check_spec_flags). */
#define SAME_NUMBER(given, field, value, flag)                                                                 \
  if (given && (value)->valuedouble >= 0 && (double)(field) != (value)->valuedouble)                          \
    REFUSE(world, "--resume %s: %s %.17g differs from the sweep's %.17g (leave it out to resume)", dir, flag, \
           (double)(field), (value)->valuedouble);                                                            \
  field = (value)->valuedouble;
  if (a->seed_given && (double)a->seed != seed->valuedouble)
    REFUSE(world, "--resume %s: --seed %llu differs from the sweep's %.17g (leave it out to resume)", dir,
           (unsigned long long)a->seed, seed->valuedouble);
  a->seed_given = cJSON_IsTrue(seed_given);
  a->seed = (uint64_t)seed->valuedouble;
  a->given_trials = a->trials;
  a->given_population = a->population;
  a->given_method = a->method;
  SAME_NUMBER(a->trials >= 0, a->trials, trials, "-n")
  SAME_NUMBER(a->population >= 0, a->population, population, "--population")
  SAME_NUMBER(a->keep_given, a->keep, keep, "--keep")
#undef SAME_NUMBER
  const char *m = cJSON_IsString(method) ? method->valuestring : NULL;
  if (a->method && m && strcmp(a->method, m) != 0)
    REFUSE(world, "--resume %s: --method %s differs from the sweep's %s (leave it out to resume)", dir, a->method, m);
  if (m) a->given_method = NULL;
  a->method = m;
  const char *d = cJSON_IsString(data) ? data->valuestring : NULL;
  if (a->data_dir) {
    char given[PATH_MAX + 512];
    absolute_data(a->data_dir, given, sizeof given);
    if (!d || strcmp(given, d) != 0)
      REFUSE(world, "--resume %s: --data %s differs from the sweep's %s (leave it out to resume)", dir, given,
             d ? d : "(the spec's data section)");
  }
  a->data_dir = d;
  const cJSON *tensorboard = cJSON_GetObjectItem(id, "tensorboard");
  if (!a->tensorboard && cJSON_IsString(tensorboard)) {
    snprintf(a->tensorboard_kept, sizeof a->tensorboard_kept, "%s", tensorboard->valuestring);
    a->tensorboard = a->tensorboard_kept;
  }
  snprintf(stored_dir, dir_size, "%s", cJSON_IsString(spec_dir) ? spec_dir->valuestring : "");
  return 0;
}

/* --resume: -n, --population and --method given where the sweep took the spec's: they must be what
 * the spec says. */
static int check_spec_flags(const sweep_args *a, caviar_world *world, const caviar_spec *spec) {
  if (a->given_trials >= 0 && a->trials < 0 && a->given_trials != spec->trials)
    REFUSE(world, "--resume %s: -n %lld differs from the sweep's %lld (the spec's; leave it out to resume)", a->resume,
           a->given_trials, spec->trials);
  if (a->given_population >= 0 && a->population < 0 && a->given_population != spec->population)
    REFUSE(world, "--resume %s: --population %lld differs from the sweep's %lld (the spec's; leave it out to resume)",
           a->resume, a->given_population, spec->population);
  if (a->given_method && strcmp(a->given_method, caviar_spec_method(spec)) != 0)
    REFUSE(world, "--resume %s: --method %s differs from the sweep's %s (the spec's; leave it out to resume)",
           a->resume, a->given_method, caviar_spec_method(spec));
  return 0;
}

/* The spec to resume with: the stored text, or SPEC when given, which must say the same. */
static caviar_status resume_spec(const sweep_args *a, const cJSON *id, const char *stored_dir, caviar_spec *spec,
                                 caviar_error *err) {
  const char *text = cJSON_GetObjectItem(id, "spec")->valuestring, *source = cJSON_GetObjectItem(id, "spec_file")->valuestring;
  if (!a->spec_path && strcmp(source, "default spec") == 0) return caviar_spec_load_default(spec, err);
  if (!a->spec_path) return caviar_spec_parse(text, strlen(text), source, *stored_dir ? stored_dir : NULL, spec, err);
  caviar_status st = caviar_load_spec_arg(a->spec_path, spec, err);
  if (st != CAVIAR_OK) return st;
  caviar_spec stored = {.source = (char *)source, .text = (char *)text, .yaml = caviar_spec_is_yaml(source, text, strlen(text))};
  cJSON *was = caviar_spec_tree(&stored), *now = caviar_spec_tree(spec);
  char diff[1024];
  if (was && now && json_difference(was, now, "", diff, sizeof diff))
    st = caviar_fail(err, CAVIAR_EINPUT,
                     "%s: differs from the spec the sweep in %s started with, at %s; resume without SPEC, or start a new "
                     "sweep",
                     a->spec_path, a->resume, diff);
  cJSON_Delete(was);
  cJSON_Delete(now);
  if (st != CAVIAR_OK) caviar_spec_free(spec);
  return st;
}

/* Progress lines; the first says training has begun, so a stop waits for the epoch boundary. */
/* From here a stop waits for the epoch boundary: there is something to save. */
static void training_begins(void *ctx) {
  (void)ctx;
  stop_can_wait = 1;
}

typedef struct results_ctx {
  const char *dir;
  const caviar_report_info *info;
  double reload_s;   /* the live page's reload interval */
  double page_s;     /* seconds spent drawing report.html */
  caviar_tensorboard *tensorboard;
  bool written;      /* this run wrote results */
  bool page_written; /* this run wrote report.html */
  bool quiet, warned;
} results_ctx;

/* DIR/report.html from the results just written; live: the sweep still runs (the page reloads
 * itself), else state says how it ended. */
static caviar_status write_page(results_ctx *rc, bool running, const char *state, const cJSON *summary,
                                caviar_error *err) {
  double t0 = caviar_now();
  char path[4200];
  snprintf(path, sizeof path, "%s/report.html", rc->dir);
  caviar_page_live live = {.running = running, .reload_s = rc->reload_s > 5 ? (int)rc->reload_s : 5, .state = state};
  /* summary: summary.json's tree as just written (NULL: read it back). */
  caviar_status st = summary ? caviar_report_html_of(rc->dir, summary, path, &live, NULL, err)
                             : caviar_report_html(rc->dir, path, &live, NULL, err);
  rc->page_s += caviar_now() - t0;
  /* New results are in place: a page left from before them (another sweep's) must not stay. */
  if (st == CAVIAR_OK) rc->page_written = true;
  else if (!rc->page_written) unlink(path);
  return st;
}

/* The results so far (summary.json says "finished": false) and their page. A failed write (a full
 * disk) costs the sweep nothing: training goes on, the journal and snapshots keep the record, and
 * the write is tried again at the next rung and at the end (which reports its own failure); said
 * once, unless quiet. */
static caviar_status write_results_so_far(const caviar_sweep_result *r, void *ctx, caviar_error *err) {
  results_ctx *rc = ctx;
  caviar_report_info so_far = *rc->info;
  so_far.finished = false;
  caviar_error failed;
  cJSON *summary;
  caviar_status st = caviar_report_write_tree(rc->dir, &so_far, r, NULL, &summary, &failed);
  if (st == CAVIAR_OK) {
    rc->written = true;
    st = write_page(rc, true, NULL, summary, &failed);
  }
  cJSON_Delete(summary);
  if (st != CAVIAR_OK && !rc->warned && !rc->quiet) {
    fprintf(stderr, "\ncaviar: warning: %s; training goes on, and the results are written again at the next rung and "
                    "at the end\n", failed.msg);
    rc->warned = true;
  }
  (void)err;
  return CAVIAR_OK;
}

static caviar_status write_tensorboard(const caviar_sweep_result *r, void *ctx, caviar_error *err) {
  results_ctx *rc = ctx;
  return caviar_tensorboard_update(rc->tensorboard, r, false, err);
}

static int sweep(sweep_args *a, caviar_world *world);

/* Rank 0's text (malloc'd) to every rank. */
static caviar_status share_text(caviar_world *world, char **text, caviar_error *err) {
  if (!world) return CAVIAR_OK;
  uint64_t len = *text ? strlen(*text) : 0;
  caviar_status st = caviar_world_broadcast(world, &len, sizeof len, err);
  if (st != CAVIAR_OK) return st;
  if (world->rank != 0) {
    *text = caviar_alloc((size_t)len + 1, 1, "the sweep's identity", err);
    if (!*text) return CAVIAR_ERUNTIME;
  }
  st = caviar_world_broadcast(world, *text, (size_t)len, err);
  (*text)[len] = '\0';
  return st;
}

int caviar_cmd_sweep(int argc, char **argv) {
  sweep_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  /* A closed stdout or stderr (| head, | true) fails writes with EPIPE instead of killing the run. */
  signal(SIGPIPE, SIG_IGN);
  /* From the start: a stop asked while the data loads (or MPI starts) is kept for the first epoch
   * boundary, not the signal's default death (which can leave mpirun waiting). */
  if (!a.dry_run) {
    stop_quietly = caviar_launcher_rank() > 0;
    stop_can_wait = caviar_world_launched();
    snprintf(stop_hint, sizeof stop_hint, "caviar: stopped at once; the last snapshot, if any, stays in %s/%s\n",
             a.out_dir, CAVIAR_STATE_DIR);
    install_stop_handlers();
  }
  /* Under mpirun or srun, this process is one rank of the sweep (host/dist/world_mpi.c). */
  caviar_world *world = NULL;
  caviar_error err;
  caviar_status st = caviar_world_open(&world, &err);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  if (world && world->rank > 0) a.quiet = true;
  /* A dry run estimates on rank 0 alone; the other ranks have nothing to do. */
  if (world && a.dry_run && world->rank > 0) return finish(world, CAVIAR_OK, &err);
  /* One writer per folder: rank 0 holds it from here to the end, before anything is loaded or
   * written; a second sweep or resume into it is refused at once. A dry run writes nothing. */
  caviar_writer_lock lock;
  caviar_lock_init(&lock);
  if (!a.dry_run && !a.resume && caviar_world_rank(world) == 0) {
    /* A spec sweep cannot run is refused before its output folder is made. */
    caviar_spec spec;
    st = caviar_load_spec_arg(a.spec_path, &spec, &err);
    if (st == CAVIAR_OK) {
      st = caviar_spec_require_own(&spec, "sweep", &err);
      caviar_spec_free(&spec);
    }
    if (st != CAVIAR_OK) return finish(world, st, &err);
  }
  /* -o runs/a makes runs/ too, as mkdir -p would (rank 0 writes; a dry run writes nothing). */
  if (!a.dry_run && caviar_world_rank(world) == 0 && (st = caviar_make_parents(a.out_dir, &err)) != CAVIAR_OK)
    return finish(world, st, &err);
  if (!a.dry_run && caviar_world_rank(world) == 0) {
    st = caviar_lock_folder(a.out_dir,
                            a.resume ? "wait for it to end (the sweep there is running, or being resumed already)"
                                     : "wait for it to end, or choose another -o",
                            &lock, &err);
    if (st != CAVIAR_OK) return finish(world, st, &err);
    caviar_fault_point("locked");
  }
  rc = sweep(&a, world);
  caviar_unlock(&lock);
  return rc;
}

/* Loads (or, resuming, restores) the spec and applies the flags to it; a non-zero return is the
 * exit status of a refusal. */
static int sweep_spec(sweep_args *a, caviar_world *world, bool root, caviar_spec *spec, cJSON **identity) {
  caviar_error err;
  caviar_status st;
  *identity = NULL;
  if (a->resume) {
    /* Rank 0 reads the folder; every rank resumes the same sweep. A sweep killed before its first
     * write left nothing there: given SPEC, it starts (an empty text says so). */
    char *text = NULL;
    bool never_began = root && a->spec_path && !sweep_file_in(a->resume);
    st = !root || never_began ? CAVIAR_OK : caviar_state_read_identity(a->resume, &text, &err);
    if (never_began && !(text = strdup(""))) st = caviar_fail(&err, CAVIAR_ERUNTIME, "out of memory");
    if (st == CAVIAR_OK) st = share_text(world, &text, &err);
    if (st != CAVIAR_OK) return finish(world, st, &err);
    if (!text[0]) {
      free(text);
      if (root && !a->quiet)
        fprintf(stderr, "caviar: %s holds no sweep yet (stopped before it wrote anything): starting %s there\n",
                a->resume, a->spec_path);
      a->resume = NULL;
      return sweep_spec(a, world, root, spec, identity);
    }
    *identity = caviar_json_parse_text(text, strlen(text));
    free(text);
    if (!*identity) REFUSE(world, "%s/%s/sweep.json: damaged (not JSON)", a->resume, CAVIAR_STATE_DIR);
    char stored_dir[4096];
    int rc = resume_args(a, world, *identity, stored_dir, sizeof stored_dir);
    if (rc == 0) {
      st = resume_spec(a, *identity, stored_dir, spec, &err);
      if (st != CAVIAR_OK) rc = finish(world, st, &err);
      else if ((rc = check_spec_flags(a, world, spec)) != 0) caviar_spec_free(spec);
    }
    if (rc) {
      cJSON_Delete(*identity);
      *identity = NULL;
    }
    return rc;
  }
  st = caviar_load_spec_arg(a->spec_path, spec, &err);
  if (st == CAVIAR_OK && (st = caviar_spec_require_own(spec, "sweep", &err)) != CAVIAR_OK) caviar_spec_free(spec);
  if (st != CAVIAR_OK) return finish(world, st, &err);
  if (root) caviar_print_spec_notes(spec, a->trials);
  /* Rank 0 writes the folder, so it alone looks at what is there. */
  const char *held = a->dry_run || !root ? NULL : sweep_file_in(a->out_dir);
  if (held && !a->force) {
    caviar_spec_free(spec);
    REFUSE(world, "%s holds another sweep (%s): pass --force to replace it, --resume %s to continue it, or choose another -o",
           a->out_dir, held, a->out_dir);
  }
  return 0;
}

/* The flags that change the spec: checked and applied (every rank meets the same refusals). */
static int apply_flags(const sweep_args *a, caviar_world *world, caviar_spec *spec) {
  if (a->population > 0 && spec->early_terminate.type == CAVIAR_STOP_PBT)
    REFUSE(world, "--population: pbt trains the whole population together (the spec's trials)");
  if (a->population >= 0) spec->population = a->population;
  if (a->method) {
    if (spec->method == CAVIAR_METHOD_COARSE_TO_FINE || spec->rounds > 1)
      REFUSE(world, "--method cannot replace coarse-to-fine (its rounds have their own keys)");
    bool model = strcmp(a->method, "tpe") == 0 || strcmp(a->method, "bayes") == 0;
    if (model && spec->early_terminate.type == CAVIAR_STOP_PBT)
      REFUSE(world, "--method %s cannot run with pbt (pbt explores by itself)", a->method);
    /* The grid is built, and a continuous parameter without grid_points refused, by the sampler. */
    if (!caviar_spec_use_method(spec, a->method)) REFUSE(world, "out of memory setting --method %s", a->method);
    /* A grid's trials default to all its points; any other method's to the usual count. */
    if (!spec->trials_given) spec->trials = spec->method == CAVIAR_METHOD_GRID ? CAVIAR_MAX_TRIALS : CAVIAR_DEFAULT_TRIALS;
  }
  /* The search as the flags left it, checked before any data loads: a grid a continuous parameter
   * cannot be put on, or fewer grid points than -n, is refused at once, naming the parameter. */
  caviar_sampler sampler;
  caviar_error why;
  long long count = a->trials;
  if (spec->early_terminate.type == CAVIAR_STOP_HYPERBAND) {
    caviar_brackets hb;
    caviar_brackets_make(&spec->early_terminate, 0, &hb);
    count = caviar_brackets_trials(&hb);
  }
  caviar_status st = caviar_sampler_init(&sampler, spec, a->seed, count, &why);
  caviar_sampler_free(&sampler);
  if (st != CAVIAR_OK) return finish(world, st, &why);
  return 0;
}

/* Every rank must run the same sweep: the same spec, seed and flags, and the same data (an MPMD
 * launch with other arguments, or hosts whose copies of the data differ, would otherwise hang or
 * train something else). An error on every rank, naming the first that differs. */
static caviar_status same_sweep(caviar_world *world, const sweep_args *a, const caviar_spec *spec, uint64_t seed,
                                const caviar_data *data, caviar_error *err) {
  if (!world) return CAVIAR_OK;
  long long flags[4] = {(long long)seed, a->trials, a->population, a->keep};
  uLong crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)spec->text, (uInt)strlen(spec->text));
  crc = crc32(crc, (const Bytef *)flags, sizeof flags);
  if (a->method) crc = crc32(crc, (const Bytef *)a->method, (uInt)strlen(a->method));
  uint32_t mine[2] = {(uint32_t)crc, caviar_data_fingerprint(data)};
  size_t *counts = caviar_alloc((size_t)world->size, sizeof *counts, "the ranks' check", err);
  void *all = NULL;
  caviar_status st = counts ? caviar_world_allgather(world, mine, sizeof mine, &all, counts, err) : CAVIAR_ERUNTIME;
  const uint32_t *got = all;
  for (int r = 1; st == CAVIAR_OK && r < world->size; r++) {
    if (got[2 * r] != got[0])
      st = caviar_fail(err, CAVIAR_EINPUT,
                       "rank %d runs another sweep than rank 0 (its spec, --seed or flags differ): start every rank with "
                       "the same command",
                       r);
    else if (got[2 * r + 1] != got[1])
      st = caviar_fail(err, CAVIAR_EINPUT,
                       "rank %d loaded other data than rank 0 (%s has other contents there): every rank must read the "
                       "same data",
                       r, data->train_name);
  }
  free(all);
  free(counts);
  if (st != CAVIAR_OK && world->rank > 0) {
    /* Every rank reached this verdict: rank 0 prints it and ends the job, which ends this wait. */
    unsigned char never = 0;
    caviar_world_broadcast(world, &never, 1, err);
  }
  return st;
}

/* A fresh sweep's first write, before its data loads: the state folder with sweep.json as far as
 * it is known (the spec and the flags), so a kill from here on leaves a sweep that --resume starts
 * over. */
static caviar_status prepare_state(const sweep_args *a, const caviar_spec *spec, caviar_error *err) {
  cJSON *id = identity_base(a, spec);
  char *text = id ? caviar_json_print_text(id, true) : NULL;
  cJSON_Delete(id);
  caviar_status st = text ? caviar_state_prepare(a->out_dir, text, err)
                          : caviar_fail(err, CAVIAR_ERUNTIME, "out of memory describing the sweep");
  free(text);
  return st;
}

/* Rank 0's state: a fresh one with the whole identity (stale plots go), or the one resumed, whose
 * sweep.json is completed first when the sweep was killed before its data loaded. */
static caviar_status open_own_state(const sweep_args *a, const caviar_spec *spec, const caviar_backend *backend,
                                    const caviar_data *data, cJSON *stored, caviar_sweep_state **state, char *note,
                                    size_t note_size, caviar_error *err) {
  cJSON *id = a->resume ? stored : identity_base(a, spec);
  bool complete = a->resume && cJSON_GetObjectItemCaseSensitive(stored, "data_read");
  char *text = complete || !id ? NULL : identity_complete(id, backend, data);
  caviar_status st = complete || text ? CAVIAR_OK : caviar_fail(err, CAVIAR_ERUNTIME, "out of memory describing the sweep");
  if (!a->resume) cJSON_Delete(id);
  if (st == CAVIAR_OK && a->resume) {
    if (text) st = caviar_state_complete(a->out_dir, text, err);
    if (st == CAVIAR_OK) st = caviar_state_resume(a->out_dir, a->snapshot_every, state, note, note_size, err);
  } else if (st == CAVIAR_OK) {
    st = caviar_state_create(a->out_dir, text, a->snapshot_every, state, err);
    if (st == CAVIAR_OK) remove_stale_plots(a->out_dir);
  }
  free(text);
  return st;
}

/* The sweep's state on disk: a new journal (the output folder's stale plots go), or the one a
 * resumed sweep continues. Across ranks rank 0 opens it and the others follow (they write nothing;
 * a resume's snapshot reaches them from rank 0). */
static caviar_status open_state(const sweep_args *a, const caviar_spec *spec, const caviar_backend *backend,
                                const caviar_data *data, cJSON *stored, caviar_world *world, caviar_sweep_state **state,
                                char *note, size_t note_size, caviar_error *err) {
  caviar_status st = caviar_world_rank(world) > 0
                         ? caviar_state_follow(a->out_dir, state, err)
                         : open_own_state(a, spec, backend, data, stored, state, note, note_size, err);
  if (st == CAVIAR_OK) st = caviar_state_share(world, *state, err);
  return st;
}

/* --resume on another BLAS kernel than the sweep started on: the GEMMs round differently, so the
 * rest of the sweep (which trial survives, even) may differ from an uninterrupted run. */
static void other_kernel_warning(const cJSON *identity, const caviar_blas_info *now) {
  const cJSON *blas = cJSON_GetObjectItem(identity, "blas");
  const cJSON *library = cJSON_GetObjectItem(blas, "library"), *version = cJSON_GetObjectItem(blas, "version"),
              *kernel = cJSON_GetObjectItem(blas, "kernel");
  if (!cJSON_IsString(library) || !cJSON_IsString(version)) return; /* an older caviar's, or a kill before it */
  const char *was_kernel = cJSON_IsString(kernel) ? kernel->valuestring : "";
  if (!strcmp(library->valuestring, now->library) && !strcmp(version->valuestring, now->version) &&
      !strcmp(was_kernel, now->kernel))
    return;
  char hint[96] = "";
  if (*was_kernel) snprintf(hint, sizeof hint, " (--blas-kernel %s pins it)", was_kernel);
  fprintf(stderr,
          "caviar: warning: the sweep started on %s %s%s%s and resumes on %s %s%s%s: its numbers from here may differ "
          "from an uninterrupted run's%s\n",
          library->valuestring, version->valuestring, *was_kernel ? ", kernel " : "", was_kernel, now->library,
          now->version, now->kernel[0] ? ", kernel " : "", now->kernel, hint);
}

static int sweep(sweep_args *a, caviar_world *world) {
  bool root = caviar_world_rank(world) == 0;
  caviar_spec spec;
  cJSON *identity;
  int rc = sweep_spec(a, world, root, &spec, &identity);
  if (rc) return rc;
  if (!a->seed_given) a->seed = spec.seed;
  uint64_t seed = a->seed;
  rc = apply_flags(a, world, &spec);
  caviar_error err;
  caviar_status st = CAVIAR_OK;
  if (rc == 0 && a->data_dir && (st = caviar_data_arg(&spec.data, a->data_dir, false, &err)) != CAVIAR_OK)
    rc = finish(world, st, &err);
  if (rc) {
    caviar_spec_free(&spec);
    cJSON_Delete(identity);
    return rc;
  }
  caviar_backend *backend = NULL;
  const char *device = NULL;
  caviar_data data;
  bool data_loaded = false;
  caviar_sweep_state *state = NULL;
  /* The output folder is checked before the first epoch, not after the last (by rank 0, which
   * writes it). Each rank trains on its own GPU: its rank on the host, modulo the GPUs there. */
  caviar_backend_options options = {.tf32 = a->tf32, .device = world ? caviar_local_gpu(world->local_rank) : 0};
  st = root && !a->dry_run ? caviar_report_prepare(a->out_dir, &err) : CAVIAR_OK;
  /* Rank 0's first write: from here a kill leaves a sweep --resume can start over. */
  bool prepared = false;
  if (st == CAVIAR_OK && root && !a->dry_run && !a->resume) {
    st = prepare_state(a, &spec, &err);
    prepared = st == CAVIAR_OK;
  }
  if (st == CAVIAR_OK) st = caviar_open_backend_with(a->device, &options, &backend, &device, &err);
  if (st == CAVIAR_OK && identity && root) other_kernel_warning(identity, &backend->blas);
  if (st == CAVIAR_OK && identity) {
    const cJSON *kind = cJSON_GetObjectItem(identity, "backend");
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, kind_name(backend)) != 0)
      st = caviar_fail(&err, CAVIAR_EINPUT,
                       "--resume %s: the sweep started on the %s backend, this run would train on %s (pass --device %s)",
                       a->resume, kind->valuestring, kind_name(backend), kind->valuestring);
  }
  if (st == CAVIAR_OK) {
    st = caviar_data_load(&spec.data, seed, &data, &err);
    data_loaded = st == CAVIAR_OK;
    if (data_loaded && !a->dry_run) caviar_fault_point("loaded");
  }
  if (st == CAVIAR_OK && root) {
    char warning[1024];
    caviar_labels_look_real(&data, warning, sizeof warning);
    if (warning[0]) fprintf(stderr, "caviar: warning: %s\n", warning);
  }
  if (st == CAVIAR_OK && !a->dry_run) st = same_sweep(world, a, &spec, seed, &data, &err);
  char note[2600] = "";
  if (st == CAVIAR_OK && identity) st = same_data(a, identity, &data, &err);
  /* TensorBoard's files: the flag's folder, else the spec's (rank 0 writes them). */
  caviar_tensorboard *tensorboard = NULL;
  const char *tb_dir = a->tensorboard ? a->tensorboard : spec.tensorboard;
  if (st == CAVIAR_OK && !a->dry_run && root && tb_dir)
    st = caviar_tensorboard_open(tb_dir, &spec, a->resume != NULL, a->force, &tensorboard, &err);
  if (st == CAVIAR_OK && !a->dry_run)
    st = open_state(a, &spec, backend, &data, identity, world, &state, note, sizeof note, &err);
  cJSON_Delete(identity);
  if (st != CAVIAR_OK) {
    /* A start that failed before training leaves no state behind (a kill would have). */
    if (prepared) caviar_state_remove(a->out_dir);
    caviar_tensorboard_close(tensorboard);
    if (data_loaded) caviar_data_free(&data);
    if (backend) backend->destroy(backend);
    caviar_spec_free(&spec);
    return finish(world, st, &err);
  }
  if (world) snprintf(world->device, sizeof world->device, "%s", device);
  if (note[0]) fprintf(stderr, "caviar: %s\n", note);
  if (!a->quiet)
    fprintf(stderr, "caviar: %s: %zu training, %zu validation, %zu test examples, %d classes; training on %s\n",
            data.train_name, data.split.n_train, data.split.n_val, data.test.n, data.classes, device);
  if (caviar_state_resuming(state) && !a->quiet) fprintf(stderr, "caviar: resuming the sweep in %s\n", a->out_dir);
  caviar_progress_printer printer;
  caviar_progress_printer_init(&printer, a->quiet);
  caviar_report_info info = {.spec = &spec, .seed = seed, .device = device, .blas = &backend->blas, .data = &data,
                             .keep_models = (int)(a->keep > 1000000 ? 1000000 : a->keep), .finished = false};
  results_ctx rctx = {.dir = a->out_dir, .info = &info, .reload_s = a->results_every, .tensorboard = tensorboard,
                      .quiet = a->quiet};
  /* Rank 0 writes the results (every survivor's weights reach it when the survivor finishes); a
   * stop signal to any rank stops every rank at the same epoch boundary. */
  caviar_sweep sweep = {.spec = &spec,
                        .seed = seed,
                        .trials = a->trials,
                        .backend = backend,
                        .data = &data,
                        .progress = root && !a->quiet ? caviar_print_progress : NULL,
                        .progress_ctx = root ? &printer : NULL,
                        .training_begins = root ? training_begins : NULL,
                        .world = a->dry_run ? NULL : world,
                        .results = root ? write_results_so_far : NULL,
                        .results_ctx = &rctx,
                        .results_every = a->results_every,
                        .each_epoch = tensorboard ? write_tensorboard : NULL,
                        .each_epoch_ctx = &rctx,
                        .state = state,
                        .stop = &stop_requested};
  if (a->dry_run) {
    caviar_tensorboard_close(tensorboard);
    caviar_sweep_estimate estimate;
    st = caviar_sweep_estimate_run(&sweep, &estimate, &err);
    if (st == CAVIAR_OK) print_estimate(&estimate, device, a->json, spec.early_terminate.type != CAVIAR_STOP_NONE,
                                       spec.keep == CAVIAR_KEEP_BEST);
    caviar_data_free(&data);
    backend->destroy(backend);
    caviar_spec_free(&spec);
    return finish(world, st, &err);
  }
  caviar_sweep_result result;
  st = caviar_sweep_run_within(&sweep, a->time_budget, &result, &err);
  caviar_progress_printer_end(&printer);
  if (st == CAVIAR_OK && tensorboard) st = caviar_tensorboard_update(tensorboard, &result, true, &err);
  if (st == CAVIAR_OK && !root) {
    /* Rank 0 reports and writes; an error every rank meets from here (every trial diverged) is
     * its to print, and the exit status everyone's. */
    bool all_diverged = count_survivors(&result) == 0 && !result.out_of_time && !result.reached_target && !result.interrupted;
    int rc = result.interrupted ? EXIT_STOPPED : all_diverged ? CAVIAR_ERUNTIME : 0;
    caviar_sweep_result_free(&result);
    caviar_state_close(state, false);
    caviar_data_free(&data);
    backend->destroy(backend);
    caviar_spec_free(&spec);
    caviar_world_close(world);
    return rc;
  }
  int exit_rc = 0;
  bool finished = false; /* the final results are in place */
  /* summary.json's tree, freed last: freeing its million small nodes leaves glibc's fast bins full,
   * and the next large allocation (the state folder's opendir) would first sort them all back into
   * free memory (0.1 s at 100,000 trials); nothing large is allocated after the end. */
  cJSON *summary = NULL;
  if (st == CAVIAR_OK) {
    info.finished = !result.interrupted;
    /* The leaderboard first, so a full disk at the write below still shows what the sweep found
     * (SIGPIPE is ignored: a reader that went away, | head, costs nothing). */
    if (a->json) {
      char *text = caviar_leaderboard_json(&info, &result);
      if (text) puts(text);
      free(text);
    } else {
      caviar_leaderboard_print(stdout, &spec, &result, 20, caviar_stdout_width());
    }
    fflush(stdout);
    caviar_fault_point("final");
    bool kept_aside;
    st = caviar_report_write_tree(a->out_dir, &info, &result, &kept_aside, &summary, &err);
    /* Results kept whole beside the folder (the error says where) are finished results too. */
    finished = (st == CAVIAR_OK || kept_aside) && !result.interrupted;
    if (st == CAVIAR_OK)
      st = write_page(&rctx, false,
                      result.interrupted    ? "stopped (caviar sweep --resume continues it)"
                      : result.out_of_time ? "over: its time budget stopped it"
                                           : "finished",
                      summary, &err);
    int survivors = count_survivors(&result), saved = caviar_report_saved_count(&info, &result);
    if (st == CAVIAR_OK && result.interrupted) {
      fprintf(stderr,
              "caviar: stopped; the snapshot is in %s/%s and the results so far in %s\n"
              "caviar: resume with: %scaviar sweep --resume %s%s\n",
              a->out_dir, CAVIAR_STATE_DIR, a->out_dir, world ? "mpirun -np K " : "", a->out_dir,
              world ? " (any number of ranks K, or one process without mpirun)" : "");
      exit_rc = EXIT_STOPPED;
    }
    if (st == CAVIAR_OK && result.out_of_time)
      fprintf(stderr, "caviar: the time budget (%.3g s) stopped the sweep: %d trial(s) finished, the rest are listed as running\n",
              a->time_budget, survivors);
    if (st == CAVIAR_OK && result.reached_target)
      fprintf(stderr, "caviar: a trial reached metric.target (%s %s %g), which stopped the sweep: %d trial(s) finished, the rest are listed as running\n",
              caviar_metric_text(spec.metric.name), spec.metric.maximize ? ">=" : "<=", spec.metric.target, survivors);
    if (st == CAVIAR_OK && !a->quiet && !result.interrupted)
      fprintf(stderr, "caviar: wrote %s/summary.json, %s/curves.csv, %s/report.html and %d model(s) in %s/best/ (%.1f s)\n",
              a->out_dir, a->out_dir, a->out_dir, saved, a->out_dir, result.wall_seconds);
    if (st == CAVIAR_OK && !a->quiet && tensorboard)
      fprintf(stderr, "caviar: TensorBoard event files in %s (tensorboard --logdir %s; %.2f s writing them)\n", tb_dir,
              tb_dir, caviar_tensorboard_seconds(tensorboard));
    if (st == CAVIAR_OK && !a->quiet)
      fprintf(stderr, "caviar: report.html took %.2f s to draw in all\n", rctx.page_s);
    if (st == CAVIAR_OK && survivors == 0 && !result.out_of_time && !result.reached_target && !result.interrupted)
      st = caviar_fail(&err, CAVIAR_ERUNTIME,
                       "every trial diverged (NaN or Inf loss): lower learning_rate's range in the spec");
    caviar_sweep_result_free(&result);
  }
  if (!a->quiet && caviar_state_snapshots(state) > 0)
    fprintf(stderr, "caviar: %d snapshot(s) of the sweep's state took %.2f s\n", caviar_state_snapshots(state),
            caviar_state_seconds(state));
  /* The state stays until the final results are in place: a stop, or a failure after an epoch
   * (its snapshot resumes; without one, the journal still holds every epoch's metrics). */
  bool has_snapshot = caviar_state_has_snapshot(state);
  if (!finished) caviar_state_write_journal(state);
  bool keep = !finished && (has_snapshot || caviar_state_has_journal(state));
  caviar_state_close(state, !keep);
  char kept[9000] = "";
  if (keep && st != CAVIAR_OK && root) {
    if (has_snapshot)
      snprintf(kept, sizeof kept, "the last snapshot is kept in %s/%s: caviar sweep --resume %s continues from it",
               a->out_dir, CAVIAR_STATE_DIR, a->out_dir);
    else
      snprintf(kept, sizeof kept,
               "the journal of every epoch so far is kept in %s/%s/journal.jsonl; no snapshot was written yet, so "
               "caviar sweep --resume %s starts the sweep over",
               a->out_dir, CAVIAR_STATE_DIR, a->out_dir);
  }
  /* A page left saying "running" would reload forever: it says the sweep stopped. */
  if (st != CAVIAR_OK && rctx.written) {
    caviar_error ignored;
    write_page(&rctx, false, "stopped by an error", NULL, &ignored);
  }
  caviar_tensorboard_close(tensorboard);
  caviar_data_free(&data);
  backend->destroy(backend);
  caviar_spec_free(&spec);
  cJSON_Delete(summary);
  if (st != CAVIAR_OK) return finish_noting(world, st, &err, kept);
  caviar_world_close(world);
  return exit_rc;
}
