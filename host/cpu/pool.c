/* 2 x 2 pooling of stride 2 on the CPU, max or average, plane by plane (a channel of one example)
 * over channel-major blocks; an odd last row or column is dropped, as PyTorch's MaxPool2d(2) and
 * AvgPool2d(2) do. Backward, max pooling recomputes each window's first largest input (the order
 * (0,0), (0,1), (1,0), (1,1)) and sends the gradient there. A row of windows at a time, 16 windows
 * to a step where the CPU has AVX-512 (the same bits as the scalar rule, which stays for other
 * CPUs and for tests: cpu_pool_rows). */
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "cpu/layers.h"

/* One output row from two input rows (r1 = r0 + the image's width) over ow windows: the window's
 * values a, b (upper row) and c, d (lower row). The scalar forms are the rule; the AVX-512 forms
 * take 16 windows at once, split into a b c d by two permutes per row, and give the same bits. */

/* Forward, max: the first largest in the order a, b, c, d (v = a; then each later one if
 * greater); average: ((a + b) + (c + d)) / 4. */
static void forward_row_scalar(bool max, const float *r0, const float *r1, float *y, int ow) {
  for (int ox = 0; ox < ow; ox++) {
    float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1], v = a;
    if (!max) {
      y[ox] = ((a + b) + (c + d)) * 0.25f;
      continue;
    }
    if (b > v) v = b;
    if (c > v) v = c;
    if (d > v) v = d;
    y[ox] = v;
  }
}

/* Max backward: the gradient to the first largest, found as the pairs' winners (b over a if
 * greater, d over c), then the lower pair's winner if greater than the upper's; 0 elsewhere. */
static void max_grad_row_scalar(const float *r0, const float *r1, const float *g, float *d0, float *d1, int ow) {
  for (int ox = 0; ox < ow; ox++) {
    float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
    bool right = b > a, right_below = d > c;
    float upper = right ? b : a, lower = right_below ? d : c;
    float gu = lower > upper ? 0.0f : g[ox], gl = lower > upper ? g[ox] : 0.0f;
    d0[2 * ox] = right ? 0.0f : gu;
    d0[2 * ox + 1] = right ? gu : 0.0f;
    d1[2 * ox] = right_below ? 0.0f : gl;
    d1[2 * ox + 1] = right_below ? gl : 0.0f;
  }
}

static void avg_grad_row_scalar(const float *g, float *d0, float *d1, int ow) {
  for (int ox = 0; ox < ow; ox++) d0[2 * ox] = d0[2 * ox + 1] = d1[2 * ox] = d1[2 * ox + 1] = g[ox] * 0.25f;
}

#if defined(__AVX512F__)
/* Lanes [0, n) of 16 (n may be 0 or above 16). */
static __mmask16 first_lanes(int n) { return n <= 0 ? 0 : n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1u); }

/* The even and odd values of 2m floats from p (m <= 16 windows), zeros past them. */
static void split_pairs(const float *p, int m, __m512 *even, __m512 *odd) {
  static const int evens[16] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
  static const int odds[16] = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
  __m512 lo = _mm512_maskz_loadu_ps(first_lanes(2 * m), p), hi = _mm512_maskz_loadu_ps(first_lanes(2 * m - 16), p + 16);
  *even = _mm512_permutex2var_ps(lo, _mm512_loadu_si512(evens), hi);
  *odd = _mm512_permutex2var_ps(lo, _mm512_loadu_si512(odds), hi);
}

/* Writes 2m floats to p from the even and odd values (the inverse of split_pairs). */
static void join_pairs(float *p, int m, __m512 even, __m512 odd) {
  static const int first[16] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
  static const int second[16] = {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  _mm512_mask_storeu_ps(p, first_lanes(2 * m), _mm512_permutex2var_ps(even, _mm512_loadu_si512(first), odd));
  _mm512_mask_storeu_ps(p + 16, first_lanes(2 * m - 16), _mm512_permutex2var_ps(even, _mm512_loadu_si512(second), odd));
}

/* Max or average forward: the window's four values, then the scan (max) or the mean. */
static void forward_row(bool max, const float *r0, const float *r1, float *y, int ow) {
  for (int x0 = 0; x0 < ow; x0 += 16) {
    int m = ow - x0 < 16 ? ow - x0 : 16;
    __m512 a, b, c, d, v;
    split_pairs(r0 + 2 * x0, m, &a, &b);
    split_pairs(r1 + 2 * x0, m, &c, &d);
    if (max) {
      v = a;
      v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(b, v, _CMP_GT_OQ), v, b);
      v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(c, v, _CMP_GT_OQ), v, c);
      v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(d, v, _CMP_GT_OQ), v, d);
    } else {
      v = _mm512_mul_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)), _mm512_set1_ps(0.25f));
    }
    _mm512_mask_storeu_ps(y + x0, first_lanes(m), v);
  }
}

static void max_grad_row(const float *r0, const float *r1, const float *g, float *d0, float *d1, int ow) {
  for (int x0 = 0; x0 < ow; x0 += 16) {
    int m = ow - x0 < 16 ? ow - x0 : 16;
    __m512 a, b, c, d;
    split_pairs(r0 + 2 * x0, m, &a, &b);
    split_pairs(r1 + 2 * x0, m, &c, &d);
    __mmask16 right = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ), right_below = _mm512_cmp_ps_mask(d, c, _CMP_GT_OQ);
    __m512 upper = _mm512_mask_blend_ps(right, a, b), lower = _mm512_mask_blend_ps(right_below, c, d);
    __mmask16 below = _mm512_cmp_ps_mask(lower, upper, _CMP_GT_OQ);
    __m512 gv = _mm512_maskz_loadu_ps(first_lanes(m), g + x0);
    __m512 gu = _mm512_maskz_mov_ps((__mmask16)~below, gv), gl = _mm512_maskz_mov_ps(below, gv);
    join_pairs(d0 + 2 * x0, m, _mm512_maskz_mov_ps((__mmask16)~right, gu), _mm512_maskz_mov_ps(right, gu));
    join_pairs(d1 + 2 * x0, m, _mm512_maskz_mov_ps((__mmask16)~right_below, gl), _mm512_maskz_mov_ps(right_below, gl));
  }
}

static void avg_grad_row(const float *g, float *d0, float *d1, int ow) {
  for (int x0 = 0; x0 < ow; x0 += 16) {
    int m = ow - x0 < 16 ? ow - x0 : 16;
    __m512 q = _mm512_mul_ps(_mm512_maskz_loadu_ps(first_lanes(m), g + x0), _mm512_set1_ps(0.25f));
    join_pairs(d0 + 2 * x0, m, q, q);
    join_pairs(d1 + 2 * x0, m, q, q);
  }
}
#else
#define forward_row forward_row_scalar
#define max_grad_row max_grad_row_scalar
#define avg_grad_row avg_grad_row_scalar
#endif

void cpu_pool_rows(bool vector, bool max, bool backward, const float *r0, const float *r1, const float *g, float *out0,
                   float *out1, int ow) {
  if (!backward) (vector ? forward_row : forward_row_scalar)(max, r0, r1, out0, ow);
  else if (max) (vector ? max_grad_row : max_grad_row_scalar)(r0, r1, g, out0, out1, ow);
  else (vector ? avg_grad_row : avg_grad_row_scalar)(g, out0, out1, ow);
}

void cpu_pool_forward_planes(const cpu_pass *p, size_t q0, size_t q1) {
  const caviar_layer *l = p->layer;
  size_t in_px = caviar_dims_pixels(l->in), out_px = caviar_dims_pixels(l->out), W = (size_t)l->in.w;
  bool max = l->pool == CAVIAR_POOL_MAX;
  for (size_t q = q0; q < q1; q++) {
    const float *x = p->x + q * in_px;
    float *y = p->y + q * out_px;
    for (int oy = 0; oy < l->out.h; oy++) {
      const float *r0 = x + (size_t)(2 * oy) * W;
      forward_row(max, r0, r0 + W, y + (size_t)oy * (size_t)l->out.w, l->out.w);
    }
  }
  /* The elementwise layers after it, on these planes. */
  for (size_t q = q0; p->chain && q < q1; q++) cpu_chain_forward(p->chain, p->hp, p->drop, q * out_px, (q + 1) * out_px);
}

static void pool_forward(const cpu_pass *p) {
  size_t q0, q1;
  cpu_team_share(p->team, (size_t)p->layer->in.c * (size_t)p->rows, &q0, &q1);
  cpu_pool_forward_planes(p, q0, q1);
  cpu_team_sync(p->team);
}

void cpu_pool_backward_planes(const cpu_pass *p, size_t q0, size_t q1, float *dx, size_t first) {
  const caviar_layer *l = p->layer;
  size_t in_px = caviar_dims_pixels(l->in), out_px = caviar_dims_pixels(l->out), W = (size_t)l->in.w;
  bool max = l->pool == CAVIAR_POOL_MAX, odd = l->in.h % 2 || l->in.w % 2;
  /* The chain before it, on dx's planes, its saved outputs moved by as much as dx. */
  cpu_chain chain = {0};
  if (p->chain) {
    chain = *p->chain;
    for (int i = 0; i < chain.n; i++) chain.saved[i] += first;
  }
  for (size_t q = q0; q < q1; q++) {
    const float *x = p->x + q * in_px, *dy = p->dy + q * out_px;
    float *d = dx + (q * in_px - first);
    /* Every window writes its four pixels; only an odd last row or column is left to clear. */
    if (odd) memset(d, 0, in_px * sizeof(float));
    for (int oy = 0; oy < l->out.h; oy++) {
      size_t at = (size_t)(2 * oy) * W;
      const float *g = dy + (size_t)oy * (size_t)l->out.w;
      if (max) max_grad_row(x + at, x + at + W, g, d + at, d + at + W, l->out.w);
      else avg_grad_row(g, d + at, d + at + W, l->out.w);
    }
    if (p->chain) cpu_chain_backward(&chain, p->hp, p->drop, dx, q * in_px - first, (q + 1) * in_px - first);
  }
}

static void pool_backward(const cpu_pass *p) {
  if (p->dx) {
    size_t q0, q1;
    cpu_team_share(p->team, (size_t)p->layer->in.c * (size_t)p->rows, &q0, &q1);
    cpu_pool_backward_planes(p, q0, q1, p->dx, 0);
  }
  cpu_team_sync(p->team);
}

const cpu_layer_impl cpu_pool_impl = {.forward = pool_forward, .backward = pool_backward, .fuses = true};
