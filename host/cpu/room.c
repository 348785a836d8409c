/* Room for OpenBLAS's buffers under an address-space limit (include/caviar/cpu_room.h). */
#include "caviar/cpu_room.h"

#include <cblas.h>
#include <omp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

/* Whether bytes of address space can be mapped now (reserved without memory, then let go). */
static bool fits(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  munmap(p, bytes);
  return true;
}

caviar_status caviar_cpu_claim_blas(char *note, size_t size, caviar_error *err) {
  note[0] = '\0';
  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return CAVIAR_OK;
  int threads = omp_get_max_threads();
  /* The threads first (their stacks are mapped now, not after the probe). */
#pragma omp parallel num_threads(threads)
  {
  }
  /* Besides the buffers, room for the first allocations of the run (a slack of 64 MiB). */
  const size_t slack = (size_t)64 << 20;
  int fit = threads;
  while (fit > 0 && !fits((size_t)fit * CAVIAR_BLAS_BUFFER_BYTES + slack)) fit--;
  unsigned long long kib = (unsigned long long)limit.rlim_cur / 1024;
  if (fit == 0)
    return caviar_fail(err, CAVIAR_ERUNTIME,
                       "the address-space limit (ulimit -v %llu KiB) leaves no room for OpenBLAS's buffer (%zu MiB a "
                       "thread, and %zu MiB to run): raise the limit",
                       kib, CAVIAR_BLAS_BUFFER_BYTES >> 20, slack >> 20);
  if (fit < threads) {
    omp_set_num_threads(fit);
    snprintf(note, size,
             "the address-space limit (ulimit -v %llu KiB) leaves room for OpenBLAS's buffers (%zu MiB a thread) on %d "
             "of %d threads: training on %d",
             kib, CAVIAR_BLAS_BUFFER_BYTES >> 20, fit, threads, fit);
  }
  /* Each thread's first call maps its buffer now, while the room is there; later calls reuse it. */
  openblas_set_num_threads(1);
  /* Big enough (128^3) that OpenBLAS takes its buffered path, not its small-matrix kernels. */
  enum { N = 128 };
  bool ok = true;
#pragma omp parallel num_threads(fit) reduction(&& : ok)
  {
    float *m = calloc(3 * N * N, sizeof *m);
    if (m) cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, m, N, m + N * N, N, 0.0f, m + 2 * N * N, N);
    ok = m != NULL;
    free(m);
  }
  if (!ok) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory starting OpenBLAS's threads");
  return CAVIAR_OK;
}
