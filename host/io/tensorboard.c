#include "caviar/tensorboard.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caviar/model_math.h"

/* ---- CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord frames records ---- */

static uint32_t crc_table[256];

static void crc_init(void) {
  if (crc_table[1]) return;
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

uint32_t caviar_crc32c(const void *data, size_t n) {
  crc_init();
  const unsigned char *p = data;
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t caviar_crc32c_masked(const void *data, size_t n) {
  uint32_t c = caviar_crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

/* ---- protocol buffers' wire format, for the few fields written here ---- */

typedef struct pb {
  unsigned char *p;
  size_t n, cap;
  bool failed; /* out of memory: the buffer stays as it was, the writer reports it */
} pb;

static void pb_raw(pb *b, const void *data, size_t n) {
  if (b->failed) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 256;
    while (cap < b->n + n) cap *= 2;
    unsigned char *grown = realloc(b->p, cap);
    if (!grown) {
      b->failed = true;
      return;
    }
    b->p = grown;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, data, n);
  b->n += n;
}

static void pb_varint(pb *b, uint64_t v) {
  unsigned char out[10];
  int k = 0;
  do {
    out[k] = (unsigned char)(v & 0x7F);
    v >>= 7;
    if (v) out[k] |= 0x80;
    k++;
  } while (v);
  pb_raw(b, out, (size_t)k);
}

enum { WIRE_VARINT = 0, WIRE_64 = 1, WIRE_LEN = 2, WIRE_32 = 5 };

static void pb_key(pb *b, int field, int wire) { pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }

static void pb_int(pb *b, int field, uint64_t v) {
  pb_key(b, field, WIRE_VARINT);
  pb_varint(b, v);
}

/* A fixed-width field: the value's bytes little-endian. */
static void pb_fixed(pb *b, int field, uint64_t bits, int bytes) {
  unsigned char le[8];
  for (int i = 0; i < bytes; i++) le[i] = (unsigned char)(bits >> (8 * i));
  pb_key(b, field, bytes == 8 ? WIRE_64 : WIRE_32);
  pb_raw(b, le, (size_t)bytes);
}

static void pb_double(pb *b, int field, double x) {
  uint64_t bits;
  memcpy(&bits, &x, 8);
  pb_fixed(b, field, bits, 8);
}

static void pb_float(pb *b, int field, float x) {
  uint32_t bits;
  memcpy(&bits, &x, 4);
  pb_fixed(b, field, bits, 4);
}

static void pb_bytes(pb *b, int field, const void *data, size_t n) {
  pb_key(b, field, WIRE_LEN);
  pb_varint(b, n);
  pb_raw(b, data, n);
}

static void pb_string(pb *b, int field, const char *s) { pb_bytes(b, field, s, strlen(s)); }

/* A nested message: its bytes, then the inner buffer is emptied for reuse. */
static void pb_message(pb *b, int field, pb *inner) {
  if (inner->failed) b->failed = true;
  pb_bytes(b, field, inner->p, inner->n);
  inner->n = 0;
}

static void pb_free(pb *b) {
  free(b->p);
  *b = (pb){0};
}

/* One TFRecord: length, masked CRC of the length, data, masked CRC of the data. */
static void record(pb *out, const pb *event) {
  unsigned char head[12];
  uint64_t n = event->n;
  for (int i = 0; i < 8; i++) head[i] = (unsigned char)(n >> (8 * i));
  uint32_t c = caviar_crc32c_masked(head, 8);
  for (int i = 0; i < 4; i++) head[8 + i] = (unsigned char)(c >> (8 * i));
  pb_raw(out, head, 12);
  pb_raw(out, event->p, event->n);
  c = caviar_crc32c_masked(event->p, event->n);
  for (int i = 0; i < 4; i++) head[i] = (unsigned char)(c >> (8 * i));
  pb_raw(out, head, 4);
  if (event->failed) out->failed = true;
}

/* tensorboard.Event fields, and those of the messages inside it. */
enum { EVENT_WALL_TIME = 1, EVENT_STEP = 2, EVENT_FILE_VERSION = 3, EVENT_SUMMARY = 5 };
enum { SUMMARY_VALUE = 1 };
enum { VALUE_TAG = 1, VALUE_SIMPLE = 2, VALUE_TENSOR = 8, VALUE_METADATA = 9 };
enum { METADATA_PLUGIN_DATA = 1 };
enum { PLUGIN_NAME = 1, PLUGIN_CONTENT = 2 };
/* tensorboard.hparams: HParamsPluginData, Experiment, HParamInfo, MetricInfo, MetricName,
 * Interval, SessionStartInfo, SessionEndInfo; google.protobuf.Value and ListValue. */
enum { HP_VERSION = 1, HP_EXPERIMENT = 2, HP_SESSION_START = 3, HP_SESSION_END = 4 };
enum { EXP_TIME_CREATED = 3, EXP_HPARAM_INFOS = 4, EXP_METRIC_INFOS = 5, EXP_NAME = 6 };
enum { HPI_NAME = 1, HPI_TYPE = 4, HPI_DISCRETE = 5, HPI_INTERVAL = 6 };
enum { DATA_TYPE_STRING = 1, DATA_TYPE_FLOAT64 = 3 };
enum { METRIC_NAME = 1, METRIC_DISPLAY_NAME = 3, METRIC_DATASET = 5, DATASET_TRAINING = 1, DATASET_VALIDATION = 2 };
enum { METRICNAME_TAG = 2 };
enum { START_HPARAMS = 1, START_GROUP_NAME = 4, START_TIME = 5 };
enum { END_STATUS = 1, END_TIME = 2 };
enum { STATUS_UNKNOWN = 0, STATUS_SUCCESS = 1, STATUS_FAILURE = 2 };
enum { STRUCT_VALUE_NUMBER = 2, STRUCT_VALUE_STRING = 3, LIST_VALUES = 1 };

static const char *const tag_experiment = "_hparams_/experiment";
static const char *const tag_start = "_hparams_/session_start_info";
static const char *const tag_end = "_hparams_/session_end_info";

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct scratch {
  pb event, summary, value, meta, plugin, content, inner, inner2, inner3;
} scratch;

static void scratch_free(scratch *s) {
  pb *all[] = {&s->event, &s->summary, &s->value, &s->meta, &s->plugin, &s->content, &s->inner, &s->inner2, &s->inner3};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) pb_free(all[i]);
}

/* An event whose summary is one value: the HParams plugin's content (already in s->content) under
 * tag, with the plugin's empty float tensor as its data. */
static void hparams_event(pb *out, scratch *s, double wall, int64_t step, const char *tag) {
  static const unsigned char null_tensor[] = {0x08, 0x01, 0x12, 0x02, 0x12, 0x00}; /* DT_FLOAT, shape [0] */
  pb_string(&s->plugin, PLUGIN_NAME, "hparams");
  pb_message(&s->plugin, PLUGIN_CONTENT, &s->content);
  pb_message(&s->meta, METADATA_PLUGIN_DATA, &s->plugin);
  pb_string(&s->value, VALUE_TAG, tag);
  pb_bytes(&s->value, VALUE_TENSOR, null_tensor, sizeof null_tensor);
  pb_message(&s->value, VALUE_METADATA, &s->meta);
  pb_message(&s->summary, SUMMARY_VALUE, &s->value);
  pb_double(&s->event, EVENT_WALL_TIME, wall);
  pb_int(&s->event, EVENT_STEP, (uint64_t)step);
  pb_message(&s->event, EVENT_SUMMARY, &s->summary);
  record(out, &s->event);
  s->event.n = 0;
}

static void file_version_event(pb *out, scratch *s, double wall) {
  pb_double(&s->event, EVENT_WALL_TIME, wall);
  pb_string(&s->event, EVENT_FILE_VERSION, "brain.Event:2");
  record(out, &s->event);
  s->event.n = 0;
}

/* ---- the writer ---- */

typedef struct trial_run {
  int64_t last_step; /* the last epoch in the file (0: none) */
  bool scanned;      /* resumed: the file was read back (and cut to its last whole record) */
  bool started, ended;
} trial_run;

struct caviar_tensorboard {
  char dir[4096];
  const caviar_spec *spec;
  bool resume;
  long long file_time; /* in new files' names */
  trial_run *runs;
  int n_runs;
  size_t curve_done; /* curve points handled */
  double seconds;
  scratch s;
  pb out;
};

/* Whether parameter i of the space takes more than one value (the HParams dashboard lists these). */
static bool swept(const caviar_param *p) {
  return caviar_dist_get(p->dist)->family != CAVIAR_FAMILY_LIST || p->n_values > 1;
}

static caviar_status write_all(int fd, const unsigned char *p, size_t n, const char *path, caviar_error *err) {
  for (size_t done = 0; done < n;) {
    ssize_t k = write(fd, p + done, n - done);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", path, strerror(errno));
    done += (size_t)k;
  }
  return CAVIAR_OK;
}

/* Appends bytes to path (created if missing) with one write(2). The fault point "tensorboard"
 * writes half of them before it fires: a kill mid-write, for the tests. */
static caviar_status append(const char *path, const pb *b, caviar_error *err) {
  if (b->failed) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory writing %s", path);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot open: %s", path, strerror(errno));
  caviar_status st = CAVIAR_OK;
  if (getenv("CAVIAR_KILL_AT")) {
    st = write_all(fd, b->p, b->n / 2, path, err);
    caviar_fault_point("tensorboard");
    if (st == CAVIAR_OK) st = write_all(fd, b->p + b->n / 2, b->n - b->n / 2, path, err);
  } else {
    st = write_all(fd, b->p, b->n, path, err);
  }
  if (close(fd) != 0 && st == CAVIAR_OK)
    st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", path, strerror(errno));
  return st;
}

/* The event file in folder (the first named events.out.tfevents.*), or a new name for one. */
static void event_file(const caviar_tensorboard *tb, const char *folder, char *path, size_t size) {
  DIR *d = opendir(folder);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (!strncmp(e->d_name, "events.out.tfevents.", 20)) {
      snprintf(path, size, "%s/%s", folder, e->d_name);
      closedir(d);
      return;
    }
  if (d) closedir(d);
  snprintf(path, size, "%s/events.out.tfevents.%lld.caviar", folder, tb->file_time);
}

static uint64_t read_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* An event's step (field 2), or -1 when it has none. */
static int64_t event_step(const unsigned char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint64_t key = 0;
    for (int shift = 0; i < n && shift < 64; shift += 7) {
      key |= (uint64_t)(p[i] & 0x7F) << shift;
      if (!(p[i++] & 0x80)) break;
    }
    int wire = (int)(key & 7);
    uint64_t v = 0;
    if (wire == WIRE_VARINT || wire == WIRE_LEN) {
      for (int shift = 0; i < n && shift < 64; shift += 7) {
        v |= (uint64_t)(p[i] & 0x7F) << shift;
        if (!(p[i++] & 0x80)) break;
      }
    }
    if ((key >> 3) == EVENT_STEP && wire == WIRE_VARINT) return (int64_t)v;
    if (wire == WIRE_64) i += 8;
    else if (wire == WIRE_32) i += 4;
    else if (wire == WIRE_LEN) i += v;
    else if (wire != WIRE_VARINT) return -1;
  }
  return -1;
}

static bool contains(const unsigned char *p, size_t n, const char *s) {
  size_t k = strlen(s);
  for (size_t i = 0; i + k <= n; i++)
    if (p[i] == (unsigned char)s[0] && !memcmp(p + i, s, k)) return true;
  return false;
}

/* A resumed run's file read back: every whole record with good CRCs counts; the rest (a write a
 * kill cut short) is cut off, so appending goes on from a record boundary. */
static caviar_status scan(const char *path, trial_run *run, caviar_error *err) {
  run->scanned = true;
  FILE *f = fopen(path, "rb");
  if (!f) return CAVIAR_OK; /* never written: starts afresh */
  unsigned char head[12], *data = NULL;
  size_t cap = 0;
  long good = 0;
  for (;;) {
    if (fread(head, 1, 12, f) != 12) break;
    uint64_t n = read_le(head, 8);
    if ((uint32_t)read_le(head + 8, 4) != caviar_crc32c_masked(head, 8) || n > (1u << 30)) break;
    if (n + 4 > cap) {
      unsigned char *grown = realloc(data, (size_t)n + 4);
      if (!grown) break;
      data = grown;
      cap = (size_t)n + 4;
    }
    if (fread(data, 1, (size_t)n + 4, f) != n + 4) break;
    if ((uint32_t)read_le(data + n, 4) != caviar_crc32c_masked(data, (size_t)n)) break;
    good = ftell(f);
    if (contains(data, (size_t)n, tag_start)) run->started = true;
    else if (contains(data, (size_t)n, tag_end)) run->ended = true;
    else {
      int64_t step = event_step(data, (size_t)n);
      if (step > run->last_step) run->last_step = step;
    }
  }
  free(data);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fclose(f);
  if (size > good && truncate(path, good) != 0)
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot cut off its torn last record: %s", path, strerror(errno));
  return CAVIAR_OK;
}

static caviar_status make_dir(const char *path, caviar_error *err) {
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create: %s", path, strerror(errno));
  struct stat sb;
  if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) return caviar_fail(err, CAVIAR_EINPUT, "%s: not a folder", path);
  return CAVIAR_OK;
}

/* Event files of another sweep in dir (its root and trial-* folders): counted, or removed. */
static int old_runs(const char *dir, bool remove) {
  int found = 0;
  char path[8400];
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (!strncmp(e->d_name, "events.out.tfevents.", 20)) {
      found++;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      if (remove) unlink(path);
    } else if (!strncmp(e->d_name, "trial-", 6)) {
      char sub[4400];
      snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
      DIR *t = opendir(sub);
      struct dirent *f;
      while (t && (f = readdir(t)))
        if (!strncmp(f->d_name, "events.out.tfevents.", 20)) {
          found++;
          snprintf(path, sizeof path, "%s/%s", sub, f->d_name);
          if (remove) unlink(path);
        }
      if (t) closedir(t);
      if (remove) rmdir(sub);
    }
  }
  if (d) closedir(d);
  return found;
}

/* The experiment: every swept parameter with its domain, and the metrics. */
static caviar_status write_experiment(caviar_tensorboard *tb, caviar_error *err) {
  char path[4400];
  event_file(tb, tb->dir, path, sizeof path);
  if (tb->resume && access(path, F_OK) == 0) return CAVIAR_OK;
  scratch *s = &tb->s;
  const caviar_spec *spec = tb->spec;
  double wall = wall_now();
  tb->out.n = 0;
  file_version_event(&tb->out, s, wall);
  /* s->inner: one HParamInfo; inner2: its domain; inner3: a Value of the domain. */
  for (int i = 0; i < spec->space.n; i++) {
    const caviar_param *p = &spec->space.params[i];
    if (!swept(p)) continue;
    bool names = p->hp->type == CAVIAR_HP_CHOICE;
    pb_string(&s->inner, HPI_NAME, p->name);
    pb_int(&s->inner, HPI_TYPE, names ? DATA_TYPE_STRING : DATA_TYPE_FLOAT64);
    if (caviar_dist_get(p->dist)->family == CAVIAR_FAMILY_LIST) {
      for (int v = 0; v < p->n_values; v++) {
        if (names) pb_string(&s->inner3, STRUCT_VALUE_STRING, p->hp->choices[(int)p->values[v]]);
        else pb_double(&s->inner3, STRUCT_VALUE_NUMBER, p->values[v]);
        pb_message(&s->inner2, LIST_VALUES, &s->inner3);
      }
      pb_message(&s->inner, HPI_DISCRETE, &s->inner2);
    } else {
      double lo, hi;
      caviar_param_support(p, &lo, &hi);
      if (isfinite(lo)) pb_double(&s->inner2, 1, lo);
      if (isfinite(hi)) pb_double(&s->inner2, 2, hi);
      pb_message(&s->inner, HPI_INTERVAL, &s->inner2);
    }
    pb_message(&s->content, EXP_HPARAM_INFOS, &s->inner);
  }
  bool regression = spec->metric.name == CAVIAR_METRIC_VAL_RMSE || spec->metric.name == CAVIAR_METRIC_VAL_MSE;
  const char *metrics[4] = {caviar_metric_text(spec->metric.name), "val_loss", "train_loss", NULL};
  if (spec->metric.name == CAVIAR_METRIC_VAL_LOSS) metrics[1] = regression ? "val_rmse" : "val_acc";
  for (int m = 0; metrics[m]; m++) {
    pb_string(&s->inner2, METRICNAME_TAG, metrics[m]);
    pb_message(&s->inner, METRIC_NAME, &s->inner2);
    pb_string(&s->inner, METRIC_DISPLAY_NAME, metrics[m]);
    pb_int(&s->inner, METRIC_DATASET, m == 2 ? DATASET_TRAINING : DATASET_VALIDATION);
    pb_message(&s->content, EXP_METRIC_INFOS, &s->inner);
  }
  pb_string(&s->content, EXP_NAME, spec->name ? spec->name : spec->source);
  pb_double(&s->content, EXP_TIME_CREATED, wall);
  pb_int(&s->inner, HP_VERSION, 0);
  pb_message(&s->inner, HP_EXPERIMENT, &s->content);
  pb swap = s->content; /* the plugin data is the content now */
  s->content = s->inner;
  s->inner = swap;
  hparams_event(&tb->out, s, wall, 0, tag_experiment);
  return append(path, &tb->out, err);
}

caviar_status caviar_tensorboard_open(const char *dir, const caviar_spec *spec, bool resume, bool replace,
                                      caviar_tensorboard **out, caviar_error *err) {
  *out = NULL;
  caviar_status st = make_dir(dir, err);
  if (st != CAVIAR_OK) return st;
  if (!resume && old_runs(dir, false) > 0) {
    if (!replace)
      return caviar_fail(err, CAVIAR_EINPUT,
                         "--tensorboard %s holds another sweep's event files: pass --force to replace them, or choose "
                         "another folder",
                         dir);
    old_runs(dir, true);
  }
  caviar_tensorboard *tb = caviar_alloc(1, sizeof *tb, "the TensorBoard writer", err);
  if (!tb) return CAVIAR_ERUNTIME;
  snprintf(tb->dir, sizeof tb->dir, "%s", dir);
  tb->spec = spec;
  tb->resume = resume;
  tb->file_time = (long long)time(NULL);
  st = write_experiment(tb, err);
  if (st != CAVIAR_OK) {
    caviar_tensorboard_close(tb);
    return st;
  }
  *out = tb;
  return CAVIAR_OK;
}

/* The hyperparameters trial t trained its epoch `epoch` (1-based) with: PBT's lineage says which
 * values held from which epoch on. */
static caviar_hparams values_at(const caviar_trial_result *t, int epoch) {
  caviar_hparams hp = t->trial.hp;
  const caviar_lineage_event *chosen = NULL;
  for (int k = 0; k < t->n_lineage; k++)
    if (t->lineage[k].epoch < epoch) chosen = &t->lineage[k];
  /* Its numbers as the lineage shows them (a choice goes with the weights). */
  for (int i = 0; chosen && i < caviar_hp_count; i++) {
    const caviar_hp_info *info = &caviar_hp_table[i];
    if (info->type != CAVIAR_HP_CHOICE && caviar_hp_shown(&chosen->hp, info))
      caviar_hp_set(&hp, info, caviar_hp_get(&chosen->hp, info));
  }
  return hp;
}

static void scalar(pb *summary, pb *value, const char *tag, double x) {
  pb_string(value, VALUE_TAG, tag);
  pb_float(value, VALUE_SIMPLE, (float)x);
  pb_message(summary, SUMMARY_VALUE, value);
}

static void session_start(caviar_tensorboard *tb, const caviar_trial_result *t, double wall) {
  scratch *s = &tb->s;
  const caviar_space *space = &tb->spec->space;
  const caviar_hparams hp = values_at(t, 1);
  for (int i = 0; i < space->n; i++) {
    const caviar_param *p = &space->params[i];
    if (!swept(p) || !caviar_hp_active(&hp, p->hp)) continue;
    double x = caviar_hp_get(&hp, p->hp);
    pb_string(&s->inner, 1, p->name); /* a map entry: key, value */
    if (p->hp->type == CAVIAR_HP_CHOICE) pb_string(&s->inner2, STRUCT_VALUE_STRING, p->hp->choices[(int)x]);
    else pb_double(&s->inner2, STRUCT_VALUE_NUMBER, x);
    pb_message(&s->inner, 2, &s->inner2);
    pb_message(&s->inner3, START_HPARAMS, &s->inner);
  }
  char group[32];
  snprintf(group, sizeof group, "trial-%u", (unsigned)t->trial.id);
  pb_string(&s->inner3, START_GROUP_NAME, group);
  pb_double(&s->inner3, START_TIME, wall);
  pb_int(&s->content, HP_VERSION, 0);
  pb_message(&s->content, HP_SESSION_START, &s->inner3);
  hparams_event(&tb->out, s, wall, 0, tag_start);
}

static void session_end(caviar_tensorboard *tb, const caviar_trial_result *t, double wall) {
  scratch *s = &tb->s;
  int status = t->status == CAVIAR_TRIAL_DIVERGED   ? STATUS_FAILURE
               : t->status == CAVIAR_TRIAL_RUNNING ? STATUS_UNKNOWN
                                                   : STATUS_SUCCESS;
  if (status) pb_int(&s->inner3, END_STATUS, (uint64_t)status);
  pb_double(&s->inner3, END_TIME, wall);
  pb_int(&s->content, HP_VERSION, 0);
  pb_message(&s->content, HP_SESSION_END, &s->inner3);
  hparams_event(&tb->out, s, wall, t->epochs, tag_end);
}

static void epoch_event(caviar_tensorboard *tb, const caviar_trial_result *t, const caviar_curve_point *p,
                        double target_std, double wall) {
  scratch *s = &tb->s;
  caviar_metric_name metric = tb->spec->metric.name;
  scalar(&s->summary, &s->value, "train_loss", p->train_loss);
  scalar(&s->summary, &s->value, "val_loss", p->val_loss);
  if (target_std > 0) {
    scalar(&s->summary, &s->value, "val_rmse", sqrt(p->val_loss) * target_std);
    if (metric == CAVIAR_METRIC_VAL_MSE) scalar(&s->summary, &s->value, "val_mse", p->val_loss * target_std * target_std);
  } else {
    scalar(&s->summary, &s->value, "val_acc", p->val_acc);
  }
  caviar_hparams hp = values_at(t, p->epoch);
  caviar_member_hp mhp = {.learning_rate = (float)hp.learning_rate, .lr_decay = (float)hp.lr_decay};
  scalar(&s->summary, &s->value, "learning_rate", caviar_epoch_lr(&mhp, p->epoch - 1));
  pb_double(&s->event, EVENT_WALL_TIME, wall);
  pb_int(&s->event, EVENT_STEP, (uint64_t)p->epoch);
  pb_message(&s->event, EVENT_SUMMARY, &s->summary);
  record(&tb->out, &s->event);
  s->event.n = 0;
}

/* Everything new for one trial: points [from, to) of the curve that are its (to is exclusive; the
 * curve is scanned by the caller). */
static caviar_status update_trial(caviar_tensorboard *tb, const caviar_sweep_result *r, uint32_t id,
                                  const size_t *points, int n_points, bool final, double wall, caviar_error *err) {
  trial_run *run = &tb->runs[id];
  const caviar_trial_result *t = &r->trials[id];
  char folder[4400], path[8800];
  snprintf(folder, sizeof folder, "%s/trial-%u", tb->dir, (unsigned)id);
  caviar_status st = make_dir(folder, err);
  if (st != CAVIAR_OK) return st;
  event_file(tb, folder, path, sizeof path);
  if (tb->resume && !run->scanned && (st = scan(path, run, err)) != CAVIAR_OK) return st;
  run->scanned = true;
  tb->out.n = 0;
  if (!run->started) {
    file_version_event(&tb->out, &tb->s, wall);
    session_start(tb, t, wall);
  }
  for (int k = 0; k < n_points; k++) {
    const caviar_curve_point *p = &r->curve[points[k]];
    if (p->epoch <= run->last_step) continue;
    epoch_event(tb, t, p, r->target_std, wall);
  }
  bool ends = !run->ended && (t->status != CAVIAR_TRIAL_RUNNING || (final && !r->interrupted));
  if (ends) session_end(tb, t, wall);
  if (tb->out.n == 0) return CAVIAR_OK;
  st = append(path, &tb->out, err);
  if (st == CAVIAR_OK) {
    run->started = true;
    run->ended |= ends;
    for (int k = 0; k < n_points; k++)
      if (r->curve[points[k]].epoch > run->last_step) run->last_step = r->curve[points[k]].epoch;
  }
  return st;
}

caviar_status caviar_tensorboard_update(caviar_tensorboard *tb, const caviar_sweep_result *r, bool final,
                                        caviar_error *err) {
  double t0 = caviar_now();
  if (r->n_trials > tb->n_runs) {
    trial_run *grown = realloc(tb->runs, (size_t)r->n_trials * sizeof *grown);
    if (!grown) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory in the TensorBoard writer");
    memset(grown + tb->n_runs, 0, (size_t)(r->n_trials - tb->n_runs) * sizeof *grown);
    tb->runs = grown;
    tb->n_runs = r->n_trials;
  }
  /* The new points, grouped by trial (in curve order within each). */
  size_t n_new = r->n_curve > tb->curve_done ? r->n_curve - tb->curve_done : 0;
  size_t *points = caviar_alloc(n_new + 1, sizeof *points, "the TensorBoard writer", err);
  int *count = caviar_alloc((size_t)r->n_trials + 1, sizeof *count, "the TensorBoard writer", err);
  size_t *first = caviar_alloc((size_t)r->n_trials + 1, sizeof *first, "the TensorBoard writer", err);
  caviar_status st = points && count && first ? CAVIAR_OK : CAVIAR_ERUNTIME;
  if (st == CAVIAR_OK) {
    for (size_t k = tb->curve_done; k < r->n_curve; k++) count[r->curve[k].trial]++;
    size_t at = 0;
    for (int i = 0; i < r->n_trials; i++) {
      first[i] = at;
      at += (size_t)count[i];
      count[i] = 0;
    }
    for (size_t k = tb->curve_done; k < r->n_curve; k++) {
      uint32_t id = r->curve[k].trial;
      points[first[id] + (size_t)count[id]++] = k;
    }
  }
  double wall = wall_now();
  for (int i = 0; st == CAVIAR_OK && i < r->n_trials; i++) {
    const trial_run *run = &tb->runs[i];
    bool ending = !run->ended && (r->trials[i].status != CAVIAR_TRIAL_RUNNING || (final && !r->interrupted));
    /* Trials not yet started have epochs 0 and no points. */
    if (count[i] == 0 && (!ending || r->trials[i].epochs == 0)) continue;
    st = update_trial(tb, r, (uint32_t)i, points + first[i], count[i], final, wall, err);
  }
  if (st == CAVIAR_OK) tb->curve_done = r->n_curve;
  free(points);
  free(count);
  free(first);
  tb->seconds += caviar_now() - t0;
  return st;
}

double caviar_tensorboard_seconds(const caviar_tensorboard *tb) { return tb ? tb->seconds : 0; }

void caviar_tensorboard_close(caviar_tensorboard *tb) {
  if (!tb) return;
  scratch_free(&tb->s);
  pb_free(&tb->out);
  free(tb->runs);
  free(tb);
}
