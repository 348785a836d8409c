#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (one H100 or H200) after scripts/device-prepare.sh made the bundle here:
#   run(command="scripts/device-check.sh", carry=[".device/bundle.tar.gz"], timeout_s=440)
# It runs the GPU tests, the default sweep on the GPU, the benchmarks (N = 16..4096 under each
# chunking, TF32, eager; with the same run's ceilings and floors; the previous build's when the
# bundle holds it), compute-sanitizer memcheck on tiny sweeps, the peers (PyTorch, JAX), an Nsight
# Compute look at one step, the TF32 peers and racecheck, in that order, under one deadline: a step
# gets at most what is left of CAVIAR_DEADLINE seconds (default 400), and steps past it are skipped
# and marked so. CAVIAR_CHECK=quick runs the tests, the default sweep, N = 1024 and memcheck only.
# Whatever happens, the EXIT trap writes $OUT/table.txt (the summary table, also printed) and
# $OUT/logs.tar.gz (every step's log, the GPU sweep's summary.json and curves.csv). A device run
# returns at most 8 files, so nothing else is written under $OUT.
# Without a GPU (a dry run here: OUT=/tmp/x scripts/device-check.sh) it says so, every step fails
# or skips quickly, and the table and tarball are still written.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
OUT=${OUT:-/tmp/caviar-device-out}
deadline=${CAVIAR_DEADLINE:-400}
mkdir -p "$OUT"
work=$(mktemp -d)
logs="$work/logs"
mkdir -p "$logs"
: >"$logs/steps.txt"
status=0
started=$SECONDS

finish() {
  trap - EXIT INT TERM
  python3 "$root/scripts/device_table.py" "$logs" >"$OUT/table.txt" 2>&1 ||
    { echo "device_table.py failed:"; tail -n 20 "$OUT/table.txt"; } >>"$OUT/table.txt"
  cat "$OUT/table.txt"
  tar -C "$work" -czf "$OUT/logs.tar.gz" logs 2>/dev/null || echo "could not write $OUT/logs.tar.gz" >&2
  rm -rf "$work"
  exit $status
}
trap finish EXIT
trap 'echo "interrupted" >>"$logs/steps.txt"; status=1; exit 1' INT TERM

note() { echo "$*" | tee -a "$logs/steps.txt"; }

# The bundle: gzip, or Python's tarfile where tar or gzip is missing.
bundle_file=${CAVIAR_BUNDLE:-.device/bundle.tar.gz}
if [ ! -f "$bundle_file" ]; then
  note "no $bundle_file: run scripts/device-prepare.sh here and carry it"
  status=1
  exit 1
fi
if ! tar -C "$work" -xzf "$bundle_file" 2>"$logs/unpack.log"; then
  python3 -m tarfile -e "$bundle_file" "$work" 2>>"$logs/unpack.log" || { note "cannot unpack $bundle_file"; status=1; exit 1; }
fi
bundle="$work/bundle"
data="$bundle/data/fashion-mnist"

# cuBLAS for caviar's binaries only: the toolkit's, or the one PyTorch's wheels bring. The bundled
# Debian libraries (libz, libgomp, OpenBLAS, ...) go first for caviar and nowhere else, so torch
# and JAX in the peers step load their own.
cublas_lib=$(find /usr/local/cuda*/ /usr/lib /opt -name 'libcublas.so.13*' 2>/dev/null | head -n 1)
cublas_dir=${cublas_lib:+$(dirname "$cublas_lib")}
caviar_ld="$bundle/lib:${cublas_dir:-/usr/local/cuda/lib64}:/usr/local/cuda/lib64"
runner="$work/with-caviar-libs"
printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$@"\n' "$caviar_ld" >"$runner"
chmod +x "$runner"
caviar_cmd="$work/caviar"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$runner" "$bundle/bin/caviar" >"$caviar_cmd"
chmod +x "$caviar_cmd"

# compute-sanitizer from the toolkit's bin folder: it need not be on PATH.
sanitizer=""
for c in "${CUDA_HOME:-/nonexistent}/bin/compute-sanitizer" /usr/local/cuda/bin/compute-sanitizer \
  /usr/local/cuda-*/bin/compute-sanitizer "$(command -v compute-sanitizer 2>/dev/null)"; do
  if [ -n "$c" ] && [ -x "$c" ]; then sanitizer=$c; break; fi
done

# step NAME SECONDS COMMAND...: runs within its own limit and what is left of the deadline, logs to
# $logs/NAME.log, records pass, fail, timeout or skip. A caviar run that fell back from step graphs
# to direct launches fails its step: a benchmark would otherwise time eager mode unnoticed.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - (SECONDS - started)))
  if [ "$left" -lt 15 ]; then
    note "$name skipped: deadline (${deadline}s) reached"
    status=1
    return 1
  fi
  [ "$limit" -le "$left" ] || limit=$left
  local start=$SECONDS
  timeout --kill-after=5 "$limit" "$@" >"$logs/$name.log" 2>&1
  local rc=$?
  local verdict=ok
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then verdict="timeout after ${limit}s"
  elif [ $rc -ne 0 ]; then verdict="failed"; fi
  if grep -q "no CUDA graph for the training step" "$logs/$name.log"; then
    verdict="$verdict; EAGER FALLBACK (step graph not captured)"
    [ $rc -ne 0 ] || rc=1
  fi
  note "$name rc=$rc $((SECONDS - start))s $verdict"
  [ $rc -eq 0 ] || status=1
  return $rc
}

{
  date -u
  if grep -q GPU <<<"$(nvidia-smi -L 2>/dev/null || true)"; then
    nvidia-smi -L
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null
  else
    echo "NO GPU: nvidia-smi lists no device here; every GPU step below fails or skips, nothing ran on a GPU"
  fi
  echo "toolkits: $(ls -d /usr/local/cuda* 2>/dev/null | tr '\n' ' ')nvcc: $(nvcc --version 2>/dev/null | tail -n 1)"
  echo "cuBLAS: ${cublas_lib:-not found (libcublas.so.13)}"
  echo "compute-sanitizer: ${sanitizer:-not found}"
  "$caviar_cmd" info
} >"$logs/gpu.txt" 2>&1
cat "$logs/gpu.txt"

# 1. The GPU tests. On a GPU machine a skipped GPU test is a failure: the device was not usable.
step test_rng_gpu 60 "$runner" "$bundle/bin/test_rng_gpu" --verbose
step test_cuda_plan 30 "$runner" "$bundle/bin/test_cuda_plan" --verbose
step test_backend_agreement 150 "$runner" "$bundle/bin/test_backend_agreement" --verbose --jobs 1
for t in test_rng_gpu test_backend_agreement; do
  if grep -q "\[SKIP\]" "$logs/$t.log" 2>/dev/null; then
    note "$t skipped on this machine: $(grep -m1 '\[SKIP\]' "$logs/$t.log")"
    status=1
  fi
done

# 2. The README's main job on the GPU: the default sweep end to end (its output outside $OUT).
step default_sweep 120 "$caviar_cmd" sweep --device cuda --data "$data" -o "$work/default-sweep"
for f in summary.json curves.csv; do
  [ -f "$work/default-sweep/$f" ] && cp "$work/default-sweep/$f" "$logs/default-sweep-$f"
done

# 3. Benchmarks, each row with its ceilings and floors measured in the same process: population
# sizes 16..4096 under each chunking of the step (1: no overlap), TF32, direct launches against
# graphs, and (when the bundle holds one) the previous build at the issue's workload.
# CAVIAR_CHECK=quick (a short re-check after a change): the tests, the default sweep, one size
# and memcheck only.
quick=false
[ "${CAVIAR_CHECK:-full}" = quick ] && quick=true
if $quick; then
  step bench_fp32 60 "$caviar_cmd" bench --device cuda --models 1024 --hidden 128 --batch 128 --data "$data" --json
else
  models=16,64,256,1024,4096
  step bench_fp32 90 "$caviar_cmd" bench --device cuda --models $models --chunks 1,2,4 --hidden 128 --batch 128 --data "$data" --json
  step bench_tf32 60 "$caviar_cmd" bench --device cuda --tf32 --models 1024 --chunks 1,2,4 --hidden 128 --batch 128 --data "$data" --json
  step bench_eager 60 "$caviar_cmd" bench --device cuda --eager --models 16,1024 --hidden 128 --batch 128 --data "$data" --json
  # CNN populations (issue 25): the 2-block 32/64-channel CNN with batch norm at N = 32 and 256.
  step bench_cnn 120 "$caviar_cmd" bench --device cuda --model cnn --models 32,256 --conv-blocks 2 --channels 32 --batchnorm --batch 128 --data "$data" --json
fi
if ! $quick && [ -x "$bundle/bin/caviar-base" ]; then
  step bench_base 60 "$runner" "$bundle/bin/caviar-base" bench --device cuda --models 1024 --hidden 128 --batch 128 --data "$data" --json
fi

# 4. compute-sanitizer on tiny sweeps: every optimizer, dropout, two depths, a cull and a compaction;
# then the padded (strided) layer-1 path with dropout (hidden 13: 20 x 13 is no multiple of 16).
tiny="$work/tiny"
"$caviar_cmd" synth "$tiny" --train 600 --test 100 --features 20 --classes 4 >"$logs/synth.log" 2>&1
cat >"$work/tiny.json" <<SPEC
{"method": "grid", "seed": 2, "data": {"dir": "$tiny"}, "model": {"batch_size": 32},
 "parameters": {"optimizer": {"values": ["sgd", "momentum", "rmsprop", "adam"]}, "layers": {"values": [1, 2]},
                "hidden": {"values": [8, 13]}, "dropout": {"values": [0, 0.3]}},
 "early_terminate": {"type": "successive_halving", "min_epochs": 1, "max_epochs": 3, "eta": 3}}
SPEC
# A tiny CNN sweep: both convolution paths (the fused first one, a later one), batch norm on and
# off, max and average pooling, a cull and a compaction.
"$caviar_cmd" synth "$work/tiny-images" --images --side 8 --train 400 --test 80 --classes 4 >>"$logs/synth.log" 2>&1
cat >"$work/tiny-cnn.json" <<SPEC
{"method": "grid", "seed": 2, "data": {"dir": "$work/tiny-images"}, "model": {"type": "cnn", "batch_size": 16, "conv_blocks": 2, "channels": 3, "hidden": 8},
 "parameters": {"batchnorm": {"values": ["off", "on"]}, "pool": {"values": ["max", "avg"]}, "dropout": {"values": [0, 0.3]}},
 "early_terminate": {"type": "successive_halving", "min_epochs": 1, "max_epochs": 3, "eta": 3}}
SPEC
if [ -n "$sanitizer" ]; then
  step memcheck 90 "$runner" "$sanitizer" --tool memcheck --error-exitcode 9 "$bundle/bin/caviar" sweep "$work/tiny.json" --device cuda -o "$work/tiny-out"
  step memcheck_cnn 120 "$runner" "$sanitizer" --tool memcheck --error-exitcode 9 "$bundle/bin/caviar" sweep "$work/tiny-cnn.json" --device cuda -o "$work/tiny-cnn-out"
else
  note "memcheck skipped: compute-sanitizer not found"
  status=1
fi

if $quick; then
  note "quick check: peers, ncu and racecheck not run"
  exit $status
fi

# 5. The peers in one run on the same card: torch and JAX load their own libraries; JAX must not
# take 75% of the memory up front.
step peers 150 env XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1 \
  python3 "$root/scripts/bench_gpu_peers.py" --data "$data" --caviar "$caviar_cmd" --models 1024

# 6. Where a step's time goes: Nsight Compute's speed-of-light section for one step's kernels (direct
# launches, after the warm-up), clocks left alone.
ncu=""
for c in /usr/local/cuda/bin/ncu /usr/local/cuda-*/bin/ncu "$(command -v ncu 2>/dev/null)"; do
  if [ -n "$c" ] && [ -x "$c" ]; then ncu=$c; break; fi
done
if [ -n "$ncu" ]; then
  step ncu 90 "$runner" "$ncu" --clock-control none --section SpeedOfLight --launch-skip 400 --launch-count 20 \
    "$bundle/bin/caviar" bench --device cuda --eager --models 1024 --hidden 128 --batch 128 --data "$data"
else
  note "ncu skipped: not found"
fi

# 7. The peers again with every trainer's matmuls on TF32 tensor cores (caviar's --tf32).
step peers_tf32 150 env XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1 \
  python3 "$root/scripts/bench_gpu_peers.py" --data "$data" --caviar "$caviar_cmd" --models 1024 --tf32

# 8. Shared-memory races (racecheck is slow, so last).
if [ -n "$sanitizer" ]; then
  step racecheck 90 "$runner" "$sanitizer" --tool racecheck --error-exitcode 9 "$bundle/bin/caviar" sweep "$work/tiny.json" --device cuda -o "$work/tiny-out2"
else
  note "racecheck skipped: compute-sanitizer not found"
  status=1
fi
