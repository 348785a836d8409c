/* The 2-D convolution on the CPU ("same" padding, stride 1, PyTorch's cross-correlation), as
 * im2col and OpenBLAS GEMMs over chunks of examples: the chunk's input unfolded into a
 * (examples x pixels) x (C_in k k) matrix of patches, times the (C_in k k) x C_out weight block,
 * written straight into the channel-major output. Chunks are a fixed function of the layer
 * (cpu_conv_chunk), so a member's arithmetic is the same calls alone or in a team of any size:
 * forward and the input gradient share chunks among the team; the weight gradient, summed over
 * every chunk in order, is shared by fixed tiles of its rows (CPU_TILE of the C_in k k). */
#include <cblas.h>
#include <string.h>

#include "cpu/layers.h"

/* Unfolded floats one chunk may hold: 1 MiB, about L2's size. */
int cpu_conv_chunk_floats = 1 << 18;

static int patch_size(const caviar_layer *l) { return l->in.c * l->kernel * l->kernel; }

int cpu_conv_chunk(const caviar_layer *l, int rows) {
  size_t per_example = (size_t)patch_size(l) * caviar_dims_pixels(l->out);
  size_t e = (size_t)cpu_conv_chunk_floats / (per_example ? per_example : 1);
  if (e < 1) e = 1;
  return e < (size_t)rows ? (int)e : rows;
}

/* Input channel c of example b: its H x W plane. */
static const float *input_plane(const cpu_pass *p, int c, int b) {
  const caviar_layer *l = p->layer;
  size_t pixels = caviar_dims_pixels(l->in);
  return l->rowwise ? p->x + (size_t)b * caviar_dims_size(l->in) + (size_t)c * pixels
                    : p->x + ((size_t)c * (size_t)p->rows + (size_t)b) * pixels;
}

/* Of an output row, the columns [*x0, *x1) whose input column x + dx is inside the image. */
static void inside(int W, int dx, int *x0, int *x1) {
  *x0 = dx < 0 ? -dx : 0;
  *x1 = dx > 0 ? W - dx : W;
  if (*x1 < *x0) *x1 = *x0;
}

/* Columns [k0, k1) of the patch matrix of examples [e0, e1) into P, column-major with leading
 * dimension (e1 - e0) x pixels: column k is input channel k / (kk), offset (k % kk) / k, k % k.
 * Each output row is its input row shifted by the offset, zeros where it falls in the padding: the
 * rows inside the image are one run of the input plane (a convolution's output has its input's
 * size: model.c's add_conv), copied at once, then the columns that fell in the padding (copied
 * from the rows' other ends) cleared. */
static void unfold(const cpu_pass *p, int e0, int e1, int k0, int k1, float *P) {
  const caviar_layer *l = p->layer;
  int k = l->kernel, kk = k * k, H = l->out.h, W = l->out.w;
  size_t m = (size_t)(e1 - e0) * (size_t)H * (size_t)W;
  for (int col = k0; col < k1; col++) {
    int c = col / kk, dy = col % kk / k - l->pad, dx = col % k - l->pad, x0, x1;
    inside(W, dx, &x0, &x1);
    /* The output rows whose input row is inside the image. */
    int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? H - dy : H;
    if (y0 > H) y0 = H; /* a padding taller than the image */
    if (y1 < y0) y1 = y0;
    float *out = P + (size_t)(col - k0) * m;
    for (int b = e0; b < e1; b++, out += (size_t)H * (size_t)W) {
      const float *plane = input_plane(p, c, b);
      memset(out, 0, (size_t)y0 * (size_t)W * sizeof(float));
      memset(out + (size_t)y1 * (size_t)W, 0, (size_t)(H - y1) * (size_t)W * sizeof(float));
      if (y1 == y0 || x1 == x0) {
        memset(out + (size_t)y0 * (size_t)W, 0, (size_t)(y1 - y0) * (size_t)W * sizeof(float));
        continue;
      }
      size_t run = (size_t)(y1 - 1 - y0) * (size_t)W + (size_t)(x1 - x0);
      memcpy(out + (size_t)y0 * (size_t)W + (size_t)x0, plane + (size_t)(y0 + dy) * (size_t)W + (size_t)(dx + x0),
             run * sizeof(float));
      for (int y = y0; y < y1 && (x0 > 0 || x1 < W); y++) {
        float *o = out + (size_t)y * (size_t)W;
        for (int x = 0; x < x0; x++) o[x] = 0.0f;
        for (int x = x1; x < W; x++) o[x] = 0.0f;
      }
    }
  }
}

static void conv_forward(const cpu_pass *p) {
  const caviar_layer *l = p->layer;
  int K = patch_size(l), C = l->out.c, rows = p->rows, chunk = cpu_conv_chunk(l, rows);
  size_t pixels = caviar_dims_pixels(l->out), ld = (size_t)rows * pixels;
  size_t chunks = ((size_t)rows + (size_t)chunk - 1) / (size_t)chunk, c0, c1;
  const float *w = p->m->w[l->tensor], *bias = l->bias ? p->m->w[l->tensor + 1] : NULL;
  cpu_team_share(p->team, chunks, &c0, &c1);
  for (size_t i = c0; i < c1; i++) {
    int e0 = (int)i * chunk, e1 = e0 + chunk < rows ? e0 + chunk : rows;
    int m = (e1 - e0) * (int)pixels;
    unfold(p, e0, e1, 0, K, p->scratch);
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, C, K, 1.0f, p->scratch, m, w, K, 0.0f,
                p->y + (size_t)e0 * pixels, (int)ld);
    for (int c = 0; bias && c < C; c++) {
      float *col = p->y + (size_t)c * ld + (size_t)e0 * pixels;
      for (int j = 0; j < m; j++) col[j] += bias[c];
    }
    if (p->chain) cpu_chain_forward_examples(p->chain, p->hp, p->drop, C, rows, pixels, e0, e1);
  }
  cpu_team_sync(p->team);
}

static void conv_backward(const cpu_pass *p) {
  const caviar_layer *l = p->layer;
  int K = patch_size(l), C = l->out.c, rows = p->rows, chunk = cpu_conv_chunk(l, rows);
  size_t pixels = caviar_dims_pixels(l->out), ld = (size_t)rows * pixels;
  size_t chunks = ((size_t)rows + (size_t)chunk - 1) / (size_t)chunk, t0, t1;
  const float *w = p->m->w[l->tensor];
  float *dw = p->m->g[l->tensor];
  /* The weight gradient by fixed tiles of its rows, each summed over the chunks in order (beta 1
   * into the zeroed gradient), and the bias gradient by channels. */
  size_t tiles = ((size_t)K + CPU_TILE - 1) / CPU_TILE;
  cpu_team_share(p->team, tiles, &t0, &t1);
  for (size_t t = t0; t < t1; t++) {
    int k0 = (int)t * CPU_TILE, k1 = k0 + CPU_TILE < K ? k0 + CPU_TILE : K;
    for (size_t i = 0; i < chunks; i++) {
      int e0 = (int)i * chunk, e1 = e0 + chunk < rows ? e0 + chunk : rows;
      int m = (e1 - e0) * (int)pixels;
      unfold(p, e0, e1, k0, k1, p->scratch);
      cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, k1 - k0, C, m, 1.0f, p->scratch, m, p->dy + (size_t)e0 * pixels,
                  (int)ld, 1.0f, dw + k0, K);
    }
  }
  if (l->bias) {
    size_t b0, b1;
    cpu_team_share(p->team, (size_t)C, &b0, &b1);
    float *db = p->m->g[l->tensor + 1];
    for (size_t c = b0; c < b1; c++) {
      const float *col = p->dy + c * ld;
      float sum = 0;
      for (size_t j = 0; j < ld; j++) sum += col[j];
      db[c] = sum;
    }
  }
  if (p->dx) {
    /* The input gradient chunk by chunk: the patches' gradient dY W^T, folded back onto the
     * input's pixels (each pixel gathers from every patch that saw it, in a fixed order). */
    size_t in_pixels = caviar_dims_pixels(l->in);
    int k = l->kernel, kk = k * k, H = l->out.h, Wd = l->out.w;
    cpu_team_share(p->team, chunks, &t0, &t1);
    for (size_t i = t0; i < t1; i++) {
      int e0 = (int)i * chunk, e1 = e0 + chunk < rows ? e0 + chunk : rows;
      int m = (e1 - e0) * (int)pixels;
      cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, m, K, C, 1.0f, p->dy + (size_t)e0 * pixels, (int)ld, w, K, 0.0f,
                  p->scratch, m);
      for (int c = 0; c < l->in.c; c++)
        memset(p->dx + ((size_t)c * (size_t)rows + (size_t)e0) * in_pixels, 0,
               (size_t)(e1 - e0) * in_pixels * sizeof(float));
      for (int col = 0; col < K; col++) {
        int c = col / kk, dy = col % kk / k - l->pad, dx = col % k - l->pad, x0, x1;
        inside(Wd, dx, &x0, &x1);
        const float *g = p->scratch + (size_t)col * (size_t)m;
        for (int b = e0; b < e1; b++) {
          float *plane = p->dx + ((size_t)c * (size_t)rows + (size_t)b) * in_pixels;
          for (int y = 0; y < H; y++, g += Wd) {
            int iy = y + dy;
            if (iy < 0 || iy >= l->in.h) continue;
            float *row = plane + (size_t)iy * (size_t)l->in.w + dx;
            for (int x = x0; x < x1; x++) row[x] += g[x];
          }
        }
      }
      if (p->chain) cpu_chain_backward_examples(p->chain, p->hp, p->drop, p->dx, l->in.c, rows, in_pixels, e0, e1);
    }
  }
  cpu_team_sync(p->team);
}

const cpu_layer_impl cpu_conv2d_impl = {.forward = conv_forward, .backward = conv_backward, .fuses = true};
