/* Population-based training (Jaderberg et al., 2017) inside the arena: no checkpoint files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/counter_rng.h"
#include "caviar/trial_json.h"
#include "train/trainer_internal.h"

typedef struct member_ref {
  int cohort, index; /* the trial's index in the round (its slot is its owner's business: ranks.c) */
  uint32_t trial;
} member_ref;

/* A uniform in (0, 1) for the k-th decision about trial at this epoch. */
static double pbt_uniform(uint64_t seed, uint32_t trial, int epoch, int k) {
  caviar_rng_block r = caviar_rng(seed, trial, CAVIAR_RNG_PBT, ((uint64_t)(uint32_t)epoch << 32) | (uint32_t)k);
  return caviar_u01_open(r.v[0], r.v[1]);
}

/* Explores one real-valued swept hyperparameter: drawn afresh from the spec's distribution with
 * resample_probability, else multiplied by 1 - perturb or 1 + perturb on the distribution's own
 * terms (a one_minus parameter's 1 - x is what is multiplied); kept inside what the spec allows. */
static double explore(const caviar_param *p, const caviar_early_terminate *et, double value, double u_choice,
                      double u_direction, double u1, double u2) {
  if (u_choice < et->resample_probability) return caviar_param_draw(p, u1, u2);
  double factor = u_direction < 0.5 ? 1.0 - et->perturb : 1.0 + et->perturb;
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  double x = info->scale == CAVIAR_SCALE_ONE_MINUS ? 1.0 - (1.0 - value) * factor : value * factor;
  double lo, hi;
  caviar_param_support(p, &lo, &hi);
  if (x < lo) x = lo;
  if (x > hi) x = hi;
  return caviar_hp_in_range(p->hp, x) ? x : value;
}

/* One lineage event: from `epoch` on the trial trains with its current values, on trial `from`'s
 * weights (-1: none, its start). */
static caviar_status lineage_add(caviar_trial_result *t, int epoch, int64_t from, caviar_error *err) {
  caviar_lineage_event *grown = realloc(t->lineage, ((size_t)t->n_lineage + 1) * sizeof *grown);
  if (!grown) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording trial %u's lineage", (unsigned)t->trial.id);
  t->lineage = grown;
  t->lineage[t->n_lineage++] = (caviar_lineage_event){epoch, from, t->trial.hp};
  return CAVIAR_OK;
}

caviar_status caviar_pbt_lineage_start(caviar_trial_result *t, caviar_error *err) {
  return lineage_add(t, 0, -1, err);
}

/* The tree's numbers as a reader of their printed text gets them (cJSON prints some with 15 digits
 * that read back an ulp away). */
static void read_back(cJSON *item) {
  for (cJSON *c = item ? item->child : NULL; c; c = c->next) {
    if (!cJSON_IsNumber(c)) continue;
    char text[40], *end;
    caviar_json_number_text(text, c->valuedouble);
    cJSON_SetNumberValue(c, caviar_decimal_value(text, &end));
  }
}

cJSON *caviar_lineage_cjson(const caviar_trial_result *t, bool as_read) {
  cJSON *array = cJSON_CreateArray();
  for (int k = 0; array && k < t->n_lineage; k++) {
    const caviar_lineage_event *e = &t->lineage[k];
    cJSON *event = cJSON_CreateObject(), *params = caviar_hparams_cjson(&e->hp);
    if (as_read) read_back(params);
    cJSON *epoch = cJSON_CreateNumber(e->epoch), *from = e->from < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)e->from);
    bool ok = event && epoch && from && params && cJSON_AddItemToObject(event, "epoch", epoch);
    if (ok) epoch = NULL;
    ok = ok && cJSON_AddItemToObject(event, "from", from);
    if (ok) from = NULL;
    ok = ok && cJSON_AddItemToObject(event, "params", params);
    if (ok) params = NULL;
    ok = ok && cJSON_AddItemToArray(array, event);
    if (ok) event = NULL;
    cJSON_Delete(epoch);
    cJSON_Delete(from);
    cJSON_Delete(params);
    cJSON_Delete(event);
    if (!ok) {
      cJSON_Delete(array);
      array = NULL;
    }
  }
  return array;
}

/* caviar_json_put's layout of caviar_lineage_cjson's tree, field by field. */
void caviar_lineage_put(caviar_text *text, const caviar_trial_result *t, bool formatted, int depth) {
  caviar_text_put(text, "[", 1);
  for (int k = 0; k < t->n_lineage; k++) {
    const caviar_lineage_event *e = &t->lineage[k];
    const char *sep = formatted ? ":\t" : ":";
    size_t sep_len = formatted ? 2 : 1;
    caviar_text_put(text, formatted ? "{\n" : "{", formatted ? 2 : 1);
    if (formatted) caviar_text_tabs(text, depth + 2);
    caviar_text_put(text, "\"epoch\"", 7);
    caviar_text_put(text, sep, sep_len);
    caviar_json_put_number(text, e->epoch);
    caviar_text_put(text, formatted ? ",\n" : ",", formatted ? 2 : 1);
    if (formatted) caviar_text_tabs(text, depth + 2);
    caviar_text_put(text, "\"from\"", 6);
    caviar_text_put(text, sep, sep_len);
    if (e->from < 0) caviar_text_put(text, "null", 4);
    else caviar_json_put_number(text, (double)e->from);
    caviar_text_put(text, formatted ? ",\n" : ",", formatted ? 2 : 1);
    if (formatted) caviar_text_tabs(text, depth + 2);
    caviar_text_put(text, "\"params\"", 8);
    caviar_text_put(text, sep, sep_len);
    caviar_hparams_put(text, &e->hp, formatted, depth + 2);
    if (formatted) {
      caviar_text_put(text, "\n", 1);
      caviar_text_tabs(text, depth + 1);
    }
    caviar_text_put(text, "}", 1);
    if (k + 1 < t->n_lineage) caviar_text_put(text, formatted ? ", " : ",", formatted ? 2 : 1);
  }
  caviar_text_put(text, "]", 1);
}

static caviar_status exploit(run_state *s, const member_ref *to, const member_ref *from, int epoch, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  caviar_cohort *cohort = &s->work.cohorts[to->cohort];
  caviar_status st = caviar_ranks_copy(s, to->cohort, from->index, to->index, err);
  if (st != CAVIAR_OK) return st;
  caviar_trial_result *t = &s->result->trials[to->trial];
  const caviar_trial_result *donor = &s->result->trials[from->trial];
  /* The recipient's best epoch starts afresh: the weights it took, at the donor's metrics now (its
   * best-epoch copy is those weights, backend.h's copy_member). */
  t->best_epoch = t->epochs;
  t->best_train_loss = donor->train_loss;
  t->best_val_loss = donor->val_loss;
  t->best_val_acc = donor->val_acc;
  caviar_hparams hp = donor->trial.hp;
  const caviar_space *space = &sw->spec->space;
  for (int i = 0; i < space->n; i++) {
    const caviar_param *p = &space->params[i];
    if (p->hp->type != CAVIAR_HP_REAL) continue; /* shapes and names come with the weights */
    if (!caviar_hp_active(&hp, p->hp)) continue; /* switched off by a condition (the names decide) */
    int k = 4 * i;
    double value = explore(p, &sw->spec->early_terminate, caviar_hp_get(&hp, p->hp),
                           pbt_uniform(sw->seed, to->trial, epoch, k), pbt_uniform(sw->seed, to->trial, epoch, k + 1),
                           pbt_uniform(sw->seed, to->trial, epoch, k + 2), pbt_uniform(sw->seed, to->trial, epoch, k + 3));
    caviar_hp_set(&hp, p->hp, value);
  }
  t->trial.hp = hp;
  if (s->rank.owner[to->index] == caviar_run_rank(s))
    caviar_cohort_set_hparams(cohort, caviar_ranks_slot(cohort, to->trial), &hp);
  return lineage_add(t, epoch, from->trial, err);
}

caviar_status caviar_pbt_step(run_state *s, int epoch, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  caviar_sweep_result *r = s->result;
  /* Every rank's running members, in the one-process order. */
  int n = s->rank.n_results;
  member_ref *refs = caviar_alloc((size_t)n + 1, sizeof *refs, "a PBT step", err);
  float *loss = caviar_alloc((size_t)n + 1, sizeof *loss, "a PBT step", err);
  float *acc = caviar_alloc((size_t)n + 1, sizeof *acc, "a PBT step", err);
  uint32_t *ids = caviar_alloc((size_t)n + 1, sizeof *ids, "a PBT step", err);
  int *order = caviar_alloc((size_t)n + 1, sizeof *order, "a PBT step", err);
  member_ref *donors = caviar_alloc((size_t)n + 1, sizeof *donors, "a PBT step", err);
  caviar_status st = refs && loss && acc && ids && order && donors ? CAVIAR_OK : CAVIAR_ERUNTIME;
  int alive = 0;
  for (int k = 0; st == CAVIAR_OK && k < n; k++) {
    int index = (int)s->rank.results[k].index;
    const caviar_trial_result *t = &r->trials[s->sched.trials[index].id];
    if (t->status != CAVIAR_TRIAL_RUNNING) continue;
    refs[alive] = (member_ref){s->work.groups.cohort_of[index], index, t->trial.id};
    loss[alive] = t->val_loss;
    acc[alive] = t->val_acc;
    ids[alive] = t->trial.id;
    alive++;
  }
  if (st == CAVIAR_OK) caviar_rank(loss, acc, ids, alive, sw->spec->metric.name == CAVIAR_METRIC_VAL_ACC, order);
  int q = (int)floor(sw->spec->early_terminate.quantile * alive);
  /* Per cohort: its top-quantile members in rank order (donors[from[c] .. from[c + 1])), and the
   * rank of its best member. */
  int n_cohorts = s->work.groups.n_cohorts;
  int *from = caviar_alloc((size_t)n_cohorts + 1, sizeof *from, "a PBT step", err);
  int *first = caviar_alloc((size_t)n_cohorts + 1, sizeof *first, "a PBT step", err);
  int *at = caviar_alloc((size_t)n_cohorts + 1, sizeof *at, "a PBT step", err);
  if (st == CAVIAR_OK && (!from || !first || !at)) st = CAVIAR_ERUNTIME;
  for (int c = 0; st == CAVIAR_OK && c < n_cohorts; c++) first[c] = alive;
  for (int j = 0; st == CAVIAR_OK && j < alive; j++) {
    int c = refs[order[j]].cohort;
    if (first[c] == alive) first[c] = j;
    if (j < q) from[c + 1]++;
  }
  for (int c = 0; st == CAVIAR_OK && c < n_cohorts; c++) {
    from[c + 1] += from[c];
    at[c] = from[c];
  }
  for (int j = 0; st == CAVIAR_OK && j < q; j++) donors[at[refs[order[j]].cohort]++] = refs[order[j]];
  /* Worst first; each copies a top-quantile member of its own shape (weights must fit), or failing
   * that the best of its own cohort ranked above it. The top members themselves never change, so
   * every copy reads weights as they stood at this epoch. */
  for (int k = alive - 1; st == CAVIAR_OK && k >= alive - q; k--) {
    const member_ref *to = &refs[order[k]];
    int c = to->cohort, n_donors = from[c + 1] - from[c];
    const member_ref *pool = donors + from[c];
    if (n_donors == 0 && first[c] < k) {
      pool = &refs[order[first[c]]];
      n_donors = 1;
    }
    if (n_donors == 0) continue;
    int pick = (int)(pbt_uniform(sw->seed, to->trial, epoch, -1) * n_donors);
    st = exploit(s, to, &pool[pick < n_donors ? pick : n_donors - 1], epoch, err);
  }
  free(from);
  free(first);
  free(at);
  free(refs);
  free(loss);
  free(acc);
  free(ids);
  free(order);
  free(donors);
  return st;
}
