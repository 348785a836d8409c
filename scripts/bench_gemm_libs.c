/* OpenBLAS vs BLIS vs libxsmm on the per-member SGEMMs of one training step of a small MLP (batch B = 128,
 * input D = 784, hidden H, classes C = 10; single precision, column-major), exactly as the trainer calls
 * cblas_sgemm for one member. T OpenMP threads (default 2) each run the GEMMs of their own member (own buffers),
 * the library single-threaded inside, as the trainer uses the cores. Build and run: scripts/bench_gemm_libs.sh.
 *
 * One step, --layers 1 (sizes D -> H -> C), the five calls of the trainer:
 *   1 Z1  = X^T W1     TN  B x H x D   (X is D x B, one example per column; W1 is D x H)
 *   2 Z2  = Z1 W2      NN  B x C x H
 *   3 G2 += Z1^T dZ2   TN  H x C x B
 *   4 dZ1 = dZ2 W2^T   NT  B x H x C
 *   5 G1 += X dZ1      NN  D x H x B
 * --layers 2 adds a second H x H hidden layer (D -> H -> H -> C): eight GEMMs, same pattern. Activations, losses
 * and the optimizer are left out: GEMMs only.
 *
 * Libraries (each single-threaded per call):
 *   openblas       cblas_sgemm, the trainer's calls verbatim, openblas_set_num_threads(1).
 *   blis-trans     bli_sgemm_ex, transposes as BLIS_TRANSPOSE flags, rntm with 1 thread.
 *   blis-strides   bli_sgemm_ex, BLIS_NO_TRANSPOSE, transposes as swapped row/column strides.
 *   libxsmm-jit    libxsmm_smmdispatch JIT kernels (alpha 1, beta 0/1, no prefetch). libxsmm 1.17 JITs NN and NT
 *                  but not TN: a TN GEMM first transposes A with libxsmm_otrans into a scratch buffer, inside the
 *                  timed loop and inside that GEMM's time (A is X, Z1: they change every step, so the transpose is
 *                  part of the step's cost).
 *   libxsmm-sgemm  libxsmm_sgemm, the BLAS-like entry point: JIT for small NN/NT sizes, else the original sgemm_
 *                  (here OpenBLAS's). Which one each GEMM took is counted by hooking libxsmm's fallback pointer.
 *
 * Reported: for each library, the median over R repetitions of the wall time of S steps on all T threads at once,
 * as GFLOP/s over all threads and as a fraction of a same-run ceiling (OpenBLAS single-threaded 1024^3 SGEMM on
 * every thread at once, best of 5, like `caviar bench`); the time per GEMM on thread 0 (while all T run), median
 * over the repetitions. Before timing, each library's outputs of one step are compared with OpenBLAS's (max
 * |difference| / max |OpenBLAS value|, per output); a wrong layout fails the run (exit 2).
 */
#define _GNU_SOURCE
#include <blis.h> /* also declares cblas_sgemm (standard CBLAS ABI); the symbol must bind to OpenBLAS: checked */
#include <dlfcn.h>
#include <libxsmm.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS extensions (its cblas.h clashes with the CBLAS declarations in blis.h). */
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);
char *openblas_get_config(void);

enum { B = 128, D = 784, C = 10, CEIL_N = 1024, MAX_OPS = 16, MAX_BUFS = 32, MAX_REPS = 101 };
enum { LIB_OPENBLAS, LIB_BLIS_TRANS, LIB_BLIS_STRIDES, LIB_XSMM_JIT, LIB_XSMM_SGEMM, NLIBS };
static const char *lib_name[NLIBS] = {"openblas", "blis-trans", "blis-strides", "libxsmm-jit", "libxsmm-sgemm"};

typedef struct {
  char label[48];
  int ta, tb, m, n, k;   /* C (m x n) = op(A) op(B) + beta C, column-major */
  int a, b, c;           /* buffer ids */
  int lda, ldb, ldc;
  float beta;
} op_t;

static op_t ops[MAX_OPS];
static int nops;
static size_t buf_size[MAX_BUFS]; /* floats */
static char buf_name[MAX_BUFS][8];
static int nbufs;
static int is_output[MAX_BUFS];

/* libxsmm-jit: per op, the kernel and whether A must be transposed first. */
static libxsmm_smmfunction xsmm_kernel[MAX_OPS];
static int xsmm_trans_a[MAX_OPS];

/* ---- libxsmm_sgemm's fallback: libxsmm calls the original BLAS sgemm through the public pointer
 * libxsmm_original_sgemm_function; pointing it at this counter (which calls the original) tells which GEMMs
 * libxsmm_sgemm hands to the BLAS rather than to a JIT kernel. ---- */
static libxsmm_sgemm_function original_sgemm;
static __thread long sgemm_fallback_calls;

static void counting_sgemm(const char *transa, const char *transb, const libxsmm_blasint *m, const libxsmm_blasint *n,
                           const libxsmm_blasint *k, const float *alpha, const float *a, const libxsmm_blasint *lda,
                           const float *b, const libxsmm_blasint *ldb, const float *beta, float *c,
                           const libxsmm_blasint *ldc) {
  sgemm_fallback_calls++;
  original_sgemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static const char *lib_of(const void *symbol) {
  Dl_info info;
  if (!symbol || !dladdr(symbol, &info) || !info.dli_fname) return "?";
  const char *slash = strrchr(info.dli_fname, '/');
  return slash ? slash + 1 : info.dli_fname;
}

/* ---- problem description ---- */
static int add_buf(const char *name, size_t floats, int output) {
  snprintf(buf_name[nbufs], sizeof buf_name[nbufs], "%s", name);
  buf_size[nbufs] = floats;
  is_output[nbufs] = output;
  return nbufs++;
}

static void add_op(int ta, int tb, int m, int n, int k, int a, int lda, int b, int ldb, float beta, int c, int ldc) {
  op_t *o = &ops[nops];
  o->ta = ta, o->tb = tb, o->m = m, o->n = n, o->k = k, o->a = a, o->lda = lda, o->b = b, o->ldb = ldb;
  o->beta = beta, o->c = c, o->ldc = ldc;
  snprintf(o->label, sizeof o->label, "%s %s %s%s %s%s", buf_name[c], beta != 0 ? "+=" : "=", buf_name[a],
           ta ? "^T" : "", buf_name[b], tb ? "^T" : "");
  nops++;
}

/* sizes[0] = D, sizes[1..layers] = H, sizes[layers + 1] = C; weight layer l (1..NL) maps sizes[l-1] -> sizes[l]. */
static void build_problem(int hidden, int layers) {
  int nl = layers + 1, s[8];
  s[0] = D;
  for (int l = 1; l <= layers; l++) s[l] = hidden;
  s[nl] = C;
  int x = add_buf("X", (size_t)D * B, 0), w[8], z[8], dz[8], g[8];
  char name[8];
  for (int l = 1; l <= nl; l++) {
    snprintf(name, sizeof name, "W%d", l), w[l] = add_buf(name, (size_t)s[l - 1] * s[l], 0);
    snprintf(name, sizeof name, "Z%d", l), z[l] = add_buf(name, (size_t)B * s[l], 1);
    snprintf(name, sizeof name, "dZ%d", l), dz[l] = add_buf(name, (size_t)B * s[l], l < nl);
    snprintf(name, sizeof name, "G%d", l), g[l] = add_buf(name, (size_t)s[l - 1] * s[l], 1);
  }
  /* forward */
  add_op(1, 0, B, s[1], D, x, D, w[1], D, 0, z[1], B); /* Z1 = X^T W1 */
  for (int l = 2; l <= nl; l++) add_op(0, 0, B, s[l], s[l - 1], z[l - 1], B, w[l], s[l - 1], 0, z[l], B);
  /* backward: weight gradient, then input gradient */
  for (int l = nl; l >= 2; l--) {
    add_op(1, 0, s[l - 1], s[l], B, z[l - 1], B, dz[l], B, 1, g[l], s[l - 1]);  /* G_l += Z_{l-1}^T dZ_l */
    add_op(0, 1, B, s[l - 1], s[l], dz[l], B, w[l], s[l - 1], 0, dz[l - 1], B); /* dZ_{l-1} = dZ_l W_l^T */
  }
  add_op(0, 0, D, s[1], B, x, D, dz[1], B, 1, g[1], D); /* G1 += X dZ1 */
}

static double step_flops(void) {
  double f = 0;
  for (int i = 0; i < nops; i++) f += 2.0 * ops[i].m * ops[i].n * ops[i].k;
  return f;
}

/* ---- per-thread member state ---- */
typedef struct {
  float *buf[MAX_BUFS];
  float *scratch[MAX_OPS]; /* libxsmm-jit: transposed A */
  rntm_t rntm;
} member_t;

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

static void member_fill(member_t *mb, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int i = 0; i < nbufs; i++)
    for (size_t j = 0; j < buf_size[i]; j++) mb->buf[i][j] = (float)((rng_next(&s) >> 40) * (1.0 / (1 << 24))) - 0.5f;
  for (int i = 0; i < nops; i++) /* accumulated outputs (beta 1) start at zero */
    if (ops[i].beta != 0) memset(mb->buf[ops[i].c], 0, buf_size[ops[i].c] * sizeof(float));
}

static int member_init(member_t *mb, uint64_t seed) {
  memset(mb, 0, sizeof *mb);
  for (int i = 0; i < nbufs; i++)
    if (!(mb->buf[i] = aligned_alloc(64, (buf_size[i] * sizeof(float) + 63) / 64 * 64))) return 0;
  for (int i = 0; i < nops; i++) {
    size_t bytes = ((size_t)ops[i].m * ops[i].k * sizeof(float) + 63) / 64 * 64;
    if (ops[i].ta && !(mb->scratch[i] = aligned_alloc(64, bytes))) return 0;
  }
  member_fill(mb, seed);
  bli_rntm_init(&mb->rntm);
  bli_rntm_set_num_threads(1, &mb->rntm);
  return 1;
}

static void member_free(member_t *mb) {
  for (int i = 0; i < nbufs; i++) free(mb->buf[i]);
  for (int i = 0; i < nops; i++) free(mb->scratch[i]);
}

static void run_op(int lib, const op_t *o, member_t *mb) {
  float one = 1.0f, beta = o->beta;
  float *a = mb->buf[o->a], *b = mb->buf[o->b], *c = mb->buf[o->c];
  switch (lib) {
    case LIB_OPENBLAS:
      cblas_sgemm(CblasColMajor, o->ta ? CblasTrans : CblasNoTrans, o->tb ? CblasTrans : CblasNoTrans, o->m, o->n,
                  o->k, 1.0f, a, o->lda, b, o->ldb, o->beta, c, o->ldc);
      break;
    case LIB_BLIS_TRANS:
      bli_sgemm_ex(o->ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, o->tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, o->m, o->n,
                   o->k, &one, a, 1, o->lda, b, 1, o->ldb, &beta, c, 1, o->ldc, NULL, &mb->rntm);
      break;
    case LIB_BLIS_STRIDES: /* op(A) is m x k: element (i, p) at i*rs + p*cs */
      bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, o->m, o->n, o->k, &one, a, o->ta ? o->lda : 1,
                   o->ta ? 1 : o->lda, b, o->tb ? o->ldb : 1, o->tb ? 1 : o->ldb, &beta, c, 1, o->ldc, NULL,
                   &mb->rntm);
      break;
    case LIB_XSMM_JIT: {
      int i = (int)(o - ops);
      if (xsmm_trans_a[i]) { /* A is stored k x m: make the m x k copy the NN kernel reads (ld m) */
        libxsmm_otrans(mb->scratch[i], a, sizeof(float), o->k, o->m, o->lda, o->m);
        a = mb->scratch[i];
      }
      xsmm_kernel[i](a, b, c);
      break;
    }
    case LIB_XSMM_SGEMM: {
      const char ta = o->ta ? 'T' : 'N', tb = o->tb ? 'T' : 'N';
      const libxsmm_blasint m = o->m, n = o->n, k = o->k, lda = o->lda, ldb = o->ldb, ldc = o->ldc;
      libxsmm_sgemm(&ta, &tb, &m, &n, &k, &one, a, &lda, b, &ldb, &beta, c, &ldc);
      break;
    }
  }
}

static void xsmm_prepare(void) {
  const float one = 1.0f;
  const int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
  for (int i = 0; i < nops; i++) {
    const op_t *o = &ops[i];
    float beta = o->beta;
    libxsmm_blasint lda = o->lda, ldb = o->ldb, ldc = o->ldc;
    int flags = (o->ta ? LIBXSMM_GEMM_FLAG_TRANS_A : 0) | (o->tb ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
    xsmm_kernel[i] = libxsmm_smmdispatch(o->m, o->n, o->k, &lda, &ldb, &ldc, &one, &beta, &flags, &prefetch);
    xsmm_trans_a[i] = 0;
    if (!xsmm_kernel[i] && o->ta) { /* no JIT for TN: transpose A per call, then NN (or NT) */
      xsmm_trans_a[i] = 1;
      lda = o->m;
      flags &= ~LIBXSMM_GEMM_FLAG_TRANS_A;
      xsmm_kernel[i] = libxsmm_smmdispatch(o->m, o->n, o->k, &lda, &ldb, &ldc, &one, &beta, &flags, &prefetch);
    }
    if (!xsmm_kernel[i]) {
      fprintf(stderr, "FAIL: libxsmm_smmdispatch gave no kernel for GEMM %d (%s, %dx%dx%d)\n", i + 1, o->label,
              o->m, o->n, o->k);
      exit(2);
    }
  }
}

/* ---- correctness: one step from the same state, every output against OpenBLAS's ---- */
static int check_outputs(long xsmm_sgemm_fallbacks[MAX_OPS]) {
  member_t mb;
  float *ref[MAX_BUFS] = {0};
  int ok = 1;
  if (!member_init(&mb, 12345)) return 0;
  for (int lib = 0; lib < NLIBS; lib++) {
    member_fill(&mb, 12345);
    for (int i = 0; i < nops; i++) {
      long before = sgemm_fallback_calls;
      run_op(lib, &ops[i], &mb);
      if (lib == LIB_XSMM_SGEMM) xsmm_sgemm_fallbacks[i] = sgemm_fallback_calls - before;
    }
    if (lib == LIB_OPENBLAS) {
      for (int i = 0; i < nbufs; i++)
        if (is_output[i]) {
          ref[i] = malloc(buf_size[i] * sizeof(float));
          if (!ref[i]) return 0;
          memcpy(ref[i], mb.buf[i], buf_size[i] * sizeof(float));
        }
      continue;
    }
    printf("  %-14s", lib_name[lib]);
    double worst = 0;
    for (int i = 0; i < nops; i++) {
      int c = ops[i].c;
      double maxdiff = 0, maxref = 0;
      for (size_t j = 0; j < buf_size[c]; j++) {
        double d = fabs((double)mb.buf[c][j] - ref[c][j]), r = fabs((double)ref[c][j]);
        if (!(d <= maxdiff)) maxdiff = d; /* NaN counts as a failure */
        if (r > maxref) maxref = r;
      }
      double rel = maxref > 0 ? maxdiff / maxref : maxdiff;
      printf(" %d:%.1e", i + 1, rel);
      if (!(rel <= worst)) worst = rel;
    }
    int bad = !(worst < 1e-4);
    printf("%s\n", bad ? "   <-- WRONG" : "");
    if (bad) ok = 0;
  }
  for (int i = 0; i < nbufs; i++) free(ref[i]);
  member_free(&mb);
  return ok;
}

/* ---- timing ---- */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(const double *v, int n) {
  double tmp[MAX_REPS];
  memcpy(tmp, v, (size_t)n * sizeof *v);
  qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
  return n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

typedef struct {
  double seconds;            /* median over reps of S steps, all threads */
  double op_seconds[MAX_OPS]; /* thread 0, per call, median over reps */
  int ok;
} result_t;

static result_t bench_lib(int lib, int threads, int steps, int reps) {
  result_t res = {0};
  double elapsed[MAX_REPS], op_time[MAX_REPS][MAX_OPS];
  int ok = 1;
  memset(op_time, 0, sizeof op_time);
#pragma omp parallel num_threads(threads) reduction(&& : ok)
  {
    int tid = omp_get_thread_num();
    member_t mb;
    double start = 0, t_op[MAX_OPS];
    ok = member_init(&mb, 1000 + (uint64_t)tid);
    int warmup = steps / 10 > 2 ? steps / 10 : 2;
    for (int s = 0; ok && s < warmup; s++)
      for (int i = 0; i < nops; i++) run_op(lib, &ops[i], &mb);
    for (int r = 0; r < reps; r++) {
      memset(t_op, 0, sizeof t_op);
#pragma omp barrier
#pragma omp master
      start = omp_get_wtime();
#pragma omp barrier
      for (int s = 0; ok && s < steps; s++)
        for (int i = 0; i < nops; i++) {
          double t0 = omp_get_wtime();
          run_op(lib, &ops[i], &mb);
          t_op[i] += omp_get_wtime() - t0;
        }
#pragma omp barrier
#pragma omp master
      elapsed[r] = omp_get_wtime() - start;
      if (tid == 0)
        for (int i = 0; i < nops; i++) op_time[r][i] = t_op[i] / steps;
    }
    if (ok) member_free(&mb);
  }
  res.ok = ok;
  res.seconds = median(elapsed, reps);
  for (int i = 0; i < nops; i++) {
    double v[MAX_REPS];
    for (int r = 0; r < reps; r++) v[r] = op_time[r][i];
    res.op_seconds[i] = median(v, reps);
  }
  return res;
}

/* OpenBLAS single-threaded 1024^3 SGEMM on every thread at once, best of `repeats` (as `caviar bench`). */
static double ceiling_gflops(int threads, int repeats) {
  double best = 0;
  for (int r = 0; r < repeats; r++) {
    double start = 0, elapsed = 0;
    int ok = 1;
#pragma omp parallel num_threads(threads) reduction(&& : ok)
    {
      size_t n = (size_t)CEIL_N * CEIL_N;
      float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
      ok = a && b && c;
      if (ok) {
        for (size_t i = 0; i < n; i++) a[i] = b[i] = (float)(i % 17) * 0.01f;
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, CEIL_N, CEIL_N, CEIL_N, 1.0f, a, CEIL_N, b, CEIL_N,
                    0.0f, c, CEIL_N);
      }
#pragma omp barrier
#pragma omp master
      start = omp_get_wtime();
#pragma omp barrier
      if (ok)
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, CEIL_N, CEIL_N, CEIL_N, 1.0f, a, CEIL_N, b, CEIL_N,
                    0.0f, c, CEIL_N);
#pragma omp barrier
#pragma omp master
      elapsed = omp_get_wtime() - start;
      free(a), free(b), free(c);
    }
    double g = ok && elapsed > 0 ? 2.0 * CEIL_N * CEIL_N * (double)CEIL_N * threads / elapsed / 1e9 : 0;
    if (g > best) best = g;
  }
  return best;
}

static void usage(const char *prog) {
  fprintf(stderr,
          "usage: %s [--hidden H (128)] [--layers 1|2 (1)] [--threads T (2)] [--steps S (200)] [--reps R (9)]\n"
          "          [--libs name,name,...] (openblas,blis-trans,blis-strides,libxsmm-jit,libxsmm-sgemm)\n",
          prog);
  exit(1);
}

int main(int argc, char **argv) {
  int hidden = 128, layers = 1, threads = 2, steps = 200, reps = 9, want[NLIBS];
  for (int l = 0; l < NLIBS; l++) want[l] = 1;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage(argv[0]);
    const char *opt = argv[i], *val = argv[++i];
    if (!strcmp(opt, "--hidden")) hidden = atoi(val);
    else if (!strcmp(opt, "--layers")) layers = atoi(val);
    else if (!strcmp(opt, "--threads")) threads = atoi(val);
    else if (!strcmp(opt, "--steps")) steps = atoi(val);
    else if (!strcmp(opt, "--reps")) reps = atoi(val);
    else if (!strcmp(opt, "--libs")) {
      for (int l = 0; l < NLIBS; l++) want[l] = strstr(val, lib_name[l]) != NULL;
      want[LIB_OPENBLAS] = 1; /* the reference */
    } else usage(argv[0]);
  }
  if (hidden < 1 || layers < 1 || layers > 2 || threads < 1 || steps < 1 || reps < 1 || reps > MAX_REPS)
    usage(argv[0]);

  openblas_set_num_threads(1);
  bli_init();
  libxsmm_init();
  libxsmm_set_verbosity(0);
  original_sgemm = libxsmm_original_sgemm();
  libxsmm_original_sgemm_function = counting_sgemm;
  const char *cblas_lib = lib_of((const void *)(uintptr_t)cblas_sgemm);
  const char *fallback_lib = lib_of((const void *)(uintptr_t)original_sgemm);
  if (!strstr(cblas_lib, "openblas") || !strstr(fallback_lib, "openblas")) {
    fprintf(stderr, "FAIL: cblas_sgemm comes from %s and libxsmm's fallback sgemm_ from %s, not OpenBLAS "
            "(link -lxsmm -lopenblas -lblis, in that order)\n", cblas_lib, fallback_lib);
    return 2;
  }

  build_problem(hidden, layers);
  xsmm_prepare();
  double flops = step_flops();
  const char *config = openblas_get_config(), *pinned = getenv("OPENBLAS_CORETYPE");
  printf("MLP %d", D);
  for (int l = 0; l < layers; l++) printf(" -> %d", hidden);
  printf(" -> %d, batch %d: %d GEMMs, %.1f MFLOP per step per member; %d thread%s, %d steps, median of %d reps\n",
         C, B, nops, flops / 1e6, threads, threads == 1 ? "" : "s", steps, reps);
  printf("OpenBLAS: %s, kernel %s%s%s%s | BLIS %s, arch %s | libxsmm %s, JIT target %s, "
         "fallback sgemm_ from %s\n",
         config ? config : "?",
         openblas_get_corename(), pinned ? " (OPENBLAS_CORETYPE=" : "", pinned ? pinned : "", pinned ? ")" : "",
         bli_info_get_version_str(), bli_arch_string(bli_arch_query_id()), LIBXSMM_CONFIG_VERSION,
         libxsmm_get_target_arch(), fallback_lib);

  long fallbacks[MAX_OPS] = {0};
  printf("\nCorrectness, one step vs OpenBLAS: per GEMM max|diff| / max|OpenBLAS|\n");
  if (!check_outputs(fallbacks)) {
    fprintf(stderr, "FAIL: outputs differ from OpenBLAS's beyond rounding (wrong layout or transpose?)\n");
    return 2;
  }

  printf("\nGEMMs (column-major, C = op(A) op(B) [+ C]) and the libxsmm paths:\n");
  printf("| # | GEMM | trans | m x n x k | MFLOP | libxsmm-jit | libxsmm-sgemm |\n|---|---|---|---|---|---|---|\n");
  for (int i = 0; i < nops; i++) {
    const op_t *o = &ops[i];
    printf("| %d | %s | %c%c | %d x %d x %d | %.2f | %s | %s |\n", i + 1, o->label, o->ta ? 'T' : 'N',
           o->tb ? 'T' : 'N', o->m, o->n, o->k, 2.0 * o->m * o->n * o->k / 1e6,
           xsmm_trans_a[i] ? "libxsmm_otrans(A) + JIT" : o->tb ? "JIT (trans B)" : "JIT",
           fallbacks[i] ? "BLAS fallback (OpenBLAS sgemm_)" : "libxsmm JIT");
  }

  double ceiling = ceiling_gflops(threads, 5);
  printf("\nCeiling: OpenBLAS 1024^3 SGEMM on %d thread%s at once, best of 5: %.1f GFLOP/s\n\n", threads,
         threads == 1 ? "" : "s", ceiling);

  result_t res[NLIBS];
  int done[NLIBS] = {0};
  for (int lib = 0; lib < NLIBS; lib++)
    if (want[lib]) {
      res[lib] = bench_lib(lib, threads, steps, reps);
      if (!res[lib].ok) {
        fprintf(stderr, "FAIL: out of memory\n");
        return 2;
      }
      done[lib] = 1;
    }

  printf("| library | GFLOP/s (%d thr) | of ceiling | ms/step |", threads);
  for (int i = 0; i < nops; i++) printf(" %d ms |", i + 1);
  printf("\n|---|---|---|---|");
  for (int i = 0; i < nops; i++) printf("---|");
  printf("\n");
  for (int lib = 0; lib < NLIBS; lib++) {
    if (!done[lib]) continue;
    double per_step = res[lib].seconds / steps, gflops = flops * threads / per_step / 1e9;
    printf("| %s | %.1f | %.2f | %.3f |", lib_name[lib], gflops, ceiling > 0 ? gflops / ceiling : 0, per_step * 1e3);
    for (int i = 0; i < nops; i++) printf(" %.4f |", res[lib].op_seconds[i] * 1e3);
    printf("\n");
  }
  printf("\nPer-GEMM GFLOP/s on thread 0 (while all %d run):\n| library |", threads);
  for (int i = 0; i < nops; i++) printf(" %d |", i + 1);
  printf("\n|---|");
  for (int i = 0; i < nops; i++) printf("---|");
  printf("\n");
  for (int lib = 0; lib < NLIBS; lib++) {
    if (!done[lib]) continue;
    printf("| %s |", lib_name[lib]);
    for (int i = 0; i < nops; i++) {
      double t = res[lib].op_seconds[i];
      printf(" %.1f |", t > 0 ? 2.0 * ops[i].m * ops[i].n * ops[i].k / t / 1e9 : 0);
    }
    printf("\n");
  }
  if (done[LIB_BLIS_TRANS] && done[LIB_BLIS_STRIDES])
    printf("\nBLIS: %s was faster (trans flags %.3f ms/step, swapped strides %.3f ms/step)\n",
           res[LIB_BLIS_TRANS].seconds <= res[LIB_BLIS_STRIDES].seconds ? "trans flags" : "swapped strides",
           res[LIB_BLIS_TRANS].seconds / steps * 1e3, res[LIB_BLIS_STRIDES].seconds / steps * 1e3);
  printf("Per-GEMM ms: per call on thread 0, median over reps; libxsmm-jit's TN GEMMs include their A transpose.\n");
  libxsmm_finalize();
  return 0;
}
