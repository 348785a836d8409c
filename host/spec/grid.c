#include "caviar/grid.h"

#include <math.h>
#include <stdlib.h>

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts and drops repeats (quantization can map neighbouring points onto one value). */
static int sort_unique(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, compare_doubles);
  int kept = 0;
  for (int i = 0; i < n; i++)
    if (kept == 0 || v[i] != v[kept - 1]) v[kept++] = v[i];
  return kept;
}

static caviar_status too_many(long count, caviar_error *err) {
  return caviar_fail(err, CAVIAR_EINPUT,
                     "has %ld grid points, more than the limit of %ld; give fewer grid_points", count,
                     CAVIAR_GRID_MAX_POINTS);
}

/* The value at coordinate t; where t is exactly the coordinate of the spec's own min or max, that
 * bound itself, since exp(log(1e-4)) is not exactly 1e-4. */
static double value_at(const caviar_param *p, double t) {
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  if (!info->exponent_bounds) {
    if (t == caviar_scale_from_value(info->scale, p->min)) return p->min;
    if (t == caviar_scale_from_value(info->scale, p->max)) return p->max;
  }
  return caviar_scale_to_value(info->scale, t);
}

/* n points evenly spaced on the distribution's scale between its bounds, quantized if it is a q_
 * distribution (integers for int_uniform). */
static void spaced_points(const caviar_param *p, int n, double *out) {
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  for (int i = 0; i < n; i++) {
    double t = n == 1 ? 0.5 * (p->t_lo + p->t_hi)
               : i == n - 1 ? p->t_hi
                            : p->t_lo + (p->t_hi - p->t_lo) * i / (n - 1);
    double x = value_at(p, t);
    if (info->family == CAVIAR_FAMILY_INTEGER) x = nearbyint(x);
    out[i] = info->quantized ? caviar_quantize(x, p->q) : x;
  }
}

caviar_status caviar_param_grid(const caviar_param *p, double **points, int *count, caviar_error *err) {
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  long n = 0;
  switch (info->family) {
    case CAVIAR_FAMILY_LIST: n = p->n_values; break;
    case CAVIAR_FAMILY_INTEGER:
      n = p->grid_points ? p->grid_points : (long)(p->t_hi - p->t_lo) + 1;
      break;
    case CAVIAR_FAMILY_BOX:
      if (p->grid_points) {
        n = p->grid_points;
      } else if (!p->hp && p->dist == CAVIAR_DIST_Q_UNIFORM) {
        /* W&B's grid of outside code's q_uniform: numpy.arange(min, max, q). */
        double steps = ceil((p->max - p->min) / p->q);
        if (steps > CAVIAR_GRID_MAX_POINTS) return too_many((long)fmin(steps, 1e18), err);
        n = (long)steps;
      } else if (info->quantized) {
        double lo, hi;
        caviar_param_support(p, &lo, &hi);
        double steps = nearbyint(hi / p->q) - nearbyint(lo / p->q) + 1;
        if (steps > CAVIAR_GRID_MAX_POINTS) return too_many((long)fmin(steps, 1e18), err);
        n = (long)steps;
      } else {
        return caviar_fail(err, CAVIAR_EINPUT,
                           "a grid over %s needs grid_points (how many points, spaced on its own scale)",
                           info->name);
      }
      break;
    case CAVIAR_FAMILY_NORMAL:
      return caviar_fail(err, CAVIAR_EINPUT,
                         "%s is unbounded and cannot be put on a grid; use a bounded distribution with "
                         "grid_points",
                         info->name);
    case CAVIAR_FAMILY_BETA:
      return caviar_fail(err, CAVIAR_EINPUT, "%s cannot be put on a grid (W&B's grid takes values, int_uniform and q_uniform)",
                         info->name);
  }
  if (n > CAVIAR_GRID_MAX_POINTS) return too_many(n, err);
  double *v = caviar_alloc((size_t)n, sizeof *v, "grid points", err);
  if (!v) return CAVIAR_ERUNTIME;
  if (info->family == CAVIAR_FAMILY_LIST) {
    for (long i = 0; i < n; i++) v[i] = p->values[i];
    *points = v;
    *count = (int)n;
    return CAVIAR_OK;
  }
  if (!p->hp && p->dist == CAVIAR_DIST_Q_UNIFORM && !p->grid_points) {
    for (long i = 0; i < n; i++) v[i] = p->min + (double)i * p->q;
  } else if (info->family == CAVIAR_FAMILY_BOX && info->quantized && !p->grid_points) {
    double lo, hi;
    caviar_param_support(p, &lo, &hi);
    double first = nearbyint(lo / p->q);
    for (long i = 0; i < n; i++) v[i] = (first + (double)i) * p->q;
  } else if (info->family == CAVIAR_FAMILY_INTEGER && !p->grid_points) {
    for (long i = 0; i < n; i++) v[i] = p->t_lo + (double)i;
  } else {
    spaced_points(p, (int)n, v);
  }
  *points = v;
  *count = sort_unique(v, (int)n);
  return CAVIAR_OK;
}

caviar_status caviar_grid_build(const caviar_space *space, caviar_grid *grid, caviar_error *err) {
  grid->n_params = space->n;
  grid->size = 1;
  grid->points = caviar_alloc((size_t)space->n, sizeof *grid->points, "the grid", err);
  grid->counts = caviar_alloc((size_t)space->n, sizeof *grid->counts, "the grid", err);
  if (!grid->points || !grid->counts) {
    caviar_grid_free(grid);
    return CAVIAR_ERUNTIME;
  }
  for (int i = 0; i < space->n; i++) {
    caviar_error why;
    caviar_status st = caviar_param_grid(&space->params[i], &grid->points[i], &grid->counts[i], &why);
    if (st != CAVIAR_OK) {
      caviar_grid_free(grid);
      /* Named by its JSON path, as the spec parser names what it refuses. */
      if (st == CAVIAR_EINPUT) return caviar_fail(err, st, "parameters.%s: %s", space->params[i].name, why.msg);
      *err = why;
      return st;
    }
    if (grid->size > CAVIAR_GRID_MAX_SIZE / grid->counts[i]) {
      caviar_grid_free(grid);
      return caviar_fail(err, CAVIAR_EINPUT, "parameters: the grid has more than %ld points; use method random",
                         CAVIAR_GRID_MAX_SIZE);
    }
    grid->size *= grid->counts[i];
  }
  return CAVIAR_OK;
}

void caviar_grid_point(const caviar_grid *grid, const caviar_space *space, long k, caviar_hparams *hp) {
  for (int i = grid->n_params - 1; i >= 0; i--) {
    long digit = k % grid->counts[i];
    k /= grid->counts[i];
    caviar_hp_set(hp, space->params[i].hp, grid->points[i][digit]);
  }
}

void caviar_grid_values(const caviar_grid *grid, long k, double *values) {
  for (int i = grid->n_params - 1; i >= 0; i--) {
    values[i] = grid->points[i][k % grid->counts[i]];
    k /= grid->counts[i];
  }
}

void caviar_grid_free(caviar_grid *grid) {
  if (grid->points)
    for (int i = 0; i < grid->n_params; i++) free(grid->points[i]);
  free(grid->points);
  free(grid->counts);
  grid->points = NULL;
  grid->counts = NULL;
  grid->n_params = 0;
  grid->size = 0;
}
