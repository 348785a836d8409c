#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/model.h"
#include "caviar/space.h"

static const caviar_dist_info dist_table[CAVIAR_DIST_COUNT] = {
    [CAVIAR_DIST_CONSTANT] = {"constant", CAVIAR_FAMILY_LIST, CAVIAR_SCALE_LINEAR, false, false, "value"},
    [CAVIAR_DIST_CATEGORICAL] = {"categorical", CAVIAR_FAMILY_LIST, CAVIAR_SCALE_LINEAR, false, false,
                                 "values, probabilities"},
    [CAVIAR_DIST_INT_UNIFORM] = {"int_uniform", CAVIAR_FAMILY_INTEGER, CAVIAR_SCALE_LINEAR, false, false,
                                 "min, max, grid_points"},
    [CAVIAR_DIST_UNIFORM] = {"uniform", CAVIAR_FAMILY_BOX, CAVIAR_SCALE_LINEAR, false, false,
                             "min, max, grid_points"},
    [CAVIAR_DIST_Q_UNIFORM] = {"q_uniform", CAVIAR_FAMILY_BOX, CAVIAR_SCALE_LINEAR, true, false,
                               "min, max, q, grid_points"},
    [CAVIAR_DIST_LOG_UNIFORM] = {"log_uniform", CAVIAR_FAMILY_BOX, CAVIAR_SCALE_LN, false, true,
                                 "min, max (natural-log exponents), grid_points"},
    [CAVIAR_DIST_LOG_UNIFORM_VALUES] = {"log_uniform_values", CAVIAR_FAMILY_BOX, CAVIAR_SCALE_LN, false,
                                        false, "min, max, grid_points"},
    [CAVIAR_DIST_Q_LOG_UNIFORM] = {"q_log_uniform", CAVIAR_FAMILY_BOX, CAVIAR_SCALE_LN, true, true,
                                   "min, max (natural-log exponents), q, grid_points"},
    [CAVIAR_DIST_Q_LOG_UNIFORM_VALUES] = {"q_log_uniform_values", CAVIAR_FAMILY_BOX, CAVIAR_SCALE_LN, true,
                                          false, "min, max, q, grid_points"},
    [CAVIAR_DIST_INV_LOG_UNIFORM] = {"inv_log_uniform", CAVIAR_FAMILY_BOX, CAVIAR_SCALE_LN, false, true,
                                     "min, max (natural-log exponents of 1/x), grid_points"},
    [CAVIAR_DIST_INV_LOG_UNIFORM_VALUES] = {"inv_log_uniform_values", CAVIAR_FAMILY_BOX, CAVIAR_SCALE_LN,
                                            false, false, "min, max, grid_points"},
    [CAVIAR_DIST_NORMAL] = {"normal", CAVIAR_FAMILY_NORMAL, CAVIAR_SCALE_LINEAR, false, false, "mu, sigma"},
    [CAVIAR_DIST_Q_NORMAL] = {"q_normal", CAVIAR_FAMILY_NORMAL, CAVIAR_SCALE_LINEAR, true, false,
                              "mu, sigma, q"},
    [CAVIAR_DIST_LOG_NORMAL] = {"log_normal", CAVIAR_FAMILY_NORMAL, CAVIAR_SCALE_LN, false, false,
                                "mu, sigma"},
    [CAVIAR_DIST_Q_LOG_NORMAL] = {"q_log_normal", CAVIAR_FAMILY_NORMAL, CAVIAR_SCALE_LN, true, false,
                                  "mu, sigma, q"},
    [CAVIAR_DIST_ONE_MINUS_LOG_UNIFORM_VALUES] = {"one_minus_log_uniform_values", CAVIAR_FAMILY_BOX,
                                                  CAVIAR_SCALE_ONE_MINUS, false, false,
                                                  "min, max (both in [0, 1)), grid_points"},
    [CAVIAR_DIST_BETA] = {"beta", CAVIAR_FAMILY_BETA, CAVIAR_SCALE_LINEAR, false, false, "a, b"},
    [CAVIAR_DIST_Q_BETA] = {"q_beta", CAVIAR_FAMILY_BETA, CAVIAR_SCALE_LINEAR, true, false, "a, b, q"},
    [CAVIAR_DIST_CATEGORICAL_W_PROBABILITIES] = {"categorical_w_probabilities", CAVIAR_FAMILY_LIST,
                                                 CAVIAR_SCALE_LINEAR, false, false, "values, probabilities"},
};

const caviar_dist_info *caviar_dist_get(caviar_dist dist) { return &dist_table[dist]; }

bool caviar_dist_lookup(const char *name, caviar_dist *out) {
  for (int d = 0; d < CAVIAR_DIST_COUNT; d++) {
    if (strcmp(dist_table[d].name, name) == 0) {
      *out = (caviar_dist)d;
      return true;
    }
  }
  return false;
}

const char *caviar_dist_names(void) {
  static char names[512];
  if (!names[0]) {
    size_t used = 0;
    for (int d = 0; d < CAVIAR_DIST_COUNT; d++)
      used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", d ? ", " : "",
                               dist_table[d].name);
  }
  return names;
}

double caviar_scale_to_value(caviar_scale scale, double t) {
  switch (scale) {
    case CAVIAR_SCALE_LN: return exp(t);
    case CAVIAR_SCALE_ONE_MINUS: return 1.0 - pow(10.0, t);
    case CAVIAR_SCALE_LINEAR: break;
  }
  return t;
}

double caviar_scale_from_value(caviar_scale scale, double value) {
  switch (scale) {
    case CAVIAR_SCALE_LN: return log(value);
    case CAVIAR_SCALE_ONE_MINUS: return log10(1.0 - value);
    case CAVIAR_SCALE_LINEAR: break;
  }
  return value;
}

double caviar_quantize(double x, double q) { return nearbyint(x / q) * q; }

/* Beta(a, b)'s CDF and inverse CDF. GSL's error handler (which aborts) is off meanwhile: where its
 * inverse does not converge, bisection on the CDF gives the quantile. */
static double beta_cdf(double x, double a, double b) {
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  double p = gsl_cdf_beta_P(x, a, b);
  gsl_set_error_handler(old);
  return p;
}

static double beta_quantile(double u, double a, double b) {
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  double x = gsl_cdf_beta_Pinv(u, a, b);
  gsl_set_error_handler(old);
  if (isfinite(x) && x >= 0 && x <= 1) return x;
  double lo = 0, hi = 1;
  for (int i = 0; i < 64; i++) {
    double mid = 0.5 * (lo + hi);
    if (beta_cdf(mid, a, b) < u) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

static double clamp(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

void caviar_param_support(const caviar_param *p, double *lo, double *hi) {
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  switch (info->family) {
    case CAVIAR_FAMILY_LIST:
      *lo = INFINITY;
      *hi = -INFINITY;
      for (int i = 0; i < p->n_values; i++) {
        if (p->values[i] < *lo) *lo = p->values[i];
        if (p->values[i] > *hi) *hi = p->values[i];
      }
      return;
    case CAVIAR_FAMILY_INTEGER:
      *lo = p->t_lo;
      *hi = p->t_hi;
      return;
    case CAVIAR_FAMILY_BOX: {
      double a = caviar_scale_to_value(info->scale, p->t_lo);
      double b = caviar_scale_to_value(info->scale, p->t_hi);
      *lo = fmin(a, b);
      *hi = fmax(a, b);
      break;
    }
    case CAVIAR_FAMILY_NORMAL:
      /* What the generator can reach: Box-Muller on 53-bit uniforms in (0, 1) gives |z| < 8.7. */
      *lo = caviar_scale_to_value(info->scale, p->mu - CAVIAR_NORMAL_REACH * p->sigma);
      *hi = caviar_scale_to_value(info->scale, p->mu + CAVIAR_NORMAL_REACH * p->sigma);
      break;
    case CAVIAR_FAMILY_BETA:
      *lo = 0;
      *hi = 1;
      break;
  }
  if (info->quantized) {
    *lo = caviar_quantize(*lo, p->q);
    *hi = caviar_quantize(*hi, p->q);
  }
}

double caviar_param_draw(const caviar_param *p, double u1, double u2) {
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  double x = 0.0;
  switch (info->family) {
    case CAVIAR_FAMILY_LIST: {
      int i = 0;
      if (p->cumulative) {
        while (i < p->n_values - 1 && u1 >= p->cumulative[i]) i++;
      } else {
        i = (int)(u1 * p->n_values);
        if (i >= p->n_values) i = p->n_values - 1;
      }
      return p->values[i];
    }
    case CAVIAR_FAMILY_INTEGER: {
      double span = p->t_hi - p->t_lo + 1.0;
      return fmin(p->t_lo + floor(u1 * span), p->t_hi);
    }
    case CAVIAR_FAMILY_BOX: {
      double lo, hi;
      caviar_param_support(p, &lo, &hi);
      x = caviar_scale_to_value(info->scale, p->t_lo + u1 * (p->t_hi - p->t_lo));
      if (!info->quantized) return clamp(x, lo, hi);
      break;
    }
    case CAVIAR_FAMILY_NORMAL: {
      /* Box-Muller: u1, u2 are in (0, 1), so the logarithm is finite. */
      double z = sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
      x = caviar_scale_to_value(info->scale, p->mu + p->sigma * z);
      break;
    }
    case CAVIAR_FAMILY_BETA:
      /* The inverse CDF, as W&B's ppf (scipy.stats.beta.ppf) maps its uniform. */
      x = beta_quantile(u1, p->a, p->b);
      break;
  }
  return info->quantized ? caviar_quantize(x, p->q) : x;
}

double caviar_param_quantile(const caviar_param *p, double u) {
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  if (info->family != CAVIAR_FAMILY_NORMAL) return caviar_param_draw(p, u, 0.5);
  double x = caviar_scale_to_value(info->scale, p->mu + p->sigma * gsl_cdf_ugaussian_Pinv(u));
  return info->quantized ? caviar_quantize(x, p->q) : x;
}

double caviar_param_cdf(const caviar_param *p, double x) {
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  switch (info->family) {
    case CAVIAR_FAMILY_LIST: {
      double below = 0;
      for (int i = 0; i < p->n_values; i++) {
        double lo = p->cumulative ? (i ? p->cumulative[i - 1] : 0) : (double)i / p->n_values;
        double hi = p->cumulative ? p->cumulative[i] : (double)(i + 1) / p->n_values;
        if (p->values[i] == x) return 0.5 * (lo + hi);
        below = hi;
      }
      return below;
    }
    case CAVIAR_FAMILY_INTEGER: return clamp((x - p->t_lo + 0.5) / (p->t_hi - p->t_lo + 1.0), 0, 1);
    case CAVIAR_FAMILY_BOX: {
      double t = caviar_scale_from_value(info->scale, x);
      return p->t_hi > p->t_lo ? clamp((t - p->t_lo) / (p->t_hi - p->t_lo), 0, 1) : 0.5;
    }
    case CAVIAR_FAMILY_NORMAL:
      return p->sigma > 0 ? gsl_cdf_ugaussian_P((caviar_scale_from_value(info->scale, x) - p->mu) / p->sigma) : 0.5;
    case CAVIAR_FAMILY_BETA: return beta_cdf(clamp(x, 0, 1), p->a, p->b);
  }
  return 0.5;
}

static bool active_at(const caviar_space *space, const caviar_hparams *hp, int i, int depth) {
  const caviar_param *p = &space->params[i];
  if (depth > space->n) return false; /* a cycle; the spec parser rejects them */
  for (int c = 0; c < p->n_when; c++) {
    const caviar_condition *cond = &p->when[c];
    if (!active_at(space, hp, cond->parent, depth + 1)) return false;
    double v = caviar_hp_get(hp, space->params[cond->parent].hp);
    bool holds = false;
    for (int k = 0; k < cond->n_values && !holds; k++) holds = cond->values[k] == v;
    if (!holds) return false;
  }
  return true;
}

bool caviar_space_active(const caviar_space *space, const caviar_hparams *hp, int i) {
  return active_at(space, hp, i, 0);
}

void caviar_space_mark(const caviar_space *space, const caviar_hparams *base, caviar_hparams *hp) {
  hp->swept = 0;
  for (int i = 0; i < space->n; i++) {
    const caviar_hp_info *info = space->params[i].hp;
    hp->swept |= 1u << (info - caviar_hp_table);
    /* As one switched off does, one that means nothing for the model holds base's value: a config
     * reads back whole from the values it shows (a study's journal), and gp.c reads every value. */
    if (!caviar_hp_active(hp, info)) caviar_hp_set(hp, info, caviar_hp_get(base, info));
  }
}

void caviar_space_apply_conditions(const caviar_space *space, const caviar_hparams *base, caviar_hparams *hp) {
  unsigned off = 0;
  if (caviar_space_has_conditions(space)) {
    bool active[64];
    /* Decide every parameter first, then reset: a reset parent must not change its children. */
    for (int i = 0; i < space->n && i < 64; i++) active[i] = caviar_space_active(space, hp, i);
    for (int i = 0; i < space->n && i < 64; i++) {
      const caviar_hp_info *info = space->params[i].hp;
      if (!active[i]) {
        caviar_hp_set(hp, info, caviar_hp_get(base, info));
        off |= 1u << (info - caviar_hp_table);
      }
    }
  }
  /* Then what applies to the model drawn (model.h): conv_blocks of an MLP is not part of it. A
   * condition on a parameter that means nothing for the model (channels of an MLP) does not hold
   * either: its children go off too, and theirs. Each round adds to off, so the rounds end. */
  caviar_hparams_settle(hp, off);
  for (bool more = caviar_space_has_conditions(space); more;) {
    more = false;
    for (int i = 0; i < space->n && i < 64; i++) {
      const caviar_param *p = &space->params[i];
      if (!caviar_hp_active(hp, p->hp)) continue;
      for (int c = 0; c < p->n_when; c++) {
        if (caviar_hp_active(hp, space->params[p->when[c].parent].hp)) continue;
        caviar_hp_set(hp, p->hp, caviar_hp_get(base, p->hp));
        off |= 1u << (p->hp - caviar_hp_table);
        more = true;
        break;
      }
    }
    if (more) caviar_hparams_settle(hp, off);
  }
  caviar_space_mark(space, base, hp);
}

void caviar_space_take_shape(const caviar_space *space, const caviar_hparams *base, const caviar_hparams *drawn,
                             caviar_hparams *hp) {
  unsigned was_inactive = hp->inactive;
  caviar_hparams_copy_shape(hp, drawn);
  caviar_space_apply_conditions(space, base, hp);
  /* A structural value put back, or a parameter the shape switched on that is not itself part of the
   * shape (it would hold base's value, perhaps outside its distribution): the drawn config, whose
   * values were drawn together. */
  unsigned on = was_inactive & ~hp->inactive;
  for (int i = 0; i < caviar_hp_count; i++)
    if (on >> i & 1u && caviar_hp_is_structural(&caviar_hp_table[i])) on &= ~(1u << i);
  if (!caviar_hparams_same_shape(hp, drawn) || on) *hp = *drawn;
}

bool caviar_space_has_conditions(const caviar_space *space) {
  for (int i = 0; i < space->n; i++)
    if (space->params[i].n_when > 0) return true;
  return false;
}

void caviar_param_free(caviar_param *p) {
  for (int k = 0; k < p->n_keys; k++) free(p->keys[k]);
  free(p->keys);
  for (int v = 0; p->value_text && v < p->n_values; v++) free(p->value_text[v]);
  free(p->value_text);
  for (int c = 0; c < p->n_when; c++) free(p->when[c].values);
  free(p->when);
  free(p->name);
  free(p->values);
  free(p->cumulative);
  memset(p, 0, sizeof *p);
}

void caviar_space_free(caviar_space *space) {
  for (int i = 0; i < space->n; i++) caviar_param_free(&space->params[i]);
  free(space->params);
  space->params = NULL;
  space->n = 0;
}

const caviar_param *caviar_space_find(const caviar_space *space, const char *name) {
  for (int i = 0; i < space->n; i++)
    if (strcmp(space->params[i].name, name) == 0) return &space->params[i];
  return NULL;
}
