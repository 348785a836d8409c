/* A study's journal (host/study/): the replay of any bytes as journal.jsonl, then a writer (ask,
 * report, tell) on whatever state they leave. The study is tpe over two coarse-to-fine rounds with
 * successive halving, a population and a condition, so every kind of record has a meaning. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caviar/study.h"
#include "fuzz_file.h"

/* tests/fuzz/corpus/study/ was written by this spec's studies (seed 1). */
static const char spec_text[] =
    "{\"method\": \"tpe\", \"seed\": 1, \"trials\": 6, \"population\": 2, \"tpe\": {\"startup\": 2},\n"
    " \"coarse_to_fine\": {\"rounds\": 2, \"zoom\": 0.5, \"top_k\": 2}, \"model\": {\"epochs\": 4},\n"
    " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1},\n"
    "   \"optimizer\": {\"values\": [\"sgd\", \"adam\"]}, \"beta1\": {\"min\": 0.5, \"max\": 0.9, \"when\": {\"optimizer\": \"adam\"}}},\n"
    " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 4, \"eta\": 2}}\n";

static char dir[512], journal[600];

static void remove_study(void) {
  char path[600];
  unlink(journal);
  snprintf(path, sizeof path, "%s/study.json", dir);
  unlink(path);
  rmdir(dir);
}

static void make_study(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/caviar-fuzz-study-%d", tmp && tmp[0] ? tmp : "/tmp", (int)getpid());
  const char *spec = fuzz_file(1, (const uint8_t *)spec_text, sizeof spec_text - 1);
  caviar_study_options o = CAVIAR_STUDY_DEFAULT_OPTIONS;
  caviar_error err;
  if (caviar_study_init(spec, dir, &o, &err) != CAVIAR_OK) {
    fprintf(stderr, "fuzz_study: %s\n", err.msg);
    abort();
  }
  snprintf(journal, sizeof journal, "%s/journal.jsonl", dir);
  atexit(remove_study);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) make_study();
  FILE *f = fopen(journal, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) abort();
  caviar_study *s;
  caviar_error err;
  if (caviar_study_open(dir, &s, &err) != CAVIAR_OK) return 0;
  caviar_ask_outcome outcome;
  caviar_study_trial t;
  if (caviar_study_ask(s, "fuzz", &outcome, &t, &err) == CAVIAR_OK && outcome == CAVIAR_ASK_TRIAL) {
    double value = 0.5;
    const char *names[] = {"val_acc"};
    caviar_study_values v = {1, names, &value};
    caviar_study_verdict verdict;
    char why[512];
    if (caviar_study_report(s, t.id, t.attempt, 1, &v, &verdict, why, sizeof why, &err) == CAVIAR_OK &&
        verdict == CAVIAR_VERDICT_GO)
      caviar_study_tell(s, t.id, t.attempt, false, 0, &v, NULL, &verdict, why, sizeof why, &err);
    caviar_study_trial_free(&t);
  }
  caviar_study_counts counts;
  caviar_study_counts_of(s, &counts);
  caviar_study_close(s);
  return 0;
}
