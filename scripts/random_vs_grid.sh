#!/usr/bin/env bash
# Random search against a grid with the same budget (Bergstra & Bengio, 2012), on
# examples/random-vs-grid.json: 25 trials over the learning rate (which matters) and L2 (which
# barely does in two epochs), a 5 x 5 grid against 25 random draws, for several seeds.
#   scripts/random_vs_grid.sh [SEEDS]     (default 5; builds with scripts/setup.sh first)
#   CAVIAR=path/to/caviar SWEEP_FLAGS="--data DIR" scripts/random_vs_grid.sh 1
#                                         another binary (no setup) and flags for every sweep
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-5}
caviar=${CAVIAR:-build/caviar}
[ -n "${CAVIAR:-}" ] || scripts/setup.sh >/dev/null 2>&1
read -r -a sweep_flags <<< "${SWEEP_FLAGS:-}"
out=$(mktemp -d)
printf "%-6s %-7s %-12s %-12s %-10s\n" seed method "learning rates" "best val_acc" "its lr"
for seed in $(seq 1 "$seeds"); do
  for method in grid random; do
    "$caviar" sweep examples/random-vs-grid.json --method "$method" --seed "$seed" -o "$out/$method-$seed" ${sweep_flags[@]+"${sweep_flags[@]}"} >/dev/null 2>&1
    python3 - "$out/$method-$seed/summary.json" "$seed" "$method" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
trials = s["trials"]
best = max(trials, key=lambda t: t["val_acc"] or 0)
rates = len({t["params"]["learning_rate"] for t in trials})
print(f"{sys.argv[2]:<6} {sys.argv[3]:<7} {rates:<12} {best['val_acc']:<12.4f} {best['params']['learning_rate']:<10.3g}")
PY
  done
done
rm -rf "$out"
