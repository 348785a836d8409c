/* caviar agent DIR [-j N] [--gpus LIST] -- COMMAND [ARGS...]: runs COMMAND once per trial of the
 * study in DIR, N at once, until the study is done. Each run gets its trial's parameters in a JSON
 * file and in its environment; the metric lines it prints on stdout ("epoch=3 val_acc=0.91") are
 * reported to the study, and a run the schedule culls is stopped with SIGTERM (SIGKILL after a
 * grace period). One process, one thread: poll() over the runs' stdout. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "caviar/atomic_file.h"
#include "caviar/number_format.h"
#include "caviar/study.h"
#include "cli.h"

extern char **environ;

#define EXIT_STOPPED 3
#define MAX_WORKERS 1024
#define MAX_LINE 65536
#define MAX_METRICS 256

static const char usage[] =
    "usage: caviar agent DIR [-j N] [--gpus LIST] [--grace T] [--quiet] -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND once for each trial of the study in DIR (caviar study init), N at once, until\n"
    "every trial is finished. Any number of agents (on any number of machines sharing DIR) may work\n"
    "on one study. For each trial COMMAND gets, in its environment:\n"
    "  CAVIAR_PARAMS       a JSON file: what caviar ask prints ({\"trial\", \"params\", \"epochs\", ...})\n"
    "  CAVIAR_PARAMS_JSON  the parameters as a JSON object\n"
    "  CAVIAR_PARAM_NAME   each parameter (NAME upper-cased: CAVIAR_PARAM_LEARNING_RATE=0.0031)\n"
    "  CAVIAR_TRIAL, CAVIAR_ATTEMPT, CAVIAR_EPOCHS (its budget), CAVIAR_STUDY, CAVIAR_WORKER\n"
    "  CUDA_VISIBLE_DEVICES with --gpus; PYTHONUNBUFFERED=1 unless set\n"
    "Lines it prints on stdout made only of NAME=VALUE tokens are metrics:\n"
    "  epoch=3 val_acc=0.91 val_loss=0.25     the values after epoch 3 (caviar report)\n"
    "  val_acc=0.93                           final values (without epoch; optional)\n"
    "A run the schedule culls gets SIGTERM (its process group), then SIGKILL after the grace period.\n"
    "A run that exits 0 completes its trial with its final values (or its last epoch's); one that\n"
    "exits otherwise, prints a value that is not a finite number, or never prints the spec's metric,\n"
    "fails it. Its stdout and stderr go to DIR/trials/ID/output.log.\n"
    "\n"
    "  -j, --jobs N      runs at once (default 1, or one per GPU with --gpus)\n"
    "      --gpus LIST   GPUs to share out, comma-separated (0,1): run k gets the (k mod n)-th\n"
    "      --grace T     seconds between SIGTERM and SIGKILL (default 10)\n"
    "      --quiet       no line per trial on stderr\n"
    "  -h, --help        this text\n"
    "\n"
    "SIGINT or SIGTERM stops the agent: its runs get SIGTERM and their trials go back to the study\n"
    "for another worker (exit 3). When every trial is finished it writes DIR/summary.json and\n"
    "curves.csv and prints the leaderboard (exit 0).\n";

typedef struct run {
  pid_t pid;                 /* 0: this worker is idle */
  int fd;                    /* the run's stdout */
  int log;                   /* DIR/trials/ID/output.log */
  caviar_study_trial trial;
  char buf[MAX_LINE + 1];
  size_t n;
  bool stopping;             /* SIGTERM sent: culled, failed on a value, or the agent is stopping */
  bool culled;
  double term_at;            /* when SIGTERM was sent */
  double last_record;        /* when this agent last wrote about the trial */
  bool reported;             /* some epoch was reported */
  char fail[320];            /* why the trial fails, when a value said so */
  int n_final;               /* final values: a line without epoch */
  char final_names[32][132];
  double final_values[32];
  bool warned;
  bool done;                 /* the study has nothing more for this worker */
  double retry_at;           /* wait: ask again then */
  double pause;
} run;

typedef struct agent {
  caviar_study *s;
  char dir[4096];            /* absolute */
  char **command;
  int jobs;
  char **gpus;
  int n_gpus;
  double grace;
  bool quiet;
  run *runs;
  caviar_error err;
  caviar_status fatal; /* not CAVIAR_OK: the agent ends (its runs stopped, their trials released) */
} agent;

static volatile sig_atomic_t stop_requests = 0;
static void on_stop(int sig) {
  (void)sig;
  stop_requests++;
}

static double wall(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void say(const agent *a, const char *fmt, ...) CAVIAR_PRINTF(2, 3);
static void say(const agent *a, const char *fmt, ...) {
  if (a->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  char line[1024];
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "caviar agent: %s\n", line);
}

/* NAME=value for a run's environment (malloc'd). */
static char *env_entry(const char *name, const char *value) {
  size_t n = strlen(name) + strlen(value) + 2;
  char *e = malloc(n);
  if (e) snprintf(e, n, "%s=%s", name, value);
  return e;
}

/* The run's environment: the agent's, with the trial's variables set over it. */
static char **run_environment(const agent *a, const run *r, int worker, const char *params_path) {
  cJSON *params = cJSON_Parse(r->trial.params);
  int extra = 12 + cJSON_GetArraySize(params), n_env = 0;
  while (environ[n_env]) n_env++;
  char **env = calloc((size_t)(n_env + extra + 1), sizeof *env);
  if (!env) {
    cJSON_Delete(params);
    return NULL;
  }
  int n = 0;
  char text[64];
  env[n++] = env_entry("CAVIAR_STUDY", a->dir);
  snprintf(text, sizeof text, "%u", (unsigned)r->trial.id);
  env[n++] = env_entry("CAVIAR_TRIAL", text);
  snprintf(text, sizeof text, "%d", r->trial.attempt);
  env[n++] = env_entry("CAVIAR_ATTEMPT", text);
  snprintf(text, sizeof text, "%d", r->trial.epochs);
  env[n++] = env_entry("CAVIAR_EPOCHS", text);
  snprintf(text, sizeof text, "%d", worker);
  env[n++] = env_entry("CAVIAR_WORKER", text);
  env[n++] = env_entry("CAVIAR_PARAMS", params_path);
  env[n++] = env_entry("CAVIAR_PARAMS_JSON", r->trial.params);
  if (a->n_gpus > 0) env[n++] = env_entry("CUDA_VISIBLE_DEVICES", a->gpus[worker % a->n_gpus]);
  if (!getenv("PYTHONUNBUFFERED")) env[n++] = env_entry("PYTHONUNBUFFERED", "1");
  const cJSON *p;
  cJSON_ArrayForEach(p, params) {
    char name[200], value[64];
    int k = snprintf(name, sizeof name, "CAVIAR_PARAM_");
    for (const char *c = p->string; *c && k < (int)sizeof name - 1; c++)
      name[k++] = (char)((*c >= 'a' && *c <= 'z') ? *c - 32 : ((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')) ? *c : '_');
    name[k] = '\0';
    if (cJSON_IsString(p)) env[n++] = env_entry(name, p->valuestring);
    else if (cJSON_IsNumber(p) || cJSON_IsBool(p)) {
      char *t = cJSON_PrintUnformatted(p);
      snprintf(value, sizeof value, "%s", t ? t : "");
      free(t);
      env[n++] = env_entry(name, value);
    }
  }
  cJSON_Delete(params);
  /* The agent's own variables, but for those the trial sets. */
  int ours = n;
  for (int i = 0; i < n_env; i++) {
    size_t len = strcspn(environ[i], "=");
    bool shadowed = false;
    for (int k = 0; k < ours && !shadowed; k++)
      shadowed = env[k] && strncmp(env[k], environ[i], len) == 0 && env[k][len] == '=';
    if (!shadowed) env[n++] = strdup(environ[i]);
  }
  env[n] = NULL;
  for (int i = 0; i < n; i++)
    if (!env[i]) {
      for (int k = 0; k < n; k++) free(env[k]);
      free(env);
      return NULL;
    }
  return env;
}

static void free_environment(char **env) {
  for (int i = 0; env && env[i]; i++) free(env[i]);
  free(env);
}

/* Starts COMMAND for the run's trial: DIR/trials/ID/params.json, the log, the environment. */
static caviar_status start_run(agent *a, run *r, int worker, caviar_error *err) {
  char folder[4400], path[4500];
  snprintf(folder, sizeof folder, "%s/trials", a->dir);
  if (mkdir(folder, 0755) != 0 && errno != EEXIST)
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create: %s", folder, strerror(errno));
  snprintf(folder, sizeof folder, "%s/trials/%u", a->dir, (unsigned)r->trial.id);
  if (mkdir(folder, 0755) != 0 && errno != EEXIST)
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create: %s", folder, strerror(errno));
  snprintf(path, sizeof path, "%s/params.json", folder);
  caviar_atomic_file af;
  caviar_status st = caviar_atomic_open(&af, path, err);
  if (st != CAVIAR_OK) return st;
  fprintf(af.f, "%s\n", r->trial.line);
  st = caviar_atomic_commit(&af, err);
  if (st != CAVIAR_OK) return st;
  char log_path[4500];
  snprintf(log_path, sizeof log_path, "%s/output.log", folder);
  r->log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (r->log < 0) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", log_path, strerror(errno));
  dprintf(r->log, "== caviar agent: trial %u, attempt %d, worker %d\n", (unsigned)r->trial.id, r->trial.attempt, worker);
  char **env = run_environment(a, r, worker, path);
  int out[2], errs[2];
  if (!env || pipe(out) != 0) {
    free_environment(env);
    close(r->log);
    return caviar_fail(err, CAVIAR_ERUNTIME, "cannot start a run: %s", env ? strerror(errno) : "out of memory");
  }
  if (pipe(errs) != 0) {
    close(out[0]);
    close(out[1]);
    free_environment(env);
    close(r->log);
    return caviar_fail(err, CAVIAR_ERUNTIME, "cannot start a run: %s", strerror(errno));
  }
  fcntl(out[0], F_SETFD, FD_CLOEXEC);
  fcntl(errs[0], F_SETFD, FD_CLOEXEC);
  fcntl(errs[1], F_SETFD, FD_CLOEXEC);
  pid_t pid = fork();
  if (pid == 0) {
    /* The run: its own process group (culling stops all of it), stdout to the agent, stderr to the
     * log, stdin from nothing, default signals, and gone with the agent where Linux allows. */
    setpgid(0, 0);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(r->log, STDERR_FILENO);
    environ = env;
    execvp(a->command[0], a->command);
    int e = errno;
    if (write(errs[1], &e, sizeof e) != (ssize_t)sizeof e) {
    }
    _exit(127);
  }
  int e = errno;
  /* The run's own process group, set here too: a cull may come before the child has set it. */
  if (pid > 0) setpgid(pid, pid);
  close(out[1]);
  close(errs[1]);
  free_environment(env);
  if (pid < 0) {
    close(out[0]);
    close(errs[0]);
    close(r->log);
    return caviar_fail(err, CAVIAR_ERUNTIME, "cannot start a run: %s", strerror(e));
  }
  int exec_errno = 0;
  ssize_t got;
  while ((got = read(errs[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  close(errs[0]);
  if (got == (ssize_t)sizeof exec_errno) {
    waitpid(pid, NULL, 0);
    close(out[0]);
    close(r->log);
    return caviar_fail(err, CAVIAR_EINPUT, "cannot run %s: %s", a->command[0], strerror(exec_errno));
  }
  fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
  r->pid = pid;
  r->fd = out[0];
  r->n = 0;
  r->stopping = r->culled = r->reported = r->warned = false;
  r->fail[0] = '\0';
  r->n_final = 0;
  r->last_record = wall();
  return CAVIAR_OK;
}

static void terminate(run *r) {
  if (r->stopping || r->pid <= 0) return;
  r->stopping = true;
  r->term_at = wall();
  kill(-r->pid, SIGTERM);
}

/* One line of a run's stdout: into the log, and to the study when it is a metric line. */
static void take_line(agent *a, run *r, char *line) {
  size_t len = strlen(line);
  if (write(r->log, line, len) < 0 || write(r->log, "\n", 1) < 0) {
  }
  if (r->stopping) return;
  const char *names[MAX_METRICS];
  double values[MAX_METRICS];
  int epoch, n;
  if (!caviar_study_metric_line(line, &epoch, names, values, MAX_METRICS, &n)) return;
  for (int k = 0; k < n; k++)
    if (!isfinite(values[k])) {
      int used = snprintf(r->fail, sizeof r->fail, "%.140s=%s", names[k], CAVIAR_NUM(values[k]));
      if (epoch) snprintf(r->fail + used, sizeof r->fail - (size_t)used, " at epoch %d", epoch);
      say(a, "trial %u failed: %s; stopping its run", (unsigned)r->trial.id, r->fail);
      terminate(r);
      return;
    }
  caviar_study_values v = {n, names, values};
  if (epoch == 0) {
    r->n_final = 0;
    for (int k = 0; k < n && k < 32; k++) {
      snprintf(r->final_names[k], sizeof r->final_names[k], "%s", names[k]);
      r->final_values[k] = values[k];
      r->n_final++;
    }
    return;
  }
  caviar_study_verdict verdict;
  char why[512];
  caviar_error err;
  caviar_status st = caviar_study_report(a->s, r->trial.id, r->trial.attempt, epoch, &v, &verdict, why, sizeof why, &err);
  r->last_record = wall();
  if (st != CAVIAR_OK) {
    /* A program's line the study refuses (its metric missing, an epoch out of order) is not the
     * agent's end: said once per run, and left out. */
    if (!r->warned) say(a, "trial %u: a line was not recorded: %s", (unsigned)r->trial.id, err.msg);
    r->warned = true;
    if (st == CAVIAR_ERUNTIME) {
      a->err = err;
      a->fatal = st;
    }
    return;
  }
  r->reported = true;
  if (verdict != CAVIAR_VERDICT_GO) {
    r->culled = true;
    say(a, "%s", why);
    terminate(r);
  }
}

/* Reads what the run printed; lines longer than MAX_LINE are cut. */
static void drain(agent *a, run *r) {
  for (;;) {
    ssize_t k = read(r->fd, r->buf + r->n, MAX_LINE - r->n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    r->n += (size_t)k;
    size_t start = 0;
    for (size_t i = 0; i < r->n; i++) {
      if (r->buf[i] != '\n') continue;
      r->buf[i] = '\0';
      take_line(a, r, r->buf + start);
      start = i + 1;
    }
    memmove(r->buf, r->buf + start, r->n - start);
    r->n -= start;
    if (r->n == MAX_LINE) {
      r->buf[r->n] = '\0';
      take_line(a, r, r->buf);
      r->n = 0;
    }
  }
}

/* The run ended: its trial is completed, failed, or (culled, or the agent stopping) left as it is. */
static void finish(agent *a, run *r, int status) {
  drain(a, r);
  if (r->n > 0) {
    r->buf[r->n] = '\0';
    take_line(a, r, r->buf);
    r->n = 0;
  }
  close(r->fd);
  close(r->log);
  r->pid = 0;
  uint32_t id = r->trial.id;
  caviar_error err;
  caviar_status st = CAVIAR_OK;
  if (r->culled) {
    /* The schedule's cull is in the journal already. */
  } else if ((stop_requests || a->fatal) && !r->fail[0]) {
    st = caviar_study_release(a->s, id, r->trial.attempt, "its agent was stopped", &err);
    say(a, "trial %u released: the agent was stopped", (unsigned)id);
  } else {
    const char *metric = caviar_spec_metric(caviar_study_spec(a->s));
    char reason[400];
    bool failed = true;
    if (r->fail[0]) snprintf(reason, sizeof reason, "%s", r->fail);
    else if (WIFSIGNALED(status)) snprintf(reason, sizeof reason, "killed by signal %d", WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0) snprintf(reason, sizeof reason, "exit status %d", WEXITSTATUS(status));
    else if (!r->reported && r->n_final == 0)
      snprintf(reason, sizeof reason, "it printed no %s (lines like 'epoch=1 %s=0.5')", metric, metric);
    else failed = false;
    const char *names[32];
    for (int k = 0; k < r->n_final; k++) names[k] = r->final_names[k];
    caviar_study_values v = {failed ? 0 : r->n_final, names, r->final_values};
    caviar_study_verdict verdict;
    char why[512];
    st = caviar_study_tell(a->s, id, r->trial.attempt, failed, 0, &v, failed ? reason : NULL, &verdict, why, sizeof why,
                           &err);
    if (st == CAVIAR_EINPUT && !failed) {
      /* Its final line lacked the metric: the last report's values stand. */
      say(a, "trial %u: its final values were not taken (%s); its last report's stand", (unsigned)id, err.msg);
      v.n = 0;
      st = caviar_study_tell(a->s, id, r->trial.attempt, false, 0, &v, NULL, &verdict, why, sizeof why, &err);
    }
    if (st == CAVIAR_OK) {
      if (verdict != CAVIAR_VERDICT_GO) say(a, "%s", why);
      else if (failed) say(a, "trial %u failed: %s (its output: %s/trials/%u/output.log)", (unsigned)id, reason, a->dir,
                           (unsigned)id);
      else say(a, "%s", why);
    }
  }
  if (st != CAVIAR_OK) {
    say(a, "trial %u: %s", (unsigned)id, err.msg);
    if (st == CAVIAR_ERUNTIME) {
      a->err = err;
      a->fatal = st;
    }
  }
  caviar_study_trial_free(&r->trial);
}

/* An idle worker asks the study for a trial and starts it. */
static void ask(agent *a, run *r, int worker, double now) {
  caviar_ask_outcome outcome;
  char who[320], host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "localhost");
  snprintf(who, sizeof who, "%s:%ld/%d", host, (long)getpid(), worker);
  caviar_status st = caviar_study_ask(a->s, who, &outcome, &r->trial, &a->err);
  if (st != CAVIAR_OK) {
    a->fatal = st;
    return;
  }
  if (outcome == CAVIAR_ASK_DONE) {
    r->done = true;
    return;
  }
  if (outcome == CAVIAR_ASK_WAIT) {
    r->pause = r->pause > 0 ? (r->pause < 1 ? 2 * r->pause : 2) : 0.1;
    r->retry_at = now + r->pause;
    return;
  }
  r->pause = 0;
  st = start_run(a, r, worker, &a->err);
  if (st != CAVIAR_OK) {
    /* The trial goes back for another worker; a command that cannot run ends the agent. */
    caviar_error ignored;
    caviar_study_release(a->s, r->trial.id, r->trial.attempt, a->err.msg, &ignored);
    caviar_study_trial_free(&r->trial);
    a->fatal = st;
    return;
  }
  if (a->n_gpus > 0)
    say(a, "trial %u (attempt %d) started on worker %d, GPU %s", (unsigned)r->trial.id, r->trial.attempt, worker,
        a->gpus[worker % a->n_gpus]);
  else
    say(a, "trial %u (attempt %d) started on worker %d", (unsigned)r->trial.id, r->trial.attempt, worker);
}

static int parse_args(agent *a, int argc, char **argv) {
  int dashes = -1;
  for (int i = 1; i < argc && dashes < 0; i++)
    if (!strcmp(argv[i], "--")) dashes = i;
  static const struct option options[] = {
      {"jobs", required_argument, NULL, 'j'}, {"gpus", required_argument, NULL, 'g'},
      {"grace", required_argument, NULL, 'G'}, {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
  int opt_argc = dashes < 0 ? argc : dashes, c;
  bool jobs_given = false;
  uint64_t v;
  a->jobs = 1;
  a->grace = 10;
  opterr = 0;
  while ((c = getopt_long(opt_argc, argv, "j:h", options, NULL)) != -1) {
    switch (c) {
      case 'j':
        if (!caviar_parse_u64(optarg, MAX_WORKERS, &v) || v == 0)
          return caviar_usage_error("agent", "-j expects a whole number from 1 to %d, got '%s'", MAX_WORKERS, optarg);
        a->jobs = (int)v;
        jobs_given = true;
        break;
      case 'g': {
        char *list = optarg, *save = NULL;
        a->n_gpus = 0;
        free(a->gpus);
        a->gpus = calloc(strlen(list) + 1, sizeof *a->gpus);
        if (!a->gpus) return caviar_usage_error("agent", "out of memory");
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) a->gpus[a->n_gpus++] = t;
        if (a->n_gpus == 0) return caviar_usage_error("agent", "--gpus expects a list such as 0,1, got '%s'", optarg);
        break;
      }
      case 'G':
        {
          int rc = caviar_duration_option("agent", "--grace", optarg, true, &a->grace);
          if (rc) return rc;
        }
        break;
      case 'q': a->quiet = true; break;
      case 'h': fputs(usage, stdout); return -1;
      default: return caviar_option_error("agent", "j:h", optopt, argv[optind - 1]);
    }
  }
  if (optind != opt_argc - 1)
    return caviar_usage_error("agent", "expected one DIR before --, got %d", opt_argc - optind);
  if (dashes < 0 || dashes + 1 >= argc)
    return caviar_usage_error("agent", "expected -- COMMAND [ARGS...] after the options: the training program to run");
  if (!jobs_given && a->n_gpus > 0) a->jobs = a->n_gpus;
  if (!realpath(argv[optind], a->dir)) snprintf(a->dir, sizeof a->dir, "%s", argv[optind]);
  a->command = argv + dashes + 1;
  return 0;
}

int caviar_cmd_agent(int argc, char **argv) {
  agent a = {0};
  int rc = parse_args(&a, argc, argv);
  if (rc) {
    free(a.gpus);
    return rc < 0 ? 0 : rc;
  }
  caviar_status st = caviar_study_open(a.dir, &a.s, &a.err);
  if (st != CAVIAR_OK) {
    free(a.gpus);
    return caviar_report(st, &a.err);
  }
  a.runs = calloc((size_t)a.jobs, sizeof *a.runs);
  struct pollfd *fds = calloc((size_t)a.jobs, sizeof *fds);
  int *which = calloc((size_t)a.jobs, sizeof *which);
  if (!a.runs || !fds || !which) {
    free(a.runs);
    free(fds);
    free(which);
    free(a.gpus);
    caviar_study_close(a.s);
    fprintf(stderr, "caviar: out of memory\n");
    return 1;
  }
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  double heartbeat = caviar_study_timeout(a.s) / 4;
  bool stopped = false;
  for (;;) {
    double now = wall();
    if ((stop_requests || a.fatal) && !stopped) {
      stopped = true;
      if (stop_requests) say(&a, "stopping: its runs get SIGTERM and their trials go back to the study");
      for (int w = 0; w < a.jobs; w++) terminate(&a.runs[w]);
    }
    int busy = 0, idle_waiting = 0;
    for (int w = 0; w < a.jobs && !a.fatal; w++) {
      run *r = &a.runs[w];
      if (r->pid == 0 && !r->done && !stop_requests && now >= r->retry_at) ask(&a, r, w, now);
      busy += r->pid > 0;
      idle_waiting += r->pid == 0 && !r->done;
    }
    if (busy == 0 && (a.fatal || stop_requests || idle_waiting == 0)) break;
    /* Runs culled or stopping past the grace period: SIGKILL; the others' trials kept alive. */
    for (int w = 0; w < a.jobs; w++) {
      run *r = &a.runs[w];
      if (r->pid <= 0) continue;
      if (r->stopping && now - r->term_at > a.grace) kill(-r->pid, SIGKILL);
      if (!r->stopping && now - r->last_record > heartbeat) {
        caviar_error err;
        if (caviar_study_alive(a.s, r->trial.id, r->trial.attempt, &err) != CAVIAR_OK) say(&a, "%s", err.msg);
        r->last_record = now;
      }
    }
    int n = 0;
    for (int w = 0; w < a.jobs; w++)
      if (a.runs[w].pid > 0) {
        fds[n] = (struct pollfd){.fd = a.runs[w].fd, .events = POLLIN};
        which[n++] = w;
      }
    if (poll(fds, (nfds_t)n, 100) > 0)
      for (int k = 0; k < n; k++)
        if (fds[k].revents) drain(&a, &a.runs[which[k]]);
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
      for (int w = 0; w < a.jobs; w++)
        if (a.runs[w].pid == pid) finish(&a, &a.runs[w], status);
    if (stop_requests > 1)
      for (int w = 0; w < a.jobs; w++)
        if (a.runs[w].pid > 0) kill(-a.runs[w].pid, SIGKILL);
  }
  int exit_code = 0;
  if (a.fatal) {
    exit_code = caviar_report(a.fatal, &a.err);
  } else if (stop_requests) {
    exit_code = EXIT_STOPPED;
    fprintf(stderr, "caviar agent: stopped; the study goes on with caviar agent %s -- ...\n", a.dir);
  } else {
    caviar_error err;
    st = caviar_study_refresh(a.s, &err);
    if (st == CAVIAR_OK) st = caviar_study_write_results(a.s, &err);
    if (st != CAVIAR_OK) {
      exit_code = caviar_report(st, &err);
    } else {
      caviar_study_counts c;
      caviar_study_counts_of(a.s, &c);
      fprintf(stderr, "caviar agent: the study is done: %d completed, %d culled, %d failed; wrote %s/summary.json\n",
              c.completed, c.culled, c.failed, a.dir);
      caviar_report_info info;
      caviar_study_report_info(a.s, &info);
      caviar_leaderboard_print_info(stdout, &info, caviar_study_results(a.s), 10, caviar_stdout_width());
    }
  }
  free(a.runs);
  free(fds);
  free(which);
  free(a.gpus);
  caviar_study_close(a.s);
  return exit_code;
}
