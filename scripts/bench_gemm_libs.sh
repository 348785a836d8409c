#!/usr/bin/env bash
# Times OpenBLAS vs BLIS vs libxsmm on the per-member SGEMMs of one MLP training step; needs libblis-dev and libxsmm-dev (apt-get install -y libblis-dev libxsmm-dev).
# One member per thread on all cores at once, each library single-threaded inside (how the trainer uses the cores).
#
# Usage: scripts/bench_gemm_libs.sh                 # --hidden 128, then --hidden 512 --layers 2
#        scripts/bench_gemm_libs.sh ARGS...         # one run with ARGS, e.g. --hidden 256 --steps 200 --reps 9
# Options of the binary: --hidden H (128) --layers 1|2 (1) --threads T (2) --steps S (200) --reps R (9)
#                        --libs openblas,blis-trans,blis-strides,libxsmm-jit,libxsmm-sgemm (all)
# Builds scripts/bench_gemm_libs.c into build-gemm-libs/ (git-ignored). OPENBLAS_CORETYPE and the OMP_* variables
# are used as the environment has them. Run it on a quiet machine: it measures all cores at once.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in libblis-dev libxsmm-dev libopenblas-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench_gemm_libs.sh: missing ${missing[*]}: apt-get install -y ${missing[*]}" >&2
  exit 1
fi

# blis.h lives in a per-threading-variant directory on Debian (blis-openmp by default); it is searched after the
# system directories (-idirafter) so that the BLIS directory's own cblas.h never shadows anything.
triplet=$(gcc -dumpmachine)
blis_dir=""
for d in /usr/include/blis "/usr/include/$triplet/blis-openmp" "/usr/include/$triplet/blis-pthread" \
  "/usr/include/$triplet/blis-serial"; do
  if [ -f "$d/blis.h" ]; then blis_dir=$d; break; fi
done
[ -n "$blis_dir" ] || { echo "bench_gemm_libs.sh: blis.h not found (libblis-dev)" >&2; exit 1; }

mkdir -p build-gemm-libs
# Link order matters: libxsmm.a needs the BLAS after it, and OpenBLAS must come before BLIS (both export
# cblas_sgemm and sgemm_); the binary checks that both resolve to OpenBLAS and stops otherwise.
gcc -O2 -march=native -fopenmp -std=c11 -Wall -Wextra -idirafter "$blis_dir" scripts/bench_gemm_libs.c \
  -lxsmm -lopenblas -lblis -lpthread -lrt -ldl -lm -o build-gemm-libs/bench_gemm_libs

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(hostname), $(nproc) cores, $cpu," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
if [ $# -gt 0 ]; then
  build-gemm-libs/bench_gemm_libs "$@"
else
  echo
  echo "## --hidden 128"
  build-gemm-libs/bench_gemm_libs --hidden 128
  echo
  echo "## --hidden 512 --layers 2"
  build-gemm-libs/bench_gemm_libs --hidden 512 --layers 2
fi
