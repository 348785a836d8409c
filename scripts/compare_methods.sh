#!/usr/bin/env bash
# Random, grid, sobol, tpe, bayes (W&B's Gaussian process) and coarse-to-fine at the same budget,
# over several seeds, on
# examples/compare-methods.json (24 trials x 2 epochs on Fashion-MNIST: learning rate on a log
# scale from 1e-5 to 1e-1, dropout from 0 to 0.6). Every method trains 24 trials for 2 epochs:
#   grid            6 learning rates x 4 dropouts
#   random, sobol   24 draws
#   tpe             6 sobol startup results, then proposals; population 6, so each freed slot
#                   gets a proposal from every result so far
#   bayes           the same with W&B's GP (2 startup results; the 5 still training as its
#                   fantasies)
#   coarse-to-fine  3 rounds of 8, each box half as wide around the best 3
# Prints one line per run, then each method's best validation accuracy (mean, standard
# deviation, min, max over the seeds), and writes METHODS_OUT/results.csv and METHODS_OUT/methods.png
# (it installs Debian's python3-matplotlib for that where it can, and skips the plot where not).
#   scripts/compare_methods.sh [SEEDS]   (default 5; METHODS_OUT defaults to compare-methods-out)
#   CAVIAR=path/to/caviar SWEEP_FLAGS="--data DIR" scripts/compare_methods.sh 1
#                                        another binary (no setup) and flags for every sweep
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-5}
out=${METHODS_OUT:-compare-methods-out}
caviar=${CAVIAR:-build/caviar}
[ -n "${CAVIAR:-}" ] || scripts/setup.sh >/dev/null 2>&1
read -r -a sweep_flags <<< "${SWEEP_FLAGS:-}"
mkdir -p "$out"
csv="$out/results.csv"
echo "method,seed,best_val_acc,its_test_acc,trials,wall_seconds" > "$csv"
for seed in $(seq 1 "$seeds"); do
  for method in random grid sobol tpe bayes coarse-to-fine; do
    spec="$out/$method.json"
    python3 - examples/compare-methods.json "$method" "$spec" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
method = sys.argv[2]
spec["method"] = method
if method == "tpe":
    spec["tpe"] = {"startup": 6}
if method == "coarse-to-fine":
    spec["trials"] = 8
    spec["coarse_to_fine"] = {"rounds": 3, "zoom": 0.5, "top_k": 3}
json.dump(spec, open(sys.argv[3], "w"), indent=1)
PY
    run="$out/$method-$seed"
    "$caviar" sweep "$spec" --seed "$seed" -o "$run" ${sweep_flags[@]+"${sweep_flags[@]}"} >/dev/null 2>"$run.log" || { cat "$run.log" >&2; exit 1; }
    python3 - "$run/summary.json" "$method" "$seed" >> "$csv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
trials = [t for t in s["trials"] if t["val_acc"] is not None]
best = max(trials, key=lambda t: t["val_acc"])
test = best.get("test_acc")
print(f"{sys.argv[2]},{sys.argv[3]},{best['val_acc']:.4f},{'' if test is None else f'{test:.4f}'},{len(s['trials'])},{s['wall_seconds']:.1f}")
PY
    tail -n 1 "$csv" | tr ',' ' '
  done
done
python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print()
print(f"{'method':<16} {'seeds':>5} {'mean':>7} {'sd':>7} {'min':>7} {'max':>7}   best validation accuracy")
for method in ["random", "grid", "sobol", "tpe", "bayes", "coarse-to-fine"]:
    v = [float(r["best_val_acc"]) for r in rows if r["method"] == method]
    if not v:
        continue
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    print(f"{method:<16} {len(v):>5} {statistics.mean(v):>7.4f} {sd:>7.4f} {min(v):>7.4f} {max(v):>7.4f}")
PY
# The plot needs Debian's python3-matplotlib (not installed by scripts/setup.sh: nothing else needs it).
if ! /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends python3-matplotlib >&2 || true
fi
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  /usr/bin/python3 scripts/plot_methods.py "$csv" "$out/methods.png"
else
  echo "compare_methods.sh: no matplotlib for /usr/bin/python3; skipping the plot" >&2
fi
