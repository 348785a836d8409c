/* caviar agent DIR [-j N] [--gpus LIST] -- COMMAND [ARGS...]: runs COMMAND once per trial of the
 * study in DIR, N at once, until the study is done. caviar agent sweep.yaml -o DIR: the same for a
 * W&B sweep config, its study made in DIR first (or gone on with: --resume), each trial's command
 * built as `wandb agent` builds it (cli/wandb_command.c) with caviar's wandb module (python/wandb)
 * first on PYTHONPATH. Each run gets its trial's parameters in a JSON
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
#include "caviar/spec.h"
#include "caviar/number_format.h"
#include "caviar/study.h"
#include "cli.h"

extern char **environ;

#define EXIT_STOPPED 3
#define MAX_WORKERS 1024
#define MAX_LINE 65536
#define MAX_METRICS 256
#define TAIL_LINES 8   /* stderr lines a failed trial's reason keeps */
#define TAIL_LINE 240
/* The log gets the run's stderr a whole line at a time (a longer line in pieces of this size),
 * so a stdout line the agent writes there never lands inside one (an unbuffered Python writes a
 * print's text and its newline apart). */
#define LOG_LINE 4096

static const char usage[] =
    "usage: caviar agent DIR [-j N] [--gpus LIST] [--grace T] [--resume] [--quiet] [-- COMMAND [ARGS...]]\n"
    "       caviar agent SWEEP.yaml -o DIR [-n N] [--seed S] [-j N] [--gpus LIST] [--resume] [-- COMMAND ...]\n"
    "\n"
    "Runs COMMAND once for each trial of the study in DIR (caviar study init), N at once, until\n"
    "every trial is finished. Any number of agents (on any number of machines sharing DIR) may work\n"
    "on one study.\n"
    "\n"
    "Given a W&B sweep config (SWEEP.yaml or .json) instead of DIR, it makes the study in DIR from it\n"
    "(-n and --seed as for caviar study init) and runs, for each trial, the config's command exactly\n"
    "as `wandb agent` builds it: `command` (default ${env} ${interpreter} ${program} ${args}), with\n"
    "${args} as --name=value, ${args_no_hyphens}, ${args_no_boolean_flags}, ${args_json},\n"
    "${args_json_file}, ${args_no_equals}, ${args_append_hydra}, ${args_override_hydra} and\n"
    "${envvar:NAME} as W&B defines them (${env} is /usr/bin/env, ${interpreter} python). Relative\n"
    "paths are the current folder's, as under wandb agent. So does DIR alone when its study was made\n"
    "from such a config. COMMAND after -- replaces the config's. caviar's own `wandb` module\n"
    "(wandb.init, wandb.config, wandb.log, run.summary, ...) comes first on PYTHONPATH: the program\n"
    "runs unchanged, with no W&B server, and what it logs drives the schedule.\n"
    "\n"
    "For each trial COMMAND gets, in its environment:\n"
    "  CAVIAR_PARAMS       a JSON file: what caviar ask prints ({\"trial\", \"params\", \"epochs\", ...})\n"
    "  CAVIAR_PARAMS_JSON  the parameters as a JSON object\n"
    "  CAVIAR_PARAM_NAME   each parameter (NAME upper-cased: CAVIAR_PARAM_LEARNING_RATE=0.0031)\n"
    "  CAVIAR_TRIAL, CAVIAR_ATTEMPT, CAVIAR_EPOCHS (its budget), CAVIAR_STUDY, CAVIAR_WORKER\n"
    "  CAVIAR_METRIC       the study's metric; CAVIAR_RUN_DIR DIR/trials/ID/files (wandb.run.dir)\n"
    "  CUDA_VISIBLE_DEVICES with --gpus; PYTHONUNBUFFERED=1 unless set; PYTHONPATH with caviar's\n"
    "  python/ first (its wandb module and caviar_study)\n"
    "Lines it prints on stdout made only of NAME=VALUE tokens are metrics:\n"
    "  epoch=3 val_acc=0.91 val_loss=0.25     the values after epoch 3 (caviar report)\n"
    "  val_acc=0.93                           final values (without epoch; optional)\n"
    "A run the schedule culls gets SIGTERM (its process group), then SIGKILL after the grace period.\n"
    "A run that exits 0 completes its trial with its final values (or its last epoch's); one that\n"
    "exits otherwise (the journal keeps the last lines of its stderr), prints a value that is not a\n"
    "finite number, or never prints the spec's metric, fails it. Its stdout and stderr go to\n"
    "DIR/trials/ID/output.log.\n"
    "\n"
    "  -j, --jobs N      runs at once (default 1, or one per GPU with --gpus)\n"
    "      --gpus LIST   GPUs to share out, comma-separated (0,1): run k gets the (k mod n)-th\n"
    "      --grace T     seconds between SIGTERM and SIGKILL (default 10)\n"
    "      --quiet       no line per trial on stderr\n"
    "      --resume      go on with the study in DIR: its trials whose agent on this machine is gone\n"
    "                    (killed, even by kill -9) are run again at once; with SWEEP.yaml, DIR must be\n"
    "                    its study (without --resume, DIR must be new or empty)\n"
    "  -o, --out DIR     the study's folder (with SWEEP.yaml)\n"
    "  -n, --trials N    trials in all (with SWEEP.yaml; W&B's run_cap)\n"
    "      --seed S      the study's seed (with SWEEP.yaml)\n"
    "      --python P    the interpreter for ${interpreter} (default python, else python3 where\n"
    "                    there is no python on PATH)\n"
    "  -h, --help        this text\n"
    "\n"
    "SIGINT or SIGTERM stops the agent: its runs get SIGTERM and their trials go back to the study\n"
    "for another worker (exit 3). When every trial is finished it writes DIR/summary.json and\n"
    "curves.csv and prints the leaderboard (exit 0).\n";

typedef struct run {
  pid_t pid;                 /* 0: this worker is idle */
  int fd;                    /* the run's stdout */
  int log;                   /* DIR/trials/ID/output.log */
  int err_fd;                /* the run's stderr */
  char ebuf[TAIL_LINE + 1];
  size_t en;
  char lbuf[LOG_LINE];       /* stderr since its last line break, not yet in the log */
  size_t ln;
  char tail[TAIL_LINES][TAIL_LINE + 1]; /* its last lines of stderr, a ring */
  int n_tail;
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
  char **command;            /* -- COMMAND ...; NULL: the config's, as wandb agent builds it */
  char *const *config_command; /* the config's command and program */
  int n_config_command;
  const char *program;
  char interpreter[256];
  char python_dir[4096];     /* caviar's python/ (its wandb module) */
  const char *config;        /* SWEEP.yaml, in that form */
  const char *out;           /* -o DIR */
  bool resume;
  caviar_study_options init;
  bool init_given;           /* -n or --seed: only with SWEEP.yaml */
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
  int extra = 18 + cJSON_GetArraySize(params), n_env = 0;
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
  /* A W&B config without a metric (grid or random need none): every logged row is a report. */
  const caviar_spec *spec = caviar_study_spec(a->s);
  env[n++] = env_entry("CAVIAR_METRIC", spec->outside && !spec->metric_text ? "" : caviar_spec_metric(spec));
  char run_dir[4500], run_id[64];
  snprintf(run_dir, sizeof run_dir, "%s/trials/%u/files", a->dir, (unsigned)r->trial.id);
  env[n++] = env_entry("CAVIAR_RUN_DIR", run_dir);
  /* What wandb agent sets for its runs, so a program that reads them finds them. */
  snprintf(run_id, sizeof run_id, "trial-%u", (unsigned)r->trial.id);
  env[n++] = env_entry("WANDB_RUN_ID", run_id);
  const char *base = strrchr(a->dir, '/');
  env[n++] = env_entry("WANDB_SWEEP_ID", base && base[1] ? base + 1 : a->dir);
  /* caviar's python/ first: its wandb module shadows any other. */
  if (a->python_dir[0]) {
    const char *old = getenv("PYTHONPATH");
    char *path = malloc(strlen(a->python_dir) + (old ? strlen(old) : 0) + 2);
    if (path) sprintf(path, "%s%s%s", a->python_dir, old && old[0] ? ":" : "", old && old[0] ? old : "");
    env[n++] = path ? env_entry("PYTHONPATH", path) : NULL;
    free(path);
  }
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
  /* ${args_json_file}'s file, and wandb.run.dir. */
  char json_path[4500];
  snprintf(json_path, sizeof json_path, "%s/args.json", folder);
  st = caviar_atomic_open(&af, json_path, err);
  if (st != CAVIAR_OK) return st;
  fprintf(af.f, "%s\n", r->trial.params);
  st = caviar_atomic_commit(&af, err);
  if (st != CAVIAR_OK) return st;
  snprintf(path, sizeof path, "%s/files", folder);
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create: %s", path, strerror(errno));
  snprintf(path, sizeof path, "%s/params.json", folder);
  /* The command: -- COMMAND as given, or the config's as wandb agent builds it. */
  char **argv = a->command;
  if (!argv) {
    char why[256];
    caviar_wandb_run wr = {a->config_command, a->n_config_command, a->program, a->interpreter, r->trial.params, json_path};
    argv = caviar_wandb_command(&wr, why, sizeof why);
    if (!argv) return caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u: %s", a->dir, (unsigned)r->trial.id, why);
  }
  char log_path[4500];
  snprintf(log_path, sizeof log_path, "%s/output.log", folder);
  r->log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (r->log < 0) {
    if (argv != a->command) caviar_wandb_command_free(argv);
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", log_path, strerror(errno));
  }
  dprintf(r->log, "== caviar agent: trial %u, attempt %d, worker %d:", (unsigned)r->trial.id, r->trial.attempt, worker);
  for (int i = 0; argv[i]; i++) dprintf(r->log, " %s", argv[i]);
  dprintf(r->log, "\n");
  char **env = run_environment(a, r, worker, path);
  int out[2] = {-1, -1}, errs[2] = {-1, -1}, std_err[2] = {-1, -1};
  if (!env || pipe(out) != 0 || pipe(errs) != 0 || pipe(std_err) != 0) {
    int e = errno;
    for (int k = 0; k < 2; k++) {
      if (out[k] >= 0) close(out[k]);
      if (errs[k] >= 0) close(errs[k]);
      if (std_err[k] >= 0) close(std_err[k]);
    }
    free_environment(env);
    close(r->log);
    if (argv != a->command) caviar_wandb_command_free(argv);
    return caviar_fail(err, CAVIAR_ERUNTIME, "cannot start a run: %s", env ? strerror(e) : "out of memory");
  }
  fcntl(out[0], F_SETFD, FD_CLOEXEC);
  fcntl(std_err[0], F_SETFD, FD_CLOEXEC);
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
    dup2(std_err[1], STDERR_FILENO);
    environ = env;
    execvp(argv[0], argv);
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
  close(std_err[1]);
  free_environment(env);
  char program[512];
  snprintf(program, sizeof program, "%s", argv[0]);
  if (argv != a->command) caviar_wandb_command_free(argv);
  if (pid < 0) {
    close(out[0]);
    close(errs[0]);
    close(std_err[0]);
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
    close(std_err[0]);
    close(r->log);
    return caviar_fail(err, CAVIAR_EINPUT, "cannot run %s: %s", program, strerror(exec_errno));
  }
  fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
  fcntl(std_err[0], F_SETFL, fcntl(std_err[0], F_GETFL) | O_NONBLOCK);
  r->pid = pid;
  r->fd = out[0];
  r->err_fd = std_err[0];
  r->en = 0;
  r->ln = 0;
  r->n_tail = 0;
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

/* The stderr held back for the log (a line, or a piece of a long one) into it. */
static void flush_stderr_line(run *r) {
  if (r->ln > 0 && write(r->log, r->lbuf, r->ln) < 0) {
  }
  r->ln = 0;
}

/* Reads what the run wrote on stderr: into the log, its last lines kept for a failure's reason. */
static void drain_stderr(run *r) {
  char chunk[4096];
  for (;;) {
    ssize_t k = read(r->err_fd, chunk, sizeof chunk);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    for (ssize_t i = 0; i < k; i++) {
      bool end = chunk[i] == '\n';
      r->lbuf[r->ln++] = chunk[i];
      if (end || r->ln == LOG_LINE) flush_stderr_line(r);
      if (!end && r->en < TAIL_LINE) r->ebuf[r->en++] = chunk[i] == '\r' || chunk[i] == '\t' ? ' ' : chunk[i];
      if (end) {
        r->ebuf[r->en] = '\0';
        if (r->en > 0) snprintf(r->tail[r->n_tail++ % TAIL_LINES], TAIL_LINE + 1, "%s", r->ebuf);
        r->en = 0;
      }
    }
  }
}

/* The last lines of the run's stderr, " | " between them (the oldest first), or "". */
static void stderr_tail(run *r, char *buf, size_t size) {
  if (r->en > 0) {
    r->ebuf[r->en] = '\0';
    snprintf(r->tail[r->n_tail++ % TAIL_LINES], TAIL_LINE + 1, "%s", r->ebuf);
    r->en = 0;
  }
  size_t used = 0;
  buf[0] = '\0';
  int first = r->n_tail > TAIL_LINES ? r->n_tail - TAIL_LINES : 0;
  for (int i = first; i < r->n_tail && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%s", i > first ? " | " : "", r->tail[i % TAIL_LINES]);
}

/* A W&B config without a metric: nothing to rank by, nothing a run must log. */
static bool no_metric(const agent *a) {
  const caviar_spec *spec = caviar_study_spec(a->s);
  return spec->outside && !spec->metric_text;
}

/* The run ended: its trial is completed, failed, or (culled, or the agent stopping) left as it is. */
static void finish(agent *a, run *r, int status) {
  drain(a, r);
  drain_stderr(r);
  flush_stderr_line(r);
  close(r->err_fd);
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
    char reason[2400], tail[TAIL_LINES * (TAIL_LINE + 3) + 1];
    stderr_tail(r, tail, sizeof tail);
    bool failed = true, final_metric = false;
    for (int k = 0; k < r->n_final; k++) final_metric |= !strcmp(r->final_names[k], metric);
    if (r->fail[0]) snprintf(reason, sizeof reason, "%s", r->fail);
    else if (WIFSIGNALED(status)) snprintf(reason, sizeof reason, "killed by signal %d", WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0) snprintf(reason, sizeof reason, "exit status %d", WEXITSTATUS(status));
    else if (!r->reported && r->n_final == 0 && no_metric(a)) {
      snprintf(reason, sizeof reason, "it logged nothing (wandb.log({...}), or a line 'epoch=1 name=0.5')");
    } else if (!r->reported && !final_metric && !no_metric(a)) {
      char logged[600] = "";
      size_t used = 0;
      for (int k = 0; k < r->n_final && used < sizeof logged; k++)
        used += (size_t)snprintf(logged + used, sizeof logged - used, "%s%s", k ? ", " : "", r->final_names[k]);
      snprintf(reason, sizeof reason,
               "it logged no %s, the study's metric (wandb.log({\"%s\": ...}), or a line 'epoch=1 %s=0.5'); %s%s", metric,
               metric, metric, used ? "it logged: " : "it logged no values at all", logged);
    } else failed = false;
    if (failed && !r->fail[0] && tail[0]) {
      size_t used = strlen(reason);
      snprintf(reason + used, sizeof reason - used, "; its stderr ended: %s", tail);
    }
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
      else if (failed) say(a, "trial %u failed: %.600s (its output: %s/trials/%u/output.log)", (unsigned)id, reason, a->dir,
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
      {"jobs", required_argument, NULL, 'j'},   {"gpus", required_argument, NULL, 'g'},
      {"grace", required_argument, NULL, 'G'},  {"quiet", no_argument, NULL, 'q'},
      {"resume", no_argument, NULL, 'r'},       {"out", required_argument, NULL, 'o'},
      {"trials", required_argument, NULL, 'n'}, {"seed", required_argument, NULL, 's'},
      {"python", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int opt_argc = dashes < 0 ? argc : dashes, c;
  bool jobs_given = false;
  uint64_t v;
  a->jobs = 1;
  a->grace = 10;
  a->init = CAVIAR_STUDY_DEFAULT_OPTIONS;
  opterr = 0;
  while ((c = getopt_long(opt_argc, argv, "j:o:n:h", options, NULL)) != -1) {
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
      case 'r': a->resume = true; break;
      case 'o': a->out = optarg; break;
      case 'n':
        if (!caviar_parse_u64(optarg, (uint64_t)CAVIAR_MAX_TRIALS, &v) || v == 0)
          return caviar_usage_error("agent", "-n expects a whole number of trials from 1, got '%s'", optarg);
        a->init.trials = (long long)v;
        a->init_given = true;
        break;
      case 's':
        if (!caviar_parse_u64(optarg, (uint64_t)CAVIAR_MAX_SEED, &v))
          return caviar_usage_error("agent", "--seed expects a whole number from 0 to 2^53, got '%s'", optarg);
        a->init.seed = v;
        a->init.seed_given = a->init_given = true;
        break;
      case 'p':
        if (!optarg[0] || strlen(optarg) >= sizeof a->interpreter)
          return caviar_usage_error("agent", "--python expects an interpreter such as python3, got '%s'", optarg);
        snprintf(a->interpreter, sizeof a->interpreter, "%s", optarg);
        break;
      case 'h': fputs(usage, stdout); return -1;
      default: return caviar_option_error("agent", "j:o:n:h", optopt, argv[optind - 1]);
    }
  }
  if (optind != opt_argc - 1)
    return caviar_usage_error("agent", "expected one DIR (or SWEEP.yaml -o DIR) before the command, got %d", opt_argc - optind);
  const char *target = argv[optind];
  struct stat sb;
  bool exists = stat(target, &sb) == 0, config = exists ? !S_ISDIR(sb.st_mode) : a->out != NULL;
  if (config && !a->out)
    return caviar_usage_error("agent", "%s is a sweep config: -o DIR is required, the study's folder", target);
  if (!config && a->out)
    return caviar_usage_error("agent", "-o is for a sweep config (caviar agent SWEEP.yaml -o DIR); %s is a folder", target);
  if (!config && a->init_given)
    return caviar_usage_error("agent", "-n and --seed are for a sweep config; the study in %s has its own", target);
  if (dashes >= 0 && dashes + 1 >= argc)
    return caviar_usage_error("agent", "expected COMMAND [ARGS...] after --: the training program to run");
  if (!jobs_given && a->n_gpus > 0) a->jobs = a->n_gpus;
  if (config) a->config = target;
  const char *dir = config ? a->out : target;
  if (!realpath(dir, a->dir)) snprintf(a->dir, sizeof a->dir, "%s", dir);
  a->command = dashes >= 0 ? argv + dashes + 1 : NULL;
  return 0;
}

/* The interpreter for ${interpreter}: --python, else W&B's python, else python3 where PATH has no
 * python (Debian's own has only python3). */
static void pick_interpreter(agent *a) {
  if (a->interpreter[0]) return;
  snprintf(a->interpreter, sizeof a->interpreter, "python");
  const char *path = getenv("PATH");
  char *copy = path ? strdup(path) : NULL, *save = NULL, file[4200];
  for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
    snprintf(file, sizeof file, "%s/python", d);
    if (access(file, X_OK) == 0) {
      free(copy);
      return;
    }
  }
  free(copy);
  snprintf(a->interpreter, sizeof a->interpreter, "python3");
}

/* caviar's python/ (its wandb module): $CAVIAR_PYTHON_DIR, the installed copy beside the binary
 * (../share/caviar/python), else the source tree's. "" when none is there. */
static void find_python_dir(agent *a) {
  const char *env = getenv("CAVIAR_PYTHON_DIR");
  char exe[4096], candidate[4200];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  const char *tries[3] = {env, NULL, CAVIAR_SOURCE_PYTHON_DIR};
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    snprintf(candidate, sizeof candidate, "%s/../share/caviar/python", exe);
    tries[1] = candidate;
  }
  for (int i = 0; i < 3; i++) {
    char file[4300];
    if (!tries[i] || !tries[i][0]) continue;
    snprintf(file, sizeof file, "%s/wandb/__init__.py", tries[i]);
    if (access(file, R_OK) == 0 && realpath(tries[i], a->python_dir)) return;
  }
  a->python_dir[0] = '\0';
}

/* The study of SWEEP.yaml in DIR: made there (DIR new or empty), or with --resume, the one there
 * (made from the same config). */
static caviar_status config_study(agent *a, caviar_error *err) {
  struct stat sb;
  char journal[4200];
  snprintf(journal, sizeof journal, "%s/" CAVIAR_STUDY_FILE, a->dir);
  bool exists = stat(journal, &sb) == 0;
  if (!exists) {
    caviar_spec spec;
    caviar_status st = caviar_spec_load(a->config, &spec, err);
    if (st != CAVIAR_OK) return st;
    if (!a->command && !spec.program && !spec.command)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: its config names no program or command: give the one to run after -- "
                       "(caviar agent %s -o %s -- python3 train.py)", a->config, a->config, a->out);
    caviar_spec_free(&spec);
    /* runs/a: its missing parent folders too (the study folder itself is study init's). */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", a->dir);
    for (char *slash = strchr(parent + 1, '/'); st == CAVIAR_OK && slash; slash = strchr(slash + 1, '/')) {
      *slash = '\0';
      if (mkdir(parent, 0755) != 0 && errno != EEXIST)
        st = caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create: %s", parent, strerror(errno));
      *slash = '/';
    }
    if (st == CAVIAR_OK) st = caviar_study_init(a->config, a->dir, &a->init, err);
    if (st == CAVIAR_OK && !a->quiet) fprintf(stderr, "caviar agent: made the study of %s in %s\n", a->config, a->dir);
    return st;
  }
  if (!a->resume)
    return caviar_fail(err, CAVIAR_EINPUT,
                       "%s is a study already: add --resume to go on with it, or give a new or empty folder", a->dir);
  if (a->init_given)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: -n and --seed were set when the study was made; give neither with --resume",
                       a->dir);
  caviar_spec spec;
  caviar_status st = caviar_spec_load(a->config, &spec, err);
  if (st != CAVIAR_OK) return st;
  caviar_study *s;
  st = caviar_study_open(a->dir, &s, err);
  if (st == CAVIAR_OK) {
    if (strcmp(caviar_study_spec(s)->text, spec.text) != 0)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: its study was made from another config than %s (its study.json keeps "
                       "the one it was made from)", a->dir, a->config);
    caviar_study_close(s);
  }
  caviar_spec_free(&spec);
  return st;
}

/* --resume: the trials whose agent on this machine is gone (killed, even by SIGKILL, so it could
 * not give them back) go back to the study at once; those of agents alive, or on other machines,
 * are left to them (or to the timeout). */
static void release_orphans(agent *a) {
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "localhost");
  size_t host_len = strlen(host);
  int released = 0;
  for (int id = 0; id < caviar_study_started(a->s); id++) {
    int attempt;
    const char *worker = caviar_study_holder(a->s, (uint32_t)id, &attempt);
    if (!worker || strncmp(worker, host, host_len) || worker[host_len] != ':') continue;
    char *end;
    long pid = strtol(worker + host_len + 1, &end, 10);
    if (end == worker + host_len + 1 || pid <= 0 || (*end && *end != '/')) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char reason[160];
    snprintf(reason, sizeof reason, "its agent (pid %ld) is gone; given back by caviar agent --resume", pid);
    caviar_error err;
    if (caviar_study_release(a->s, (uint32_t)id, attempt, reason, &err) == CAVIAR_OK) released++;
    else say(a, "trial %d: %s", id, err.msg);
  }
  if (released) say(a, "--resume: %d trial(s) whose agent is gone go out again", released);
}

int caviar_cmd_agent(int argc, char **argv) {
  agent a = {0};
  int rc = parse_args(&a, argc, argv);
  if (rc) {
    free(a.gpus);
    return rc < 0 ? 0 : rc;
  }
  caviar_status st = a.config ? config_study(&a, &a.err) : CAVIAR_OK;
  if (st == CAVIAR_OK) st = caviar_study_open(a.dir, &a.s, &a.err);
  if (st == CAVIAR_OK && !a.command) {
    /* No -- COMMAND: the config's program or command, as wandb agent runs it. */
    const caviar_spec *spec = caviar_study_spec(a.s);
    if (!spec->program && !spec->command)
      st = caviar_fail(&a.err, CAVIAR_EINPUT, "%s: its config names no program or command: give the one to run after "
                       "-- (caviar agent %s -- python3 train.py)", a.config ? a.config : a.dir, a.dir);
    a.config_command = spec->command;
    a.n_config_command = spec->n_command;
    a.program = spec->program;
  }
  if (st != CAVIAR_OK) {
    caviar_study_close(a.s);
    free(a.gpus);
    return caviar_report(st, &a.err);
  }
  pick_interpreter(&a);
  find_python_dir(&a);
  if (a.resume) release_orphans(&a);
  a.runs = calloc((size_t)a.jobs, sizeof *a.runs);
  struct pollfd *fds = calloc(2 * (size_t)a.jobs, sizeof *fds);
  int *which = calloc(2 * (size_t)a.jobs, sizeof *which);
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
        fds[n] = (struct pollfd){.fd = a.runs[w].err_fd, .events = POLLIN};
        which[n++] = -1 - w; /* its stderr */
      }
    if (poll(fds, (nfds_t)n, 100) > 0)
      for (int k = 0; k < n; k++) {
        if (!fds[k].revents) continue;
        if (which[k] >= 0) drain(&a, &a.runs[which[k]]);
        else drain_stderr(&a.runs[-1 - which[k]]);
      }
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
    fprintf(stderr, "caviar agent: stopped; the study goes on with caviar agent %s --resume%s\n", a.dir,
            a.command ? " -- ..." : "");
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
