/* The leaderboard: the spec's swept parameters as columns, within the width it is given, the
 * columns left out named; and every column when there is no limit. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/report.h"
#include "spec_support.h"

static const char spec_text[] =
    "{\"method\": \"random\", \"trials\": 4, \"parameters\": {"
    " \"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1e-1},"
    " \"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.8, \"max\": 0.99},"
    " \"beta2\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.99, \"max\": 0.9999},"
    " \"l2\": {\"values\": [0, 1e-5, 1e-4]}, \"optimizer\": {\"values\": [\"sgd\", \"adam\"]},"
    " \"activation\": {\"values\": [\"relu\", \"tanh\"]}}}";

/* Four trials with known values: 2 survived, 1 culled, 1 diverged. */
static void make_result(caviar_sweep_result *r, caviar_trial_result *trials) {
  memset(r, 0, sizeof *r);
  memset(trials, 0, 4 * sizeof *trials);
  const caviar_trial_status status[] = {CAVIAR_TRIAL_CULLED, CAVIAR_TRIAL_SURVIVED, CAVIAR_TRIAL_DIVERGED,
                                        CAVIAR_TRIAL_SURVIVED};
  const float acc[] = {0.5f, 0.8f, NAN, 0.9f};
  for (int i = 0; i < 4; i++) {
    caviar_trial_result *t = &trials[i];
    caviar_hparams_default(&t->trial.hp);
    t->trial.id = (uint32_t)i;
    t->trial.hp.learning_rate = 0.001 * (i + 1);
    t->trial.hp.beta1 = 0.9;
    t->trial.hp.beta2 = 0.99912;
    t->trial.hp.l2 = i % 2 ? 1e-5 : 0;
    t->trial.hp.optimizer = i % 2 ? CAVIAR_OPT_ADAM : CAVIAR_OPT_SGD;
    t->trial.hp.activation = CAVIAR_ACT_TANH;
    t->status = status[i];
    t->epochs = status[i] == CAVIAR_TRIAL_SURVIVED ? 9 : 1;
    t->val_acc = acc[i];
    t->val_loss = 1 - acc[i];
    t->test_acc = acc[i] - 0.01f;
  }
  r->trials = trials;
  r->n_trials = 4;
}

static char *print(const caviar_spec *spec, const caviar_sweep_result *r, int width) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  caviar_leaderboard_print(f, spec, r, 20, width);
  fclose(f);
  return text;
}

Test(leaderboard, every_swept_parameter_is_a_column_without_a_width_limit) {
  caviar_spec spec;
  spec_ok(spec_text, &spec);
  caviar_sweep_result r;
  caviar_trial_result trials[4];
  make_result(&r, trials);
  char *text = print(&spec, &r, 0);
  const char *header[] = {"rank", "trial", "status", "epochs", "val_acc", "lr", "beta1", "beta2", "l2", "optim", "act",
                          "test_acc", "val_loss"};
  char *first = strtok(strdup(text), "\n");
  for (size_t i = 0; i < sizeof header / sizeof header[0]; i++)
    cr_expect(strstr(first, header[i]) != NULL, "no %s in '%s'", header[i], first);
  free(first);
  /* Best first: trial 3 (survived, 0.9), trial 1, then the culled one, then the diverged one. */
  const char *rows[] = {"\n   1     3 survived", "\n   2     1 survived", "\n   3     0 culled", "\n   4     2 diverged"};
  const char *at = text;
  for (int i = 0; i < 4; i++) {
    const char *hit = strstr(at, rows[i]);
    cr_expect_not_null(hit, "row '%s' missing or out of order in\n%s", rows[i] + 1, text);
    if (hit) at = hit + 1;
  }
  cr_expect(strstr(text, "0.99912") != NULL, "beta2 near 1 keeps its digits: %s", text);
  cr_expect(strstr(text, "adam") && strstr(text, "tanh"), "named values by name: %s", text);
  cr_expect(strstr(text, "not shown") == NULL, "%s", text);
  free(text);
  caviar_spec_free(&spec);
}

Test(leaderboard, at_40_80_and_200_columns_no_line_is_wider_and_the_rest_is_named) {
  caviar_spec spec;
  spec_ok(spec_text, &spec);
  caviar_sweep_result r;
  caviar_trial_result trials[4];
  make_result(&r, trials);
  const int widths[] = {40, 80, 200};
  for (int w = 0; w < 3; w++) {
    char *text = print(&spec, &r, widths[w]);
    char *copy = strdup(text);
    int lines = 0;
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
      lines++;
      cr_expect_leq(strlen(line), (size_t)widths[w], "width %d: '%s'", widths[w], line);
    }
    cr_expect_geq(lines, 5, "header and four rows");
    cr_expect(strstr(text, "val_acc") != NULL, "the metric always stays: %s", text);
    if (widths[w] == 200) cr_expect(strstr(text, "not shown") == NULL, "%s", text);
    else cr_expect(strstr(text, "(not shown at this width: ") != NULL, "width %d names what it left out: %s", widths[w], text);
    if (widths[w] == 80) cr_expect(strstr(text, "val_loss)") != NULL, "every left-out column named at 80: %s", text);
    if (widths[w] == 80) cr_expect(strstr(text, "lr") && strstr(text, "beta1"), "the first swept parameters fit: %s", text);
    /* The ranking rule follows the rows, wrapped to the width: its words all there, in order. */
    char *flat = strdup(text);
    for (char *c = flat; *c; c++)
      if (*c == '\n') *c = ' ';
    cr_expect(strstr(flat, "Ranked: survivors, then culled or stopped trials (more epochs first), then diverged ones; "
                           "within each by val_acc (higher first) of the weights a trial keeps (its last epoch's: "
                           "at_epoch), then val_loss, then trial id.") != NULL,
              "width %d: the ranking rule is not under the leaderboard: %s", widths[w], text);
    free(flat);
    free(copy);
    free(text);
  }
  caviar_spec_free(&spec);
}
