/* Input scaling fitted on the training rows (never the validation or test rows) and recorded with
 * each saved model so it can reproduce its inputs: x' = (x - shift[j]) * scale[j]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"

const char *caviar_scaling_name(caviar_scaling_kind kind) {
  static const char *const names[] = {"unit", "standardize", "none"};
  return names[kind];
}

static double feature(const caviar_dataset *ds, size_t row, size_t j) {
  return ds->x_u8 ? (double)ds->x_u8[row * ds->d + j] : (double)ds->x_f32[row * ds->d + j];
}

caviar_status caviar_scaling_fit(const caviar_dataset *ds, const uint32_t *rows, size_t n_rows,
                                 caviar_scaling_kind kind, caviar_scaling *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  out->kind = kind;
  out->d = ds->d;
  out->shift = caviar_alloc(ds->d, sizeof *out->shift, "the input scaling", err);
  out->scale = caviar_alloc(ds->d, sizeof *out->scale, "the input scaling", err);
  double *sum = caviar_alloc(ds->d, sizeof *sum, "the input scaling", err);
  double *sq_dev = caviar_alloc(ds->d, sizeof *sq_dev, "the input scaling", err);
  if (!out->shift || !out->scale || !sum || !sq_dev) {
    free(sum);
    free(sq_dev);
    caviar_scaling_free(out);
    return CAVIAR_ERUNTIME;
  }
  double lo = INFINITY, hi = -INFINITY;
  for (size_t r = 0; r < n_rows && kind != CAVIAR_SCALING_NONE; r++) {
    for (size_t j = 0; j < ds->d; j++) {
      double x = feature(ds, rows[r], j);
      lo = fmin(lo, x);
      hi = fmax(hi, x);
      sum[j] += x;
    }
  }
  /* Two passes: the squared deviations from the mean, not sum(x^2) - mean^2, which cancels badly. */
  for (size_t r = 0; r < n_rows && kind == CAVIAR_SCALING_STANDARDIZE; r++) {
    for (size_t j = 0; j < ds->d; j++) {
      double dev = feature(ds, rows[r], j) - sum[j] / (double)n_rows;
      sq_dev[j] += dev * dev;
    }
  }
  for (size_t j = 0; j < ds->d; j++) {
    double shift = 0, scale = 1;
    if (kind == CAVIAR_SCALING_UNIT && hi > lo) {
      shift = lo;
      scale = 1.0 / (hi - lo);
    } else if (kind == CAVIAR_SCALING_STANDARDIZE && n_rows > 0) {
      double mean = sum[j] / (double)n_rows;
      double var = sq_dev[j] / (double)n_rows;
      shift = mean;
      /* A constant feature carries no information; leave it centred at 0 rather than divide by 0. */
      scale = var > 1e-12 * fmax(1.0, mean * mean) ? 1.0 / sqrt(var) : 1.0;
    }
    out->shift[j] = (float)shift;
    out->scale[j] = (float)scale;
  }
  free(sum);
  free(sq_dev);
  return CAVIAR_OK;
}

void caviar_scaling_free(caviar_scaling *s) {
  free(s->shift);
  free(s->scale);
  memset(s, 0, sizeof *s);
}

void caviar_gather(const caviar_dataset *ds, const caviar_scaling *s, const uint32_t *rows, size_t n, float *out) {
  size_t d = ds->d;
  for (size_t r = 0; r < n; r++) {
    float *dst = out + r * d;
    if (ds->x_u8) {
      const uint8_t *src = ds->x_u8 + (size_t)rows[r] * d;
      for (size_t j = 0; j < d; j++) dst[j] = ((float)src[j] - s->shift[j]) * s->scale[j];
    } else {
      const float *src = ds->x_f32 + (size_t)rows[r] * d;
      for (size_t j = 0; j < d; j++) dst[j] = (src[j] - s->shift[j]) * s->scale[j];
    }
  }
}

void caviar_gather_augmented(const caviar_dataset *ds, const caviar_scaling *s, caviar_augment a, uint64_t seed,
                             uint32_t tick, const uint32_t *rows, size_t n, float *out) {
  size_t d = ds->d;
  int image[3];
  caviar_dataset_image(ds, image);
  for (size_t r = 0; r < n; r++) {
    float *dst = out + r * d;
    caviar_augment_draw draw = caviar_augment_draw_of(a, seed, tick, rows[r]);
    const uint8_t *u8 = ds->x_u8 ? ds->x_u8 + (size_t)rows[r] * d : NULL;
    const float *f32 = ds->x_f32 ? ds->x_f32 + (size_t)rows[r] * d : NULL;
    size_t j = 0;
    /* Value by value in (channel, row, column) order: no division per value. */
    for (int c = 0; c < image[0]; c++)
      for (int y = 0; y < image[1]; y++)
        for (int x = 0; x < image[2]; x++, j++) {
          long long from = caviar_augment_source_at(draw, image[1], image[2], c, y, x);
          float raw = from < 0 ? 0.0f : u8 ? (float)u8[from] : f32[from];
          dst[j] = (raw - s->shift[j]) * s->scale[j];
        }
  }
}
