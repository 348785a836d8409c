#!/usr/bin/env bash
# Runs setup, then every test of every variant that builds here:
#   build-cpu   CAVIAR_CUDA=OFF: the CPU fallback build, no CUDA dependency
#   build       CAVIAR_CUDA=AUTO: with the CUDA backend when nvcc is present (GPU tests skip
#               cleanly, saying why, on machines without a GPU)
#   build-asan  CAVIAR_CUDA=OFF, CAVIAR_SANITIZE=ON: the CPU tests again under AddressSanitizer,
#               LeakSanitizer and UBSan; any report fails its test (tests/CMakeLists.txt)
set -euo pipefail
cd "$(dirname "$0")/.."

CAVIAR_CUDA=OFF CAVIAR_BUILD_DIR=build-cpu scripts/setup.sh
scripts/setup.sh
cmake -S . -B build-asan -DCAVIAR_CUDA=OFF -DCAVIAR_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
cmake --build build-asan -j"$(nproc)" >&2

status=0
for dir in build-cpu build build-asan; do
  echo "== tests: $dir" >&2
  ctest --test-dir "$dir" --output-on-failure -j2 || status=1
done
exit $status
