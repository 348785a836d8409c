#!/usr/bin/env bash
# Installs what caviar needs from Debian's packages (only what is missing) and builds it.
# Idempotent: a second run installs nothing and rebuilds only what changed.
#   scripts/setup.sh            CPU build in build/ (plus the CUDA backend when nvcc is present)
#   CAVIAR_CUDA=OFF scripts/setup.sh    CPU only, no CUDA dependency
#   CAVIAR_FUZZ=ON CAVIAR_PACKAGES_ONLY=1 scripts/setup.sh   also clang for scripts/fuzz.sh; no build
#   scripts/setup.sh --check    say which of the packages are missing (exit 1 if any); install and
#                               build nothing (tests/check_readme.py runs README's setup line so)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libcjson-dev libcriterion-dev libopenblas-dev zlib1g-dev
          librandom123-dev libgsl-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin
          python3-matplotlib python3-sklearn python3-numpy)
# scripts/fuzz.sh builds the fuzz targets with clang's libFuzzer (and its OpenMP runtime).
[ "${CAVIAR_FUZZ:-OFF}" = ON ] && packages+=(clang libomp-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${1:-}" = --check ]; then
  [ ${#missing[@]} -eq 0 ] && { echo "setup: every package is installed" >&2; exit 0; }
  echo "setup: missing ${missing[*]} (scripts/setup.sh installs them)" >&2
  exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q >&2
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
# Optional: python3-torch lets tests/check_torch.py run README's PyTorch snippet (it skips without
# it). About 150 packages, installed in under two minutes here; a failure costs only that test.
if ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
  echo "setup: installing python3-torch (optional, for the PyTorch loading test)" >&2
  [ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-torch >&2 ||
    echo "setup: python3-torch not installed; the PyTorch loading test will skip" >&2
fi

[ "${CAVIAR_PACKAGES_ONLY:-0}" = 1 ] && exit 0

# nvcc ships outside PATH in the CUDA toolkit's default location.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi

build_dir=${CAVIAR_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCAVIAR_CUDA="${CAVIAR_CUDA:-AUTO}" -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$build_dir" -j"$(nproc)" >&2
echo "setup: built $build_dir/caviar" >&2
