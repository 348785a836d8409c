#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (one H100) after scripts/device-prepare.sh made the bundle here:
#   run(command="scripts/device-check.sh", carry=[".device/bundle.tar.xz"], timeout_s=480)
# It runs the GPU tests, compute-sanitizer (memcheck, racecheck) on a tiny sweep, the benchmarks
# (roofline, population sizes, TF32, peers), and prints a short table last. Logs go to $OUT.
# Every step has its own time limit so the whole check stays under 6 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
OUT=${OUT:-/tmp/caviar-device-out}
mkdir -p "$OUT"
work=$(mktemp -d)
tar -C "$work" -xJf .device/bundle.tar.xz
bundle="$work/bundle"
# cuBLAS: the toolkit's, or the one PyTorch's wheels bring.
cublas_lib=$(find /usr/local/cuda*/ /usr/lib /opt -name 'libcublas.so.13*' 2>/dev/null | head -n 1)
cublas_dir=${cublas_lib:+$(dirname "$cublas_lib")}
export LD_LIBRARY_PATH="$bundle/lib:${cublas_dir:-/usr/local/cuda/lib64}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
caviar="$bundle/bin/caviar"
data="$bundle/data/fashion-mnist"
status=0
step() {  # step NAME SECONDS COMMAND...: runs, logs to $OUT/NAME.log, records pass/fail
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc $((SECONDS - start))s" | tee -a "$OUT/steps.txt"
  [ $rc -eq 0 ] || status=1
  return $rc
}

nvidia-smi -L >"$OUT/gpu.txt" 2>&1
"$caviar" info >>"$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

step test_rng_gpu 60 "$bundle/bin/test_rng_gpu" --verbose
step test_cuda_plan 30 "$bundle/bin/test_cuda_plan"
step test_backend_agreement 120 "$bundle/bin/test_backend_agreement" --verbose --jobs 1
# On a GPU machine a skipped GPU test is a failure: it means the device was not usable.
for t in test_rng_gpu test_backend_agreement; do
  if grep -q "\[SKIP\]" "$OUT/$t.log"; then
    echo "$t skipped: $(grep -m1 '\[SKIP\]' "$OUT/$t.log")" | tee -a "$OUT/steps.txt"
    status=1
  fi
done

# compute-sanitizer on a tiny sweep: every optimizer, dropout, two depths, a cull and a compaction.
tiny="$work/tiny"
"$caviar" synth "$tiny" --train 600 --test 100 --features 20 --classes 4 2>/dev/null
cat >"$work/tiny.json" <<SPEC
{"method": "grid", "seed": 2, "data": {"dir": "$tiny"}, "model": {"batch_size": 32, "hidden": 8},
 "parameters": {"optimizer": {"values": ["sgd", "momentum", "rmsprop", "adam"]}, "layers": {"values": [1, 2]},
                "dropout": {"values": [0, 0.3]}},
 "early_terminate": {"type": "successive_halving", "min_epochs": 1, "max_epochs": 3, "eta": 3}}
SPEC
step memcheck 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$caviar" sweep "$work/tiny.json" --device cuda -o "$work/tiny-out"
step racecheck 90 compute-sanitizer --tool racecheck --error-exitcode 9 "$caviar" sweep "$work/tiny.json" --device cuda -o "$work/tiny-out2"

# Benchmarks: the issue's workload, then the population shrinking, then TF32.
for n in 1024 256 64 16; do
  step "bench_n$n" 60 "$caviar" bench --device cuda --models $n --hidden 128 --batch 128 --data "$data" --json
done
step bench_tf32 60 "$caviar" bench --device cuda --tf32 --models 1024 --hidden 128 --batch 128 --data "$data" --json
step peers 150 python3 "$root/scripts/bench_gpu_peers.py" --data "$data" --caviar "$caviar" --models 1024
# The README's main job on the GPU: the default sweep end to end.
step default_sweep 120 "$caviar" sweep --device cuda --data "$data" -o "$OUT/default-sweep"

python3 - "$OUT" <<'TABLE' | tee "$OUT/table.txt"
import json, os, sys
out = sys.argv[1]
def last_json(name):
    try:
        lines = [l for l in open(os.path.join(out, name + ".log")) if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except OSError:
        return None
print("| run | models | epoch s | model-samples/s | GFLOP/s | of SGEMM | memory floor s | of floor |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for name in ["bench_n1024", "bench_n256", "bench_n64", "bench_n16", "bench_tf32"]:
    r = last_json(name)
    if r:
        print(f"| {name} | {r['models']} | {r['epoch_seconds']:.3f} | {r['model_samples_per_second']:,.0f} | {r['gflops']:.0f} "
              f"| {r['ratio']:.2f} of {r['ceiling_gflops']:.0f} | {r['memory_floor_seconds']:.3f} at {r['copy_gbs']:.0f} GB/s "
              f"| {r['floor_fraction']:.2f} |")
    else:
        print(f"| {name} | failed: see {name}.log | | | | | | |")
peers = last_json("peers")
if peers:
    print()
    print("| trainer (same run) | precision | model-samples/s | caviar is |")
    print("| --- | --- | --- | --- |")
    c = peers["caviar"]
    for p in peers["peers"]:
        print(f"| {p['name']} | {p['precision']} | {p['rate']:,.0f} | {c / p['rate']:.1f}x |")
    print(f"| caviar bench | fp32 | {c:,.0f} | |")
try:
    s = json.load(open(os.path.join(out, "default-sweep", "summary.json")))
    best = s.get("best", {})
    print()
    print(f"default sweep on the GPU: {len(s['trials'])} trials in {s['wall_seconds']:.1f} s, "
          f"{s['model_samples_per_second']:,.0f} model-samples/s; best trial {best.get('trial')} "
          f"test_acc {best.get('test_acc')}")
except (OSError, ValueError, KeyError):
    print("default sweep: no summary (see default_sweep.log)")
steps = open(os.path.join(out, "steps.txt")).read().split("\n")
print()
print("steps: " + "; ".join(s for s in steps if s))
TABLE
rm -rf "$work"
exit $status
