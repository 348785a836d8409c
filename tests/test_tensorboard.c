/* TensorBoard event files of a sweep, read back by an independent decoder: every record's
 * framing and both masked CRC32Cs, the first event's file_version, one event per epoch whose
 * scalars equal curves.csv, the HParams records (the experiment's swept parameters, each trial's
 * values and end status as summary.json has them); a kill in the middle of a write leaves files
 * whose whole records still read, and the resumed sweep's files equal an uninterrupted one's with
 * no step twice; TensorBoard's own loader agrees where it is installed. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/tensorboard.h"
#include "scratch.h"
#include "synth_support.h"

/* ---- a protobuf reader for the few messages written ---- */

typedef struct field {
  int number, wire;
  uint64_t v;              /* varint, fixed32, fixed64 */
  const unsigned char *p;  /* length-delimited */
  size_t n;
} field;

static bool next_field(const unsigned char **p, const unsigned char *end, field *f) {
  if (*p >= end) return false;
  uint64_t key = 0;
  for (int s = 0;; s += 7) {
    cr_assert(*p < end && s < 64, "a truncated key");
    unsigned char b = *(*p)++;
    key |= (uint64_t)(b & 0x7F) << s;
    if (!(b & 0x80)) break;
  }
  f->number = (int)(key >> 3);
  f->wire = (int)(key & 7);
  f->v = 0;
  if (f->wire == 0 || f->wire == 2) {
    for (int s = 0;; s += 7) {
      cr_assert(*p < end && s < 64, "a truncated varint");
      unsigned char b = *(*p)++;
      f->v |= (uint64_t)(b & 0x7F) << s;
      if (!(b & 0x80)) break;
    }
    if (f->wire == 2) {
      cr_assert(f->v <= (uint64_t)(end - *p), "a length past the message's end");
      f->p = *p;
      f->n = (size_t)f->v;
      *p += f->n;
    }
  } else if (f->wire == 1 || f->wire == 5) {
    int k = f->wire == 1 ? 8 : 4;
    cr_assert(end - *p >= k);
    for (int i = k - 1; i >= 0; i--) f->v = f->v << 8 | (*p)[i];
    *p += k;
  } else {
    cr_assert_fail("wire type %d", f->wire);
  }
  return true;
}

static double as_double(uint64_t v) {
  double x;
  memcpy(&x, &v, 8);
  return x;
}

static float as_float(uint64_t v) {
  uint32_t u = (uint32_t)v;
  float x;
  memcpy(&x, &u, 4);
  return x;
}

#define FOR_FIELDS(f, data, len) \
  for (const unsigned char *at_ = (data), *end_ = (data) + (len); next_field(&at_, end_, &(f));)

typedef struct event {
  double wall;
  int64_t step;
  char file_version[32];
  int n_scalars;
  char tags[8][32];
  float values[8];
  char plugin_tag[64];      /* an HParams record's tag */
  cJSON *hparams;           /* session start: name -> number or string */
  int status;               /* session end: -1 none */
  cJSON *experiment;        /* names of the swept parameters */
} event;

static void copy_text(char *out, size_t size, const field *f) {
  snprintf(out, size, "%.*s", (int)f->n, (const char *)f->p);
}

static void decode_hparams(event *e, const unsigned char *p, size_t n) {
  field f, g, h, k;
  FOR_FIELDS(f, p, n) {
    if (f.number == 1) cr_expect_eq(f.v, 0, "HParams plugin data version");
    if (f.number == 3) { /* SessionStartInfo */
      e->hparams = cJSON_CreateObject();
      FOR_FIELDS(g, f.p, f.n) if (g.number == 1) {
        char key[64] = "";
        cJSON *value = NULL;
        FOR_FIELDS(h, g.p, g.n) {
          if (h.number == 1) copy_text(key, sizeof key, &h);
          if (h.number == 2) FOR_FIELDS(k, h.p, h.n) {
              if (k.number == 2) value = cJSON_CreateNumber(as_double(k.v));
              if (k.number == 3) {
                char text[64];
                copy_text(text, sizeof text, &k);
                value = cJSON_CreateString(text);
              }
            }
        }
        cr_assert_not_null(value, "hparam %s without a value", key);
        cJSON_AddItemToObject(e->hparams, key, value);
      }
    }
    if (f.number == 4) { /* SessionEndInfo */
      e->status = 0;
      FOR_FIELDS(g, f.p, f.n) if (g.number == 1) e->status = (int)g.v;
    }
    if (f.number == 2) { /* Experiment: hparam_infos' names */
      e->experiment = cJSON_CreateArray();
      FOR_FIELDS(g, f.p, f.n) if (g.number == 4) FOR_FIELDS(h, g.p, g.n) if (h.number == 1) {
            char name[64];
            copy_text(name, sizeof name, &h);
            cJSON_AddItemToArray(e->experiment, cJSON_CreateString(name));
          }
    }
  }
}

static void decode_event(event *e, const unsigned char *p, size_t n) {
  memset(e, 0, sizeof *e);
  e->status = -1;
  e->step = -1;
  field f, g, h, k, m;
  FOR_FIELDS(f, p, n) {
    if (f.number == 1) e->wall = as_double(f.v);
    else if (f.number == 2) e->step = (int64_t)f.v;
    else if (f.number == 3) copy_text(e->file_version, sizeof e->file_version, &f);
    else if (f.number == 5) {
      FOR_FIELDS(g, f.p, f.n) if (g.number == 1) { /* Summary.value */
          char tag[64] = "";
          bool simple = false;
          float x = 0;
          FOR_FIELDS(h, g.p, g.n) {
            if (h.number == 1) copy_text(tag, sizeof tag, &h);
            if (h.number == 2) simple = true, x = as_float(h.v);
            if (h.number == 9) FOR_FIELDS(k, h.p, h.n) if (k.number == 1) { /* plugin_data */
                  char plugin[32] = "";
                  FOR_FIELDS(m, k.p, k.n) {
                    if (m.number == 1) copy_text(plugin, sizeof plugin, &m);
                    if (m.number == 2) decode_hparams(e, m.p, m.n);
                  }
                  cr_expect_str_eq(plugin, "hparams");
                }
          }
          if (simple) {
            cr_assert_lt(e->n_scalars, 8);
            snprintf(e->tags[e->n_scalars], 32, "%s", tag);
            e->values[e->n_scalars++] = x;
          } else {
            snprintf(e->plugin_tag, sizeof e->plugin_tag, "%s", tag);
          }
        }
    } else cr_expect_fail("unexpected Event field %d", f.number);
  }
}

static void event_free(event *e) {
  cJSON_Delete(e->hparams);
  cJSON_Delete(e->experiment);
}

/* Every record of a file with its CRCs checked; *torn: bytes after the last whole record (a write
 * cut short), which only a tolerant read accepts. Returns the events (count in *n). */
static event *read_events(const char *path, int *n, bool tolerant, size_t *torn) {
  size_t len = 0;
  unsigned char *bytes = (unsigned char *)scratch_read(path, &len);
  cr_assert_not_null(bytes, "%s missing", path);
  event *events = NULL;
  *n = 0;
  size_t at = 0;
  *torn = 0;
  while (at < len) {
    uint64_t size = 0;
    bool whole = len - at >= 12;
    if (whole) {
      for (int i = 7; i >= 0; i--) size = size << 8 | bytes[at + (size_t)i];
      uint32_t crc = 0;
      for (int i = 3; i >= 0; i--) crc = crc << 8 | bytes[at + 8 + (size_t)i];
      cr_assert_eq(crc, caviar_crc32c_masked(bytes + at, 8), "%s: bad length CRC at byte %zu", path, at);
      whole = size <= len - at - 12 && len - at - 12 - size >= 4;
    }
    if (!whole) {
      cr_assert(tolerant, "%s: a torn record at byte %zu", path, at);
      *torn = len - at;
      break;
    }
    const unsigned char *data = bytes + at + 12;
    uint32_t crc = 0;
    for (int i = 3; i >= 0; i--) crc = crc << 8 | data[size + (size_t)i];
    cr_assert_eq(crc, caviar_crc32c_masked(data, (size_t)size), "%s: bad data CRC at byte %zu", path, at);
    events = realloc(events, (size_t)(*n + 1) * sizeof *events);
    decode_event(&events[*n], data, (size_t)size);
    (*n)++;
    at += 12 + (size_t)size + 4;
  }
  free(bytes);
  return events;
}

static void events_free(event *e, int n) {
  for (int i = 0; i < n; i++) event_free(&e[i]);
  free(e);
}

/* The event file in a run's folder. */
static void event_path(const char *folder, char *out, size_t size) {
  DIR *d = opendir(folder);
  cr_assert_not_null(d, "%s missing", folder);
  struct dirent *e;
  int found = 0;
  while ((e = readdir(d)))
    if (!strncmp(e->d_name, "events.out.tfevents.", 20)) snprintf(out, size, "%s/%s", folder, e->d_name), found++;
  closedir(d);
  cr_assert_eq(found, 1, "%s: %d event files", folder, found);
}

/* ---- the sweeps ---- */

static const char *spec(const char *tensorboard) {
  static char text[2048];
  const char *data = synth_idx_dir("tb", 800, 200, 16, 4, 3.0, true);
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 9, \"seed\": 2, \"model\": {\"batch_size\": 32, \"lr_decay\": 0.5},"
           " \"data\": {\"dir\": \"%s\"}%s%s%s,"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 1e-1},"
           " \"activation\": {\"values\": [\"relu\", \"tanh\"]}, \"layers\": {\"values\": [1]}},"
           " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 4, \"eta\": 3}}",
           data, tensorboard ? ", \"tensorboard\": \"" : "", tensorboard ? tensorboard : "", tensorboard ? "\"" : "");
  return text;
}

/* Checks every trial's run against the sweep's summary.json and curves.csv. */
static void check_runs(const char *tb, const char *out) {
  char path[2400], folder[2200];
  snprintf(path, sizeof path, "%s/summary.json", out);
  cJSON *summary = scratch_read_json(path);
  snprintf(path, sizeof path, "%s/curves.csv", out);
  char *curves = scratch_read(path, NULL);
  /* The experiment: the swept parameters (layers took one value). */
  event_path(tb, path, sizeof path);
  int n;
  size_t torn;
  event *ev = read_events(path, &n, false, &torn);
  cr_assert_eq(n, 2);
  cr_expect_str_eq(ev[0].file_version, "brain.Event:2");
  cr_expect_str_eq(ev[1].plugin_tag, "_hparams_/experiment");
  char *names = cJSON_PrintUnformatted(ev[1].experiment);
  cr_expect_str_eq(names, "[\"learning_rate\",\"activation\"]");
  free(names);
  events_free(ev, n);
  const cJSON *t;
  int points = 0;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(summary, "trials")) {
    int id = cJSON_GetObjectItem(t, "trial")->valueint;
    snprintf(folder, sizeof folder, "%s/trial-%d", tb, id);
    event_path(folder, path, sizeof path);
    ev = read_events(path, &n, false, &torn);
    cr_assert_geq(n, 3, "trial %d: %d events", id, n);
    cr_expect_str_eq(ev[0].file_version, "brain.Event:2", "trial %d's first event", id);
    cr_expect_str_eq(ev[1].plugin_tag, "_hparams_/session_start_info");
    /* Its values as summary.json has them. */
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(t, "params")) {
      if (!strcmp(p->string, "learning_rate") || !strcmp(p->string, "activation")) {
        const cJSON *got = cJSON_GetObjectItem(ev[1].hparams, p->string);
        cr_assert_not_null(got, "trial %d: no %s", id, p->string);
        cr_expect(cJSON_Compare(got, p, true), "trial %d: %s differs", id, p->string);
      } else {
        cr_expect_null(cJSON_GetObjectItem(ev[1].hparams, p->string), "trial %d: %s was not swept", id, p->string);
      }
    }
    /* One event per epoch, steps 1, 2, ..., scalars equal to curves.csv's row. */
    int epochs = cJSON_GetObjectItem(t, "epochs")->valueint;
    cr_assert_eq(n, 3 + epochs, "trial %d: %d events for %d epochs", id, n, epochs);
    double lr = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "params"), "learning_rate")->valuedouble;
    for (int e = 1; e <= epochs; e++) {
      const event *x = &ev[1 + e];
      cr_expect_eq(x->step, e, "trial %d: step %lld where epoch %d belongs", id, (long long)x->step, e);
      char prefix[32];
      snprintf(prefix, sizeof prefix, "\n%d,%d,", id, e);
      const char *row = strstr(curves, prefix);
      cr_assert_not_null(row, "curves.csv has no trial %d epoch %d", id, e);
      float want[3];
      cr_assert_eq(sscanf(row + strlen(prefix), "%f,%f,%f", &want[0], &want[1], &want[2]), 3);
      const char *tags[] = {"train_loss", "val_loss", "val_acc", "learning_rate"};
      float expect[4] = {want[0], want[1], want[2], (float)(lr / (1 + 0.5 * (e - 1)))};
      cr_assert_eq(x->n_scalars, 4);
      for (int k = 0; k < 4; k++) {
        cr_expect_str_eq(x->tags[k], tags[k]);
        cr_expect(k == 3 ? fabsf(x->values[k] - expect[k]) <= 1e-6f * expect[k] : x->values[k] == expect[k],
                  "trial %d epoch %d: %s is %.9g, want %.9g", id, e, tags[k], x->values[k], expect[k]);
      }
      points++;
    }
    const event *end = &ev[n - 1];
    cr_expect_str_eq(end->plugin_tag, "_hparams_/session_end_info");
    const char *status = cJSON_GetObjectItem(t, "status")->valuestring;
    cr_expect_eq(end->status, !strcmp(status, "diverged") ? 2 : 1, "trial %d (%s): status %d", id, status, end->status);
    events_free(ev, n);
  }
  cr_expect_gt(points, 9);
  free(curves);
  cJSON_Delete(summary);
}

Test(tensorboard, crc32c_matches_the_published_check_values) {
  cr_expect_eq(caviar_crc32c("123456789", 9), 0xE3069283u);
  unsigned char zeros[32] = {0}, ones[32];
  memset(ones, 0xFF, sizeof ones);
  cr_expect_eq(caviar_crc32c(zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
  cr_expect_eq(caviar_crc32c(ones, 32), 0x62A8AB43u);
  uint32_t c = caviar_crc32c("123456789", 9);
  cr_expect_eq(caviar_crc32c_masked("123456789", 9), ((c >> 15) | (c << 17)) + 0xA282EAD8u);
}

Test(tensorboard, a_sweep_writes_every_epoch_and_hparams_record_as_curves_and_summary_say) {
  /* The spec's field, relative to the spec's folder. */
  scratch_write_text("tb-spec.json", spec("tb-from-spec"));
  char args[2400], tb[1200];
  snprintf(args, sizeof args, "sweep %s -o %s -q", scratch_path("tb-spec.json"), scratch_path("tb-out"));
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  snprintf(tb, sizeof tb, "%s", scratch_path("tb-from-spec"));
  check_runs(tb, scratch_path("tb-out"));
  /* Another sweep into the same folder is refused without --force, in one line. */
  snprintf(args, sizeof args, "sweep %s -o %s -q --tensorboard %s", scratch_path("tb-spec.json"), scratch_path("tb-out2"), tb);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
  cr_expect(strstr(r.err, "another sweep's event files") != NULL, "%s", r.err);
  cli_result_free(&r);
  /* TensorBoard's own loader, where it is installed (scripts/setup.sh: .venv). */
  char cmd[4000], *text;
  snprintf(cmd, sizeof cmd,
           "py=" CAVIAR_SOURCE_DIR "/.venv/bin/python; [ -x $py ] || py=python3; $py " CAVIAR_SOURCE_DIR
           "/tests/check_tensorboard.py %s %s",
           tb, scratch_path("tb-out"));
  int rc = scratch_shell(cmd, &text);
  /* Said either way, so a run's log shows whether TensorBoard's loader read the files. */
  printf("tensorboard's loader: %s", text ? text : "no output\n");
  if (rc != 77) cr_expect_eq(rc, 0, "%s", text ? text : "");
  free(text);
}

Test(tensorboard, a_kill_mid_write_leaves_readable_files_and_the_resume_matches_an_uninterrupted_run) {
  scratch_write_text("tb-kill.json", spec(NULL));
  char args[2400];
  snprintf(args, sizeof args, "sweep %s -o %s -q --tensorboard %s", scratch_path("tb-kill.json"), scratch_path("whole-out"),
           scratch_path("whole-tb"));
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  /* The 12th trial file write is cut in half by SIGKILL (a snapshot every epoch to resume from). */
  snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0 --tensorboard %s", scratch_path("tb-kill.json"),
           scratch_path("killed-out"), scratch_path("killed-tb"));
  r = run_caviar_with("CAVIAR_KILL_AT=tensorboard:12", args);
  cr_assert_neq(r.status, 0, "not killed");
  cli_result_free(&r);
  /* Every file reads up to its last whole record; one has a torn tail. */
  int torn_files = 0;
  char folder[1400], path[2400];
  for (int id = 0; id < 9; id++) {
    snprintf(folder, sizeof folder, "%s/trial-%d", scratch_path("killed-tb"), id);
    DIR *d = opendir(folder);
    if (!d) continue;
    closedir(d);
    event_path(folder, path, sizeof path);
    int n;
    size_t torn;
    event *ev = read_events(path, &n, true, &torn);
    torn_files += torn > 0;
    events_free(ev, n);
  }
  cr_expect_eq(torn_files, 1, "%d files torn", torn_files);
  snprintf(args, sizeof args, "sweep --resume %s -q", scratch_path("killed-out"));
  r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  check_runs(scratch_path("killed-tb"), scratch_path("killed-out"));
  /* Step for step, value for value, the uninterrupted run's. */
  for (int id = 0; id < 9; id++) {
    char a[2400], b[2400];
    snprintf(folder, sizeof folder, "%s/trial-%d", scratch_path("whole-tb"), id);
    event_path(folder, a, sizeof a);
    snprintf(folder, sizeof folder, "%s/trial-%d", scratch_path("killed-tb"), id);
    event_path(folder, b, sizeof b);
    int na, nb;
    size_t torn;
    event *ea = read_events(a, &na, false, &torn), *eb = read_events(b, &nb, false, &torn);
    cr_assert_eq(na, nb, "trial %d: %d events, uninterrupted %d", id, nb, na);
    for (int k = 0; k < na; k++) {
      cr_expect_eq(ea[k].step, eb[k].step, "trial %d event %d", id, k);
      cr_expect_eq(ea[k].n_scalars, eb[k].n_scalars);
      for (int s = 0; s < ea[k].n_scalars; s++) cr_expect_eq(ea[k].values[s], eb[k].values[s], "trial %d step %lld", id, (long long)ea[k].step);
      cr_expect_eq(ea[k].status, eb[k].status);
    }
    events_free(ea, na);
    events_free(eb, nb);
  }
}
