#!/usr/bin/env bash
# How well the CPU build keeps its cores busy whatever the population: `caviar bench` (784-128-10,
# batch 128, Adam, one Fashion-MNIST epoch) for N = 1, 2, 3, 4, 8, 16, 32 members on every thread,
# and N = 1 on one thread, each row as the fraction of the SGEMM ceiling measured in the same
# process (every thread running its own 1024^3). With BASELINE=path/to/another/caviar, that binary
# runs the same rows in alternation, so the two are compared on the same machine at the same time.
# Best of ROUNDS (default 3) per row. Prints a Markdown table.
#   usage: scripts/bench_threads.sh [CAVIAR_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/caviar}
rounds=${ROUNDS:-3}
threads=$(nproc)
models=1,2,3,4,8,16,32
run() {  # run BINARY THREADS MODELS: one JSON line per row
  "$1" bench --device cpu --threads "$2" --models "$3" --json 2>/dev/null
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$rounds"); do
  for label in new base; do
    b=$bin
    if [ "$label" = base ]; then
      [ -n "${BASELINE:-}" ] || continue
      b=$BASELINE
    fi
    run "$b" "$threads" "$models" | sed "s/^/$label $threads /" >>"$tmp/rows"
    run "$b" 1 1 | sed "s/^/$label 1 /" >>"$tmp/rows"
  done
done
python3 - "$tmp/rows" "$threads" <<'TABLE'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    label, threads, text = line.split(" ", 2)
    r = json.loads(text)
    key = (label, int(threads), r["models"])
    if key not in rows or r["epoch_seconds"] < rows[key]["epoch_seconds"]:
        rows[key] = r
labels = sorted({k[0] for k in rows}, reverse=True)
print("| threads | models | " + " | ".join(f"{l}: epoch s | {l}: of SGEMM ceiling" for l in labels) + " |")
print("| --- | --- | " + " | ".join("--- | ---" for _ in labels) + " |")
for (t, n) in sorted({(k[1], k[2]) for k in rows}, key=lambda x: (-x[0], x[1])):
    cells = []
    for l in labels:
        r = rows.get((l, t, n))
        cells.append(f"{r['epoch_seconds']:.3f} | {r['ratio']:.2f} of {r['ceiling_gflops']:.0f}" if r else "- | -")
    print(f"| {t} | {n} | " + " | ".join(cells) + " |")
TABLE
