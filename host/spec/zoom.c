#include "caviar/zoom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

caviar_status caviar_space_copy(const caviar_space *src, caviar_space *dst, caviar_error *err) {
  memset(dst, 0, sizeof *dst);
  dst->params = caviar_alloc((size_t)src->n, sizeof *dst->params, "a search box", err);
  if (!dst->params) return CAVIAR_ERUNTIME;
  for (int i = 0; i < src->n; i++) {
    const caviar_param *s = &src->params[i];
    caviar_param *d = &dst->params[dst->n++];
    *d = *s;
    d->when = NULL;
    d->n_when = 0;
    d->keys = NULL;
    d->n_keys = 0;
    d->value_text = NULL;
    d->name = NULL;
    d->values = d->cumulative = NULL;
    /* Outside code's parameters: their keys and their values' text, copied too. */
    if (s->keys) {
      d->keys = caviar_alloc((size_t)s->n_keys, sizeof *d->keys, "a search box", err);
      for (int k = 0; d->keys && k < s->n_keys; k++, d->n_keys++)
        if (!(d->keys[k] = caviar_strdup(s->keys[k], err))) break;
    }
    if (s->value_text) {
      d->value_text = caviar_alloc((size_t)s->n_values, sizeof *d->value_text, "a search box", err);
      for (int v = 0; d->value_text && v < s->n_values; v++)
        if (!(d->value_text[v] = caviar_strdup(s->value_text[v], err))) break;
    }
    bool texts = (!s->keys || (d->keys && d->n_keys == s->n_keys)) &&
                 (!s->value_text || (d->value_text && (s->n_values == 0 || d->value_text[s->n_values - 1])));
    if (!texts) {
      caviar_space_free(dst);
      return CAVIAR_ERUNTIME;
    }
    d->name = caviar_strdup(s->name, err);
    d->values = s->values ? caviar_alloc((size_t)s->n_values, sizeof *d->values, "a search box", err) : NULL;
    d->cumulative = s->cumulative ? caviar_alloc((size_t)s->n_values, sizeof *d->cumulative, "a search box", err) : NULL;
    if (!d->name || (s->values && !d->values) || (s->cumulative && !d->cumulative)) {
      caviar_space_free(dst);
      return CAVIAR_ERUNTIME;
    }
    if (s->values) memcpy(d->values, s->values, (size_t)s->n_values * sizeof *d->values);
    if (s->cumulative) memcpy(d->cumulative, s->cumulative, (size_t)s->n_values * sizeof *d->cumulative);
    if (s->n_when) {
      d->when = caviar_alloc((size_t)s->n_when, sizeof *d->when, "a search box", err);
      if (!d->when) {
        caviar_space_free(dst);
        return CAVIAR_ERUNTIME;
      }
      for (int c = 0; c < s->n_when; c++, d->n_when++) {
        d->when[c] = s->when[c];
        d->when[c].values = caviar_alloc((size_t)s->when[c].n_values, sizeof *d->when[c].values, "a search box", err);
        if (!d->when[c].values) {
          caviar_space_free(dst);
          return CAVIAR_ERUNTIME;
        }
        memcpy(d->when[c].values, s->when[c].values, (size_t)s->when[c].n_values * sizeof *d->when[c].values);
      }
    }
  }
  return CAVIAR_OK;
}

/* [lo, hi] of width `width` around centre, slid to lie inside [min, max]. */
static void place(double centre, double width, double min, double max, double *lo, double *hi) {
  if (width >= max - min) {
    *lo = min;
    *hi = max;
    return;
  }
  *lo = centre - width / 2;
  *hi = centre + width / 2;
  if (*lo < min) *hi += min - *lo, *lo = min;
  if (*hi > max) *lo -= *hi - max, *hi = max;
}

/* The coordinate of a value on the parameter's scale (integers: the value itself). */
static double coordinate(const caviar_param *p, double value) {
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  if (info->family == CAVIAR_FAMILY_INTEGER) return value;
  return caviar_scale_from_value(info->scale, value);
}

static void zoom_range(caviar_param *p, const caviar_param *orig, const double *t, int n, double zoom) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++) lo = fmin(lo, t[i]), hi = fmax(hi, t[i]);
  double width = fmax(zoom * (p->t_hi - p->t_lo), hi - lo);
  place(0.5 * (lo + hi), width, orig->t_lo, orig->t_hi, &p->t_lo, &p->t_hi);
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  if (info->family == CAVIAR_FAMILY_INTEGER) {
    p->t_lo = floor(p->t_lo);
    p->t_hi = ceil(p->t_hi);
  }
  /* min and max follow the box, so grids and messages see it. */
  if (info->exponent_bounds || info->family == CAVIAR_FAMILY_INTEGER) {
    p->min = p->dist == CAVIAR_DIST_INV_LOG_UNIFORM ? -p->t_hi : p->t_lo;
    p->max = p->dist == CAVIAR_DIST_INV_LOG_UNIFORM ? -p->t_lo : p->t_hi;
  } else {
    double a = caviar_scale_to_value(info->scale, p->t_lo), b = caviar_scale_to_value(info->scale, p->t_hi);
    p->min = fmin(a, b);
    p->max = fmax(a, b);
  }
}

static void zoom_list(caviar_param *p, const double *values, int n) {
  int kept = 0;
  double mass = 0;
  for (int v = 0; v < p->n_values; v++) {
    bool used = false;
    for (int i = 0; i < n && !used; i++) used = values[i] == p->values[v];
    double prob = p->cumulative ? p->cumulative[v] - (v ? p->cumulative[v - 1] : 0) : 1.0;
    if (!used || !(prob > 0)) continue; /* (a value of probability 0, told from outside: never drawn) */
    p->values[kept] = p->values[v];
    if (p->cumulative) p->cumulative[kept] = mass + prob;
    mass += prob;
    kept++;
  }
  if (kept == 0) return; /* the best trials drew from these values (but told ones of probability 0) */
  if (p->cumulative)
    for (int v = 0; v < kept; v++) p->cumulative[v] /= mass;
  p->n_values = kept;
}

caviar_status caviar_zoom(caviar_space *box, const caviar_space *original, const caviar_hparams *best, int n_best,
                          double zoom, caviar_error *err) {
  if (n_best <= 0) return CAVIAR_OK;
  double *values = caviar_alloc((size_t)n_best, sizeof *values, "the zoom", err);
  if (!values) return CAVIAR_ERUNTIME;
  for (int i = 0; i < box->n; i++) {
    caviar_param *p = &box->params[i];
    const caviar_param *orig = &original->params[i];
    const caviar_dist_info *info = caviar_dist_get(p->dist);
    int n = 0; /* the best trials where the parameter was active (a condition may switch it off) */
    for (int k = 0; k < n_best; k++)
      if (caviar_hp_active(&best[k], p->hp)) values[n++] = caviar_hp_get(&best[k], p->hp);
    if (n == 0) continue;
    switch (info->family) {
      case CAVIAR_FAMILY_LIST:
        if (p->dist == CAVIAR_DIST_CATEGORICAL) zoom_list(p, values, n);
        break;
      case CAVIAR_FAMILY_INTEGER:
      case CAVIAR_FAMILY_BOX:
        for (int k = 0; k < n; k++) values[k] = coordinate(p, values[k]);
        zoom_range(p, orig, values, n, zoom);
        break;
      case CAVIAR_FAMILY_BETA: break; /* its shape is the spec's: the zoom leaves it */
      case CAVIAR_FAMILY_NORMAL: {
        double mean = 0;
        for (int k = 0; k < n; k++) mean += caviar_scale_from_value(info->scale, values[k]) / n;
        p->mu = mean;
        p->sigma *= zoom;
        break;
      }
    }
  }
  free(values);
  return CAVIAR_OK;
}

cJSON *caviar_space_box_json(const caviar_space *box) {
  cJSON *o = cJSON_CreateObject();
  for (int i = 0; i < box->n; i++) {
    const caviar_param *p = &box->params[i];
    const caviar_dist_info *info = caviar_dist_get(p->dist);
    cJSON *entry = cJSON_AddObjectToObject(o, p->name);
    cJSON_AddStringToObject(entry, "distribution", info->name);
    if (info->family == CAVIAR_FAMILY_LIST) {
      cJSON *values = cJSON_AddArrayToObject(entry, "values");
      for (int v = 0; v < p->n_values; v++)
        cJSON_AddItemToArray(values, p->value_text ? cJSON_CreateRaw(p->value_text[v]) /* outside code's, as written */
                                     : p->hp && p->hp->type == CAVIAR_HP_CHOICE
                                         ? cJSON_CreateString(p->hp->choices[(int)p->values[v]])
                                         : cJSON_CreateNumber(p->values[v]));
    } else if (info->family == CAVIAR_FAMILY_NORMAL) {
      cJSON_AddNumberToObject(entry, "mu", p->mu);
      cJSON_AddNumberToObject(entry, "sigma", p->sigma);
    } else if (info->family == CAVIAR_FAMILY_BETA) {
      cJSON_AddNumberToObject(entry, "a", p->a);
      cJSON_AddNumberToObject(entry, "b", p->b);
      if (info->quantized) cJSON_AddNumberToObject(entry, "q", p->q);
    } else {
      /* The values' range: min and max as written where they are values (exp(log(1e-5)) is not
       * 1e-5), the support where they are exponents or quantized. */
      double lo = p->min, hi = p->max;
      if (info->exponent_bounds || info->quantized) caviar_param_support(p, &lo, &hi);
      cJSON_AddNumberToObject(entry, "min", lo);
      cJSON_AddNumberToObject(entry, "max", hi);
    }
  }
  return o;
}
