#!/usr/bin/env bash
# TPE's bounded history against the whole history: the same TPE sweeps with tpe.history at its
# default (250) and 0 (all), over several seeds, on a synthetic problem hard enough that the
# learning rate, beta1, lr_decay and l2 matter (`caviar synth --noise 3`; 1-layer MLP of 16 units;
# the metric val_loss). N trials of 2 epochs with a population of 32, so each freed slot gets a
# proposal from every result so far and the history passes 250 after 250 trials.
# Prints one line per run, then per history the best val_loss's mean, standard deviation, min and
# max over the seeds, and Welch's t for the difference; writes TPE_OUT/results.csv.
#   scripts/tpe_history.sh [SEEDS] [N]   (defaults 5 and 1500; TPE_OUT defaults to tpe-history-out)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-5}
n=${2:-1500}
out=${TPE_OUT:-tpe-history-out}
build=${CAVIAR_BUILD_DIR:-build-cpu}
caviar=$(readlink -f "$build/caviar")
[ -x "$caviar" ] || { echo "tpe_history.sh: no $caviar (CAVIAR_CUDA=OFF CAVIAR_BUILD_DIR=$build scripts/setup.sh)" >&2; exit 2; }
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
mkdir -p "$out"
[ -d "$out/data" ] || "$caviar" synth "$out/data" --train 2000 --features 16 --noise 3 >/dev/null
csv="$out/results.csv"
echo "history,seed,best_val_loss,trials,wall_seconds" > "$csv"
for seed in $(seq 1 "$seeds"); do
  for history in 250 0; do
    spec="$out/tpe-$history.json"
    python3 - "$spec" "$out/data" "$n" "$history" <<'PY'
import json, os, sys
path, data, n, history = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
json.dump({
    "name": f"tpe-history-{history}", "method": "tpe", "trials": n, "population": 32,
    "metric": {"name": "val_loss", "goal": "minimize"},
    "tpe": {"history": history},
    "data": {"format": "idx", "dir": os.path.abspath(data), "validation": 0.1},
    "model": {"type": "mlp", "epochs": 2, "optimizer": "adam", "batch_size": 128, "hidden": 16, "layers": 1},
    "parameters": {
        "learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1},
        "beta1": {"distribution": "one_minus_log_uniform_values", "min": 0.5, "max": 0.999},
        "lr_decay": {"min": 0, "max": 0.5},
        "l2": {"min": 0, "max": 0.01},
    },
}, open(path, "w"), indent=1)
PY
    run="$out/h$history-$seed"
    "$caviar" sweep "$spec" --seed "$seed" --threads 2 --keep 1 -q --force -o "$run" >/dev/null 2>"$run.log" ||
      { cat "$run.log" >&2; exit 1; }
    python3 - "$run/summary.json" "$history" "$seed" >> "$csv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
losses = [t["val_loss"] for t in s["trials"] if t["val_loss"] is not None]
print(f"{sys.argv[2]},{sys.argv[3]},{min(losses):.6f},{len(s['trials'])},{s['wall_seconds']:.1f}")
PY
    tail -n 1 "$csv" | tr ',' ' '
  done
done
python3 - "$csv" <<'PY'
import csv, math, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print()
print(f"{'history':<8} {'seeds':>5} {'mean':>9} {'sd':>9} {'min':>9} {'max':>9}   best val_loss")
v = {}
for h in ["250", "0"]:
    v[h] = [float(r["best_val_loss"]) for r in rows if r["history"] == h]
    sd = statistics.stdev(v[h]) if len(v[h]) > 1 else 0.0
    print(f"{h:<8} {len(v[h]):>5} {statistics.mean(v[h]):>9.5f} {sd:>9.5f} {min(v[h]):>9.5f} {max(v[h]):>9.5f}")
a, b = v["250"], v["0"]
if len(a) > 1 and len(b) > 1:
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    t = (statistics.mean(a) - statistics.mean(b)) / se if se > 0 else 0.0
    print(f"Welch's t (250 - all): {t:.2f} (|t| < 2: no difference the seeds can tell)")
PY
