/* A synthetic classification problem: Gaussian clusters around random per-class centres. */
#include <math.h>
#include <string.h>

#include "caviar/counter_rng.h"
#include "caviar/data.h"

/* Streams of the SYNTH purpose, so centres, labels and noise never share random numbers. */
enum { SYNTH_CENTRES = 0, SYNTH_LABELS = 1, SYNTH_NOISE = 2 };

static double synth_normal(uint64_t seed, uint32_t stream, uint64_t index) {
  caviar_rng_block r = caviar_rng(seed, stream, CAVIAR_RNG_SYNTH, index);
  double u1 = caviar_u01_open(r.v[0], r.v[1]), u2 = caviar_u01_open(r.v[2], r.v[3]);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

caviar_status caviar_synth(size_t n, size_t d, int classes, double noise, uint64_t seed, size_t first, bool as_bytes,
                           caviar_dataset *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  if (n == 0 || d == 0 || classes < 2)
    return caviar_fail(err, CAVIAR_EINPUT, "synthetic data needs examples, features and 2 or more classes");
  out->n = n;
  out->d = d;
  out->labels = caviar_alloc(n, sizeof *out->labels, "synthetic labels", err);
  if (as_bytes) out->x_u8 = caviar_alloc(n * d, 1, "synthetic features", err);
  else out->x_f32 = caviar_alloc(n * d, sizeof *out->x_f32, "synthetic features", err);
  if (!out->labels || (!out->x_u8 && !out->x_f32)) {
    caviar_dataset_free(out);
    return CAVIAR_ERUNTIME;
  }
  for (size_t i = 0; i < n; i++) {
    caviar_rng_block r = caviar_rng(seed, SYNTH_LABELS, CAVIAR_RNG_SYNTH, first + i);
    int c = (int)(caviar_u01_open(r.v[0], r.v[1]) * classes);
    out->labels[i] = c < classes ? c : classes - 1;
    for (size_t j = 0; j < d; j++) {
      double x = synth_normal(seed, SYNTH_CENTRES, (uint64_t)out->labels[i] * d + j) +
                 noise * synth_normal(seed, SYNTH_NOISE, (uint64_t)(first + i) * d + j);
      if (as_bytes) {
        /* Centre 128, about 40 levels per unit, clipped like pixel intensities. */
        double level = nearbyint(128.0 + 40.0 * x);
        out->x_u8[i * d + j] = (uint8_t)(level < 0 ? 0 : level > 255 ? 255 : level);
      } else {
        out->x_f32[i * d + j] = (float)x;
      }
    }
  }
  return CAVIAR_OK;
}

/* Blobs per class pattern, and streams of their draws. */
enum { BLOBS = 5, SYNTH_BLOBS = 3, SYNTH_SHIFT = 4 };

caviar_status caviar_synth_images(size_t n, int side, int shift, int classes, double noise, uint64_t seed, size_t first,
                                  caviar_dataset *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  if (n == 0 || side < 2 || classes < 2 || shift < 0 || 2 * shift >= side)
    return caviar_fail(err, CAVIAR_EINPUT, "synthetic images need examples, a side of 2 or more, a shift under half of it "
                                           "and 2 or more classes");
  size_t d = (size_t)side * (size_t)side;
  out->n = n;
  out->d = d;
  out->image[0] = 1;
  out->image[1] = out->image[2] = side;
  out->labels = caviar_alloc(n, sizeof *out->labels, "synthetic labels", err);
  out->x_u8 = caviar_alloc(n * d, 1, "synthetic images", err);
  if (!out->labels || !out->x_u8) {
    caviar_dataset_free(out);
    return CAVIAR_ERUNTIME;
  }
  for (size_t i = 0; i < n; i++) {
    caviar_rng_block r = caviar_rng(seed, SYNTH_LABELS, CAVIAR_RNG_SYNTH, first + i);
    int c = (int)(caviar_u01_open(r.v[0], r.v[1]) * classes);
    c = c < classes ? c : classes - 1;
    out->labels[i] = c;
    caviar_rng_block s = caviar_rng(seed, SYNTH_SHIFT, CAVIAR_RNG_SYNTH, first + i);
    int dy = (int)(caviar_u01_open(s.v[0], s.v[1]) * (2 * shift + 1)) - shift;
    int dx = (int)(caviar_u01_open(s.v[2], s.v[3]) * (2 * shift + 1)) - shift;
    for (int y = 0; y < side; y++)
      for (int x = 0; x < side; x++) {
        double v = 0;
        for (int b = 0; b < BLOBS; b++) {
          /* Blob b of class c: a centre in the image's middle part, a sign and a width. */
          caviar_rng_block q = caviar_rng(seed, SYNTH_BLOBS, CAVIAR_RNG_SYNTH, (uint64_t)c * BLOBS + (uint64_t)b);
          double cy = shift + caviar_u01_open(q.v[0], q.v[1]) * (side - 1 - 2 * shift) + dy;
          double cx = shift + caviar_u01_open(q.v[2], q.v[3]) * (side - 1 - 2 * shift) + dx;
          double sign = b % 2 ? -1.0 : 1.0, width = 1.0 + 0.15 * side * (b % 3) / 2.0;
          v += sign * exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (2.0 * width * width));
        }
        v += noise * synth_normal(seed, SYNTH_NOISE, (uint64_t)(first + i) * d + (uint64_t)(y * side + x));
        double level = nearbyint(128.0 + 90.0 * v);
        out->x_u8[i * d + (size_t)(y * side + x)] = (uint8_t)(level < 0 ? 0 : level > 255 ? 255 : level);
      }
  }
  return CAVIAR_OK;
}

caviar_status caviar_synth_regression(size_t n, size_t d, double noise, uint64_t seed, size_t first,
                                      caviar_dataset *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  if (n == 0 || d < 2) return caviar_fail(err, CAVIAR_EINPUT, "synthetic regression needs examples and 2 or more features");
  out->n = n;
  out->d = d;
  out->labels = caviar_alloc(n, sizeof *out->labels, "synthetic labels", err);
  out->targets = caviar_alloc(n, sizeof *out->targets, "synthetic targets", err);
  out->x_f32 = caviar_alloc(n * d, sizeof *out->x_f32, "synthetic features", err);
  if (!out->labels || !out->targets || !out->x_f32) {
    caviar_dataset_free(out);
    return CAVIAR_ERUNTIME;
  }
  for (size_t i = 0; i < n; i++) {
    double y = 0;
    float *x = out->x_f32 + i * d;
    for (size_t j = 0; j < d; j++) {
      x[j] = (float)synth_normal(seed, SYNTH_NOISE, (uint64_t)(first + i) * d + j);
      /* The linear part: weights N(0, 1/d) from the centres' stream. */
      y += synth_normal(seed, SYNTH_CENTRES, j) / sqrt((double)d) * x[j];
    }
    y += sin(2.0 * x[0]) + 0.5 * (double)x[1] * x[1];
    y += noise * synth_normal(seed, SYNTH_LABELS, first + i);
    out->targets[i] = (float)y;
  }
  return CAVIAR_OK;
}
