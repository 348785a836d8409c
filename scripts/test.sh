#!/usr/bin/env bash
# Runs setup, then every test of every variant that builds here:
#   build-cpu   CAVIAR_CUDA=OFF: the CPU fallback build, no CUDA dependency
#   build       CAVIAR_CUDA=AUTO: with the CUDA backend when nvcc is present (GPU tests skip
#               cleanly, saying why, on machines without a GPU)
set -euo pipefail
cd "$(dirname "$0")/.."

CAVIAR_CUDA=OFF CAVIAR_BUILD_DIR=build-cpu scripts/setup.sh
scripts/setup.sh

status=0
for dir in build-cpu build; do
  echo "== tests: $dir" >&2
  ctest --test-dir "$dir" --output-on-failure -j2 || status=1
done
exit $status
