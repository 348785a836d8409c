#!/usr/bin/env bash
# caviar's CPU convolution against oneDNN's (Debian's libdnnl-dev, installed here if missing), one
# thread each, the same layers: scripts/bench_conv_onednn.c. The decision it informs (im2col +
# OpenBLAS, or oneDNN) and its numbers are in docs/PERF.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! dpkg-query -W -f='${Status}' libdnnl-dev 2>/dev/null | grep -q "install ok installed"; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends libdnnl-dev >&2
fi
CAVIAR_CUDA=OFF CAVIAR_BUILD_DIR=build-cpu scripts/setup.sh >/dev/null 2>&1
mkdir -p build-cpu/bench
# The library's own link line (cJSON, OpenBLAS, GSL, zlib, OpenMP, MPI where built with it).
libs=$(pkg-config --libs libcjson gsl zlib yaml-0.1 2>/dev/null || echo "-lcjson -lgsl -lgslcblas -lz -lyaml")
mpi=$(grep -q "CAVIAR_WITH_MPI:INTERNAL=ON\|CAVIAR_WITH_MPI:BOOL=ON" build-cpu/CMakeCache.txt && mpicc --showme:link 2>/dev/null || true)
gcc -O2 -march=native -fopenmp -std=c11 -Iinclude -Ihost scripts/bench_conv_onednn.c build-cpu/libcaviar_core.a \
  -ldnnl -lopenblas $libs $mpi -lm -o build-cpu/bench/bench_conv_onednn
OPENBLAS_NUM_THREADS=1 build-cpu/bench/bench_conv_onednn "${1:-7}"
