#!/usr/bin/env bash
# Run HERE, before a device call: the device machine has CUDA, PyTorch and JAX but none of caviar's
# Debian libraries and no network, so this builds caviar for sm_90 on this machine (host code for
# x86-64-v3, not this CPU), gathers the binaries, the shared libraries they need that a CUDA image
# lacks, and Fashion-MNIST into one gzip-compressed bundle, .device/bundle.tar.gz (carried, about
# 40 MB; gzip because xz may be missing there). Then, with a timeout that leaves room for a rerun:
#   run(command="scripts/device-check.sh", carry=[".device/bundle.tar.gz"], timeout_s=440)
# CAVIAR_DEVICE_BUILD=DIR bundles that existing build instead (no setup, no build: the dry-run
# test does this); CAVIAR_BUNDLE=FILE writes the bundle there instead of .device/bundle.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle_file=$(realpath -m "${CAVIAR_BUNDLE:-.device/bundle.tar.gz}")
if [ -n "${CAVIAR_DEVICE_BUILD:-}" ]; then
  build=$CAVIAR_DEVICE_BUILD
else
  scripts/setup.sh >/dev/null 2>&1 || scripts/setup.sh
  build=build-device
  cmake -S . -B "$build" -DCAVIAR_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCAVIAR_NATIVE=OFF \
    -DCMAKE_C_FLAGS="-march=x86-64-v3" -DCMAKE_BUILD_TYPE=Release >&2
  cmake --build "$build" -j"$(nproc)" >&2
fi

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
stage=$staging/bundle
mkdir -p "$stage/bin" "$stage/lib" "$stage/data/fashion-mnist" "$(dirname "$bundle_file")"
binaries=("$build/caviar" "$build/tests/test_rng_gpu" "$build/tests/test_backend_agreement" "$build/tests/test_cuda_plan")
cp "${binaries[@]}" "$stage/bin/"
# CAVIAR_BASELINE=path/to/caviar: the previous build's binary, benchmarked beside this one.
if [ -n "${CAVIAR_BASELINE:-}" ]; then cp "$CAVIAR_BASELINE" "$stage/bin/caviar-base"; fi
# Every shared library the binaries load (the CUDA runtime too: the image's toolkit may be older),
# except what any glibc system has and cuBLAS (the image's, found by device-check.sh: 700 MB).
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|librt\.|libpthread\.|libresolv\.|libstdc\+\+|libgcc_s|libcuda\.|libcublas|libnvidia)'
for b in "${binaries[@]}"; do
  ldd "$b" | awk '/=> \//{print $1, $3}'
done | sort -u | while read -r name path; do
  if ! [[ "$name" =~ $skip ]]; then cp -L "$path" "$stage/lib/$name"; fi
done
cp /usr/share/datasets/fashion-mnist/*.gz "$stage/data/fashion-mnist/"
tar -C "$staging" -czf "$bundle_file.tmp" bundle
mv "$bundle_file.tmp" "$bundle_file"
echo "device-prepare: $bundle_file $(du -h "$bundle_file" | cut -f1)" >&2
