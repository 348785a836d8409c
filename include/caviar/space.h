#ifndef CAVIAR_SPACE_H
#define CAVIAR_SPACE_H
/* The search space: one entry per swept hyperparameter, each with a distribution using the
 * Weights & Biases sweep names and semantics, plus caviar's one_minus_log_uniform_values.
 *
 * Every bounded continuous distribution is "uniform on its own scale": a coordinate t drawn
 * uniformly in [t_lo, t_hi] and mapped to a value (t itself, exp(t), or 1 - 10^t). Sampling, grid
 * spacing and the coarse-to-fine zoom all work on that coordinate, so a log parameter gets a log
 * grid and zooms in log space. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/hparams.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef enum caviar_dist {
  CAVIAR_DIST_CONSTANT,
  CAVIAR_DIST_CATEGORICAL,
  CAVIAR_DIST_INT_UNIFORM,
  CAVIAR_DIST_UNIFORM,
  CAVIAR_DIST_Q_UNIFORM,
  CAVIAR_DIST_LOG_UNIFORM, /* W&B legacy: exp(U(min, max)), min/max are natural-log exponents */
  CAVIAR_DIST_LOG_UNIFORM_VALUES,
  CAVIAR_DIST_Q_LOG_UNIFORM,
  CAVIAR_DIST_Q_LOG_UNIFORM_VALUES,
  CAVIAR_DIST_INV_LOG_UNIFORM,        /* W&B: exp(-U(min, max)) */
  CAVIAR_DIST_INV_LOG_UNIFORM_VALUES, /* W&B: same samples as log_uniform_values */
  CAVIAR_DIST_NORMAL,
  CAVIAR_DIST_Q_NORMAL,
  CAVIAR_DIST_LOG_NORMAL,
  CAVIAR_DIST_Q_LOG_NORMAL,
  CAVIAR_DIST_ONE_MINUS_LOG_UNIFORM_VALUES, /* 1 - 10^U(log10(1-max), log10(1-min)) */
  CAVIAR_DIST_BETA,   /* W&B: Beta(a, b) on [0, 1] */
  CAVIAR_DIST_Q_BETA, /* W&B: round(Beta(a, b) / q) q */
  CAVIAR_DIST_CATEGORICAL_W_PROBABILITIES, /* W&B's name for categorical with probabilities */
  CAVIAR_DIST_COUNT
} caviar_dist;

typedef enum caviar_scale {
  CAVIAR_SCALE_LINEAR,   /* value = t */
  CAVIAR_SCALE_LN,       /* value = exp(t) */
  CAVIAR_SCALE_ONE_MINUS /* value = 1 - 10^t */
} caviar_scale;

typedef enum caviar_dist_family {
  CAVIAR_FAMILY_LIST,    /* constant, categorical: an explicit list of values */
  CAVIAR_FAMILY_INTEGER, /* int_uniform */
  CAVIAR_FAMILY_BOX,     /* uniform on its scale between t_lo and t_hi */
  CAVIAR_FAMILY_NORMAL,  /* normal on its scale with mu, sigma: unbounded */
  CAVIAR_FAMILY_BETA     /* Beta(a, b) on [0, 1] */
} caviar_dist_family;

typedef struct caviar_dist_info {
  const char *name;
  caviar_dist_family family;
  caviar_scale scale;
  bool quantized; /* takes q (default 1) */
  bool exponent_bounds; /* min/max are exponents (legacy log_uniform, q_log_uniform, inv_log_uniform) */
  const char *keys;     /* the keys it takes, for messages */
} caviar_dist_info;

const caviar_dist_info *caviar_dist_get(caviar_dist dist);
/* Looks a distribution up by its spec name; false when there is none. */
bool caviar_dist_lookup(const char *name, caviar_dist *out);
/* Every supported distribution name, comma-separated, for error messages. */
const char *caviar_dist_names(void);

/* A condition on a parameter: it is active only while parameter `parent` (a categorical or
 * constant parameter of the same space) takes one of `values`. */
typedef struct caviar_condition {
  int parent;     /* index into the space's params */
  double *values; /* choice indices for named hyperparameters */
  int n_values;
} caviar_condition;

typedef struct caviar_param {
  char *name;               /* outside code: the nested keys joined by '.' ("optimizer.lr") */
  const caviar_hp_info *hp; /* NULL: a parameter of outside code */
  caviar_dist dist;
  double min, max;    /* as written in the spec (box and integer families) */
  double t_lo, t_hi;  /* the box on the distribution's scale */
  double mu, sigma;   /* normal family */
  double q;           /* quantum of q_ distributions, 0 otherwise */
  double *values;     /* list family: numbers, or choice indices for choice hyperparameters */
  double *cumulative; /* list family: cumulative probabilities, NULL for uniform choice */
  int n_values;
  int grid_points; /* 0: not given */
  caviar_condition *when; /* "when": all must hold (and the parents be active) */
  int n_when;
  double a, b; /* beta family */
  /* Outside code only. */
  char **keys;       /* the path of its value in a trial's config, outermost first; NULL: just name */
  int n_keys;
  char **value_text; /* list family: each value as JSON text (values[] then holds 0 .. n - 1) */
  bool integer;      /* W&B gives integers: int_uniform, a q_ distribution whose q is written as one */
} caviar_param;

typedef struct caviar_space {
  caviar_param *params;
  int n;
} caviar_space;

/* Maps a coordinate on the distribution's scale to its value and back. */
double caviar_scale_to_value(caviar_scale scale, double t);
double caviar_scale_from_value(caviar_scale scale, double value);

/* One draw from the parameter's distribution given two independent uniforms in (0, 1). */
double caviar_param_draw(const caviar_param *p, double u1, double u2);
/* The value at quantile u in (0, 1) of the parameter's distribution: the inverse of its CDF, so
 * that evenly spread u (quasi-random points) give evenly spread values on the parameter's scale.
 * Equal to caviar_param_draw(p, u, .) except for the normal family (inverse CDF there). */
double caviar_param_quantile(const caviar_param *p, double u);
/* The cumulative probability of value x, the inverse of caviar_param_quantile (list family: the
 * probability mass below x's entry plus half its own). */
double caviar_param_cdf(const caviar_param *p, double x);

/* Whether parameter i is active in hp: every condition's parent is active and holds one of its
 * values. Parameters without conditions are always active. */
bool caviar_space_active(const caviar_space *space, const caviar_hparams *hp, int i);
/* After every parameter of space is set in hp: puts each inactive parameter (switched off by a
 * condition, by a condition on a parameter that means nothing for the model, or itself meaningless
 * for the model: model.h's caviar_hparams_settle) back to its value in base (the spec's fixed value)
 * and marks it inactive in hp, so it is neither printed nor reported. */
void caviar_space_apply_conditions(const caviar_space *space, const caviar_hparams *base, caviar_hparams *hp);
/* The end of the above, for hp whose active bits are settled: the space's parameters marked as swept
 * (hp->swept), and every inactive one put back to base's value. */
void caviar_space_mark(const caviar_space *space, const caviar_hparams *base, caviar_hparams *hp);
/* hp (a proposal over space) given drawn's shape (its structural values), then settled as above; if a
 * condition then puts a structural value back to base's, or the shape switches on a parameter the
 * proposal had off, hp is drawn whole: its shape is drawn's and its values were drawn together. */
void caviar_space_take_shape(const caviar_space *space, const caviar_hparams *base, const caviar_hparams *drawn,
                             caviar_hparams *hp);
bool caviar_space_has_conditions(const caviar_space *space);

#define CAVIAR_NORMAL_REACH 9.0

/* The smallest and largest value the sampler can produce (for the normal family: mu +- 9 sigma on
 * its scale, beyond anything Box-Muller on 53-bit uniforms yields). */
void caviar_param_support(const caviar_param *p, double *lo, double *hi);

/* W&B's quantization: round(x / q) * q, rounding half to even like numpy. */
double caviar_quantize(double x, double q);

void caviar_param_free(caviar_param *p);
void caviar_space_free(caviar_space *space);
const caviar_param *caviar_space_find(const caviar_space *space, const char *name);

CAVIAR_C_END

#endif
