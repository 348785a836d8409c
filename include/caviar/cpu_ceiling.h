#ifndef CAVIAR_CPU_CEILING_H
#define CAVIAR_CPU_CEILING_H
/* The CPU's measured SGEMM ceiling, the number every CPU training speed is quoted against. */

#include "caviar/backend.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

/* GFLOP/s of OpenBLAS SGEMM on 1024 x 1024 x 1024, every OpenMP thread running its own
 * single-threaded SGEMM at once (the way the CPU backend uses BLAS); best of `repeats`. */
double caviar_cpu_sgemm_gflops(int repeats);

/* "cpu (OpenBLAS 0.3.21 Haswell, 2 OpenMP threads)": the CPU backend's machinery, its kernel named. */
const char *caviar_cpu_description(void);

/* The OpenBLAS this process loaded: its version, the core it runs (openblas_get_corename: chosen
 * for this CPU as the library loads, or OPENBLAS_CORETYPE's) and OPENBLAS_CORETYPE as set. */
void caviar_cpu_blas(caviar_blas_info *out);

/* "OpenBLAS 0.3.21, kernel Haswell (pinned by OPENBLAS_CORETYPE)" style, for messages. */
void caviar_blas_text(const caviar_blas_info *blas, char *out, size_t size);

CAVIAR_C_END

#endif
