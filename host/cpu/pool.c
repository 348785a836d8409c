/* 2 x 2 pooling of stride 2 on the CPU, max or average, plane by plane (a channel of one example)
 * over channel-major blocks; an odd last row or column is dropped, as PyTorch's MaxPool2d(2) and
 * AvgPool2d(2) do. Backward, max pooling recomputes each window's first largest input (the order
 * (0,0), (0,1), (1,0), (1,1)) and sends the gradient there. */
#include <string.h>

#include "cpu/layers.h"

static void pool_forward(const cpu_pass *p) {
  const caviar_layer *l = p->layer;
  size_t planes = (size_t)l->in.c * (size_t)p->rows, in_px = caviar_dims_pixels(l->in), out_px = caviar_dims_pixels(l->out);
  size_t q0, q1;
  cpu_team_share(p->team, planes, &q0, &q1);
  bool max = l->pool == CAVIAR_POOL_MAX;
  for (size_t q = q0; q < q1; q++) {
    const float *x = p->x + q * in_px;
    float *y = p->y + q * out_px;
    for (int oy = 0; oy < l->out.h; oy++)
      for (int ox = 0; ox < l->out.w; ox++) {
        const float *w = x + (size_t)(2 * oy) * (size_t)l->in.w + (size_t)(2 * ox);
        float a = w[0], b = w[1], c = w[l->in.w], d = w[l->in.w + 1];
        float v;
        if (max) {
          v = a;
          if (b > v) v = b;
          if (c > v) v = c;
          if (d > v) v = d;
        } else {
          v = ((a + b) + (c + d)) * 0.25f;
        }
        y[(size_t)oy * (size_t)l->out.w + (size_t)ox] = v;
      }
  }
  if (p->chain) {
    /* The elementwise layers after it, on this thread's planes. */
    for (size_t q = q0; q < q1; q++) cpu_chain_forward(p->chain, p->hp, p->drop, q * out_px, (q + 1) * out_px);
  }
  cpu_team_sync(p->team);
}

static void pool_backward(const cpu_pass *p) {
  const caviar_layer *l = p->layer;
  if (!p->dx) {
    cpu_team_sync(p->team);
    return;
  }
  size_t planes = (size_t)l->in.c * (size_t)p->rows, in_px = caviar_dims_pixels(l->in), out_px = caviar_dims_pixels(l->out);
  size_t q0, q1, W = (size_t)l->in.w;
  cpu_team_share(p->team, planes, &q0, &q1);
  bool max = l->pool == CAVIAR_POOL_MAX, odd = l->in.h % 2 || l->in.w % 2;
  for (size_t q = q0; q < q1; q++) {
    const float *x = p->x + q * in_px, *dy = p->dy + q * out_px;
    float *dx = p->dx + q * in_px;
    /* Every window writes its four pixels; only an odd last row or column is left to clear. */
    if (odd) memset(dx, 0, in_px * sizeof(float));
    for (int oy = 0; oy < l->out.h; oy++)
      for (int ox = 0; ox < l->out.w; ox++) {
        size_t at = (size_t)(2 * oy) * W + (size_t)(2 * ox);
        float g = dy[(size_t)oy * (size_t)l->out.w + (size_t)ox];
        float *up = dx + at, *down = up + W;
        if (max) {
          /* The first largest of the four, without branches: pairs, then the pairs' winners; its
           * place worked out, not looked up. */
          float a = x[at], b = x[at + 1], c = x[at + W], d = x[at + W + 1];
          size_t right = b > a, right_below = d > c;
          float upper = b > a ? b : a, lower = d > c ? d : c;
          size_t below = lower > upper;
          up[0] = up[1] = down[0] = down[1] = 0.0f;
          up[below * W + (below ? right_below : right)] = g;
        } else {
          up[0] = up[1] = down[0] = down[1] = g * 0.25f;
        }
      }
    if (p->chain) cpu_chain_backward(p->chain, p->hp, p->drop, p->dx, q * in_px, (q + 1) * in_px);
  }
  cpu_team_sync(p->team);
}

const cpu_layer_impl cpu_pool_impl = {.forward = pool_forward, .backward = pool_backward, .fuses = true};
