#include "caviar/cpu_ceiling.h"

#include <cblas.h>
#include <omp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/status.h"

enum { CEILING_N = 1024 };

double caviar_cpu_sgemm_gflops(int repeats) {
  int threads = omp_get_max_threads();
  double best = 0;
  openblas_set_num_threads(1);
  for (int r = 0; r < repeats; r++) {
    double start = 0, elapsed = 0;
    bool ok = true;
#pragma omp parallel num_threads(threads) reduction(&& : ok)
    {
      size_t n = (size_t)CEILING_N * CEILING_N;
      float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
      ok = a && b && c;
      if (ok) {
        for (size_t i = 0; i < n; i++) a[i] = b[i] = (float)(i % 17) * 0.01f;
        /* Warm up (page faults, OpenBLAS buffers), then start together. */
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, CEILING_N, CEILING_N, CEILING_N, 1.0f, a, CEILING_N, b,
                    CEILING_N, 0.0f, c, CEILING_N);
      }
#pragma omp barrier
#pragma omp master
      start = caviar_now();
#pragma omp barrier
      if (ok)
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, CEILING_N, CEILING_N, CEILING_N, 1.0f, a, CEILING_N, b,
                    CEILING_N, 0.0f, c, CEILING_N);
#pragma omp barrier
#pragma omp master
      elapsed = caviar_now() - start;
      free(a);
      free(b);
      free(c);
    }
    double gflops = ok && elapsed > 0 ? 2.0 * CEILING_N * CEILING_N * CEILING_N * threads / elapsed / 1e9 : 0;
    if (gflops > best) best = gflops;
  }
  return best;
}

const char *caviar_cpu_description(void) {
  static char text[128];
  if (!text[0]) {
    caviar_blas_info blas;
    caviar_cpu_blas(&blas);
    int threads = omp_get_max_threads();
    snprintf(text, sizeof text, "cpu (OpenBLAS %s %s, %d OpenMP thread%s)", blas.version, blas.kernel, threads,
             threads == 1 ? "" : "s");
  }
  return text;
}

void caviar_cpu_blas(caviar_blas_info *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->library, sizeof out->library, "OpenBLAS");
  char *config = openblas_get_config();
  snprintf(out->version, sizeof out->version, "?");
  if (config && strncmp(config, "OpenBLAS ", 9) == 0) sscanf(config + 9, "%31s", out->version);
  char *core = openblas_get_corename();
  snprintf(out->kernel, sizeof out->kernel, "%s", core ? core : "?");
  const char *pinned = getenv("OPENBLAS_CORETYPE");
  snprintf(out->pinned, sizeof out->pinned, "%s", pinned ? pinned : "");
}

void caviar_blas_text(const caviar_blas_info *blas, char *out, size_t size) {
  if (!blas->kernel[0]) {
    snprintf(out, size, "%s %s", blas->library, blas->version);
    return;
  }
  snprintf(out, size, "%s %s, kernel %s (%s)", blas->library, blas->version, blas->kernel,
           blas->pinned[0] ? "pinned by OPENBLAS_CORETYPE" : "OpenBLAS's choice for this CPU");
}
