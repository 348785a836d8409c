#ifndef CAVIAR_AUGMENT_H
#define CAVIAR_AUGMENT_H
/* Data augmentation of training images (data.augment): each training example, each epoch, mirrored
 * left to right with probability 1/2 (flip) and translated by dy, dx pixels drawn uniformly from
 * [-shift, shift] (pixels moved in from outside are a raw 0, the background, scaled like any other),
 * then scaled as the data's scaling says for the pixel's place. The draws are a pure function of
 * (sweep seed, the epoch order's index, the example's row), shared by both backends (CAVIAR_HD), so
 * every member of a cohort sees the same minibatch, and a sweep gives the same numbers on any
 * number of threads or ranks, resumed or not, on the CPU or a GPU. Validation, test and inference
 * never see it. */

#include <stdbool.h>
#include <stdint.h>

#include "caviar/counter_rng.h"
#include "caviar/hostdevice.h"

CAVIAR_C_BEGIN

typedef struct caviar_augment {
  bool flip; /* mirror left to right, half the time */
  int shift; /* translate by up to this many pixels each way (0: none) */
} caviar_augment;

static inline CAVIAR_HD bool caviar_augment_on(caviar_augment a) { return a.flip || a.shift > 0; }

/* One example's draw in one epoch. */
typedef struct caviar_augment_draw {
  int flip, dy, dx;
} caviar_augment_draw;

#if defined(__CUDACC__)
static __device__ __forceinline__
#else
static inline
#endif
caviar_augment_draw caviar_augment_draw_of(caviar_augment a, uint64_t seed, uint32_t tick, uint32_t row) {
  caviar_rng_block r = caviar_rng(seed, row, CAVIAR_RNG_AUGMENT, tick);
  uint32_t span = 2u * (uint32_t)a.shift + 1u;
  caviar_augment_draw d;
  d.flip = a.flip ? (int)(r.v[0] & 1u) : 0;
  d.dy = a.shift > 0 ? (int)(r.v[1] % span) - a.shift : 0;
  d.dx = a.shift > 0 ? (int)(r.v[2] % span) - a.shift : 0;
  return d;
}

/* Where value (c, y, x) of an augmented C x h x w example comes from in the original: its index, or
 * -1 for a pixel moved in from outside. The output is the mirrored image (if d.flip) moved down by
 * d.dy and right by d.dx. */
static inline CAVIAR_HD long long caviar_augment_source_at(caviar_augment_draw d, int h, int w, int c, int y, int x) {
  y -= d.dy;
  x -= d.dx;
  if (y < 0 || y >= h || x < 0 || x >= w) return -1;
  if (d.flip) x = w - 1 - x;
  return ((long long)c * h + y) * w + x;
}

/* The same for value j, its channel, row and column worked out (a kernel's thread per value). */
static inline CAVIAR_HD long long caviar_augment_source(caviar_augment_draw d, int h, int w, long long j) {
  long long plane = (long long)h * w, k = j % plane;
  return caviar_augment_source_at(d, h, w, (int)(j / plane), (int)(k / w), (int)(k % w));
}

CAVIAR_C_END

#endif
