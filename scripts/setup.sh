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

packages=(build-essential cmake pkg-config libcjson-dev libyaml-dev libcriterion-dev libopenblas-dev zlib1g-dev
          librandom123-dev libgsl-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin
          python3-numpy)
# scripts/fuzz.sh builds the fuzz targets with clang's libFuzzer (and its OpenMP runtime).
[ "${CAVIAR_FUZZ:-OFF}" = ON ] && packages+=(clang libomp-dev)
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
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
  "${sudo_cmd[@]}" apt-get update -q >&2
  apt_updated=1
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# optional PACKAGE WHAT-FOR: installs a Debian package that only some tests or tools use; where it
# cannot (no root, no sudo, no network), says what skips instead and goes on.
optional() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" && return 0
  echo "setup: installing $1 (optional, for $2)" >&2
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "$1" >&2 && return 0
  # Package lists never fetched (nothing else was missing): fetch them once and try again.
  if [ $apt_updated = 0 ]; then
    apt_updated=1
    "${sudo_cmd[@]}" apt-get update -q >&2 && "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "$1" >&2 &&
      return 0
  fi
  echo "setup: $1 not installed; $2 will skip" >&2
}
# python3-torch: tests/check_torch.py runs README's PyTorch snippet (about 150 packages, 20 s here).
optional python3-torch "the PyTorch loading test"
# chromium: tests/test_report.c opens report.html in a real browser, and
# scripts/screenshot_report.sh takes the README's screenshot (about 20 s here).
optional chromium "the report's browser test"
# TensorBoard from PyPI in .venv: tests/check_tensorboard.py reads a sweep's event files with
# TensorBoard's own loaders (about 180 MB, under two minutes here). A venv that could not be made
# whole is removed, so the test skips rather than failing on a half-made one.
if [ ! -x .venv/bin/tensorboard ]; then
  echo "setup: installing tensorboard into .venv (optional, for the TensorBoard loader test)" >&2
  if ! { python3 -m venv .venv >&2 && .venv/bin/pip install -q --disable-pip-version-check tensorboard >&2; }; then
    rm -rf .venv
    echo "setup: tensorboard not installed; tests/check_tensorboard.py will skip" >&2
  fi
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
