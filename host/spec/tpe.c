/* TPE as Optuna's TPESampler (univariate): see include/caviar/tpe.h. */
#include "caviar/tpe.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/counter_rng.h"
#include "spec/model_configs.h"
#include "spec/tpe_internal.h"

/* An observation: its config (in the sampler's configs, at the same index), budget and loss. */
typedef struct observation {
  int budget;
  double loss;
} observation;

/* Better first: by loss, then by age (the earlier observation). */
typedef struct ranked {
  double loss;
  int index;
} ranked;

static int compare_ranked(const void *pa, const void *pb) {
  const ranked *a = pa, *b = pb;
  if (a->loss != b->loss) return a->loss < b->loss ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

/* The best observations a group of good ones can hold (gamma(n) <= 25). */
#define MAX_GOOD 25

/* The observations at one budget: their indices in arrival order, and the best MAX_GOOD of them
 * in rank order, both kept as observations arrive, so a proposal never walks the whole history. */
typedef struct budget_book {
  int budget;
  int *index, n, cap;
  ranked best[MAX_GOOD];
  int n_best;
} budget_book;

/* A kernel's mass on its axis and two logarithms: a fit meets mostly the kernels of the proposal
 * before it (the history and the constant liars move by one), so each parameter keeps these by the
 * kernel (mu, sigma) and the axis, in MEMO_SLOTS places by a hash of their bits, two places to a
 * hash (the newcomer takes the first, the one there moves to the second, the one there leaves: with
 * one place to a hash, a tenth of a fit's ~500 kernels were lost to another's collisions at each
 * proposal), and a kernel met again costs a lookup instead of two normal CDFs and two logarithms; the
 * values are the ones computed for the same four numbers, so the same bits. */
typedef struct kernel_memo {
  double mu, sigma, lo, hi;
  double z, log_z, log_sigma;
} kernel_memo;
#define MEMO_SLOTS 4096
#define GOOD_MEMO_SLOTS 256 /* the good group's own (its fit may run beside the bad one's): 26 kernels */
#define PARAM_MEMO_SLOTS (MEMO_SLOTS + GOOD_MEMO_SLOTS)
#define MEMO_PARAMS 64

/* A group of n kernels' weights, w (its points' age weights and the prior's, normalised) and their
 * logarithms: the same for every parameter of a proposal and for every proposal with a group of that
 * size, so the sampler keeps them by n: GOOD_WEIGHT_SLOTS places for the good group's sizes (at most
 * MAX_GOOD), then BAD_WEIGHT_SLOTS for the bad one's, so the two never take each other's place (a
 * newcomer takes its place's). A fill's proposals each have a bad group one larger than the one
 * before, and the next fill's start about where this one's did (history and the population bound
 * them), so sizes up to KEPT_WEIGHTS_N each keep a place of their own among BAD_WEIGHT_SLOTS (n
 * logarithms a proposal otherwise; at most 8.4 MB); larger ones share the first 32. */
typedef struct group_weights {
  int n; /* points (the prior is w[n]); w NULL: an empty place */
  double prior_weight;
  double *w, *log_w;
} group_weights;
#define GOOD_WEIGHT_SLOTS 32
#define BAD_WEIGHT_SLOTS 512
#define KEPT_WEIGHTS_N 1024
#define WEIGHT_SLOTS (GOOD_WEIGHT_SLOTS + BAD_WEIGHT_SLOTS)

/* Distinct budgets (epochs: few) a model may be fitted on; observations at others are kept but
 * never fitted on. */
#define MAX_BUDGETS 256

typedef struct param_proposal param_proposal;

struct caviar_tpe {
  caviar_tpe_options opt;
  uint64_t seed;
  model_form form;      /* what its configs are (spec/model_configs.h) */
  int n_values;         /* outside code's values: the parameters of a config */
  size_t config_size;   /* bytes of one config */
  observation *obs;
  unsigned char *configs; /* observation i's config at i * config_size */
  int n, cap;
  /* Outside code's failed trials (loss infinite) count as the worst at their budget and every
   * larger one (they never get there; W&B imputes a failed run as the worst, whenever it died):
   * their observations' indices, in arrival order. Caviar's own models keep the sweep's rule, a
   * diverged member the worst at the epoch it diverged in. */
  bool carry_failures;
  int *failed, n_failed, cap_failed;
  budget_book budgets[MAX_BUDGETS];
  int n_budgets;
  kernel_memo *memo; /* PARAM_MEMO_SLOTS per parameter (the bad group's, then the good one's), for
                        memo_params of them */
  int memo_params;
  group_weights weights[WEIGHT_SLOTS];
  /* A fill's proposals: a refilled sweep proposes many trials at one epoch boundary, and from one
   * to the next no result arrives and the trials in flight gain one at the end of their list (the
   * proposal before). So the parameters' estimators stay (pp, np_kept of them), and the next
   * proposal, when it is such a one (fill_extends), keeps the good groups' estimators and puts
   * the one new point into each bad group's sorted points instead of reading and sorting them all
   * again: the same estimators, bit for bit. What the last proposal was made from: */
  param_proposal *pp;
  int np_kept;
  bool fill_valid;
  int fill_obs, fill_failed, fill_budget, fill_pending;
  int fill_ng, fill_nb; /* its groups' sizes */
  /* A proposal's own arrays (propose_params), kept from one to the next: scratch_bytes of them. */
  void *scratch;
  size_t scratch_bytes;
  unsigned char *fill_configs; /* its pending configs, fill_pending of them */
  int fill_cap;
};

static void kept_free(caviar_tpe *t);

static caviar_status tpe_new(const caviar_tpe_options *options, uint64_t seed, model_form form, int n_values,
                             caviar_tpe **out, caviar_error *err) {
  *out = caviar_alloc(1, sizeof **out, "the TPE sampler", err);
  if (!*out) return CAVIAR_ERUNTIME;
  (*out)->opt = *options;
  (*out)->form = form;
  (*out)->n_values = n_values;
  (*out)->carry_failures = form == MODEL_FORM_VALUES;
  (*out)->config_size = form == MODEL_FORM_VALUES ? (size_t)(n_values > 0 ? n_values : 1) * sizeof(double)
                                                  : sizeof(caviar_hparams);
  if ((*out)->opt.startup < 2) (*out)->opt.startup = 2;
  if ((*out)->opt.candidates < 1) (*out)->opt.candidates = 1;
  if ((*out)->opt.history > 0 && (*out)->opt.history < CAVIAR_TPE_MIN_HISTORY) (*out)->opt.history = CAVIAR_TPE_MIN_HISTORY;
  (*out)->seed = seed;
  return CAVIAR_OK;
}

caviar_status caviar_tpe_new(const caviar_tpe_options *options, uint64_t seed, caviar_tpe **out, caviar_error *err) {
  return tpe_new(options, seed, MODEL_FORM_HPARAMS, 0, out, err);
}

caviar_status caviar_tpe_new_values(const caviar_tpe_options *options, uint64_t seed, int n_values, caviar_tpe **out,
                                    caviar_error *err) {
  return tpe_new(options, seed, MODEL_FORM_VALUES, n_values, out, err);
}

void caviar_tpe_free(caviar_tpe *t) {
  if (!t) return;
  for (int b = 0; b < t->n_budgets; b++) free(t->budgets[b].index);
  free(t->obs);
  free(t->configs);
  free(t->failed);
  free(t->memo);
  for (int s = 0; s < WEIGHT_SLOTS; s++) free(t->weights[s].w);
  kept_free(t);
  free(t->scratch);
  free(t->fill_configs);
  free(t);
}

static budget_book *book_of(caviar_tpe *t, int budget) {
  for (int b = 0; b < t->n_budgets; b++)
    if (t->budgets[b].budget == budget) return &t->budgets[b];
  if (t->n_budgets == MAX_BUDGETS) return NULL;
  budget_book *b = &t->budgets[t->n_budgets++];
  b->budget = budget;
  return b;
}

static const void *config_at(const caviar_tpe *t, int i) { return t->configs + (size_t)i * t->config_size; }

static caviar_status observe(caviar_tpe *t, const void *config, int budget, double loss, caviar_error *err) {
  if (t->n == t->cap) {
    int cap = t->cap ? 2 * t->cap : 256;
    observation *grown = realloc(t->obs, (size_t)cap * sizeof *grown);
    if (!grown) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording TPE observations");
    t->obs = grown;
    unsigned char *configs = realloc(t->configs, (size_t)cap * t->config_size);
    if (!configs) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording TPE observations");
    t->configs = configs;
    t->cap = cap;
  }
  budget_book *b = book_of(t, budget);
  if (b && b->n == b->cap) {
    int cap = b->cap ? 2 * b->cap : 256;
    int *grown = realloc(b->index, (size_t)cap * sizeof *grown);
    if (!grown) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording TPE observations");
    b->index = grown;
    b->cap = cap;
  }
  if (t->carry_failures && !isfinite(loss) && t->n_failed == t->cap_failed) {
    int cap = t->cap_failed ? 2 * t->cap_failed : 64;
    int *grown = realloc(t->failed, (size_t)cap * sizeof *grown);
    if (!grown) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording TPE observations");
    t->failed = grown;
    t->cap_failed = cap;
  }
  int i = t->n++;
  t->obs[i] = (observation){budget, isfinite(loss) ? loss : INFINITY};
  if (t->carry_failures && !isfinite(loss)) t->failed[t->n_failed++] = i;
  memcpy(t->configs + (size_t)i * t->config_size, config, t->config_size);
  if (!b) return CAVIAR_OK;
  b->index[b->n++] = i;
  /* Into the best ones, in rank order, if it ranks among them. */
  ranked r = {t->obs[i].loss, i};
  int k = b->n_best < MAX_GOOD ? b->n_best++ : MAX_GOOD;
  while (k > 0 && compare_ranked(&r, &b->best[k - 1]) < 0) {
    if (k < MAX_GOOD) b->best[k] = b->best[k - 1];
    k--;
  }
  if (k < MAX_GOOD) b->best[k] = r;
  return CAVIAR_OK;
}

caviar_status caviar_tpe_observe(caviar_tpe *t, const caviar_hparams *hp, int budget, double loss, caviar_error *err) {
  return observe(t, hp, budget, loss, err);
}

caviar_status caviar_tpe_observe_values(caviar_tpe *t, const double *values, int budget, double loss, caviar_error *err) {
  return observe(t, values, budget, loss, err);
}

int caviar_tpe_observations(const caviar_tpe *t) { return t->n; }

/* Whether observation i is a failure carried up to budget from a smaller one (outside code). */
static bool carried(const caviar_tpe *t, int i, int budget) {
  return t->carry_failures && t->obs[i].budget < budget && !isfinite(t->obs[i].loss);
}

static int n_carried(const caviar_tpe *t, int budget) {
  int n = 0;
  for (int k = 0; k < t->n_failed; k++) n += carried(t, t->failed[k], budget);
  return n;
}

static const budget_book *fitted_book(const caviar_tpe *t) {
  const budget_book *best = NULL;
  for (int b = 0; b < t->n_budgets; b++)
    if (t->budgets[b].n + n_carried(t, t->budgets[b].budget) >= t->opt.startup &&
        (!best || t->budgets[b].budget > best->budget))
      best = &t->budgets[b];
  return best;
}

int caviar_tpe_budget(const caviar_tpe *t) {
  const budget_book *b = fitted_book(t);
  return b ? b->budget : 0;
}

/* One group's kernels for one parameter: points on the parameter's scale, oldest first (their
 * weights are group_weights_fill's). */
typedef struct kernels {
  double *x;
  int n;
} kernels;

/* Optuna's default_weights: 1 for the last 25 (by age), a ramp from 1/n up for older ones. */
static double age_weight(int k, int n) {
  if (n < 25) return 1.0;
  int ramp = n - 25;
  if (k >= ramp) return 1.0;
  return ramp > 1 ? 1.0 / n + (1.0 - 1.0 / n) * k / (ramp - 1) : 1.0 / n;
}

/* The weights of a group of n points and the prior (prior_weight) into w[0 .. n], and their
 * logarithms into log_w (the newest 25 weigh alike: one logarithm for them). */
static void group_weights_fill(int n, double prior_weight, double *w, double *log_w) {
  double total = prior_weight;
  for (int i = 0; i < n; i++) total += age_weight(i, n);
  for (int i = 0; i < n; i++) w[i] = age_weight(i, n) / total;
  w[n] = prior_weight / total;
  for (int i = 0; i <= n; i++) log_w[i] = i > 0 && w[i] == w[i - 1] ? log_w[i - 1] : log(w[i]);
}

/* The weights of a group of n points, kept by the sampler (NULL when there is no room for them: the
 * fit then computes its own). */
static const group_weights *weights_for(caviar_tpe *t, int n, bool good_group) {
  group_weights *g = good_group ? &t->weights[n % GOOD_WEIGHT_SLOTS]
                                 : &t->weights[GOOD_WEIGHT_SLOTS + n % (n <= KEPT_WEIGHTS_N ? BAD_WEIGHT_SLOTS : 32)];
  if (g->w && g->n == n && g->prior_weight == t->opt.prior_weight) return g;
  free(g->w);
  *g = (group_weights){0};
  g->w = malloc(2 * (size_t)(n + 1) * sizeof *g->w);
  if (!g->w) return NULL;
  g->log_w = g->w + n + 1;
  g->n = n;
  g->prior_weight = t->opt.prior_weight;
  group_weights_fill(n, g->prior_weight, g->w, g->log_w);
  return g;
}

/* A parameter's description for the estimator: a numeric interval on its scale, or a list. */
typedef struct axis {
  const caviar_param *p;
  bool list;
  double lo, hi;   /* on the scale (numeric) */
  double step;     /* integer and linear q_: the cell width (0: continuous) */
  double prior_mu, prior_sigma;
} axis;

static void axis_of(const caviar_param *p, axis *a) {
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  memset(a, 0, sizeof *a);
  a->p = p;
  switch (info->family) {
    case CAVIAR_FAMILY_LIST: a->list = true; return;
    case CAVIAR_FAMILY_INTEGER:
      a->step = 1;
      a->lo = p->t_lo - 0.5;
      a->hi = p->t_hi + 0.5;
      break;
    case CAVIAR_FAMILY_BOX:
      a->lo = p->t_lo;
      a->hi = p->t_hi;
      if (info->quantized && info->scale == CAVIAR_SCALE_LINEAR) {
        double vlo, vhi;
        caviar_param_support(p, &vlo, &vhi);
        a->step = p->q;
        a->lo = vlo - 0.5 * p->q;
        a->hi = vhi + 0.5 * p->q;
      }
      break;
    case CAVIAR_FAMILY_BETA: /* its support, [0, 1], as a box */
      a->lo = 0;
      a->hi = 1;
      if (info->quantized) {
        a->step = p->q;
        a->lo = -0.5 * p->q;
        a->hi = caviar_quantize(1, p->q) + 0.5 * p->q;
      }
      break;
    case CAVIAR_FAMILY_NORMAL:
      a->lo = p->mu - CAVIAR_NORMAL_REACH * p->sigma;
      a->hi = p->mu + CAVIAR_NORMAL_REACH * p->sigma;
      a->prior_mu = p->mu;
      a->prior_sigma = p->sigma;
      return;
  }
  a->prior_mu = 0.5 * (a->lo + a->hi);
  a->prior_sigma = a->hi - a->lo;
}

/* The coordinate of a value on the axis (numeric) or its index in the list (-1: not in it). */
static double coordinate(const axis *a, double value) {
  const caviar_param *p = a->p;
  if (a->list) {
    for (int i = 0; i < p->n_values; i++)
      if (p->values[i] == value) return i;
    return -1;
  }
  if (a->step > 0) return value;
  return caviar_scale_from_value(caviar_dist_get(p->dist)->scale, value);
}

static bool in_axis(const axis *a, double x) { return a->list ? x >= 0 : x >= a->lo && x <= a->hi; }

static double value_at(const axis *a, double x) {
  const caviar_param *p = a->p;
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  if (a->list) return p->values[(int)x];
  double v;
  if (info->family == CAVIAR_FAMILY_INTEGER) {
    v = fmin(fmax(nearbyint(x), p->t_lo), p->t_hi);
    return v;
  }
  if (a->step > 0) {
    double vlo, vhi;
    caviar_param_support(p, &vlo, &vhi);
    return fmin(fmax(caviar_quantize(x, p->q), vlo), vhi);
  }
  v = caviar_scale_to_value(info->scale, fmin(fmax(x, a->lo), a->hi));
  if (info->quantized) v = caviar_quantize(v, p->q);
  double vlo, vhi;
  caviar_param_support(p, &vlo, &vhi);
  return fmin(fmax(v, vlo), vhi);
}

/* The estimator of one group on one axis: kernels at the group's points plus the prior. */
typedef struct estimator {
  int n;         /* kernels, the prior last */
  int cap;       /* kernels its arrays have room for (a bad group's grows in a fill: estimator_extend) */
  double *mu, *sigma, *w, *z; /* z: truncated normal mass on [lo, hi] */
  double *cat;   /* list axes: n x n_values probabilities */
  double *log_w, *log_sigma, *log_z; /* their logarithms, taken once per fit, not per density */
  /* Continuous axes: each kernel's 1 / sigma and log w - log sigma - log sqrt(2 pi) - log z, for
   * the quick scores (estimator_log_pdf_quick); NULL otherwise. */
  double *inv_sigma, *offset;
  double *spare; /* room for a number a kernel (estimator_extend's) */
  double *reach_room; /* a continuous axis's: room for two numbers a kernel (float_parts') */
  double top_offset; /* the largest offset: no term is above it */
  /* A continuous axis's floats for the first scores (estimator_log_pdf_float), when float_error is
   * finite: each kernel's mu less the axis's middle (f_center), its 1 / sigma times sqrt(log2 e / 2),
   * and its offset less the top one times log2 e (a term's exponent in base 2); float_error bounds
   * the float density's gap to the exact one at a point of the axis. */
  float *f_mu, *f_inv_sigma, *f_offset;
  double f_center, f_lo, f_hi, float_error;
  /* A numeric axis's good group (it is drawn from): each kernel's normal CDF at the axis's ends,
   * [2 k] and [2 k + 1], NAN until a draw from kernel k takes them (a fill's proposals draw from
   * the same estimator); NULL: taken at every draw. */
  double *end_p;
} estimator;

/* A point and where it came from (and, while a sort runs, half its key). */
typedef struct placed {
  double x;
  int at;
  uint32_t key;
} placed;

/* A double's bits as a key that sorts as the numbers do (-0 as +0: equal numbers, equal keys). */
static uint64_t sort_key(double v) {
  if (v == 0) v = 0;
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return bits >> 63 ? ~bits : bits | (uint64_t)1 << 63;
}

/* One stable pass of a radix sort for each byte of a key's half (half 1: its top 32 bits, 0: its
 * low 32) that not every key shares, from x into tmp and back (the sorted run ends in x). The half
 * keys are taken once; each pass counts its byte in two tables, the even points' and the odd ones',
 * so points of the same byte one after another (a cluster) do not wait on each other's counts. */
static void radix_passes(placed *x, placed *tmp, int n, int half) {
  int shift = 32 * half;
  uint32_t all_and = ~0u, all_or = 0;
  for (int i = 0; i < n; i++) {
    uint32_t k = (uint32_t)(sort_key(x[i].x) >> shift);
    x[i].key = k;
    all_and &= k;
    all_or |= k;
  }
  uint32_t varies = all_and ^ all_or; /* the bits not every key shares */
  placed *from = x, *to = tmp;
  for (int d = 0; d < 4; d++) {
    int b = 8 * d;
    if (!((varies >> b) & 255)) continue;
    int count[2][256];
    memset(count, 0, sizeof count);
    int i = 0;
    for (; i + 1 < n; i += 2) {
      count[0][(from[i].key >> b) & 255]++;
      count[1][(from[i + 1].key >> b) & 255]++;
    }
    if (i < n) count[0][(from[i].key >> b) & 255]++;
    int at[256];
    for (int v = 0, sum = 0; v < 256; v++) {
      at[v] = sum;
      sum += count[0][v] + count[1][v];
    }
    for (i = 0; i < n; i++) to[at[(from[i].key >> b) & 255]++] = from[i];
    placed *t = from;
    from = to;
    to = t;
  }
  if (from != x) memcpy(x, from, (size_t)n * sizeof *x);
}

/* Sorts x[0 .. n) ascending by value (no NaNs), equal values in the order they came, with tmp[n]
 * beside it: a radix sort of the keys' top halves a byte at a time, skipping the bytes every key
 * shares (a parameter's points share their sign and most of their exponent), then each run of equal
 * top halves (points within a millionth or so of each other: few) by its low halves, by insertion
 * when short, which a proposal calls for every parameter (a comparison sort's branches are a coin
 * toss each). */
static void sort_placed(placed *x, placed *tmp, int n) {
  if (n < 2) return;
  radix_passes(x, tmp, n, 1); /* leaves each point's top half in its key */
  for (int i = 0; i < n;) {
    int j = i + 1;
    while (j < n && x[j].key == x[i].key) j++;
    if (j - i > 32) {
      radix_passes(x + i, tmp, j - i, 0);
    } else {
      for (int a = i + 1; a < j; a++) {
        placed v = x[a];
        uint64_t kv = sort_key(v.x);
        int b = a;
        for (; b > i && sort_key(x[b - 1].x) > kv; b--) x[b] = x[b - 1];
        x[b] = v;
      }
    }
    i = j;
  }
}

void caviar_tpe_sort_order(const double *x, int n, int *order) {
  placed *p = malloc((size_t)(2 * n + 1) * sizeof *p);
  if (!p) return;
  for (int i = 0; i < n; i++) p[i] = (placed){x[i], i, 0};
  sort_placed(p, p + n, n);
  for (int i = 0; i < n; i++) order[i] = p[i].at;
  free(p);
}

/* Optuna's bandwidths: each point's sigma is the larger gap to its sorted neighbours (the
 * interval's ends standing in at the extremes, except that the outermost points use their inner
 * gap), clipped to [(hi - lo) / min(100, 1 + kernels), hi - lo]. Equal points share the place of
 * the first of them. sorted: the n points by value (sort_placed's order) at [1 .. n], with room
 * for the interval's ends at 0 and n + 1. */
static void sigmas_in(const axis *a, placed *sorted, int n, int from, int to, double *sigma);
static void sigmas_of(const axis *a, placed *sorted, int n, double *sigma) { sigmas_in(a, sorted, n, 1, n, sigma); }

/* The least sigma of n points on axis a, and whether the outermost points use their inner gap. */
static double least_sigma(const axis *a, int n) { return (a->hi - a->lo) / fmin(100.0, 1.0 + (n + 1)); }
static bool inner_ends(int n) { return n + 2 >= 4; }

/* sigmas_of for the points at sorted[from .. to] (from: the first of its value) only. */
static void sigmas_in(const axis *a, placed *sorted, int n, int from, int to, double *sigma) {
  sorted[0].x = a->lo;
  sorted[n + 1].x = a->hi;
  double minsigma = least_sigma(a, n), maxsigma = a->hi - a->lo;
  for (int j = from, k = from; j <= to; j++) {
    if (sorted[j].x != sorted[k].x) k = j; /* the first of the points equal to this one */
    double left = sorted[k].x - sorted[k - 1].x, right = sorted[k + 1].x - sorted[k].x;
    double s = fmax(left, right);
    if (inner_ends(n)) {
      if (k == 1) s = right;
      else if (k == n) s = left;
    }
    s = s > minsigma ? s : minsigma; /* fmax and fmin's answers: no NaNs here */
    sigma[sorted[j].at] = s < maxsigma ? s : maxsigma;
  }
}

/* The n points x sorted into sorted[1 .. n] (room for 2 n + 2: the ends, and the sort's own). */
static void sort_points(const double *x, int n, placed *sorted) {
  for (int i = 0; i < n; i++) sorted[i + 1] = (placed){x[i], i, 0};
  sort_placed(sorted + 1, sorted + n + 2, n);
}

/* The bandwidths of the n points x into sigma (false: no room for the sort). */
static bool bandwidths(const axis *a, const double *x, int n, double *sigma) {
  placed *sorted = malloc((size_t)(2 * n + 2) * sizeof *sorted);
  if (!sorted) return false;
  sort_points(x, n, sorted);
  sigmas_of(a, sorted, n, sigma);
  free(sorted);
  return true;
}

static void estimator_free(estimator *e) {
  free(e->mu); /* the block of every per-kernel array */
  free(e->cat);
  free(e->end_p);
  memset(e, 0, sizeof *e);
}

/* Kernel i's z, log z and log sigma, from memo (slots places; NULL: none) or computed (and kept
 * there). */
static void kernel_mass(const axis *a, estimator *e, int i, kernel_memo *memo, unsigned slots) {
  kernel_memo *slot = NULL;
  if (memo) {
    uint64_t bits[4];
    memcpy(&bits[0], &e->mu[i], sizeof bits[0]);
    memcpy(&bits[1], &e->sigma[i], sizeof bits[1]);
    memcpy(&bits[2], &a->lo, sizeof bits[2]);
    memcpy(&bits[3], &a->hi, sizeof bits[3]);
    uint64_t h = (bits[0] * 0x9E3779B97F4A7C15u) ^ (bits[1] * 0xC2B2AE3D27D4EB4Fu) ^ (bits[2] * 0x165667B19E3779F9u) ^
                 (bits[3] * 0xD6E8FEB86659FD93u);
    /* Two ways to a set (a place of one way only), the one met last first. */
    unsigned ways = slots >= 2 ? 2 : 1;
    h ^= h >> 33; /* mixed (MurmurHash3's finaliser): an integer axis's round numbers have no low bits */
    h *= 0xFF51AFD7ED558CCDu;
    h ^= h >> 33;
    slot = &memo[h % (slots / ways) * ways];
    for (unsigned w = 0; w < ways; w++) {
      kernel_memo *m = &slot[w];
      if (m->mu == e->mu[i] && m->sigma == e->sigma[i] && m->lo == a->lo && m->hi == a->hi && m->sigma > 0) {
        e->z[i] = m->z;
        e->log_z[i] = m->log_z;
        e->log_sigma[i] = m->log_sigma;
        if (w > 0) {
          kernel_memo first = slot[0];
          slot[0] = *m;
          *m = first;
        }
        return;
      }
    }
    if (ways > 1) slot[1] = slot[0]; /* the newcomer takes the first way, the older the second */
  }
  e->z[i] = gsl_cdf_ugaussian_P((a->hi - e->mu[i]) / e->sigma[i]) - gsl_cdf_ugaussian_P((a->lo - e->mu[i]) / e->sigma[i]);
  if (!(e->z[i] > 1e-300)) e->z[i] = 1e-300;
  e->log_sigma[i] = log(e->sigma[i]);
  e->log_z[i] = log(e->z[i]);
  if (slot) *slot = (kernel_memo){e->mu[i], e->sigma[i], a->lo, a->hi, e->z[i], e->log_z[i], e->log_sigma[i]};
}

/* The largest of x[0 .. n) (no NaNs; -INFINITY for none), in lanes the compiler may run side by
 * side: the maximum of numbers is the same whatever the order it is taken in. */
static double largest(const double *x, int n) {
  enum { LANES = 8 };
  double lane[LANES];
  for (int j = 0; j < LANES; j++) lane[j] = -INFINITY;
  int i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
  double m = -INFINITY;
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  for (int j = 0; j < LANES; j++) m = lane[j] > m ? lane[j] : m;
  return m;
}

/* The float first scores apply to estimators of at least FLOAT_KERNELS kernels (fewer cost little
 * in doubles; a good group of 25 points and the prior costs a third as much in floats) whose density
 * on the axis is at least e^FLOAT_FLOOR of the top offset's. */
#define FLOAT_KERNELS 16
#define FLOAT_FLOOR (-20.0)
/* The float densities' 2^t takes t below this as this (quick_exp2f). */
#define EXP2F_FLOOR (-124.0f)

static void float_parts(estimator *e, double lo, double hi);

/* A continuous axis's kernels' offsets (estimator_log_pdf_quick), from their logarithms (inv_sigma
 * made), into e's offset; on [lo, hi], the floats too where they apply. */
static void offset_parts(estimator *e, double lo, double hi) {
  const double half_log_2pi = 0.5 * log(2 * M_PI);
  for (int i = 0; i < e->n; i++) e->offset[i] = e->log_w[i] - e->log_sigma[i] - half_log_2pi - e->log_z[i];
  e->top_offset = largest(e->offset, e->n);
  e->float_error = INFINITY;
  if (e->f_mu) float_parts(e, lo, hi);
}

/* A continuous axis's kernels' 1 / sigma and offsets (estimator_log_pdf_quick), from their sigma
 * and logarithms, into e's inv_sigma and offset; on [lo, hi], the floats too where they apply. */
static void quick_parts(estimator *e, double lo, double hi) {
  for (int i = 0; i < e->n; i++) e->inv_sigma[i] = 1 / e->sigma[i];
  offset_parts(e, lo, hi);
}

/* The float density's error bound on [lo, hi] (float_error; infinite where it does not apply),
 * and its floats. At a point x of the axis the density (scaled by the top offset, as the sums are)
 * is D = sum of e^a_i, a_i = o_i - u_i^2 / 2, o_i a kernel's offset less the top one (<= 0), u_i =
 * (x - mu_i) / sigma_i; D is at least e^floor, floor the largest of the kernels' least terms on the
 * axis. Terms under e^(floor - 30) add under n e^-30 of D; a term above it has |o_i| and u_i^2 / 2
 * under Q = 30 - floor, so |u_i| < U = sqrt(2 Q) (a cut at 30, not 40: U^2 and so the bound below
 * 17-25% smaller, and fewer candidates left to the quick scores, for 2 n e^-29.9 more, 2e-10 for
 * 1,000 kernels). In floats (rounding 2^-24 an operation): o_i is
 * within Q 2^-24; x - c and mu_i - c (c the middle) within half the width and mu's farthest
 * distance from c, times 2^-24, and their difference d within eta = 2 (half + far) 2^-24; u = d /
 * sigma within A + B |u|, A = eta max(1 / sigma), B = 2^-23; u^2 / 2 within (A + B U)(2 U + A + B U)
 * / 2 + U^2 2^-24 (A under 1e-3, so a term under e^(floor - 30) stays under e^(floor - 29.9) in floats),
 * and the term's exponent within delta = that plus (2 Q + U^2 + 1) 2^-24 (a term above e^(floor - 30)
 * never meets the exp's floor of e^-85.9). The floats hold the exponent in base 2: 1 / sigma times
 * sqrt(log2 e / 2) and the offset times log2 e, each made in doubles and rounded to a float once,
 * as 1 / sigma and the offset were, so each rounding above is the same part of its number and the
 * exponent's error, taken back to base e, is delta. quick_exp2f is within 1e-6 of 2^t, takes a term
 * under 2^-124 as 2^-124 (n of them add under n 2^-124 e^-floor of D), and a sum of n positive
 * floats in 16 lanes (at most n / 16 + 1 a lane), the lanes then summed pairwise, is within (n / 16 +
 * 5) 2^-24 of itself (the bound counts (n / 16 + 34) 2^-24). The bound is the sum of these, as a
 * relative error r of D, log-ed (r / (1 - r)), and doubled: room for what the sketch rounds off. (A
 * term's exponent as a fused multiply-add, where the machine has them, rounds once less.) */
static void to_floats(int n, const double *restrict x, double less, double times, float *restrict out) {
  for (int i = 0; i < n; i++) out[i] = (float)((x[i] - less) * times);
}

/* to_floats of x[i] taken as least where it is lower (the select on x, not on what is made of it, so
 * that the compiler runs the loop side by side). */
static void to_floats_above(int n, const double *restrict x, double less, double times, double least,
                            float *restrict out) {
  for (int i = 0; i < n; i++) {
    double v = x[i] > least ? x[i] : least;
    out[i] = (float)((v - less) * times);
  }
}

static void float_parts(estimator *e, double lo, double hi) {
  int n = e->n;
  if (n < FLOAT_KERNELS || !(hi > lo)) return;
  double c = 0.5 * (lo + hi), half = 0.5 * (hi - lo);
  const double *restrict mu = e->mu, *restrict inv_sigma = e->inv_sigma, *restrict offset = e->offset;
  /* Each kernel's least term on the axis and its mu's distance from the middle (into reach_room), in
   * a loop the compiler runs side by side, then the largest of each (largest: the same in any
   * order; a loop of running maxima in lanes was not run side by side). */
  double *restrict least_term = e->reach_room, *restrict from_middle = e->reach_room + n;
  for (int i = 0; i < n; i++) {
    double from_c = fabs(mu[i] - c);
    double reach = (from_c + half) * inv_sigma[i]; /* to the farther end */
    least_term[i] = offset[i] - 0.5 * reach * reach;
    from_middle[i] = from_c;
  }
  double floor = largest(least_term, n), far = largest(from_middle, n), top_inv = largest(inv_sigma, n);
  floor -= e->top_offset;
  const double u24 = 0x1p-24;
  double q = 30 - floor, u = sqrt(2 * q);
  double eta = 2 * (half + far) * u24 * 1.01, a = eta * top_inv * 1.01, b = 2 * u24 * 1.01;
  /* (every float made below in range: a double out of a float's range has no conversion) */
  if (!(floor >= FLOAT_FLOOR) || !(a <= 1e-3) || !(top_inv < 1e30) || !(half + far < 1e30)) return;
  double delta = (a + b * u) * (2 * u + a + b * u) / 2 + u * u * u24 + (2 * q + u * u + 1) * u24;
  double r = expm1(delta) + 1e-6 + (n / 16.0 + 34) * u24 + 2 * n * exp(-29.9) + n * exp2(EXP2F_FLOOR) * exp(-floor);
  if (!(r < 0.01)) return;
  to_floats(n, mu, c, 1, e->f_mu); /* (times 1: exact) */
  to_floats(n, inv_sigma, 0, sqrt(0.5 * M_LOG2E), e->f_inv_sigma);
  /* (an offset more than 1e4 / log2 e under the top one is taken there: its exp2 is 2^-124 either way) */
  to_floats_above(n, offset, e->top_offset, M_LOG2E, e->top_offset - 1e4 / M_LOG2E, e->f_offset);
  e->f_center = c;
  e->f_lo = lo;
  e->f_hi = hi;
  e->float_error = 2 * r / (1 - r);
}

/* Whether axis a's estimators have quick parts (a continuous axis). */
static bool quick_axis(const axis *a) { return !a->list && !(a->step > 0); }

/* Doubles a kernel takes in an estimator's block on axis a: its numbers and logarithms, and on a
 * continuous axis its quick parts, floats and float_parts' room, else room for estimator_extend's
 * new sigmas. */
static size_t kernel_doubles(const axis *a) { return quick_axis(a) ? 13 : 8; }

/* e's arrays in block (room for cap kernels, kernel_doubles a kernel), and its weights: the
 * sampler's for n points (weights: read only, alive through the proposal) or its own, computed. */
static void estimator_place(const axis *a, double *block, int cap, int n, double prior_weight,
                            const group_weights *weights, estimator *e) {
  size_t c = (size_t)cap;
  e->cap = cap;
  e->mu = block;
  e->sigma = block + c;
  e->w = block + 2 * c;
  e->z = block + 3 * c;
  e->log_w = block + 4 * c;
  e->log_sigma = block + 5 * c;
  e->log_z = block + 6 * c;
  if (quick_axis(a)) {
    e->inv_sigma = block + 7 * c;
    e->offset = block + 8 * c;
    e->f_mu = (float *)(block + 9 * c); /* 3 cap floats in 2 cap doubles */
    e->reach_room = block + 11 * c;
    e->f_inv_sigma = e->f_mu + c;
    e->f_offset = e->f_mu + 2 * c;
    e->spare = e->offset; /* (the offsets are made after estimator_extend's sigmas) */
  } else {
    e->spare = block + 7 * c;
  }
  if (weights && weights->w && weights->n == n) {
    e->w = weights->w;
    e->log_w = weights->log_w;
  } else {
    group_weights_fill(n, prior_weight, e->w, e->log_w);
  }
}

/* A kernel at least INTERIOR sigmas inside both ends of the axis has all its mass there: the normal
 * CDF is 1 at or above 8.6 in GSL and under 1.2e-19 at or below -9, so z = 1 - (under 2^-62) rounds
 * to exactly 1, and log z is 0 (test_tpe checks the premise against GSL); only its log sigma is
 * taken, once for a run of equal sigmas (*last: the last sigma whose logarithm *last_log is; most
 * are the clipped least one). The others' come from kernel_mass. Kernel i's z and logarithms are
 * functions of its mu and sigma and the axis. */
#define INTERIOR 9.0
static void kernel_logs(const axis *a, estimator *e, int i, kernel_memo *memo, unsigned memo_slots, double *last,
                        double *last_log) {
  double s = e->sigma[i];
  if ((a->hi - e->mu[i]) / s >= INTERIOR && (a->lo - e->mu[i]) / s <= -INTERIOR) {
    if (!(s == *last)) *last = s, *last_log = log(s);
    e->z[i] = 1;
    e->log_z[i] = 0;
    e->log_sigma[i] = *last_log;
  } else {
    kernel_mass(a, e, i, memo, memo_slots);
  }
}

/* The estimator of a group's kernels k on axis a, with room for cap kernels (at least k->n + 1);
 * weights: the group's weights when the sampler keeps them for k->n points (else NULL, and the fit
 * computes them); sorted: k's points sorted (sort_points' layout), or NULL to sort them here. */
static bool estimator_fit(const axis *a, const kernels *k, double prior_weight, const group_weights *weights,
                          kernel_memo *memo, unsigned memo_slots, placed *sorted, int cap, estimator *e) {
  memset(e, 0, sizeof *e);
  e->float_error = INFINITY; /* no floats (quick_parts may make them) */
  e->n = k->n + 1;
  size_t n = (size_t)e->n;
  if (cap < e->n) cap = e->n;
  double *block = calloc(kernel_doubles(a) * (size_t)cap, sizeof *block);
  int nv = a->list ? a->p->n_values : 0;
  if (a->list) e->cat = calloc(n * (size_t)nv, sizeof *e->cat);
  if (!block || (a->list && !e->cat)) {
    free(block);
    estimator_free(e);
    return false;
  }
  estimator_place(a, block, cap, k->n, prior_weight, weights, e);
  if (a->list) {
    /* Optuna: each observation's kernel puts prior_weight / kernels on every value, 1 more on its
     * own, normalised; the prior kernel is the spec's own distribution over the values. A value
     * the spec gives probability 0 (categorical_w_probabilities) is never proposed: no kernel puts
     * anything on it, and a kernel at such a value (a result told from outside) is spread evenly
     * over the others. With every value possible, the rows are Optuna's, the same bits. */
    const caviar_param *p = a->p;
    double *prior = e->cat + (size_t)k->n * nv;
    int support = 0;
    for (int v = 0; v < nv; v++) {
      prior[v] = p->cumulative ? p->cumulative[v] - (v ? p->cumulative[v - 1] : 0) : 1.0 / nv;
      support += prior[v] > 0;
    }
    double spread = prior_weight / e->n;
    for (int i = 0; i < k->n; i++) {
      double *row = e->cat + (size_t)i * nv;
      int own = (int)k->x[i];
      bool possible = prior[own] > 0;
      for (int v = 0; v < nv; v++)
        row[v] = !(prior[v] > 0) ? 0 : possible ? spread / (1.0 + support * spread) : 1.0 / support;
      if (possible) row[own] += 1.0 / (1.0 + support * spread);
    }
    return true;
  }
  if (sorted) {
    sigmas_of(a, sorted, k->n, e->sigma);
  } else if (!bandwidths(a, k->x, k->n, e->sigma)) {
    estimator_free(e); /* a fit without its sort is no fit (a fill would keep it) */
    return false;
  }
  for (int i = 0; i < k->n; i++) e->mu[i] = k->x[i];
  e->mu[k->n] = a->prior_mu;
  e->sigma[k->n] = a->prior_sigma;
  double last = NAN, last_log = 0;
  for (int i = 0; i < e->n; i++) kernel_logs(a, e, i, memo, memo_slots, &last, &last_log);
  if (quick_axis(a)) quick_parts(e, a->lo, a->hi);
  return true;
}

/* A numeric axis's estimator e, fitted to k's points but its last (or to all of them: k->n = e->n
 * - 1), made the fit of all k->n (sorted: their sorted points, the new one at sorted[at]), the
 * estimator estimator_fit makes, bit for bit: the new point takes the prior's place and the prior
 * moves up one; a point's sigma depends on its value's sorted neighbours and the least sigma, so
 * when that stays, only the sigmas of the new point and of the values beside it are taken again
 * (all of them otherwise); only a kernel whose sigma changed takes its z and logarithms and 1 /
 * sigma again (functions of its mu and sigma and the axis); the weights change with the number of
 * points, so on a continuous axis every offset and float is made again. False without room for the
 * kernels (e is then freed). */
static bool estimator_extend(const axis *a, const kernels *k, double prior_weight, const group_weights *weights,
                             kernel_memo *memo, unsigned memo_slots, placed *sorted, int at, estimator *e) {
  int m = e->n - 1, n = k->n + 1;
  if (n > e->cap) {
    int cap = n + n / 2 + 16;
    double *block = malloc(kernel_doubles(a) * (size_t)cap * sizeof *block);
    if (!block) {
      estimator_free(e);
      return false;
    }
    estimator old = *e;
    estimator_place(a, block, cap, k->n, prior_weight, weights, e);
    size_t bytes = (size_t)(m + 1) * sizeof(double);
    memcpy(e->mu, old.mu, bytes);
    memcpy(e->sigma, old.sigma, bytes);
    memcpy(e->z, old.z, bytes);
    memcpy(e->log_sigma, old.log_sigma, bytes);
    memcpy(e->log_z, old.log_z, bytes);
    if (e->inv_sigma) memcpy(e->inv_sigma, old.inv_sigma, bytes);
    free(old.mu);
  } else {
    estimator_place(a, e->mu, e->cap, k->n, prior_weight, weights, e);
  }
  e->n = n;
  double *sigma = e->spare; /* the new sigmas */
  int from = 1, to = k->n;
  if (k->n > m && least_sigma(a, k->n) == least_sigma(a, m) && inner_ends(k->n) == inner_ends(m)) {
    from = at > 1 ? at - 1 : at; /* the values beside the new one's: from the first of the one below */
    while (from > 1 && sorted[from - 1].x == sorted[from].x) from--;
    to = at < k->n ? at + 1 : at; /* to the last of the one above (the new point is the last of its own) */
    while (to < k->n && sorted[to + 1].x == sorted[to].x) to++;
  }
  if (k->n == m) from = 1, to = 0; /* the same points */
  sigmas_in(a, sorted, k->n, from, to, sigma);
  if (k->n > m) { /* the prior, a function of the axis, moves up; the new point takes its place */
    e->mu[k->n] = e->mu[m];
    e->sigma[k->n] = e->sigma[m];
    e->z[k->n] = e->z[m];
    e->log_z[k->n] = e->log_z[m];
    e->log_sigma[k->n] = e->log_sigma[m];
    if (e->inv_sigma) e->inv_sigma[k->n] = e->inv_sigma[m];
    e->mu[m] = k->x[m];
    e->sigma[m] = NAN; /* taken below */
  }
  double last = NAN, last_log = 0;
  for (int j = from; j <= to; j++) {
    int i = sorted[j].at;
    if (!(sigma[i] == e->sigma[i])) {
      e->sigma[i] = sigma[i];
      kernel_logs(a, e, i, memo, memo_slots, &last, &last_log);
      if (e->inv_sigma) e->inv_sigma[i] = 1 / e->sigma[i];
    }
  }
  if (e->inv_sigma) offset_parts(e, a->lo, a->hi);
  return true;
}

size_t caviar_tpe_memo_bytes(unsigned slots) { return slots * sizeof(kernel_memo); }

double caviar_tpe_memo_log_z(void *memo, unsigned slots, double mu, double sigma, double lo, double hi) {
  axis a = {.lo = lo, .hi = hi};
  double z, log_z, log_sigma;
  estimator e = {.n = 1, .mu = &mu, .sigma = &sigma, .z = &z, .log_z = &log_z, .log_sigma = &log_sigma};
  kernel_mass(&a, &e, 0, memo, slots);
  return log_z;
}

/* exp of anything below this is 0 in double precision (the least subnormal is exp(-744.4)). */
#define EXP_UNDERFLOW (-746.0)

/* Which terms of a log-sum-exp with largest term m may change the sum, their indices in order
 * into summed (their count returned), each term t replaced by t - m. The terms are summed in order,
 * and a term under half an ulp of the sum so far leaves it unchanged, so it is not computed: the
 * same bits for fewer exps. The sum is at least the largest term before it, P (as exp gave it), and
 * half an ulp of a sum s is over s 2^-54; a term d under P - 38 (e^-38 < 2^-54 with room for exp's
 * rounding) is therefore lost, and so is any term whose exp underflows to 0 (P starts there, at
 * EXP_UNDERFLOW + 38). As P is a running maximum that rule is a chain from term to term; it is
 * taken in blocks instead: a term at or above -38 always counts (P <= 0), one under the rule's
 * value at the block's start (P only grows) never does, and only a block holding a term between
 * the two walks the chain term by term. */
static int select_summed(double *terms, int n, double m, int *summed) {
  /* No term is NaN: a kernel's term is finite or -inf, but when every term is (a parameter whose
   * box has no width), and then the largest is -inf and the caller answers -inf before this. */
  enum { BLOCK = 8 };
  for (int i = 0; i < n; i++) terms[i] -= m;
  int n_summed = 0;
  double carry = EXP_UNDERFLOW + 38.0; /* P at the block's start */
  for (int b = 0; b < n; b += BLOCK) {
    const double *t = terms + b;
    int e = n - b < BLOCK ? n - b : BLOCK;
    double lost = carry - 38.0, block_max = -INFINITY;
    int between = 0;
    if (e == BLOCK) {
      /* A whole block: fixed bounds, so the compiler may take the eight side by side. */
      for (int j = 0; j < BLOCK; j++) between |= (t[j] >= lost) & (t[j] < -38.0);
      for (int j = 0; j < BLOCK; j++) block_max = t[j] > block_max ? t[j] : block_max;
    } else {
      for (int j = 0; j < e; j++) between |= (t[j] >= lost) & (t[j] < -38.0);
      for (int j = 0; j < e; j++) block_max = t[j] > block_max ? t[j] : block_max;
    }
    if (!between) {
      for (int j = 0; j < e; j++) {
        summed[n_summed] = b + j;
        n_summed += t[j] >= -38.0;
      }
    } else {
      double before = carry;
      for (int j = 0; j < e; j++) {
        lost = before - 38.0 > EXP_UNDERFLOW ? before - 38.0 : EXP_UNDERFLOW;
        summed[n_summed] = b + j;
        n_summed += !(t[j] < lost);
        before = t[j] > before ? t[j] : before;
      }
    }
    carry = block_max > carry ? block_max : carry;
  }
  return n_summed;
}

double caviar_tpe_log_sum_exp(double *terms, int n, int *summed) {
  double m = largest(terms, n);
  if (!isfinite(m)) return -INFINITY;
  int n_summed = select_summed(terms, n, m, summed);
  double s = 0;
  for (int k = 0; k < n_summed; k++) s += exp(terms[summed[k]]);
  return m + log(s);
}

/* log density (numeric: per unit of the scale, or the mass of the value's cell) of the mixture.
 * The terms are those of log(w) + log(kernel), each logarithm as the fit took it, and a term that
 * cannot change the sum (select_summed) is not summed: the same sum, bit for bit, for less. */
static void estimator_terms(const axis *a, const estimator *e, double x, double *terms) {
  int n = e->n;
  if (a->list) {
    /* Every point's row holds the same two numbers (its own value's and the others'): one log
     * each, the last two kept. */
    double seen[2] = {NAN, NAN}, seen_log[2] = {0, 0};
    for (int i = 0; i < n; i++) {
      double c = e->cat[(size_t)i * a->p->n_values + (int)x];
      int k = c == seen[0] ? 0 : 1;
      if (!(c == seen[k])) {
        seen[1] = seen[0], seen_log[1] = seen_log[0];
        seen[0] = c, seen_log[0] = log(c);
        k = 0;
      }
      terms[i] = e->log_w[i] + seen_log[k];
    }
  } else if (a->step > 0) {
    /* A cell's log mass under a kernel is a function of its mu and sigma, and an integer or q_
     * axis's kernels sit on few values with few sigmas: each kernel's is kept by (mu, sigma) in
     * SEEN places, a hash of their bits apart. */
    enum { SEEN = 64 };
    struct {
      double mu, sigma, log_mass;
    } seen[SEEN];
    for (int k = 0; k < SEEN; k++) seen[k].mu = NAN;
    double hi = fmin(x + 0.5 * a->step, a->hi), lo = fmax(x - 0.5 * a->step, a->lo);
    for (int i = 0; i < n; i++) {
      double mu = e->mu[i], sigma = e->sigma[i];
      uint64_t bits[2];
      memcpy(&bits[0], &mu, sizeof mu);
      memcpy(&bits[1], &sigma, sizeof sigma);
      uint64_t h = bits[0] * 0x9E3779B97F4A7C15u ^ bits[1] * 0xC2B2AE3D27D4EB4Fu;
      int at = (int)(h >> 58); /* the top bits, which all of mu's and sigma's reach (SEEN = 2^6) */
      if (!(seen[at].mu == mu && seen[at].sigma == sigma)) {
        double mass = gsl_cdf_ugaussian_P((hi - mu) / sigma) - gsl_cdf_ugaussian_P((lo - mu) / sigma);
        seen[at].mu = mu;
        seen[at].sigma = sigma;
        seen[at].log_mass = log(fmax(mass, 1e-300));
      }
      terms[i] = e->log_w[i] + seen[at].log_mass - e->log_z[i];
    }
  } else {
    /* Branch-free, so the compiler may do several kernels at once (the same operations in the same
     * order, so the same bits). */
    const double *mu = e->mu, *sigma = e->sigma, *log_w = e->log_w, *log_sigma = e->log_sigma, *log_z = e->log_z;
    const double half_log_2pi = 0.5 * log(2 * M_PI);
    for (int i = 0; i < n; i++) {
      double u = (x - mu[i]) / sigma[i];
      terms[i] = log_w[i] - 0.5 * u * u - log_sigma[i] - half_log_2pi - log_z[i];
    }
  }
}

static double estimator_log_pdf(const axis *a, const estimator *e, double x, double *terms, int *summed) {
  estimator_terms(a, e, x, terms);
  return caviar_tpe_log_sum_exp(terms, e->n, summed);
}

/* e^t for t <= 0, side by side: 2^k e^f by its Taylor polynomial to f^10 (|f| <= ln 2 / 2, so a
 * relative error under |f|^11 / 11! e^|f| < 4e-13, and the polynomial's own roundings), 0 below -708
 * (under 2^-1021: nothing beside a sum of at least 1). */
static inline double quick_exp(double t) {
  double small = t < -708.0 ? 0.0 : 1.0;
  t = t < -708.0 ? -708.0 : t;
  double k = (t * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0; /* nearest: 1.5 * 2^52 */
  double f = (t - k * 0.6931471803691238) - k * 1.9082149292705877e-10;
  double p = 1.0 / 3628800;
  static const double inverse_factorial[10] = {1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120,
                                                1.0 / 24,     1.0 / 6,     0.5,        1.0,       1.0};
  for (int j = 0; j < 10; j++) p = p * f + inverse_factorial[j];
  int64_t bits = ((int64_t)k + 1023) << 52;
  double scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale * small;
}

/* 2^t for t <= 0 in floats, side by side: 2^k 2^f, k the nearest integer (t + 1.5 2^23 holds it in
 * its low bits, and f = t - k, in [-1/2, 1/2], is exact), 2^f = e^(f ln 2) by its Taylor polynomial
 * to f^6 (|f ln 2| <= ln 2 / 2: a relative error under 1.7e-7, and the polynomial's roundings: under
 * 6e-7 in all, within 1e-6; test_tpe checks every float of [-124, 0]), k put into p's exponent bits;
 * 2^-124 below -124 (the float bound counts it). The densities' terms are in base 2 (log2 e folded
 * into each kernel's offset and 1 / sigma by float_parts), so no multiply by log2 e and no two-part
 * reduction: 19 instructions each 16 terms, not 24. Fused multiply-adds where the machine has
 * them: one rounding a step of the polynomial (fewer than the bound counts). */
#ifdef FP_FAST_FMAF
#define FMA_F(a, b, c) fmaf(a, b, c)
#else
#define FMA_F(a, b, c) ((a) * (b) + (c)) /* (fmaf would be a call) */
#endif
static inline float quick_exp2f(float t) {
  t = t > EXP2F_FLOOR ? t : EXP2F_FLOOR;
  float held = t + 12582912.0f; /* 1.5 * 2^23: the nearest integer k, in the low bits */
  float k = held - 12582912.0f, f = t - k;
  /* ln 2^j / j!, written out: a loop of fmaf's is not run side by side */
  float p = FMA_F(1.5403530393381609e-4f, f, 1.3333558146428443e-3f);
  p = FMA_F(p, f, 9.6181291076284772e-3f);
  p = FMA_F(p, f, 5.5504108664821580e-2f);
  p = FMA_F(p, f, 2.4022650695910071e-1f);
  p = FMA_F(p, f, 6.9314718055994531e-1f);
  p = FMA_F(p, f, 1.0f);
  uint32_t k_bits, p_bits; /* held's bits are 0x4B400000 + k: shifted by 23, k's alone (mod 2^32) */
  memcpy(&k_bits, &held, sizeof k_bits);
  memcpy(&p_bits, &p, sizeof p_bits);
  p_bits += k_bits << 23; /* p in [0.7, 1.42], k >= -124: a normal float */
  memcpy(&p, &p_bits, sizeof p);
  return p;
}

double caviar_tpe_quick_exp2f_error(float from, float to) {
  enum { BATCH = 4096 };
  float t[BATCH], y[BATCH];
  double worst = 0;
  uint32_t bits_from, bits_to; /* non-positive floats: larger bits, further from 0 */
  memcpy(&bits_from, &to, sizeof to);
  memcpy(&bits_to, &from, sizeof from);
  for (uint64_t b = bits_from; b <= bits_to;) {
    int n = 0;
    for (; n < BATCH && b <= bits_to; n++, b++) {
      uint32_t u = (uint32_t)b;
      memcpy(&t[n], &u, sizeof u);
    }
    for (int i = 0; i < n; i++) y[i] = quick_exp2f(t[i]); /* side by side, as the densities run it */
    for (int i = 0; i < n; i++) {
      double e = exp2((double)t[i]), gap = fabs((double)y[i] - e) / e;
      worst = gap > worst ? gap : worst;
    }
  }
  return worst;
}

/* Whether e's float density holds at x (see float_parts): floats made, x on the axis. */
static bool floats_at(const estimator *e, double x) {
  return e->f_mu && e->float_error < INFINITY && x >= e->f_lo && x <= e->f_hi;
}

/* A continuous axis's density at x in floats, scaled by e^-top_offset (estimator_log_pdf_float):
 * where floats_at. */
static float float_sum(const estimator *e, double x) {
  enum { LANES = 16 };
  const float *mu = e->f_mu, *inv_sigma = e->f_inv_sigma, *offset = e->f_offset;
  float xc = (float)(x - e->f_center), lane[LANES] = {0};
  int n = e->n, i = 0; /* (n >= FLOAT_KERNELS >= LANES: floats are made for no fewer) */
  _Static_assert(FLOAT_KERNELS >= LANES, "a float sum's rest reads the last LANES kernels");
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) {
      float u = (xc - mu[i + j]) * inv_sigma[i + j]; /* (x - mu) / sigma times sqrt(log2 e / 2) */
      lane[j] += quick_exp2f(FMA_F(-u, u, offset[i + j]));
    }
  if (i < n) /* the rest: the last LANES kernels, those already summed left out, side by side too */
    for (int j = 0, from = n - LANES; j < LANES; j++) {
      float u = (xc - mu[from + j]) * inv_sigma[from + j];
      float term = quick_exp2f(FMA_F(-u, u, offset[from + j]));
      lane[j] += from + j >= i ? term : 0.0f;
    }
  for (int width = LANES / 2; width > 0; width /= 2) /* the lanes' sums, pairwise */
    for (int j = 0; j < width; j++) lane[j] += lane[j + width];
  return lane[0];
}

/* A continuous axis's log density at x in floats, within e->float_error of estimator_log_pdf's (see
 * float_parts); NAN where that bound does not hold (x off the axis, or no floats). */
static double estimator_log_pdf_float(const estimator *e, double x) {
  float sum = floats_at(e, x) ? float_sum(e, x) : 0;
  return sum > 0 ? e->top_offset + log((double)sum) : NAN;
}

/* A continuous axis's log density at x, within QUICK_ERROR of estimator_log_pdf's: each term is the
 * kernel's offset (its four logarithms put together once per fit) less u^2 / 2, u = (x - mu) times
 * 1 / sigma (a few ulps of a term's parts, under 3e-12 for a term within 745 of the largest, beyond which
 * neither sum holds it), exps within 5e-13 of glibc's, the sum in lanes (n ulps of it; the exact sum
 * drops terms of under n e^-38 of it): under 1e-11 in all for n < 10,000, against QUICK_ERROR's
 * 1e-9. */
#define QUICK_ERROR 1e-9
#define QUICK_KERNELS 10000

/* log(sum of exp(terms[i])) (no NaNs) by the largest term and quick exps in lanes; terms
 * overwritten. All -inf (a list value of probability 0 under the prior alone): -inf, as
 * caviar_tpe_log_sum_exp says, and the score that is not finite sends the pick to the exact scores. */
static double quick_log_sum_exp(double *terms, int n) {
  enum { LANES = 8 };
  int whole = n / LANES * LANES;
  double m = largest(terms, n);
  if (isinf(m)) return m; /* (terms - m would be NaNs) */
  for (int i = 0; i < n; i++) terms[i] = quick_exp(terms[i] - m);
  double lane[LANES] = {0}, sum = 0;
  for (int i = 0; i < whole; i += LANES)
    for (int j = 0; j < LANES; j++) lane[j] += terms[i + j];
  for (int i = whole; i < n; i++) sum += terms[i];
  for (int j = 0; j < LANES; j++) sum += lane[j];
  return m + log(sum);
}

static double estimator_log_pdf_quick(const estimator *e, double x, double *terms) {
  int n = e->n;
  const double *mu = e->mu, *inv_sigma = e->inv_sigma, *offset = e->offset;
  enum { LANES = 8 };
  int whole = n / LANES * LANES;
  {
    /* The terms as they come, scaled by the largest offset, which no term is above (u^2 >= 0): on
     * the axis the prior's term (sigma the axis's width, so u^2 <= 1, or the reach of a normal's)
     * is within a few tens of it, so the sum holds at least e^-50 or so, far from exp's
     * underflow; a sum under 2^-900 (a point off the axis) is taken again below, by the largest
     * term. */
    double m = e->top_offset, lane[LANES] = {0}, sum = 0;
    for (int i = 0; i < whole; i += LANES)
      for (int j = 0; j < LANES; j++) {
        double u = (x - mu[i + j]) * inv_sigma[i + j];
        lane[j] += quick_exp((offset[i + j] - 0.5 * u * u) - m);
      }
    for (int i = whole; i < n; i++) {
      double u = (x - mu[i]) * inv_sigma[i];
      sum += quick_exp((offset[i] - 0.5 * u * u) - m);
    }
    for (int j = 0; j < LANES; j++) sum += lane[j];
    if (sum > 0x1p-900) return m + log(sum);
  }
  for (int i = 0; i < n; i++) {
    double u = (x - mu[i]) * inv_sigma[i];
    terms[i] = offset[i] - 0.5 * u * u;
  }
  return quick_log_sum_exp(terms, n);
}

/* An integer, q_ or list axis's log density at x, within QUICK_ERROR of estimator_log_pdf's: the
 * same terms, summed as quick_log_sum_exp does (exps within 5e-13 of glibc's, the sum in lanes, all
 * terms: under 1e-11 in all for n < 10,000, as above). */
static double estimator_log_pdf_cells_quick(const axis *a, const estimator *e, double x, double *terms) {
  estimator_terms(a, e, x, terms);
  return quick_log_sum_exp(terms, e->n);
}

/* A test's mixture (caviar_tpe_quick_gap, caviar_tpe_float_gap) as a fit would make it, in room
 * (13 n doubles, n terms at its end), its exact log density at x into exact. */
static void test_mixture(const double *mu, const double *sigma, const double *w, int n, double lo, double hi,
                         double x, double *room, int *summed, estimator *e, double *exact) {
  axis a = {.lo = lo, .hi = hi};
  *e = (estimator){.n = n, .mu = room, .sigma = room + n, .z = room + 2 * n, .log_w = room + 3 * n,
                   .log_sigma = room + 4 * n, .log_z = room + 5 * n, .inv_sigma = room + 6 * n,
                   .offset = room + 7 * n, .f_mu = (float *)(room + 8 * n), .reach_room = room + 10 * n};
  e->f_inv_sigma = e->f_mu + n;
  e->f_offset = e->f_mu + 2 * n;
  memcpy(e->mu, mu, (size_t)n * sizeof *mu);
  memcpy(e->sigma, sigma, (size_t)n * sizeof *sigma);
  for (int i = 0; i < n; i++) {
    kernel_mass(&a, e, i, NULL, 1);
    e->log_w[i] = log(w[i]);
  }
  quick_parts(e, lo, hi);
  *exact = estimator_log_pdf(&a, e, x, room + 12 * n, summed);
}

double caviar_tpe_cell_log_pdf(const double *mu, const double *sigma, const double *w, int n, double lo, double hi,
                               double step, double x, double *plain) {
  axis a = {.lo = lo, .hi = hi, .step = step};
  double *room = malloc((size_t)n * 7 * sizeof *room), got = NAN;
  int *summed = malloc((size_t)n * sizeof *summed);
  *plain = NAN;
  if (room && summed) {
    estimator e = {.n = n, .mu = room, .sigma = room + n, .z = room + 2 * n, .log_w = room + 3 * n,
                   .log_sigma = room + 4 * n, .log_z = room + 5 * n};
    double *terms = room + 6 * n;
    memcpy(e.mu, mu, (size_t)n * sizeof *mu);
    memcpy(e.sigma, sigma, (size_t)n * sizeof *sigma);
    for (int i = 0; i < n; i++) {
      kernel_mass(&a, &e, i, NULL, 1);
      e.log_w[i] = log(w[i]);
    }
    got = estimator_log_pdf(&a, &e, x, terms, summed);
    double chi = fmin(x + 0.5 * step, hi), clo = fmax(x - 0.5 * step, lo); /* the rule, a kernel at a time */
    for (int i = 0; i < n; i++) {
      double mass = gsl_cdf_ugaussian_P((chi - mu[i]) / sigma[i]) - gsl_cdf_ugaussian_P((clo - mu[i]) / sigma[i]);
      terms[i] = e.log_w[i] + log(fmax(mass, 1e-300)) - e.log_z[i];
    }
    *plain = caviar_tpe_log_sum_exp(terms, n, summed);
  }
  free(room);
  free(summed);
  return got;
}

double caviar_tpe_list_log_pdf(const int *own, int n, int n_values, double prior_weight, int x, double *plain) {
  caviar_param p = {.n_values = n_values};
  axis a = {.p = &p, .list = true};
  double *points = malloc(((size_t)n + 1) * sizeof *points), got = NAN;
  double *terms = malloc(((size_t)n + 1) * sizeof *terms);
  int *summed = malloc(((size_t)n + 1) * sizeof *summed);
  estimator e;
  *plain = NAN;
  for (int i = 0; points && i < n; i++) points[i] = own[i];
  kernels k = {points, n};
  if (points && terms && summed && estimator_fit(&a, &k, prior_weight, NULL, NULL, 0, NULL, 0, &e)) {
    got = estimator_log_pdf(&a, &e, x, terms, summed);
    for (int i = 0; i < e.n; i++) terms[i] = e.log_w[i] + log(e.cat[(size_t)i * n_values + x]); /* the rule */
    *plain = caviar_tpe_log_sum_exp(terms, e.n, summed);
    estimator_free(&e);
  }
  free(points);
  free(terms);
  free(summed);
  return got;
}

double caviar_tpe_quick_gap(const double *mu, const double *sigma, const double *w, int n, double lo, double hi,
                            double x) {
  double *room = malloc((size_t)n * 13 * sizeof *room), exact, gap = NAN;
  int *summed = malloc((size_t)n * sizeof *summed);
  estimator e;
  if (room && summed) {
    test_mixture(mu, sigma, w, n, lo, hi, x, room, summed, &e, &exact);
    gap = fabs(estimator_log_pdf_quick(&e, x, room + 12 * n) - exact);
  }
  free(room);
  free(summed);
  return gap;
}

double caviar_tpe_float_gap(const double *mu, const double *sigma, const double *w, int n, double lo, double hi,
                            double x, double *bound) {
  double *room = malloc((size_t)n * 13 * sizeof *room), exact, gap = NAN;
  int *summed = malloc((size_t)n * sizeof *summed);
  estimator e;
  *bound = INFINITY;
  if (room && summed) {
    test_mixture(mu, sigma, w, n, lo, hi, x, room, summed, &e, &exact);
    gap = fabs(estimator_log_pdf_float(&e, x) - exact);
    *bound = e.float_error;
  }
  free(room);
  free(summed);
  return gap;
}

/* Point m (its index among the points), x, put among sorted[1 .. m] (sort_points' layout, room for
 * one more) after those of its value, where a stable sort puts the largest index: its place. */
static int sorted_insert(placed *sorted, int m, double x) {
  int lo = 1, hi = m + 1; /* the first of sorted[1 .. m] above it: at lo */
  uint64_t key = sort_key(x);
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (sort_key(sorted[mid].x) <= key) lo = mid + 1;
    else hi = mid;
  }
  memmove(&sorted[lo + 1], &sorted[lo], (size_t)(m + 1 - lo) * sizeof *sorted);
  sorted[lo] = (placed){x, m, 0};
  return lo;
}

/* Whether two estimators of a numeric axis hold the same bits (their kernels, logarithms and, on a
 * continuous axis, quick parts and, where they apply, floats). */
static bool estimators_equal(const estimator *a, const estimator *b) {
  size_t n = (size_t)a->n, d = n * sizeof(double), f = n * sizeof(float);
  if (a->n != b->n || memcmp(&a->top_offset, &b->top_offset, sizeof a->top_offset) ||
      memcmp(&a->float_error, &b->float_error, sizeof a->float_error) || !a->inv_sigma != !b->inv_sigma)
    return false;
  const double *x[] = {a->mu, a->sigma, a->w, a->z, a->log_w, a->log_sigma, a->log_z, a->inv_sigma, a->offset};
  const double *y[] = {b->mu, b->sigma, b->w, b->z, b->log_w, b->log_sigma, b->log_z, b->inv_sigma, b->offset};
  for (size_t k = 0; k < (a->inv_sigma ? 9u : 7u); k++)
    if (memcmp(x[k], y[k], d)) return false;
  return !(a->float_error < INFINITY) || (!memcmp(a->f_mu, b->f_mu, f) && !memcmp(a->f_inv_sigma, b->f_inv_sigma, f) &&
                                          !memcmp(a->f_offset, b->f_offset, f) && a->f_center == b->f_center);
}

long caviar_tpe_extend_mismatches(const double *x, int n, int start, double lo, double hi, double step) {
  axis a = {.lo = lo, .hi = hi, .step = step, .prior_mu = 0.5 * (lo + hi), .prior_sigma = hi - lo};
  double *points = malloc(((size_t)n + 1) * sizeof *points);
  placed *sorted = malloc((2 * (size_t)n + 4) * sizeof *sorted), *fresh = malloc((2 * (size_t)n + 4) * sizeof *fresh);
  kernel_memo *memo = calloc(MEMO_SLOTS, sizeof *memo);
  estimator grown = {0}, refit = {0};
  kernels k = {points, 0};
  long mismatches = -1;
  if (!points || !sorted || !fresh || !memo) goto done;
  for (int i = 0; i < start; i++)
    if (!isnan(x[i])) points[k.n++] = x[i];
  sort_points(points, k.n, sorted);
  if (!estimator_fit(&a, &k, 1.0, NULL, memo, MEMO_SLOTS, sorted, k.n + 1, &grown)) goto done;
  mismatches = 0;
  for (int i = start; i < n; i++) {
    int at = 0; /* NAN: a config without the parameter, no new point */
    if (!isnan(x[i])) {
      points[k.n] = x[i];
      at = sorted_insert(sorted, k.n++, x[i]);
    }
    if (!estimator_extend(&a, &k, 1.0, NULL, memo, MEMO_SLOTS, sorted, at, &grown)) {
      mismatches = -1;
      goto done;
    }
    sort_points(points, k.n, fresh);
    estimator_free(&refit);
    if (!estimator_fit(&a, &k, 1.0, NULL, NULL, 0, fresh, 0, &refit)) {
      mismatches = -1;
      goto done;
    }
    mismatches += !estimators_equal(&grown, &refit);
  }
done:
  estimator_free(&grown);
  estimator_free(&refit);
  free(points);
  free(sorted);
  free(fresh);
  free(memo);
  return mismatches;
}

/* One draw from the mixture given three uniforms: the kernel, then the point. */
static double estimator_draw(const axis *a, const estimator *e, double u_kernel, double u_point) {
  int k = 0;
  double c = e->w[0];
  while (k < e->n - 1 && u_kernel >= c) c += e->w[++k];
  if (a->list) {
    int nv = a->p->n_values, v = 0;
    const double *row = e->cat + (size_t)k * nv;
    double acc = row[0];
    while (v < nv - 1 && u_point >= acc) acc += row[++v];
    while (v > 0 && !(row[v] > 0)) v--; /* (the sum fell short of u_point at a value of mass 0) */
    return v;
  }
  /* A truncated normal by its inverse CDF. */
  double pa, pb;
  if (e->end_p && !isnan(e->end_p[2 * k])) {
    pa = e->end_p[2 * k];
    pb = e->end_p[2 * k + 1];
  } else {
    pa = gsl_cdf_ugaussian_P((a->lo - e->mu[k]) / e->sigma[k]);
    pb = gsl_cdf_ugaussian_P((a->hi - e->mu[k]) / e->sigma[k]);
    if (e->end_p) e->end_p[2 * k] = pa, e->end_p[2 * k + 1] = pb;
  }
  double p = pa + u_point * (pb - pa);
  double x = p > 0 && p < 1 ? e->mu[k] + e->sigma[k] * gsl_cdf_ugaussian_Pinv(p) : e->mu[k];
  x = fmin(fmax(x, a->lo), a->hi);
  if (a->step > 0) {
    /* The cell the point falls in. */
    const caviar_param *pr = a->p;
    if (caviar_dist_get(pr->dist)->family == CAVIAR_FAMILY_INTEGER) x = fmin(fmax(nearbyint(x), pr->t_lo), pr->t_hi);
    else x = value_at(a, x);
  }
  return x;
}

/* The kernels of one group on the axis of parameter pi: the members where the parameter is active
 * and inside the box. */
static void collect(const axis *a, model_form form, const caviar_space *space, int pi, const void *const *config, int n,
                    kernels *k) {
  k->n = 0;
  for (int i = 0; i < n; i++) {
    if (!model_config_active(form, config[i], space, pi)) continue;
    double x = coordinate(a, model_config_value(form, config[i], space, pi));
    if (!in_axis(a, x)) continue;
    k->x[k->n++] = x;
  }
}

/* W&B's bayes on the observations at one budget. */
static bool gp_propose(const caviar_tpe *t, int budget, const caviar_space *space, uint32_t id,
                       const void *const *pending, int n_pending, double *out) {
  const void **config = malloc((size_t)t->n * sizeof *config);
  double *loss = malloc((size_t)t->n * sizeof *loss);
  int n = 0;
  for (int i = 0; config && loss && i < t->n; i++)
    if (t->obs[i].budget == budget || carried(t, i, budget)) config[n] = config_at(t, i), loss[n++] = t->obs[i].loss;
  bool ok = config && loss &&
            caviar_gp_propose(space, t->form, t->seed, id, config, loss, n, pending, n_pending, t->opt.candidates, out);
  free(config);
  free(loss);
  return ok;
}

/* One parameter of a proposal: its axis, the kernels and estimators of the good and bad groups on
 * it (the sampler keeps them for the next proposal: fill_extends), and t->opt.candidates draws
 * from the good one (x, kept by the caller). */
struct param_proposal {
  axis a;
  caviar_param param; /* the parameter the axis is of, as it was (fill_extends) */
  kernels kg, kb;
  estimator l, g;
  placed *sorted; /* kb's points by value (sort_points' layout), room for 2 cap + 2 */
  int cap;        /* kb.x's room */
};

static void param_proposal_free(param_proposal *pp) {
  estimator_free(&pp->l);
  estimator_free(&pp->g);
  free(pp->kg.x);
  free(pp->kb.x);
  free(pp->sorted);
  memset(pp, 0, sizeof *pp);
}

/* The weights of the good and the bad group when all their members are on a parameter's axis (the
 * sampler's, or NULL; a place whose n is another group size's, when the two sizes share a place,
 * is not used). */
typedef struct groups_weights {
  const group_weights *good, *bad;
} groups_weights;

/* The parameters' estimators the sampler keeps, freed. */
static void kept_free(caviar_tpe *t) {
  for (int p = 0; p < t->np_kept; p++) param_proposal_free(&t->pp[p]);
  free(t->pp);
  t->pp = NULL;
  t->np_kept = 0;
}

/* Room in pp's bad group for n points and their sort (false: none). */
static bool bad_room(param_proposal *pp, int n) {
  if (n <= pp->cap) return true;
  int cap = n + n / 2 + 16;
  double *x = realloc(pp->kb.x, (size_t)cap * sizeof *x);
  if (!x) return false;
  pp->kb.x = x;
  placed *sorted = realloc(pp->sorted, (size_t)(2 * cap + 2) * sizeof *sorted);
  if (!sorted) return false;
  pp->sorted = sorted;
  pp->cap = cap;
  return true;
}

/* One group's estimator on parameter pi's axis (pp->a, made): the good group's (its kernels into
 * pp->kg, its estimator pp->l) and its candidates drawn into x, or the bad group's (pp->kb and its
 * sorted points, pp->g). Each group has its own memo, so the two may be fitted side by side. With
 * extend (fill_extends), the good group's estimator is the last proposal's, and the bad group's
 * points are its points and the last config's: that one point is put in its place among the sorted
 * ones, after those of its value (its index is the largest: where a stable sort puts it). */
static bool fit_group(const caviar_tpe *t, const caviar_space *space, uint32_t id, int pi, bool good_group,
                      const void *const *config, int n, const group_weights *weights, bool extend,
                      param_proposal *pp, double *x) {
  kernel_memo *memo = pi < t->memo_params ? t->memo + (size_t)pi * PARAM_MEMO_SLOTS : NULL;
  if (good_group) {
    if (!extend) {
      estimator_free(&pp->l);
      free(pp->kg.x);
      pp->kg = (kernels){malloc((size_t)(n + 1) * sizeof(double)), 0};
      if (!pp->kg.x) return false;
      collect(&pp->a, t->form, space, pi, config, n, &pp->kg);
      if (!estimator_fit(&pp->a, &pp->kg, t->opt.prior_weight, weights, memo ? memo + MEMO_SLOTS : NULL,
                         GOOD_MEMO_SLOTS, NULL, 0, &pp->l))
        return false;
      if (!pp->a.list) { /* its kernels' CDFs at the ends, as draws take them (none: each draw's own) */
        pp->l.end_p = malloc(2 * (size_t)pp->l.n * sizeof *pp->l.end_p);
        for (int i = 0; pp->l.end_p && i < 2 * pp->l.n; i++) pp->l.end_p[i] = NAN;
      }
    }
    uint32_t hash = caviar_name_hash(space->params[pi].name);
    for (int c = 0; c < t->opt.candidates; c++) {
      caviar_rng_block r = caviar_rng(t->seed, id, CAVIAR_RNG_TPE, ((uint64_t)(c + 1) << 32) | hash);
      x[c] = estimator_draw(&pp->a, &pp->l, caviar_u01_open(r.v[0], r.v[1]), caviar_u01_open(r.v[2], r.v[3]));
    }
    return true;
  }
  if (extend) {
    /* (the last proposal's estimator, fitted to these points but the new one: estimator_extend) */
    bool fitted = pp->g.mu && pp->g.n == pp->kb.n + 1 && !pp->a.list;
    if (!bad_room(pp, pp->kb.n + 1)) return false;
    kernels last = {pp->kb.x + pp->kb.n, 0};
    collect(&pp->a, t->form, space, pi, config + n - 1, 1, &last);
    int at = 0; /* the new point's place among the sorted ones (0: none) */
    if (last.n == 1) at = sorted_insert(pp->sorted, pp->kb.n++, last.x[0]);
    if (fitted)
      return estimator_extend(&pp->a, &pp->kb, t->opt.prior_weight, weights, memo, MEMO_SLOTS, pp->sorted, at, &pp->g);
  } else {
    if (!bad_room(pp, n + 1)) return false;
    pp->kb.n = 0;
    collect(&pp->a, t->form, space, pi, config, n, &pp->kb);
    sort_points(pp->kb.x, pp->kb.n, pp->sorted);
  }
  estimator_free(&pp->g);
  return estimator_fit(&pp->a, &pp->kb, t->opt.prior_weight, weights, memo, MEMO_SLOTS, pp->sorted, pp->cap + 1,
                       &pp->g);
}

/* Whether a fill's proposals keep the estimators of the one before (struct caviar_tpe), and how
 * many proposals did. */
bool caviar_tpe_fill_reuse = true;
long caviar_tpe_fill_reused = 0;

/* Whether parameter pi's candidates are scored quickly first, its estimators of no more than
 * QUICK_KERNELS kernels: a continuous axis whose quick parts (1 / sigma, offsets) were made
 * (estimator_log_pdf_quick), or an integer, q_ or list one (estimator_log_pdf_cells_quick: the exact
 * terms, a quick sum). */
bool caviar_tpe_quick_scores = true;
double caviar_tpe_quick_window = 2 * QUICK_ERROR;
double caviar_tpe_quick_noise = 0;

/* Whether a parameter's candidates are scored in floats first (estimator_log_pdf_float for the bad
 * group's density), then quickly only those that may be best; the window of the float scores
 * (negative: twice their error bound); and an error tests put on them (as on the quick scores). */
bool caviar_tpe_float_scores = true;
double caviar_tpe_float_window = -1;
double caviar_tpe_float_noise = 0;

/* A test's error on candidate x's score of one kind (salt): in [-1, 1] times amount, the same for
 * the same x. */
static double test_noise(double x, double amount, uint64_t salt) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  bits = (bits ^ salt) * 0x9E3779B97F4A7C15u;
  return amount * ((double)(bits >> 11) * 0x1p-52 - 1);
}

static bool quick_param(const param_proposal *q) {
  return caviar_tpe_quick_scores && (!quick_axis(&q->a) || (q->l.inv_sigma && q->g.inv_sigma)) &&
         q->l.n <= QUICK_KERNELS && q->g.n <= QUICK_KERNELS;
}

static bool float_param(const param_proposal *q) {
  return quick_param(q) && caviar_tpe_float_scores && q->g.float_error < INFINITY;
}

/* Candidate x's quick score (within QUICK_ERROR of its exact one), and its float one (within the bad
 * group's float_error more; NAN where the floats do not apply there). */
static double quick_score(const param_proposal *q, double x, double *terms) {
  if (!quick_axis(&q->a))
    return estimator_log_pdf_cells_quick(&q->a, &q->l, x, terms) -
           estimator_log_pdf_cells_quick(&q->a, &q->g, x, terms) + test_noise(x, caviar_tpe_quick_noise, 0);
  return estimator_log_pdf_quick(&q->l, x, terms) - estimator_log_pdf_quick(&q->g, x, terms) +
         test_noise(x, caviar_tpe_quick_noise, 0);
}

/* Both groups' densities in floats where the good one's apply too (within the sum of their bounds
 * of the exact score; one logarithm, of their ratio, and the top offsets' difference round under
 * 1e-12 more, which the window adds), else the good one's quickly. */
static double float_score(const param_proposal *q, double x, double *terms) {
  double noise = test_noise(x, caviar_tpe_float_noise, 0x5851F42D4C957F2Du);
  float bad = floats_at(&q->g, x) ? float_sum(&q->g, x) : 0;
  if (!(bad > 0)) return NAN;
  float good = floats_at(&q->l, x) ? float_sum(&q->l, x) : 0;
  if (good > 0) return (q->l.top_offset - q->g.top_offset) + log((double)good / (double)bad) + noise;
  return estimator_log_pdf_quick(&q->l, x, terms) - (q->g.top_offset + log((double)bad)) + noise;
}

static double exact_score(const param_proposal *q, double x, double *terms, int *summed) {
  return estimator_log_pdf(&q->a, &q->l, x, terms, summed) - estimator_log_pdf(&q->a, &q->g, x, terms, summed);
}

/* Parameter pi's best candidate, the first of the highest score (which is what the exact scores
 * pick). With quick scores (each within QUICK_ERROR of its exact one), a candidate more than twice
 * that under the best quick score cannot be best, so only those within it are scored exactly (a
 * value met twice once): the same pick; when they are all one value (the usual case) that value is
 * the pick, and nothing is scored exactly (its exact score is finite, within QUICK_ERROR of its
 * finite quick one, so the exact pass would pick it too). A quick score that is not finite, and a parameter scored
 * exactly from the start, leave every candidate to its exact score. */
static double best_candidate(const param_proposal *q, const double *xs, double *scores, int nc, bool quick,
                             double *terms, int *summed) {
  double top = -INFINITY;
  bool scored_quick = quick;
  for (int c = 0; quick && c < nc; c++) {
    if (!isfinite(scores[c])) quick = false;
    top = scores[c] > top ? scores[c] : top;
  }
  if (quick) {
    int first = -1; /* the first candidate within the window */
    bool one_value = true;
    for (int c = 0; c < nc; c++)
      if (scores[c] >= top - caviar_tpe_quick_window) {
        if (first < 0) first = c;
        else if (memcmp(&xs[first], &xs[c], sizeof xs[c]) != 0) one_value = false;
      }
    if (first >= 0 && one_value) return xs[first];
    for (int c = 0; c < nc; c++) {
      if (!(scores[c] >= top - caviar_tpe_quick_window)) {
        scores[c] = -INFINITY; /* below some candidate's exact score */
        continue;
      }
      int same = 0; /* an earlier candidate of the same value, scored exactly */
      while (same < c && !(scores[same] != -INFINITY && memcmp(&xs[same], &xs[c], sizeof xs[c]) == 0)) same++;
      scores[c] = same < c ? scores[same] : exact_score(q, xs[c], terms, summed);
    }
  } else if (scored_quick) {
    for (int c = 0; c < nc; c++) scores[c] = exact_score(q, xs[c], terms, summed);
  }
  double best_x = 0, best_score = -INFINITY;
  for (int c = 0; c < nc; c++)
    if (c == 0 || scores[c] > best_score) {
      best_score = scores[c];
      best_x = xs[c];
    }
  return best_x;
}

/* A parameter's best candidate from its float scores (float_score): as best_candidate from quick
 * ones, a stage before. A candidate more than twice their error under the best float score is
 * neither the best nor tied with it (its exact score is under the best float score's candidate's,
 * which is under the best exact score), so when those within that window are one value it is the
 * pick; else they (into cx, in order) are scored quickly and best_candidate picks among them: the
 * first of the highest exact scores of all. A float score that is not finite leaves every candidate
 * to its quick score. */
static double best_floated(const param_proposal *q, const double *xs, double *scores, int nc, double *cx,
                           double *terms, int *summed) {
  double top = -INFINITY;
  for (int c = 0; c < nc; c++) {
    if (!isfinite(scores[c])) {
      for (int k = 0; k < nc; k++) scores[k] = quick_score(q, xs[k], terms);
      return best_candidate(q, xs, scores, nc, true, terms, summed);
    }
    top = scores[c] > top ? scores[c] : top;
  }
  double window = caviar_tpe_float_window >= 0 ? caviar_tpe_float_window
                                               : 2 * (q->g.float_error + QUICK_ERROR + caviar_tpe_float_noise +
                                                      (q->l.float_error < INFINITY ? q->l.float_error + 1e-12 : 0));
  int k = 0;
  bool one_value = true;
  for (int c = 0; c < nc; c++)
    if (scores[c] >= top - window) {
      if (k > 0 && memcmp(&cx[0], &xs[c], sizeof xs[c]) != 0) one_value = false;
      cx[k++] = xs[c];
    }
  if (one_value) return cx[0];
  for (int j = 0; j < k; j++) {
    int same = 0; /* an earlier contender of the same value */
    while (same < j && memcmp(&cx[same], &cx[j], sizeof cx[j]) != 0) same++;
    scores[j] = same < j ? scores[same] : quick_score(q, cx[j], terms);
  }
  return best_candidate(q, cx, scores, k, true, terms, summed);
}

/* A candidate's value's bits and its index, sorted by both. */
typedef struct alike {
  uint64_t bits;
  int at;
} alike;

static int compare_alike(const void *pa, const void *pb) {
  const alike *a = pa, *b = pb;
  return a->bits != b->bits ? (a->bits < b->bits ? -1 : 1) : (a->at > b->at) - (a->at < b->at);
}

/* Into first[c], the first of the nc candidates x whose value is candidate c's (the same bits; c
 * itself when none before it), by a sort of (bits, index) in room: O(nc log nc) for the spec's
 * up to 10,000 candidates. */
static void first_alike(const double *x, int nc, alike *room, int *first) {
  for (int c = 0; c < nc; c++) {
    memcpy(&room[c].bits, &x[c], sizeof x[c]);
    room[c].at = c;
  }
  qsort(room, (size_t)nc, sizeof *room, compare_alike);
  for (int j = 0, run = 0; j < nc; j++) {
    if (room[j].bits != room[run].bits) run = j;
    first[room[j].at] = room[run].at;
  }
}

/* What a proposal's loops share (propose_params). */
typedef struct proposal_work {
  caviar_tpe *t;
  const caviar_space *space;
  uint32_t id;
  const void *const *good;
  int ng;
  const void *const *bad;
  int nb;
  groups_weights gw;
  bool extend;
  param_proposal *pp;
  double *x, *score, *contenders, *terms;
  int *summed;
  alike *alikes; /* an integer, q_ or list parameter's candidates by value */
  int *first;    /* the first candidate of each one's value (first_alike) */
  double *best;
  bool *fitted; /* [pi]: the bad group's fit made; [np + pi]: the good one's */
  int turns;    /* a parameter's score turns */
  int room;     /* a thread's terms */
} proposal_work;

enum { SCORED_TOGETHER = 4 }; /* candidates a score loop's turn takes */

/* Fit j: parameter j / 2's bad group (j even), then its good one and its candidates' draws. */
static void fit_job(const proposal_work *w, int j) {
  int pi = j / 2, np = w->space->n;
  if (j % 2 == 0)
    w->fitted[pi] = fit_group(w->t, w->space, w->id, pi, false, w->bad, w->extend ? 1 : w->nb, w->gw.bad, w->extend,
                              &w->pp[pi], NULL);
  else {
    size_t k0 = (size_t)pi * w->t->opt.candidates;
    w->fitted[np + pi] = fit_group(w->t, w->space, w->id, pi, true, w->good, w->ng, w->gw.good, w->extend, &w->pp[pi],
                                   w->x + k0);
    if (w->fitted[np + pi] && !quick_axis(&w->pp[pi].a)) /* (score_job scores a value once) */
      first_alike(w->x + k0, w->t->opt.candidates, w->alikes + k0, w->first + k0);
  }
}

/* Whether an integer, q_ or list parameter's candidates are scored once a value (true), the others
 * of that value taking its score; tests turn it off to compare (the same proposals either way). */
bool caviar_tpe_alike_scores = true;

/* Score turn j: SCORED_TOGETHER candidates of parameter j / turns (mine: the thread's terms); an
 * integer, q_ or list parameter's candidates often repeat a value, so only the first of a value is
 * scored: pick_job copies its score to the others. */
static void score_job(const proposal_work *w, int j, size_t mine) {
  int np = w->space->n, nc = w->t->opt.candidates, pi = j / w->turns, c0 = j % w->turns * SCORED_TOGETHER;
  if (!w->fitted[pi] || !w->fitted[np + pi]) return;
  const param_proposal *q = &w->pp[pi];
  bool quick = quick_param(q), floated = float_param(q);
  for (int c = c0; c < c0 + SCORED_TOGETHER && c < nc; c++) {
    size_t k = (size_t)pi * nc + c;
    if (!quick_axis(&q->a) && caviar_tpe_alike_scores && w->first[k] < c) continue;
    w->score[k] = floated ? float_score(q, w->x[k], w->terms + mine)
                  : quick ? quick_score(q, w->x[k], w->terms + mine)
                          : exact_score(q, w->x[k], w->terms + mine, w->summed + mine);
  }
}

/* Parameter pi's pick. */
static void pick_job(const proposal_work *w, int pi, size_t mine) {
  int np = w->space->n, nc = w->t->opt.candidates;
  if (!w->fitted[pi] || !w->fitted[np + pi]) return;
  const param_proposal *q = &w->pp[pi];
  size_t k0 = (size_t)pi * nc;
  for (int c = 0; !quick_axis(&q->a) && caviar_tpe_alike_scores && c < nc; c++)
    w->score[k0 + c] = w->score[k0 + w->first[k0 + c]];
  w->best[pi] = float_param(q) ? best_floated(q, w->x + k0, w->score + k0, nc, w->contenders + k0, w->terms + mine,
                                              w->summed + mine)
                               : best_candidate(q, w->x + k0, w->score + k0, nc, quick_param(q), w->terms + mine,
                                                w->summed + mine);
}

/* Each parameter's proposal: the best of its candidates by the ratio of the good group's density to
 * the bad one's. Every parameter's estimators and candidates are its own (and so are its random
 * numbers), and every candidate's score is its own, so the work is shared out among the sweep's
 * threads in three loops: the fits (each parameter's bad group, the heavier, then each one's good
 * group and its candidates' draws), the scores (a few candidates a time: on a continuous axis float
 * or quick ones), and each parameter's pick (best_floated, best_candidate: quick and exact scores
 * where the scores before leave it open); each thread with its own room for a density's terms: the
 * same bits on any number of threads. Over continuous parameters alone the loops share their work
 * out statically, in blocks: their parts cost about alike, each thread takes a run of parameters in
 * every loop (so it scores the estimators it fitted), and on the two cores of bench_tpe's VM
 * dynamic turns cost 16% more a proposal; a parameter of another kind (integer, q_, list) costs
 * far more or far less than a continuous one, so then the turns are dynamic (static blocks cost 13%
 * more there: docs/PERF.md). With extend (a fill's next proposal, the same parameters: the
 * kept estimators grow by one point), good is not read and bad holds only the newest config; ng and
 * nb are the groups' sizes all the same. */
static bool propose_params(caviar_tpe *t, const caviar_space *space, uint32_t id, const void *const *good, int ng,
                           const void *const *bad, int nb, groups_weights gw, bool extend, double *out) {
  int np = space->n, nc = t->opt.candidates, threads = omp_get_max_threads();
  if (np == 0) return true;
  int room = (ng > nb ? ng : nb) + 2; /* the most kernels an estimator holds: its points and the prior */
  int turns = (nc + SCORED_TOGETHER - 1) / SCORED_TOGETHER; /* a parameter's score turns */
  if (t->np_kept != np) { /* the parameters' estimators, kept from one proposal to the next */
    kept_free(t);
    t->pp = calloc((size_t)np, sizeof *t->pp);
    t->np_kept = t->pp ? np : 0;
    extend = false;
  }
  param_proposal *pp = t->pp;
  /* The candidates, their scores, best_floated's contenders, each thread's room for a density's
   * terms (and their indices), the picks, the candidates by value (first_alike), and which fits
   * were made ([pi]: the bad group's; [np + pi]: the good one's), in the sampler's scratch. */
  size_t cands = (size_t)np * (size_t)nc, rooms = (size_t)threads * (size_t)room;
  size_t bytes = (3 * cands + rooms + (size_t)np) * sizeof(double) + cands * sizeof(alike) +
                 (rooms + cands) * sizeof(int) + 2 * (size_t)np;
  if (bytes > t->scratch_bytes) {
    free(t->scratch);
    t->scratch = malloc(bytes);
    t->scratch_bytes = t->scratch ? bytes : 0;
  }
  double *x = t->scratch, *score = x + cands, *contenders = score + cands, *terms = contenders + cands;
  double *best = terms + rooms;
  alike *alikes = (alike *)(best + np);
  int *summed = (int *)(alikes + cands), *first = summed + rooms;
  bool *fitted = (bool *)(first + cands);
  bool ok = np == t->np_kept && t->scratch;
  if (ok) {
    memset(fitted, 0, 2 * (size_t)np);
    for (int pi = 0; !extend && pi < np; pi++) { /* (a fill's next: the same, params_kept) */
      axis_of(&space->params[pi], &pp[pi].a);
      memcpy(&pp[pi].param, &space->params[pi], sizeof pp[pi].param); /* padding too: params_kept's memcmp */
    }
    proposal_work w = {t, space, id, good, ng, bad, nb, gw, extend, pp, x, score, contenders, terms, summed, alikes,
                       first, best, fitted, turns, room};
    bool alike = true; /* every parameter continuous: static blocks */
    for (int pi = 0; pi < np; pi++) alike = alike && quick_axis(&pp[pi].a);
#pragma omp parallel if (np * nc > 8)
    {
      size_t mine = (size_t)omp_get_thread_num() * (size_t)room;
      if (alike) {
#pragma omp for schedule(static)
        for (int j = 0; j < 2 * np; j++) fit_job(&w, j);
#pragma omp for schedule(static)
        for (int j = 0; j < np * turns; j++) score_job(&w, j, mine);
#pragma omp for schedule(static)
        for (int pi = 0; pi < np; pi++) pick_job(&w, pi, mine);
      } else {
#pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < 2 * np; j++) fit_job(&w, j);
#pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < np * turns; j++) score_job(&w, j, mine);
#pragma omp for schedule(dynamic, 1)
        for (int pi = 0; pi < np; pi++) pick_job(&w, pi, mine);
      }
    }
    for (int j = 0; j < 2 * np; j++) ok = ok && fitted[j];
  }
  for (int pi = 0; ok && pi < np; pi++) out[pi] = value_at(&pp[pi].a, best[pi]);
  if (ok && extend) caviar_tpe_fill_reused++;
  return ok;
}

/* Whether the parameters of space are those the kept estimators were fitted on. */
static bool params_kept(const caviar_tpe *t, const caviar_space *space) {
  if (t->np_kept != space->n) return false;
  for (int pi = 0; pi < space->n; pi++) {
    axis a;
    axis_of(&space->params[pi], &a);
    if (memcmp(&a, &t->pp[pi].a, sizeof a) || memcmp(&space->params[pi], &t->pp[pi].param, sizeof t->pp[pi].param))
      return false;
  }
  return true;
}

/* Whether this proposal is the last one's next in a fill (see struct caviar_tpe): no result since,
 * the same budget fitted, and the same pending configs and one more. */
static bool fill_extends(const caviar_tpe *t, int budget, const void *const *pending, int n_pending) {
  if (!caviar_tpe_fill_reuse || !t->fill_valid || t->n != t->fill_obs || t->n_failed != t->fill_failed ||
      budget != t->fill_budget || n_pending != t->fill_pending + 1)
    return false;
  for (int k = 0; k < t->fill_pending; k++)
    if (memcmp(pending[k], t->fill_configs + (size_t)k * t->config_size, t->config_size) != 0) return false;
  return true;
}

/* Keeps what a proposal was made from (fill_extends reads it): false without room for it. */
static bool fill_keep(caviar_tpe *t, int budget, const void *const *pending, int n_pending, int ng, int nb,
                      bool extend) {
  if (n_pending > t->fill_cap) {
    int cap = n_pending + n_pending / 2 + 16;
    unsigned char *grown = realloc(t->fill_configs, (size_t)cap * t->config_size);
    if (!grown) return false;
    t->fill_configs = grown;
    t->fill_cap = cap;
  }
  for (int k = extend ? n_pending - 1 : 0; k < n_pending; k++)
    memcpy(t->fill_configs + (size_t)k * t->config_size, pending[k], t->config_size);
  t->fill_obs = t->n;
  t->fill_failed = t->n_failed;
  t->fill_budget = budget;
  t->fill_pending = n_pending;
  t->fill_ng = ng;
  t->fill_nb = nb;
  return true;
}

/* The proposal for trial id over space (one value per parameter in out), the configs still
 * training pending: the Parzen estimators, or the GP. */
static bool propose(caviar_tpe *t, const caviar_space *space, uint32_t id, const void *const *pending, int n_pending,
                    double *out) {
  const budget_book *book = fitted_book(t);
  if (!book) return false;
  if (t->opt.gp) return gp_propose(t, book->budget, space, id, pending, n_pending, out);
  /* The first MEMO_PARAMS parameters keep memos (a space of hundreds would hold tens of MB); the
   * others' fits, and all of them without room for the memos, compute every kernel's. */
  int memo_params = space->n < MEMO_PARAMS ? space->n : MEMO_PARAMS;
  if (t->memo_params < memo_params) {
    free(t->memo);
    t->memo = calloc((size_t)memo_params * PARAM_MEMO_SLOTS, sizeof *t->memo);
    t->memo_params = t->memo ? memo_params : 0;
  }
  int n = book->n;
  int n_good = (int)ceil(0.1 * n);
  if (n_good > MAX_GOOD) n_good = MAX_GOOD;
  if (n_good < 1) n_good = 1;
  /* The bad group reads the most recent observations that are not good, at most history - n_good
   * of them (all when the budget holds no more than history). */
  int room = t->opt.history > 0 && n > t->opt.history ? t->opt.history - n_good : n - n_good;
  if (fill_extends(t, book->budget, pending, n_pending) && params_kept(t, space)) {
    /* The groups of the proposal before, and that one pending; fit_group reads only the newest. */
    groups_weights gw = {weights_for(t, t->fill_ng, true), weights_for(t, t->fill_nb + 1, false)};
    bool ok = propose_params(t, space, id, NULL, t->fill_ng, &pending[n_pending - 1], t->fill_nb + 1, gw, true, out);
    t->fill_valid = ok && fill_keep(t, book->budget, pending, n_pending, t->fill_ng, t->fill_nb + 1, true);
    return ok;
  }
  int failures = n_carried(t, book->budget), others = room + failures + n_pending + 1;
  const void **good = malloc((size_t)(n_good + 1) * sizeof *good);
  const void **bad = malloc((size_t)others * sizeof *bad);
  int *order = malloc((size_t)(room + 1) * sizeof *order); /* the bad ones' observations, oldest first */
  bool ok = good && bad && order;
  if (ok) {
    /* Both groups in the order the observations arrived (the weights favour recent ones): the
     * good ones are the best n_good (by loss, then age), the bad ones the rest, newest first until
     * there is no more room, then turned around. */
    int good_index[MAX_GOOD];
    for (int k = 0; k < n_good; k++) {
      int i = book->best[k].index, j = k;
      for (; j > 0 && good_index[j - 1] > i; j--) good_index[j] = good_index[j - 1];
      good_index[j] = i;
    }
    int ng = 0, nb = 0;
    for (int k = 0; k < n_good; k++) good[ng++] = config_at(t, good_index[k]);
    int n_order = 0;
    const ranked *last_good = &book->best[n_good - 1];
    for (int k = n - 1; k >= 0 && n_order < room; k--) {
      ranked r = {t->obs[book->index[k]].loss, book->index[k]};
      if (compare_ranked(&r, last_good) > 0) order[n_order++] = book->index[k];
    }
    for (int k = 0; k < n_order / 2; k++) {
      int x = order[k];
      order[k] = order[n_order - 1 - k];
      order[n_order - 1 - k] = x;
    }
    /* With the failures carried up from smaller budgets, in the order all arrived. */
    for (int a = 0, f = 0; a < n_order || f < t->n_failed;) {
      if (f < t->n_failed && !carried(t, t->failed[f], book->budget)) f++;
      else if (f < t->n_failed && (a == n_order || t->failed[f] < order[a])) bad[nb++] = config_at(t, t->failed[f++]);
      else bad[nb++] = config_at(t, order[a++]);
    }
    /* Constant liar: configs still training are the worst results so far. */
    for (int i = 0; i < n_pending; i++) bad[nb++] = pending[i];
    groups_weights gw = {weights_for(t, ng, true), weights_for(t, nb, false)};
    ok = propose_params(t, space, id, good, ng, bad, nb, gw, false, out);
    /* (a space of no parameters fits nothing: what is kept is not this proposal's) */
    t->fill_valid = ok && space->n > 0 && fill_keep(t, book->budget, pending, n_pending, ng, nb, false);
  }
  free(good);
  free(bad);
  free(order);
  return ok;
}

/* The pointers to n configs of size bytes laid one after another (none: an empty list). */
static const void **config_list(const void *configs, size_t size, int n) {
  const void **list = malloc((size_t)(n > 0 ? n : 1) * sizeof *list);
  for (int i = 0; list && i < n; i++) list[i] = (const unsigned char *)configs + (size_t)i * size;
  return list;
}

bool caviar_tpe_propose(caviar_tpe *t, const caviar_space *space, const caviar_hparams *base, uint32_t id,
                        const caviar_hparams *pending, int n_pending, caviar_hparams *out) {
  if (t->form != MODEL_FORM_HPARAMS || !fitted_book(t)) return false;
  const void **list = config_list(pending, sizeof *pending, n_pending);
  double *values = malloc((size_t)(space->n > 0 ? space->n : 1) * sizeof *values);
  bool ok = list && values && propose(t, space, id, list, n_pending, values);
  if (ok) model_config_put(MODEL_FORM_HPARAMS, space, base, values, out);
  free(list);
  free(values);
  return ok;
}

bool caviar_tpe_propose_values(caviar_tpe *t, const caviar_space *space, uint32_t id, const double *pending,
                               int n_pending, double *out) {
  if (t->form != MODEL_FORM_VALUES || space->n != t->n_values || !fitted_book(t)) return false;
  const void **list = config_list(pending, t->config_size, n_pending);
  bool ok = list && propose(t, space, id, list, n_pending, out);
  free(list);
  return ok;
}
