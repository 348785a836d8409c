/* Flatten on the CPU: a channel-major block ([C][B][H][W]) to one row per example
 * ([B][C x H x W], PyTorch's flatten order), which the dense layer after it reads row by row;
 * backward the gradient (channel-major, as every gradient: [feature][B]) back to [C][B][H][W]. */
#include "cpu/layers.h"

static void flatten_forward(const cpu_pass *p) {
  const caviar_layer *l = p->layer;
  size_t px = caviar_dims_pixels(l->in), d = caviar_dims_size(l->in), rows = (size_t)p->rows, b0, b1;
  cpu_team_share(p->team, rows, &b0, &b1);
  for (size_t b = b0; b < b1; b++)
    for (int c = 0; c < l->in.c; c++) {
      const float *x = p->x + ((size_t)c * rows + b) * px;
      float *y = p->y + b * d + (size_t)c * px;
      for (size_t k = 0; k < px; k++) y[k] = x[k];
    }
  if (p->chain)
    for (size_t b = b0; b < b1; b++) cpu_chain_forward(p->chain, p->hp, p->drop, b * d, (b + 1) * d);
  cpu_team_sync(p->team);
}

static void flatten_backward(const cpu_pass *p) {
  const caviar_layer *l = p->layer;
  if (p->dx) {
    size_t px = caviar_dims_pixels(l->in), rows = (size_t)p->rows, c0, c1;
    cpu_team_share(p->team, (size_t)l->in.c, &c0, &c1);
    for (size_t c = c0; c < c1; c++) {
      for (size_t b = 0; b < rows; b++)
        for (size_t k = 0; k < px; k++) p->dx[(c * rows + b) * px + k] = p->dy[(c * px + k) * rows + b];
      if (p->chain) cpu_chain_backward(p->chain, p->hp, p->drop, p->dx, c * rows * px, (c + 1) * rows * px);
    }
  }
  cpu_team_sync(p->team);
}

const cpu_layer_impl cpu_flatten_impl = {.forward = flatten_forward, .backward = flatten_backward, .fuses = true};
