/* One convolution layer's training work (forward, input gradient, weight gradient) on one thread,
 * caviar's CPU kind (host/cpu/conv.c: im2col + OpenBLAS GEMMs in fixed example chunks, caviar's
 * channel-major layout [C][B][H][W]) against oneDNN's (Debian's libdnnl) at its best: each
 * primitive in the layouts it picks for itself (format any: blocked nChw16c and the like), inputs
 * reordered into them before the clock starts, so oneDNN's time leaves out the reorders a real use
 * inside caviar would add. Medians of repeated runs, and the largest difference between the two
 * outputs (reordered back), for equal correctness. Built and run by scripts/bench_conv_onednn.sh.
 *
 * usage: bench_conv_onednn [REPEATS] */
#include <math.h>
#include <stdbool.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caviar/counter_rng.h"
#include "cpu/layers.h"

#define CHECK(call)                                                                   \
  do {                                                                                \
    dnnl_status_t s_ = (call);                                                        \
    if (s_ != dnnl_success) {                                                         \
      fprintf(stderr, "bench_conv_onednn: %s failed: status %d\n", #call, (int)s_);  \
      exit(1);                                                                        \
    }                                                                                 \
  } while (0)

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, compare_doubles);
  return v[n / 2];
}

static void fill(float *x, size_t n, uint32_t stream) {
  for (size_t i = 0; i < n; i++) x[i] = 2.0f * caviar_u01_float(caviar_rng(3, stream, CAVIAR_RNG_SYNTH, i).v[0]) - 1.0f;
}

static double max_difference(const float *a, const float *b, size_t n) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < n; i++) {
    worst = fmax(worst, fabs((double)a[i] - b[i]));
    scale = fmax(scale, fabs((double)b[i]));
  }
  return worst / (scale > 0 ? scale : 1);
}

typedef struct shape {
  const char *name;
  int batch, cin, cout, h, w, k;
} shape;

/* A memory in the layout a primitive wants (what = DNNL_ARG_...), holding `user`'s values (a reorder
 * when the layouts differ); *owned says whether it is a new one to destroy. */
static dnnl_memory_t in_layout(dnnl_engine_t engine, dnnl_stream_t stream, const_dnnl_primitive_desc_t pd, int what,
                               dnnl_memory_t user, bool copy_in, bool *owned) {
  const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, what);
  const dnnl_memory_desc_t *have;
  CHECK(dnnl_memory_get_memory_desc(user, &have));
  *owned = !dnnl_memory_desc_equal(want, have);
  if (!*owned) return user;
  dnnl_memory_t m;
  CHECK(dnnl_memory_create(&m, want, engine, DNNL_MEMORY_ALLOCATE));
  if (copy_in) {
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t r;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, have, engine, want, engine, NULL));
    CHECK(dnnl_primitive_create(&r, rpd));
    dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, m}};
    CHECK(dnnl_primitive_execute(r, stream, 2, args));
    CHECK(dnnl_stream_wait(stream));
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(rpd);
  }
  return m;
}

/* A result back into the user's layout. */
static void out_of_layout(dnnl_engine_t engine, dnnl_stream_t stream, dnnl_memory_t from, dnnl_memory_t user) {
  if (from == user) return;
  const dnnl_memory_desc_t *a, *b;
  CHECK(dnnl_memory_get_memory_desc(from, &a));
  CHECK(dnnl_memory_get_memory_desc(user, &b));
  dnnl_primitive_desc_t rpd;
  dnnl_primitive_t r;
  CHECK(dnnl_reorder_primitive_desc_create(&rpd, a, engine, b, engine, NULL));
  CHECK(dnnl_primitive_create(&r, rpd));
  dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, user}};
  CHECK(dnnl_primitive_execute(r, stream, 2, args));
  CHECK(dnnl_stream_wait(stream));
  dnnl_primitive_destroy(r);
  dnnl_primitive_desc_destroy(rpd);
}

static void run(const shape *s, int repeats) {
  int B = s->batch, Ci = s->cin, Co = s->cout, H = s->h, W = s->w, k = s->k, pad = k / 2;
  size_t in = (size_t)B * Ci * H * W, out = (size_t)B * Co * H * W, wn = (size_t)Co * Ci * k * k;
  float *x = malloc(in * 4), *w = malloc(wn * 4), *dy = malloc(out * 4);
  float *y1 = malloc(out * 4), *y2 = malloc(out * 4), *dx1 = malloc(in * 4), *dx2 = malloc(in * 4);
  float *dw1 = calloc(wn, 4), *dw2 = malloc(wn * 4);
  fill(x, in, 1);
  fill(w, wn, 2);
  fill(dy, out, 3);
  double flops = 3.0 * 2.0 * (double)B * H * W * Co * Ci * k * k;

  /* caviar: one conv2d layer (channel-major input: not the first layer), its team a thread alone. */
  caviar_layer l = {.kind = CAVIAR_LAYER_CONV2D, .in = {Ci, H, W}, .out = {Co, H, W}, .kernel = k, .pad = pad,
                    .tensor = 0, .n_tensors = 1};
  caviar_layout lay = {.n_tensors = 1};
  cpu_member m = {.layout = &lay};
  m.w[0] = w;
  m.g[0] = dw1;
  caviar_arch arch = {.n_layers = 1};
  arch.layer[0] = l;
  float *scratch = malloc(cpu_conv_scratch(&arch, B) * 4);
  caviar_member_hp hp = {.activation = CAVIAR_ACT_RELU};
  cpu_pass p = {.m = &m, .layer = &l, .hp = &hp, .rows = B, .x = x, .y = y1, .dy = dy, .dx = dx1, .team = &cpu_solo,
                .scratch = scratch};
  double *t = malloc((size_t)repeats * sizeof *t);
  for (int r = 0; r < repeats; r++) {
    memset(dw1, 0, wn * 4);
    double t0 = now();
    cpu_conv2d_impl.forward(&p);
    cpu_conv2d_impl.backward(&p);
    t[r] = now() - t0;
  }
  double caviar_s = median(t, repeats);

  /* oneDNN: the same layouts by strides (N, C, H, W dims over [C][B][H][W] memory). */
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
  CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
  dnnl_dims_t src_dims = {B, Ci, H, W}, dst_dims = {B, Co, H, W}, wei_dims = {Co, Ci, k, k};
  dnnl_dims_t src_strides = {H * W, (dnnl_dim_t)B * H * W, W, 1}, dst_strides = {H * W, (dnnl_dim_t)B * H * W, W, 1};
  dnnl_memory_desc_t src_md, dst_md, wei_md, any_src, any_dst, any_wei;
  CHECK(dnnl_memory_desc_init_by_strides(&src_md, 4, src_dims, dnnl_f32, src_strides));
  CHECK(dnnl_memory_desc_init_by_strides(&dst_md, 4, dst_dims, dnnl_f32, dst_strides));
  CHECK(dnnl_memory_desc_init_by_tag(&wei_md, 4, wei_dims, dnnl_f32, dnnl_oihw));
  CHECK(dnnl_memory_desc_init_by_tag(&any_src, 4, src_dims, dnnl_f32, dnnl_format_tag_any));
  CHECK(dnnl_memory_desc_init_by_tag(&any_dst, 4, dst_dims, dnnl_f32, dnnl_format_tag_any));
  CHECK(dnnl_memory_desc_init_by_tag(&any_wei, 4, wei_dims, dnnl_f32, dnnl_format_tag_any));
  dnnl_dims_t strides = {1, 1}, padding = {pad, pad};
  dnnl_convolution_desc_t fd, bd, bw;
  CHECK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &any_src, &any_wei, NULL,
                                           &any_dst, strides, padding, padding));
  CHECK(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &any_src, &any_wei, &any_dst, strides,
                                                 padding, padding));
  CHECK(dnnl_convolution_backward_weights_desc_init(&bw, dnnl_convolution_direct, &any_src, &any_wei, NULL, &any_dst,
                                                    strides, padding, padding));
  dnnl_primitive_desc_t fpd, bdpd, bwpd;
  CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, engine, NULL));
  CHECK(dnnl_primitive_desc_create(&bdpd, &bd, NULL, engine, fpd));
  CHECK(dnnl_primitive_desc_create(&bwpd, &bw, NULL, engine, fpd));
  dnnl_primitive_t fwd, bwd_data, bwd_weights;
  CHECK(dnnl_primitive_create(&fwd, fpd));
  CHECK(dnnl_primitive_create(&bwd_data, bdpd));
  CHECK(dnnl_primitive_create(&bwd_weights, bwpd));
  dnnl_memory_t mx, mw, my, mdy, mdx, mdw;
  CHECK(dnnl_memory_create(&mx, &src_md, engine, x));
  CHECK(dnnl_memory_create(&mw, &wei_md, engine, w));
  CHECK(dnnl_memory_create(&my, &dst_md, engine, y2));
  CHECK(dnnl_memory_create(&mdy, &dst_md, engine, dy));
  CHECK(dnnl_memory_create(&mdx, &src_md, engine, dx2));
  CHECK(dnnl_memory_create(&mdw, &wei_md, engine, dw2));
  /* Each primitive's own layouts, filled before the clock starts. */
  bool own[9];
  dnnl_memory_t fx = in_layout(engine, stream, fpd, DNNL_ARG_SRC, mx, true, &own[0]);
  dnnl_memory_t fw = in_layout(engine, stream, fpd, DNNL_ARG_WEIGHTS, mw, true, &own[1]);
  dnnl_memory_t fy = in_layout(engine, stream, fpd, DNNL_ARG_DST, my, false, &own[2]);
  dnnl_memory_t ddy = in_layout(engine, stream, bdpd, DNNL_ARG_DIFF_DST, mdy, true, &own[3]);
  dnnl_memory_t dw = in_layout(engine, stream, bdpd, DNNL_ARG_WEIGHTS, mw, true, &own[4]);
  dnnl_memory_t ddx = in_layout(engine, stream, bdpd, DNNL_ARG_DIFF_SRC, mdx, false, &own[5]);
  dnnl_memory_t wx = in_layout(engine, stream, bwpd, DNNL_ARG_SRC, mx, true, &own[6]);
  dnnl_memory_t wdy = in_layout(engine, stream, bwpd, DNNL_ARG_DIFF_DST, mdy, true, &own[7]);
  dnnl_memory_t wdw = in_layout(engine, stream, bwpd, DNNL_ARG_DIFF_WEIGHTS, mdw, false, &own[8]);
  dnnl_exec_arg_t fa[] = {{DNNL_ARG_SRC, fx}, {DNNL_ARG_WEIGHTS, fw}, {DNNL_ARG_DST, fy}};
  dnnl_exec_arg_t da[] = {{DNNL_ARG_DIFF_DST, ddy}, {DNNL_ARG_WEIGHTS, dw}, {DNNL_ARG_DIFF_SRC, ddx}};
  dnnl_exec_arg_t wa[] = {{DNNL_ARG_SRC, wx}, {DNNL_ARG_DIFF_DST, wdy}, {DNNL_ARG_DIFF_WEIGHTS, wdw}};
  for (int r = 0; r < repeats; r++) {
    double t0 = now();
    CHECK(dnnl_primitive_execute(fwd, stream, 3, fa));
    CHECK(dnnl_primitive_execute(bwd_data, stream, 3, da));
    CHECK(dnnl_primitive_execute(bwd_weights, stream, 3, wa));
    CHECK(dnnl_stream_wait(stream));
    t[r] = now() - t0;
  }
  double onednn_s = median(t, repeats);
  out_of_layout(engine, stream, fy, my);
  out_of_layout(engine, stream, ddx, mdx);
  out_of_layout(engine, stream, wdw, mdw);
  dnnl_memory_t mine[] = {fx, fw, fy, ddy, dw, ddx, wx, wdy, wdw};
  for (int i = 0; i < 9; i++)
    if (own[i]) dnnl_memory_destroy(mine[i]);
  const char *impl = "?";
  CHECK(dnnl_primitive_desc_query(fpd, dnnl_query_impl_info_str, 0, &impl));
  printf("%-34s caviar %7.2f ms (%5.1f GFLOP/s)   oneDNN %7.2f ms (%5.1f GFLOP/s, %s)   oneDNN/caviar time %.2f   "
         "max rel. difference y %.1e dx %.1e dw %.1e\n",
         s->name, 1e3 * caviar_s, flops / caviar_s / 1e9, 1e3 * onednn_s, flops / onednn_s / 1e9, impl,
         onednn_s / caviar_s, max_difference(y1, y2, out), max_difference(dx1, dx2, in), max_difference(dw1, dw2, wn));
  dnnl_primitive_destroy(fwd);
  dnnl_primitive_destroy(bwd_data);
  dnnl_primitive_destroy(bwd_weights);
  dnnl_primitive_desc_destroy(fpd);
  dnnl_primitive_desc_destroy(bdpd);
  dnnl_primitive_desc_destroy(bwpd);
  dnnl_memory_t all[] = {mx, mw, my, mdy, mdx, mdw};
  for (int i = 0; i < 6; i++) dnnl_memory_destroy(all[i]);
  dnnl_stream_destroy(stream);
  dnnl_engine_destroy(engine);
  free(t);
  free(scratch);
  free(x);
  free(w);
  free(dy);
  free(y1);
  free(y2);
  free(dx1);
  free(dx2);
  free(dw1);
  free(dw2);
}

int main(int argc, char **argv) {
  int repeats = argc > 1 ? atoi(argv[1]) : 7;
  omp_set_num_threads(1); /* caviar trains a member per thread: one thread each */
  const shape shapes[] = {{"conv 32->64, 14x14, 3x3, batch 128", 128, 32, 64, 14, 14, 3},
                          {"conv 1->32, 28x28, 3x3, batch 128", 128, 1, 32, 28, 28, 3},
                          {"conv 64->128, 7x7, 3x3, batch 128", 128, 64, 128, 7, 7, 3},
                          {"conv 16->32, 14x14, 5x5, batch 64", 64, 16, 32, 14, 14, 5}};
  printf("one thread, forward + input gradient + weight gradient, median of %d; caviar in its channel-major layout, "
         "oneDNN in the layouts it picks (reorders not timed)\n", repeats);
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) run(&shapes[i], repeats);
  return 0;
}
