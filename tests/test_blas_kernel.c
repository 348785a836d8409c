/* The BLAS on record and pinned (issue 27): summary.json names the library, version and kernel a
 * sweep's GEMMs ran on; --blas-kernel NAME and OPENBLAS_CORETYPE=NAME run the same kernel, so the
 * same spec and seed give byte for byte the same results by either route (the check that would
 * catch a kernel not pinned); a kernel OpenBLAS lacks is refused in one line; a resume on another
 * kernel than the sweep started on warns, naming both. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"
#include "synth_support.h"

static const char *spec;

static void setup(void) {
  const char *data = synth_idx_dir("blas", 400, 100, 12, 4, 1.5, false);
  spec = synth_sh_spec(data, "blas.json");
}

TestSuite(blas_kernel, .init = setup, .timeout = 600);

/* summary.json's "blas" of the sweep in dir: its kernel and pinned ("" for null) must be as given. */
static void expect_blas(const char *dir, const char *kernel, const char *pinned) {
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  cJSON *s = scratch_read_json(path), *blas = cJSON_GetObjectItem(s, "blas");
  cr_assert(cJSON_IsObject(blas), "%s: no blas record", path);
  cr_expect_str_eq(cJSON_GetObjectItem(blas, "library")->valuestring, "OpenBLAS");
  cr_expect(cJSON_IsString(cJSON_GetObjectItem(blas, "version")), "%s: no version", path);
  cr_expect_str_eq(cJSON_GetObjectItem(blas, "kernel")->valuestring, kernel, "%s: not the kernel run", path);
  const cJSON *p = cJSON_GetObjectItem(blas, "pinned");
  cr_expect_str_eq(cJSON_IsString(p) ? p->valuestring : "", pinned, "%s: pinned", path);
  cJSON_Delete(s);
}

static void sweep(const char *env, const char *flags, const char *dir) {
  char args[2048];
  snprintf(args, sizeof args, "sweep %s -o %s -q %s", spec, scratch_path(dir), flags);
  cli_result r = run_caviar_with(env, args);
  cr_assert_eq(r.status, 0, "caviar %s: %s", args, r.err);
  cli_result_free(&r);
}

/* The kernel OpenBLAS picks here, as caviar info names it ("kernel NAME ("). */
static void own_kernel(char *out, size_t size) {
  cli_result r = run_caviar_with("unset OPENBLAS_CORETYPE;", "info");
  cr_assert_eq(r.status, 0, "%s", r.err);
  const char *at = strstr(r.out, "kernel ");
  cr_assert_not_null(at, "caviar info names no kernel: %s", r.out);
  at += strlen("kernel ");
  size_t n = strcspn(at, " (");
  snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), at);
  cli_result_free(&r);
}

Test(blas_kernel, a_kernel_pinned_by_the_flag_or_the_variable_gives_the_same_results_and_is_named) {
  /* Haswell (AVX2, which caviar asks of x86-64) and Prescott (SSE3, any x86-64): two kernels, each
   * by both routes. */
  const char *const kernels[] = {"Haswell", "Prescott"};
  for (int k = 0; k < 2; k++) {
    char flag[64], env[96], a[32], b[32], what[96];
    snprintf(flag, sizeof flag, "--blas-kernel %s", kernels[k]);
    snprintf(env, sizeof env, "OPENBLAS_CORETYPE=%s", kernels[k]);
    snprintf(a, sizeof a, "flag-%d", k);
    snprintf(b, sizeof b, "variable-%d", k);
    sweep("unset OPENBLAS_CORETYPE;", flag, a);
    sweep(env, "", b);
    snprintf(what, sizeof what, "%s by OPENBLAS_CORETYPE against --blas-kernel", kernels[k]);
    char pa[1100], pb[1100];
    snprintf(pa, sizeof pa, "%s", scratch_path(a));
    snprintf(pb, sizeof pb, "%s", scratch_path(b));
    expect_same_results(pa, pb, what);
    expect_blas(pa, kernels[k], kernels[k]);
  }
  /* The comparison can tell kernels apart: Haswell's FMA rounds otherwise than Prescott's SSE. */
  char command[4096];
  snprintf(command, sizeof command, "cmp -s %s/curves.csv ", scratch_path("flag-0"));
  snprintf(command + strlen(command), sizeof command - strlen(command), "%s/curves.csv", scratch_path("flag-1"));
  cr_expect_neq(system(command), 0, "two kernels gave the same curves: the comparison above could not see a kernel");
  /* Unpinned: the kernel OpenBLAS picked, and nothing pinned. */
  char own[64];
  own_kernel(own, sizeof own);
  sweep("unset OPENBLAS_CORETYPE;", "", "own");
  expect_blas(scratch_path("own"), own, "");
}

Test(blas_kernel, a_kernel_openblas_lacks_is_refused_in_one_line_naming_it) {
  char args[2048];
  snprintf(args, sizeof args, "sweep %s -o %s -q --blas-kernel NoSuchCore", spec, scratch_path("none"));
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
  cr_expect(strstr(r.err, "--blas-kernel NoSuchCore") && strstr(r.err, "runs"), "%s", r.err);
  cli_result_free(&r);
  r = run_caviar("info --blas-kernel");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "--blas-kernel expects a kernel name") != NULL, "%s", r.err);
  cli_result_free(&r);
}

Test(blas_kernel, a_resume_on_another_kernel_warns_naming_both_and_on_the_same_one_does_not) {
  char args[2048];
  const char *out = scratch_path("resumed");
  for (int other = 0; other < 2; other++) {
    snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0 --force --blas-kernel Haswell", spec, out);
    cli_result r = run_caviar_with("CAVIAR_KILL_AT=epoch:3", args);
    cr_assert_eq(r.status, 137, "not killed: %s", r.err);
    cli_result_free(&r);
    snprintf(args, sizeof args, "sweep --resume %s -q --blas-kernel %s", out, other ? "Prescott" : "Haswell");
    r = run_caviar(args);
    cr_expect_eq(r.status, 0, "%s", r.err);
    if (other)
      cr_expect(strstr(r.err, "warning") && strstr(r.err, "kernel Haswell") && strstr(r.err, "kernel Prescott") &&
                    strstr(r.err, "--blas-kernel Haswell"),
                "no warning naming both kernels: %s", r.err);
    else
      cr_expect(strstr(r.err, "warning") == NULL, "a resume on the same kernel warned: %s", r.err);
    cli_result_free(&r);
  }
}
