/* caviar train: panda mode, babysitting one model. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caviar/atomic_file.h"
#include "caviar/model_file.h"
#include "caviar/panda.h"
#include "caviar/report_html.h"
#include "caviar/sweep_state.h"
#include "caviar/trial_json.h"
#include "caviar/writer_lock.h"
#include "cli.h"

static const char usage[] =
    "usage: caviar train [CONFIG.json | --from MODEL.safetensors] [--set name=value ...] [--epochs E]\n"
    "                    [--checkpoint FILE] [-o MODEL.safetensors] [--data DIR] [--seed S] [--trial K]\n"
    "                    [--device auto|cpu|cuda] [--tf32] [--threads N] [--report FILE]\n"
    "\n"
    "Train one model, printing its learning curve as it goes (panda mode: babysitting one model).\n"
    "CONFIG is a line of `caviar sample` ({\"trial\": k, \"params\": {...}}, with optional \"data\" and\n"
    "\"seed\", as `caviar sample` writes them) or a sweep spec (its trial K, default 0); without one,\n"
    "the default spec's trial 0. A config, a model (--from) or a checkpoint brings its seed and data\n"
    "(the data section and validation fraction): the run uses them unless --data or --seed say\n"
    "otherwise, and warns when the new validation examples were the model's training examples.\n"
    "With --checkpoint FILE the run is saved after every epoch; if FILE exists the run resumes from\n"
    "it: weights, optimizer state, step and epoch counts, so resuming without changes continues\n"
    "exactly as if never stopped. --set changes a hyperparameter from the next step on and records\n"
    "the change in the checkpoint's history (the shape, hidden and layers, stays). The checkpoint\n"
    "records the data it trained on (each file's size and CRC-32): resuming on changed data is\n"
    "refused (pass --data to mean it), and --from warns. The run holds FILE and MODEL while it runs:\n"
    "another train writing either is refused at once (status 2, naming its pid).\n"
    "\n"
    "  --from MODEL       start from a saved model's weights (fresh optimizer state)\n"
    "  --set name=value   change a hyperparameter (repeatable)\n"
    "  --epochs E         epochs to train now (default 10)\n"
    "  --checkpoint FILE  resume from FILE if it exists; save to it after every epoch\n"
    "  -o, --out MODEL    save the final model as safetensors\n"
    "  --report FILE      the run as a web page (learning curve, parameters), rewritten at most every\n"
    "                     30 s while it trains (it reloads itself) and at the end; default: beside\n"
    "                     -o MODEL or --checkpoint FILE, named like it with .html\n"
    "  --data DATA        an IDX folder, or a CSV file with data-section keys after commas\n"
    "                     (train.csv,test=0.2,label_column=species,task=regression), or a data\n"
    "                     section's JSON: the keys it names override the config's, model's or\n"
    "                     checkpoint's data section, the others stay\n"
    "  --threads N        CPU threads to train on (default: every core, or $OMP_NUM_THREADS)\n"
    "  --seed S, --trial K, --device D, --tf32: as for caviar sweep\n"
    "  -h, --help         this text\n";

typedef struct train_args {
  const char *config, *from, *checkpoint, *out, *data_dir, *device, *report;
  const char *sets[32];
  int n_sets, epochs;
  uint64_t seed, trial;
  bool seed_given, trial_given, tf32;
} train_args;

static int parse_args(int argc, char **argv, train_args *a) {
  static const struct option options[] = {
      {"from", required_argument, NULL, 'f'},   {"set", required_argument, NULL, 's'},
      {"epochs", required_argument, NULL, 'e'}, {"checkpoint", required_argument, NULL, 'c'},
      {"out", required_argument, NULL, 'o'},    {"data", required_argument, NULL, 'D'},
      {"seed", required_argument, NULL, 'S'},   {"trial", required_argument, NULL, 'k'},
      {"device", required_argument, NULL, 'd'}, {"tf32", no_argument, NULL, 't'},
      {"threads", required_argument, NULL, 'T'}, {"help", no_argument, NULL, 'h'},
      {"report", required_argument, NULL, 'r'},
      {NULL, 0, NULL, 0}};
  memset(a, 0, sizeof *a);
  a->epochs = 10;
  a->device = "auto";
  uint64_t v;
  int c, rc;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
    switch (c) {
      case 'f': a->from = optarg; break;
      case 's':
        if (a->n_sets == 32) return caviar_usage_error("train", "at most 32 --set");
        a->sets[a->n_sets++] = optarg;
        break;
      case 'e':
        if (!caviar_parse_u64(optarg, 100000, &v) || v == 0)
          return caviar_usage_error("train", "--epochs expects a whole number from 1 to 100000, got '%s'", optarg);
        a->epochs = (int)v;
        break;
      case 'c': a->checkpoint = optarg; break;
      case 'r': a->report = optarg; break;
      case 'o': a->out = optarg; break;
      case 'D': a->data_dir = optarg; break;
      case 'S':
        if (!caviar_parse_u64(optarg, (uint64_t)CAVIAR_MAX_SEED, &a->seed))
          return caviar_usage_error("train", "--seed expects a whole number from 0 to 2^53, got '%s'", optarg);
        a->seed_given = true;
        break;
      case 'k':
        if (!caviar_parse_u64(optarg, 4294967295u, &a->trial))
          return caviar_usage_error("train", "--trial expects a trial id, got '%s'", optarg);
        a->trial_given = true;
        break;
      case 'd': a->device = optarg; break;
      case 't': a->tf32 = true; break;
      case 'T':
        if ((rc = caviar_threads_option("train", optarg)) != 0) return rc;
        break;
      case 'h': fputs(usage, stdout); return -1;
      default: return caviar_option_error("train", "o:h", optopt, argv[optind - 1]);
    }
  }
  if (argc - optind > 1) return caviar_usage_error("train", "expected at most one CONFIG, got %d", argc - optind);
  a->config = optind < argc ? argv[optind] : NULL;
  if (a->config && a->from) return caviar_usage_error("train", "give CONFIG or --from, not both");
  if (a->out && (rc = caviar_out_path_option("train", "-o", a->out, false)) != 0) return rc;
  if (a->checkpoint && (rc = caviar_out_path_option("train", "--checkpoint", a->checkpoint, false)) != 0) return rc;
  if (a->out && a->checkpoint && caviar_same_file(a->out, a->checkpoint))
    return caviar_usage_error("train", "-o %s and --checkpoint %s name the same file: the model would replace the checkpoint",
                              a->out, a->checkpoint);
  return 0;
}

/* Where the run starts: the checkpoint if it exists, else a model, a config, or the default. */
static caviar_status start(const train_args *a, caviar_panda *p, bool *resumed, caviar_model *origin,
                           caviar_error *err) {
  *resumed = a->checkpoint && access(a->checkpoint, F_OK) == 0;
  if (*resumed) {
    if (a->config || a->from)
      return caviar_fail(err, CAVIAR_EINPUT, "%s exists: resume it without CONFIG or --from, or remove it to start over",
                         a->checkpoint);
    if (a->seed_given) return caviar_fail(err, CAVIAR_EINPUT, "--seed: a resumed run keeps its seed");
    return caviar_panda_load(a->checkpoint, p, err);
  }
  if (a->config) return caviar_panda_from_config(p, a->config, a->trial_given ? (long long)a->trial : -1, err);
  if (a->from) {
    caviar_model model;
    caviar_status st = caviar_model_load(a->from, &model, err);
    if (st != CAVIAR_OK) return st;
    caviar_data_spec data = {.format = CAVIAR_DATA_IDX, .dir = CAVIAR_DEFAULT_DATA_DIR, .validation = 0.1,
                             .scaling = model.scaling.kind};
    if (!model.has_data)
      fprintf(stderr, "caviar: note: %s does not say what it was trained on (an older file): the default data, seed 0\n",
              a->from);
    st = caviar_panda_init(p, &model.hp, model.trial, model.has_data ? model.seed : 0,
                           model.has_data ? &model.data : &data, a->from, err);
    if (st == CAVIAR_OK) {
      caviar_panda_take_model(p, &model);
      /* What it was trained on, to check the run's validation examples against. */
      origin->has_data = model.has_data;
      origin->seed = model.seed;
      origin->data = model.data;
      origin->data_read = model.data_read;
      model.has_data = false;
      model.data_read = NULL;
      caviar_layout layout;
      caviar_layout_make(&p->shape, 1, &layout);
      p->first = caviar_alloc(layout.per_member, sizeof(float), "optimizer state", err);
      p->second = caviar_alloc(layout.per_member, sizeof(float), "optimizer state", err);
      if (!p->first || !p->second) st = CAVIAR_ERUNTIME;
    }
    caviar_model_free(&model);
    return st;
  }
  caviar_spec spec;
  caviar_status st = caviar_spec_load_default(&spec, err);
  if (st != CAVIAR_OK) return st;
  caviar_sampler sampler;
  st = caviar_sampler_init(&sampler, &spec, spec.seed, (long long)a->trial + 1, err);
  if (st == CAVIAR_OK) {
    caviar_trial t;
    caviar_sampler_draw(&sampler, (uint32_t)a->trial, &t);
    st = caviar_panda_init(p, &t.hp, t.id, spec.seed, &spec.data, "default spec", err);
    caviar_sampler_free(&sampler);
  }
  caviar_spec_free(&spec);
  return st;
}

/* The run's page: one trial, its learning curve, as report.html draws a sweep's. */
typedef struct train_page {
  char path[4200]; /* "" : none */
  const char *source, *device;
  const caviar_data *data;
  double last;     /* when it was last written */
  caviar_status st;
  caviar_error err;
} train_page;

static cJSON *run_summary(const caviar_panda *p, const train_page *tp, bool running) {
  cJSON *root = cJSON_CreateObject(), *data = cJSON_AddObjectToObject(root, "data");
  bool regression = p->shape.classes == 1;
  const char *metric = regression ? "val_rmse" : "val_acc";
  cJSON_AddStringToObject(root, "spec_file", tp->source);
  cJSON_AddNumberToObject(root, "seed", (double)p->seed);
  cJSON_AddStringToObject(root, "device", tp->device);
  cJSON_AddStringToObject(root, "metric", metric);
  cJSON_AddStringToObject(data, "train", tp->data->train_name);
  cJSON_AddNumberToObject(data, "train_examples", (double)tp->data->split.n_train);
  cJSON_AddNumberToObject(data, "validation_examples", (double)tp->data->split.n_val);
  if (regression) cJSON_AddNumberToObject(data, "target_std", p->target.std);
  cJSON *trials = cJSON_AddArrayToObject(root, "trials"), *t = cJSON_CreateObject();
  cJSON_AddItemToArray(trials, t);
  cJSON_AddNumberToObject(t, "trial", p->trial);
  cJSON_AddItemToObject(t, "params", caviar_hparams_cjson(&p->hp));
  cJSON_AddStringToObject(t, "status", running ? "running" : "survived");
  cJSON_AddNumberToObject(t, "epochs", p->epochs_done);
  cJSON_AddNumberToObject(t, "rank", 1);
  const cJSON *last = cJSON_GetArrayItem(p->curve, cJSON_GetArraySize(p->curve) - 1);
  if (last) {
    double vloss = cJSON_GetArrayItem(last, 2)->valuedouble;
    cJSON_AddNumberToObject(t, "train_loss", cJSON_GetArrayItem(last, 1)->valuedouble);
    cJSON_AddNumberToObject(t, "val_loss", vloss);
    cJSON_AddNumberToObject(t, metric, regression ? sqrt(vloss) * p->target.std : cJSON_GetArrayItem(last, 3)->valuedouble);
  }
  return root;
}

static void write_run_page(const caviar_panda *p, train_page *tp, bool running) {
  if (!tp->path[0] || tp->st != CAVIAR_OK) return;
  cJSON *summary = run_summary(p, tp, running);
  char *curves = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&curves, &size);
  if (f) {
    fputs("trial,epoch,train_loss,val_loss,val_acc\n", f);
    const cJSON *row;
    cJSON_ArrayForEach(row, p->curve)
      fprintf(f, "%u,%d,%.9g,%.9g,%.9g\n", (unsigned)p->trial, cJSON_GetArrayItem(row, 0)->valueint,
              cJSON_GetArrayItem(row, 1)->valuedouble, cJSON_GetArrayItem(row, 2)->valuedouble,
              cJSON_GetArrayItem(row, 3)->valuedouble);
    fclose(f);
  }
  caviar_page_live live = {.running = running, .reload_s = 30, .state = "finished"};
  if (summary && curves) tp->st = caviar_report_page_write(tp->path, "train", summary, curves, &live, NULL, &tp->err);
  else tp->st = caviar_fail(&tp->err, CAVIAR_ERUNTIME, "out of memory drawing %s", tp->path);
  tp->last = caviar_now();
  free(curves);
  cJSON_Delete(summary);
}

static void print_epoch(const caviar_panda *p, int epoch, float train_loss, float val_loss, float val_acc, float lr,
                        void *ctx) {
  train_page *tp = ctx;
  if (caviar_now() - tp->last >= 30) write_run_page(p, tp, true);
  if (p->shape.classes == 1)
    printf("epoch %4d  train_loss %.4f  val_loss %.4f  val_rmse %.4g  lr %.4g\n", epoch, (double)train_loss,
           (double)val_loss, sqrt((double)val_loss) * p->target.std, (double)lr);
  else
    printf("epoch %4d  train_loss %.4f  val_loss %.4f  val_acc %.4f  lr %.4g\n", epoch, (double)train_loss,
           (double)val_loss, (double)val_acc, (double)lr);
  fflush(stdout);
}

/* The data loaded must be what the checkpoint trained on: a changed file would mix two data sets
 * in one run, so it is refused. A model's data that changed since it was saved is only noted
 * (--from may well mean new data). With --data, other data is what was asked for (the overlap
 * warning speaks). Then the run records what it trains on, for its checkpoints and model. */
static caviar_status check_data(const train_args *a, caviar_panda *p, const caviar_model *origin, bool resumed,
                                const caviar_data *data, caviar_error *err) {
  char why[9000];
  if (!a->data_dir && resumed && p->data_read && caviar_data_changed(p->data_read, data, why, sizeof why))
    return caviar_fail(err, CAVIAR_EINPUT,
                       "%s: the data changed since this run was checkpointed: %s; continuing would mix two data sets "
                       "(restore the data, or pass --data to train on it knowingly)",
                       a->checkpoint, why);
  if (!a->data_dir && a->from && origin->data_read && caviar_data_changed(origin->data_read, data, why, sizeof why))
    fprintf(stderr, "caviar: warning: the data changed since %s was trained: %s\n", a->from, why);
  free(p->data_read);
  p->data_read = caviar_data_identity(data);
  return p->data_read ? CAVIAR_OK : caviar_fail(err, CAVIAR_ERUNTIME, "out of memory describing the data");
}

static caviar_status override_data(caviar_panda *p, const train_args *a, caviar_error *err) {
  if (a->seed_given) p->seed = a->seed;
  return a->data_dir ? caviar_data_arg(&p->data, a->data_dir, false, err) : CAVIAR_OK;
}

int caviar_cmd_train(int argc, char **argv) {
  train_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  signal(SIGPIPE, SIG_IGN); /* | head must not cost the run its -o model */
  caviar_panda p;
  caviar_error err;
  bool resumed;
  caviar_model origin;
  memset(&origin, 0, sizeof origin);
  /* Where the run will write is made (missing parent folders, as mkdir -p) and held: one writer per
   * file, the checkpoint and the model held for the whole run, before anything is read or written
   * (a second run with either is refused at once); then where it will write is checked before it
   * trains, not after. */
  caviar_writer_lock locks[2];
  caviar_lock_init(&locks[0]);
  caviar_lock_init(&locks[1]);
  caviar_status st = a.out ? caviar_make_parents(a.out, &err) : CAVIAR_OK;
  if (st == CAVIAR_OK && a.checkpoint) st = caviar_make_parents(a.checkpoint, &err);
  if (st == CAVIAR_OK && a.checkpoint)
    st = caviar_lock_file(a.checkpoint, "wait for it to end, or choose another --checkpoint", &locks[0], &err);
  if (st == CAVIAR_OK && a.out) st = caviar_lock_file(a.out, "wait for it to end, or choose another -o", &locks[1], &err);
  if (st == CAVIAR_OK) caviar_fault_point("locked");
  if (st == CAVIAR_OK && a.out) st = caviar_atomic_check(a.out, &err);
  if (st == CAVIAR_OK && a.checkpoint) st = caviar_atomic_check(a.checkpoint, &err);
  if (st == CAVIAR_OK) st = start(&a, &p, &resumed, &origin, &err);
  if (st != CAVIAR_OK) {
    caviar_unlock(&locks[1]);
    caviar_unlock(&locks[0]);
    return caviar_report(st, &err);
  }
  if (resumed) {
    st = caviar_data_spec_copy(&p.data, &origin.data, &err);
    origin.has_data = st == CAVIAR_OK;
    origin.seed = p.seed;
  }
  /* The flags' own errors first, then --data's. */
  for (int i = 0; st == CAVIAR_OK && i < a.n_sets; i++) st = caviar_panda_set(&p, a.sets[i], &err);
  if (st == CAVIAR_OK) st = override_data(&p, &a, &err);
  caviar_backend *be = NULL;
  const char *device = NULL;
  caviar_data data;
  memset(&data, 0, sizeof data);
  if (st == CAVIAR_OK) st = caviar_open_backend(a.device, a.tf32, &be, &device, &err);
  if (st == CAVIAR_OK) st = caviar_data_load(&p.data, p.seed, &data, &err);
  if (st == CAVIAR_OK) st = check_data(&a, &p, &origin, resumed, &data, &err);
  if (st == CAVIAR_OK) {
    char warning[1024];
    caviar_labels_look_real(&data, warning, sizeof warning);
    if (warning[0]) fprintf(stderr, "caviar: warning: %s\n", warning);
  }
  /* The run's page: --report, else beside the model or checkpoint. */
  train_page page = {.source = a.config ? a.config : a.from ? a.from : resumed ? a.checkpoint : "default spec",
                     .device = device, .data = &data, .last = caviar_now(), .st = CAVIAR_OK};
  const char *beside = a.out ? a.out : a.checkpoint;
  if (a.report) snprintf(page.path, sizeof page.path, "%s", a.report);
  else if (beside) {
    snprintf(page.path, sizeof page.path, "%s", beside);
    char *dot = strrchr(page.path, '.'), *slash = strrchr(page.path, '/');
    if (dot && (!slash || dot > slash)) *dot = '\0';
    strncat(page.path, ".html", sizeof page.path - strlen(page.path) - 1);
  }
  if (st == CAVIAR_OK && page.path[0]) st = caviar_atomic_check(page.path, &err);
  if (st == CAVIAR_OK) {
    char params[2048];
    caviar_hparams_json(&p.hp, params, sizeof params);
    fprintf(stderr, "caviar: %s trial %u at epoch %d on %s: %s (data %s, seed %llu, validation %g)\n",
            resumed ? "resuming" : "training", (unsigned)p.trial, p.epochs_done, device, params, data.train_name,
            (unsigned long long)p.seed, p.data.validation);
    if (a.data_dir || a.seed_given)
      caviar_warn_overlap(&origin, a.from ? a.from : a.checkpoint, &data.train, data.split.val, data.split.n_val, "validation");
    st = caviar_panda_train(&p, be, &data, a.epochs, a.checkpoint, print_epoch, &page, &err);
    if (st == CAVIAR_OK) {
      write_run_page(&p, &page, false);
      if (page.st != CAVIAR_OK) st = page.st, err = page.err;
    }
  }
  if (st == CAVIAR_OK && a.out) {
    caviar_model model;
    caviar_panda_model(&p, &model);
    st = caviar_model_save(a.out, &model, &err);
  }
  caviar_data_free(&data);
  if (be) be->destroy(be);
  caviar_panda_free(&p);
  caviar_model_free(&origin);
  caviar_unlock(&locks[1]);
  caviar_unlock(&locks[0]);
  return caviar_report(st, &err);
}
