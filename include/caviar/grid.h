#ifndef CAVIAR_GRID_H
#define CAVIAR_GRID_H
/* Grid search: the Cartesian product of each parameter's grid points, in spec order with the last
 * parameter varying fastest (like itertools.product). A continuous parameter needs grid_points and
 * gets them spaced on its own scale: a log grid for a log parameter. */

#include <stdbool.h>
#include <stddef.h>

#include "caviar/hparams.h"
#include "caviar/space.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

#define CAVIAR_GRID_MAX_POINTS 100000L  /* per parameter */
#define CAVIAR_GRID_MAX_SIZE 100000000L /* whole product */

/* The parameter's grid points, ascending and distinct, in a malloc'd array. Returns CAVIAR_EINPUT
 * with the reason (without the parameter's path) when the parameter cannot be put on a grid. */
caviar_status caviar_param_grid(const caviar_param *p, double **points, int *count, caviar_error *err);

typedef struct caviar_grid {
  int n_params;
  double **points;
  int *counts;
  long size;
} caviar_grid;

caviar_status caviar_grid_build(const caviar_space *space, caviar_grid *grid, caviar_error *err);
/* Writes grid point k (0 <= k < size) of the space into hp, leaving other fields untouched. */
void caviar_grid_point(const caviar_grid *grid, const caviar_space *space, long k, caviar_hparams *hp);
/* Grid point k as each parameter's value, in space order. */
void caviar_grid_values(const caviar_grid *grid, long k, double *values);
void caviar_grid_free(caviar_grid *grid);

CAVIAR_C_END

#endif
