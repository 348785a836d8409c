/* The dense layer on the CPU: y = x W + b, tile by tile (CPU_TILE output columns: the fixed tiles
 * that keep a member's numbers the same alone or in a team), the elementwise layers after it
 * applied in each tile; backward the weight and bias gradients by output tiles and the input
 * gradient by input tiles, the elementwise layers before it applied to each. */
#include <cblas.h>

#include "cpu/layers.h"

/* Columns [j0, j1) of z (rows x n_out) = x (rows x n_in) W + bias, x given row by row (the
 * minibatch, a flatten's output) or as a column-major block. */
static void linear_tile(const cpu_pass *p, int j0, int j1) {
  const caviar_layer *l = p->layer;
  int rows = p->rows, n_in = (int)caviar_dims_size(l->in), n = j1 - j0;
  const float *w = p->m->w[l->tensor] + (size_t)j0 * n_in;
  float *z = p->y;
  if (l->rowwise)
    cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, rows, n, n_in, 1.0f, p->x, n_in, w, n_in, 0.0f,
                z + (size_t)j0 * rows, rows);
  else
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, rows, n, n_in, 1.0f, p->x, rows, w, n_in, 0.0f,
                z + (size_t)j0 * rows, rows);
  if (!l->bias) return;
  const float *bias = p->m->w[l->tensor + 1];
  for (int j = j0; j < j1; j++) {
    float *col = z + (size_t)j * rows;
    for (int i = 0; i < rows; i++) col[i] += bias[j];
  }
}

static void dense_forward(const cpu_pass *p) {
  int j0, j1, rows = p->rows;
  cpu_team_columns(p->team, p->layer->out.c, &j0, &j1);
  for (int t = j0; t < j1; t += CPU_TILE) {
    int t1 = t + CPU_TILE < j1 ? t + CPU_TILE : j1;
    linear_tile(p, t, t1);
    if (p->chain) cpu_chain_forward(p->chain, p->hp, p->drop, (size_t)t * rows, (size_t)t1 * rows);
  }
  cpu_team_sync(p->team);
}

static void dense_backward(const cpu_pass *p) {
  const caviar_layer *l = p->layer;
  int rows = p->rows, n_in = (int)caviar_dims_size(l->in), n_out = l->out.c, j0, j1;
  const float *dz = p->dy;
  /* This thread's tiles of the weight gradient (and the bias gradient's columns). beta = 1 into
   * the zeroed gradient: OpenBLAS skips its separate pass scaling C by beta. */
  cpu_team_columns(p->team, n_out, &j0, &j1);
  for (int t = j0; t < j1; t += CPU_TILE) {
    int n = (t + CPU_TILE < j1 ? t + CPU_TILE : j1) - t;
    float *dw = p->m->g[l->tensor] + (size_t)t * n_in;
    if (l->rowwise)
      cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n_in, n, rows, 1.0f, p->x, n_in, dz + (size_t)t * rows,
                  rows, 1.0f, dw, n_in);
    else
      cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, n_in, n, rows, 1.0f, p->x, rows, dz + (size_t)t * rows,
                  rows, 1.0f, dw, n_in);
    if (l->bias) {
      float *db = p->m->g[l->tensor + 1];
      for (int j = t; j < t + n; j++) {
        const float *col = dz + (size_t)j * rows;
        float sum = 0;
        for (int i = 0; i < rows; i++) sum += col[i];
        db[j] = sum;
      }
    }
    if (p->step && !p->dx) {
      /* Nothing reads this tile's weights again this step: its optimizer step while the gradient
       * tile is in cache. */
      cpu_update_range(p->m, p->hp, p->step, l->tensor, (size_t)t * n_in, (size_t)(t + n) * n_in);
      if (l->bias) cpu_update_range(p->m, p->hp, p->step, l->tensor + 1, (size_t)t, (size_t)(t + n));
    }
  }
  if (p->dx) {
    /* This thread's tiles of the gradient with respect to the input (columns of dx are the input's
     * units), then back through the elementwise layers before this one. */
    cpu_team_columns(p->team, n_in, &j0, &j1);
    for (int t = j0; t < j1; t += CPU_TILE) {
      int n = (t + CPU_TILE < j1 ? t + CPU_TILE : j1) - t;
      cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, rows, n, n_out, 1.0f, dz, rows, p->m->w[l->tensor] + t, n_in,
                  0.0f, p->dx + (size_t)t * rows, rows);
      if (p->chain) cpu_chain_backward(p->chain, p->hp, p->drop, p->dx, (size_t)t * rows, (size_t)(t + n) * rows);
    }
  }
  cpu_team_sync(p->team);
}

const cpu_layer_impl cpu_dense_impl = {
    .forward = dense_forward, .backward = dense_backward, .fuses = true, .updates_tiles = true};
