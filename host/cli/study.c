/* A study from the command line (include/caviar/study.h): caviar study init|status, caviar ask,
 * caviar report DIR ID, caviar tell, and caviar report DIR's results on a study. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caviar/report.h"
#include "caviar/study.h"
#include "cli.h"

/* Exit statuses of ask, report and tell beyond 0, 1 and 2. */
#define EXIT_STOP 3 /* report, tell: stop this trial; ask: the study is done */
#define EXIT_WAIT 4 /* ask --no-wait: nothing to hand out now, ask again later */

static const char study_usage[] =
    "usage: caviar study init SPEC -o DIR [--seed S] [-n N] [--timeout T] [--attempts K]\n"
    "       caviar study status DIR [--json]\n"
    "\n"
    "A study lets caviar's samplers and schedule drive training code it does not run itself, in\n"
    "any language, from any number of processes at once:\n"
    "  caviar ask DIR                          one trial to train: {\"trial\": 3, \"params\": {..}, ...}\n"
    "  caviar report DIR ID --epoch E --val_acc X   a value after epoch E: exit 0 go on, 3 stop\n"
    "  caviar tell DIR ID --val_acc X          the trial's final value (--status failed: it failed)\n"
    "  caviar agent DIR -j N -- COMMAND ...    runs COMMAND for each trial, N at once\n"
    "  caviar report DIR                       summary.json, curves.csv and report.html of it\n"
    "The spec's method (random, grid, sobol, tpe, coarse-to-fine) draws the trials, its\n"
    "early_terminate (successive halving, hyperband) culls them; its population caps how many are\n"
    "out at once. The folder is a journal (DIR/journal.jsonl); docs/STUDY.md has the details.\n"
    "\n"
    "init: makes a study of SPEC in DIR (a new or empty folder)\n"
    "  -o, --out DIR       the study's folder (required)\n"
    "      --seed S        seed, overriding the spec's (0 .. 2^53)\n"
    "  -n, --trials N      how many trials (default: the spec's; not with hyperband)\n"
    "      --timeout T     a trial out this long without a word from its worker goes out again\n"
    "                      (seconds, or 90s, 10m, 2h; default 1h)\n"
    "      --attempts K    a trial whose workers went silent K times fails instead (default 3)\n"
    "status: how many trials are out, finished, culled, failed, and the leaderboard so far\n"
    "      --json          the leaderboard as JSON\n"
    "  -h, --help          this text\n";

static int study_init(int argc, char **argv) {
  static const struct option options[] = {
      {"out", required_argument, NULL, 'o'},     {"seed", required_argument, NULL, 's'},
      {"trials", required_argument, NULL, 'n'},  {"timeout", required_argument, NULL, 't'},
      {"attempts", required_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  caviar_study_options o = CAVIAR_STUDY_DEFAULT_OPTIONS;
  const char *dir = NULL;
  uint64_t v;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "o:n:h", options, NULL)) != -1) {
    switch (c) {
      case 'o': dir = optarg; break;
      case 's':
        if (!caviar_parse_u64(optarg, (uint64_t)CAVIAR_MAX_SEED, &o.seed))
          return caviar_usage_error("study init", "--seed expects a whole number from 0 to 2^53, got '%s'", optarg);
        o.seed_given = true;
        break;
      case 'n':
        if (!caviar_parse_u64(optarg, (uint64_t)CAVIAR_MAX_TRIALS, &v) || v == 0)
          return caviar_usage_error("study init", "-n expects a whole number from 1 to %lld, got '%s'",
                                    CAVIAR_MAX_TRIALS, optarg);
        o.trials = (long long)v;
        break;
      case 't':
        {
          int rc = caviar_duration_option("study init", "--timeout", optarg, false, &o.timeout_s);
          if (rc) return rc;
        }
        break;
      case 'a':
        if (!caviar_parse_u64(optarg, 1000000, &v) || v == 0)
          return caviar_usage_error("study init", "--attempts expects a whole number from 1 to 1000000, got '%s'",
                                    optarg);
        o.max_attempts = (int)v;
        break;
      case 'h': fputs(study_usage, stdout); return 0;
      default: return caviar_option_error("study init", "o:n:h", optopt, argv[optind - 1]);
    }
  }
  if (argc - optind != 1) return caviar_usage_error("study init", "expected one SPEC, got %d", argc - optind);
  if (!dir) return caviar_usage_error("study init", "-o DIR is required: the study's folder");
  caviar_error err;
  caviar_status st = caviar_study_init(argv[optind], dir, &o, &err);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  caviar_study *s;
  st = caviar_study_open(dir, &s, &err);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  caviar_study_counts n;
  caviar_study_counts_of(s, &n);
  const caviar_spec *spec = caviar_study_spec(s);
  fprintf(stderr, "caviar: study in %s: %d trials%s, method %s, metric %s, %d epochs each at most; next: caviar ask %s\n",
          dir, n.total, n.rounds > 1 ? " over its rounds" : "", caviar_method_name(spec->method),
          caviar_spec_metric(spec), spec->epochs, dir);
  printf("%s\n", dir);
  caviar_study_close(s);
  return 0;
}

/* The one DIR after a command's options, opened as a study: 0, or the exit status to return. */
static int open_one(const char *command, int argc, char **argv, caviar_study **s) {
  if (argc - optind != 1) return caviar_usage_error(command, "expected one DIR, got %d", argc - optind);
  caviar_error err;
  caviar_status st = caviar_study_open(argv[optind], s, &err);
  return st == CAVIAR_OK ? 0 : caviar_report(st, &err);
}

/* Trials by status, then the leaderboard so far. */
static int study_status(int argc, char **argv) {
  static const struct option options[] = {
      {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  bool json = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
    if (c == 'j') json = true;
    else if (c == 'h') return fputs(study_usage, stdout), 0;
    else return caviar_option_error("study status", "h", optopt, argv[optind - 1]);
  }
  caviar_study *s;
  int rc = open_one("study status", argc, argv, &s);
  if (rc) return rc;
  caviar_error err;
  caviar_status st = CAVIAR_OK;
  const caviar_sweep_result *r = caviar_study_results(s);
  caviar_report_info info;
  caviar_study_report_info(s, &info);
  if (json) {
    char *text = caviar_leaderboard_json(&info, r);
    if (text) printf("%s\n", text);
    else st = caviar_fail(&err, CAVIAR_ERUNTIME, "out of memory printing the leaderboard");
    free(text);
  } else {
    caviar_study_counts n;
    caviar_study_counts_of(s, &n);
    printf("%d of %d trials handed out", n.started, n.total);
    if (n.rounds > 1) printf(" (round %d of %d)", n.round + 1, n.rounds);
    printf(": %d out, %d completed, %d culled, %d failed%s\n", n.running, n.completed, n.culled, n.failed,
           n.done ? "; done" : "");
    if (r->n_trials > 0) caviar_leaderboard_print_info(stdout, &info, r, 20, caviar_stdout_width());
  }
  caviar_study_close(s);
  return caviar_report(st, &err);
}

int caviar_cmd_study(int argc, char **argv) {
  if (argc < 2) return caviar_usage_error("study", "expected init or status");
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) return fputs(study_usage, stdout), 0;
  if (!strcmp(argv[1], "init")) return study_init(argc - 1, argv + 1);
  if (!strcmp(argv[1], "status")) return study_status(argc - 1, argv + 1);
  return caviar_usage_error("study", "unknown subcommand '%s' (expected init or status)", argv[1]);
}

/* ---- caviar ask ---- */

static const char ask_usage[] =
    "usage: caviar ask DIR [--no-wait] [--worker NAME]\n"
    "\n"
    "Hands out one trial of the study in DIR and prints it as one JSON line:\n"
    "  {\"trial\": 3, \"params\": {\"learning_rate\": 0.0031, ...}, \"attempt\": 1, \"epochs\": 27,\n"
    "   \"round\": 0, \"bracket\": 1, \"rungs\": [3, 9]}\n"
    "Train it for at most `epochs` epochs, calling caviar report after each (or some) and\n"
    "caviar tell at the end. A trial handed out earlier whose worker went silent for the study's\n"
    "timeout (or released it) is handed out again first, with the next attempt number; pass\n"
    "--attempt to report and tell so a late worker learns its attempt is over.\n"
    "When nothing can be handed out yet (the spec's population is out, or a coarse-to-fine round\n"
    "must finish before the next is drawn), it waits and asks again.\n"
    "\n"
    "      --no-wait      do not wait: exit 4 at once when nothing can be handed out now\n"
    "      --worker NAME  who is asking, for the journal (default host:pid)\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 a trial printed, 3 the study is done (every trial finished), 4 nothing to hand\n"
    "out now (--no-wait), 1 runtime failure, 2 bad input or usage.\n";

int caviar_cmd_ask(int argc, char **argv) {
  static const struct option options[] = {{"no-wait", no_argument, NULL, 'n'},
                                          {"worker", required_argument, NULL, 'w'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  bool wait = true;
  const char *worker = NULL;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
    if (c == 'n') wait = false;
    else if (c == 'w') worker = optarg;
    else if (c == 'h') return fputs(ask_usage, stdout), 0;
    else return caviar_option_error("ask", "h", optopt, argv[optind - 1]);
  }
  caviar_study *s;
  int rc = open_one("ask", argc, argv, &s);
  if (rc) return rc;
  caviar_error err;
  caviar_status st;
  caviar_ask_outcome outcome = CAVIAR_ASK_WAIT;
  caviar_study_trial trial;
  /* Waiting: asking again after 50 ms, then longer, up to a second. */
  for (double pause = 0.05;; pause = pause < 0.5 ? 2 * pause : 1.0) {
    st = caviar_study_ask(s, worker, &outcome, &trial, &err);
    if (st != CAVIAR_OK || outcome != CAVIAR_ASK_WAIT || !wait) break;
    struct timespec ts = {(time_t)pause, (long)((pause - floor(pause)) * 1e9)};
    nanosleep(&ts, NULL);
  }
  rc = caviar_report(st, &err);
  if (st == CAVIAR_OK && outcome == CAVIAR_ASK_TRIAL) printf("%s\n", trial.line);
  if (st == CAVIAR_OK && outcome == CAVIAR_ASK_DONE) {
    fprintf(stderr, "caviar: %s: the study is done (every trial finished)\n", argv[optind]);
    rc = EXIT_STOP;
  }
  if (st == CAVIAR_OK && outcome == CAVIAR_ASK_WAIT) {
    fprintf(stderr, "caviar: %s: nothing to hand out now (trials still out); ask again later\n", argv[optind]);
    rc = EXIT_WAIT;
  }
  caviar_study_trial_free(&trial);
  caviar_study_close(s);
  return rc;
}

/* ---- caviar report DIR ID, caviar tell DIR ID ---- */

#define MAX_VALUES 256

typedef struct value_args {
  const char *dir;
  uint32_t id;
  int epoch, attempt;
  bool failed;
  const char *reason;
  int n;
  const char *names[MAX_VALUES];
  double values[MAX_VALUES];
  char storage[MAX_VALUES][132];
} value_args;

/* DIR ID, then --epoch E, --attempt K, (tell) --status S and --reason TEXT, and --NAME X for any
 * metric NAME (or --NAME=X). */
static int parse_values(const char *cmd, const char *usage, int argc, char **argv, bool tell, value_args *a) {
  int positional = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) return fputs(usage, stdout), -1;
    if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
      if (positional == 0) a->dir = arg;
      else if (positional == 1) {
        uint64_t id;
        if (!caviar_parse_u64(arg, UINT32_MAX, &id))
          return caviar_usage_error(cmd, "the trial ID must be a whole number (as caviar ask printed it), got '%s'", arg);
        a->id = (uint32_t)id;
      } else {
        return caviar_usage_error(cmd, "unexpected argument '%s' (values are given as --NAME VALUE)", arg);
      }
      positional++;
      continue;
    }
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    char name[132];
    if (len >= sizeof name) return caviar_usage_error(cmd, "option %.40s...: name too long", arg);
    memcpy(name, arg + 2, len);
    name[len] = '\0';
    const char *value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
    if (!value) return caviar_usage_error(cmd, "option --%s needs a value", name);
    uint64_t n;
    if (!strcmp(name, "epoch") || !strcmp(name, "attempt")) {
      if (!caviar_parse_u64(value, 1000000000, &n) || n == 0)
        return caviar_usage_error(cmd, "--%s expects a whole number from 1, got '%s'", name, value);
      *(name[0] == 'e' ? &a->epoch : &a->attempt) = (int)n;
    } else if (tell && !strcmp(name, "status")) {
      if (strcmp(value, "completed") && strcmp(value, "failed"))
        return caviar_usage_error(cmd, "--status expects completed or failed, got '%s'", value);
      a->failed = !strcmp(value, "failed");
    } else if (tell && !strcmp(name, "reason")) {
      a->reason = value;
    } else {
      if (!caviar_study_metric_name_ok(name))
        return caviar_usage_error(cmd, "unknown option --%s (a metric's name is letters, digits and _.:/-)", name);
      char *end;
      errno = 0;
      double v = strtod(value, &end);
      if (end == value || *end || !isfinite(v))
        return caviar_usage_error(cmd, "--%s expects a finite number, got '%s'", name, value);
      if (a->n == MAX_VALUES) return caviar_usage_error(cmd, "more than %d values", MAX_VALUES);
      for (int k = 0; k < a->n; k++)
        if (!strcmp(a->names[k], name)) return caviar_usage_error(cmd, "--%s given twice", name);
      snprintf(a->storage[a->n], sizeof a->storage[a->n], "%s", name);
      a->names[a->n] = a->storage[a->n];
      a->values[a->n++] = v;
    }
  }
  if (positional < 2) return caviar_usage_error(cmd, "expected DIR and the trial's ID");
  return 0;
}

int caviar_study_report_cmd(int argc, char **argv) {
  value_args a = {0};
  int rc = parse_values("report", caviar_report_usage, argc, argv, false, &a);
  if (rc) return rc < 0 ? 0 : rc;
  if (!a.epoch) return caviar_usage_error("report", "--epoch E is required: the epochs trial %u has trained",
                                          (unsigned)a.id);
  caviar_study *s;
  caviar_error err;
  caviar_status st = caviar_study_open(a.dir, &s, &err);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  caviar_study_values v = {a.n, a.names, a.values};
  caviar_study_verdict verdict;
  char why[512];
  st = caviar_study_report(s, a.id, a.attempt, a.epoch, &v, &verdict, why, sizeof why, &err);
  caviar_study_close(s);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  if (verdict == CAVIAR_VERDICT_GO) {
    printf("go\n");
    return 0;
  }
  fprintf(stderr, "caviar: %s\n", why);
  printf("stop\n");
  return EXIT_STOP;
}

static const char tell_usage[] =
    "usage: caviar tell DIR ID [--METRIC X ...] [--epoch E] [--status completed|failed]\n"
    "                          [--reason TEXT] [--attempt K]\n"
    "\n"
    "Finishes trial ID of the study in DIR: completed with its final values (--val_acc 0.93 ...,\n"
    "any names; the spec's metric is required unless the trial reported epochs, whose last values\n"
    "stand then), or --status failed (values optional; --reason is kept in the journal).\n"
    "\n"
    "      --epoch E      the epochs the values are from (default: the last reported, or the\n"
    "                     budget when none was; failed: the epoch after the last reported)\n"
    "      --attempt K    the attempt caviar ask printed: exit 3 if the trial went out again since\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 recorded; 3 nothing recorded, stop: the trial was culled (after a report\n"
    "exited 3 there is nothing to tell) or its attempt is over; 1 runtime failure; 2 bad input\n"
    "(an unknown trial, one told already, a value that is not finite): nothing is recorded then.\n";

int caviar_cmd_tell(int argc, char **argv) {
  value_args a = {0};
  int rc = parse_values("tell", tell_usage, argc, argv, true, &a);
  if (rc) return rc < 0 ? 0 : rc;
  caviar_study *s;
  caviar_error err;
  caviar_status st = caviar_study_open(a.dir, &s, &err);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  caviar_study_values v = {a.n, a.names, a.values};
  caviar_study_verdict verdict;
  char why[512];
  st = caviar_study_tell(s, a.id, a.attempt, a.failed, a.epoch, &v, a.reason, &verdict, why, sizeof why, &err);
  caviar_study_close(s);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  if (verdict == CAVIAR_VERDICT_GO) return 0;
  fprintf(stderr, "caviar: %s; nothing recorded\n", why);
  return EXIT_STOP;
}

int caviar_study_results_cmd(const char *dir) {
  caviar_study *s;
  caviar_error err;
  caviar_status st = caviar_study_open(dir, &s, &err);
  if (st == CAVIAR_OK) {
    st = caviar_study_write_results(s, &err);
    caviar_study_close(s);
  }
  return caviar_report(st, &err);
}
