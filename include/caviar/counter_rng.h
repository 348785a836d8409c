#ifndef CAVIAR_COUNTER_RNG_H
#define CAVIAR_COUNTER_RNG_H
/* Counter-based randomness: every random number caviar uses is a pure function of
 * (sweep seed, stream, purpose, index) through Philox4x32-10 (Salmon et al., SC'11): Random123 on
 * the host, and the same generator as cuRAND exposes it on the device (curand_Philox4x32_10),
 * which tests/test_rng_gpu.c checks bit for bit against the host. Nothing depends on how many
 * trials are drawn, in which order, or on which backend. (The two headers cannot share a
 * translation unit: both define mulhilo32.)
 *
 * Layout: key = seed (64 bits); counter = {index low, index high, stream, purpose}. The stream is
 * the trial id for per-trial draws (sampled config, initial weights, dropout masks) and 0 for
 * sweep-wide draws (validation split, minibatch order, synthetic data). */

#include <stdint.h>

#include "caviar/hostdevice.h"

#if defined(__CUDACC__)
#include <curand_philox4x32_x.h>
#define CAVIAR_RNG_FN static __device__ __forceinline__
#else
#include <Random123/philox.h>
#define CAVIAR_RNG_FN static inline
#endif
#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef enum caviar_rng_purpose {
  CAVIAR_RNG_SAMPLE = 1,  /* hyperparameter sampling; index = hash of the parameter name */
  CAVIAR_RNG_SPLIT = 2,   /* validation split permutation */
  CAVIAR_RNG_SHUFFLE = 3, /* per-epoch minibatch order; index high word = epoch */
  CAVIAR_RNG_INIT = 4,    /* initial weights; index high word = tensor */
  CAVIAR_RNG_DROPOUT = 5, /* inverted dropout masks */
  CAVIAR_RNG_SYNTH = 6,   /* synthetic datasets for tests and demos */
  CAVIAR_RNG_PBT = 7,     /* population-based training's donors and explorations */
  CAVIAR_RNG_QMC = 8,     /* scrambling of quasi-random sequences; index = dimension */
  CAVIAR_RNG_TPE = 9,     /* TPE's candidate draws; stream = trial, index = parameter and candidate */
  CAVIAR_RNG_AUGMENT = 10 /* data augmentation; stream = the example's row, index = the epoch order's index */
} caviar_rng_purpose;

typedef struct caviar_rng_block {
  uint32_t v[4];
} caviar_rng_block;

CAVIAR_RNG_FN caviar_rng_block caviar_rng(uint64_t seed, uint32_t stream, uint32_t purpose, uint64_t index) {
#if defined(__CUDACC__)
  uint4 out = curand_Philox4x32_10(make_uint4((uint32_t)index, (uint32_t)(index >> 32), stream, purpose),
                                   make_uint2((uint32_t)seed, (uint32_t)(seed >> 32)));
  caviar_rng_block block = {{out.x, out.y, out.z, out.w}};
#else
  philox4x32_ctr_t ctr = {{(uint32_t)index, (uint32_t)(index >> 32), stream, purpose}};
  philox4x32_key_t key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
  philox4x32_ctr_t out = philox4x32(ctr, key);
  caviar_rng_block block = {{out.v[0], out.v[1], out.v[2], out.v[3]}};
#endif
  return block;
}

/* A double in the open interval (0, 1) from 52 random bits, (k + 1/2) / 2^52: never 0 or 1, so
 * log() and the inverse CDFs used by the samplers stay finite. (With 53 bits the largest value
 * would round up to exactly 1.) */
static inline CAVIAR_HD double caviar_u01_open(uint32_t hi, uint32_t lo) {
  uint64_t bits = ((uint64_t)(hi >> 12) << 32) | (uint64_t)lo;
  return ((double)bits + 0.5) * (1.0 / 4503599627370496.0);
}

/* A float in [0, 1) from 24 random bits (dropout masks, where speed matters more than tails). */
static inline CAVIAR_HD float caviar_u01_float(uint32_t bits) {
  return (float)(bits >> 8) * (1.0f / 16777216.0f);
}

/* 32-bit FNV-1a: a stable index for a name (parameters are keyed by name, not by position, so
 * adding a parameter to a spec leaves the draws of the others unchanged). */
static inline uint32_t caviar_name_hash(const char *name) {
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    h ^= *p;
    h *= 16777619u;
  }
  return h;
}

CAVIAR_C_END

#endif
