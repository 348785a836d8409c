#!/usr/bin/env bash
# The scheduler's cost as sweeps grow: each strategy of scripts/scale_specs.py (random + successive
# halving, refill, Hyperband, TPE, PBT, coarse to fine) at 1k, 10k and 100k trials on synthetic data
# (`caviar synth`) with a 1-layer MLP of 16 units. Per run: wall time (the process, start to exit),
# device time (summary.json's device_seconds: inside the backend's calls), time outside training
# (wall - device: scheduling, bookkeeping, output, loading), wall per trial against the 1k run's,
# peak memory (max RSS), the arenas (the dry run's arena_bytes) and host bytes per trial
# ((peak - arenas) / trials). With BASELINE=path/to/caviar the same sweeps up to BASELINE_MAX trials
# (default 10000) also run on that build, same run, for the ratio of wall times.
#   scripts/bench_scale.sh [SIZES] [STRATEGIES]   e.g. scripts/bench_scale.sh "1000 10000" "sh refill"
# (defaults: "1000 10000 100000", all six; tpe-mixed, TPE over parameters of every kind, runs when
# named; BENCH_OUT defaults to bench-scale-out; BENCH_THREADS, the sweeps' --threads, to 2;
# BENCH_PROGRESS=1 runs them with their progress lines, a line per epoch boundary into BENCH_OUT's
# logs as a user's log gets them, instead of -q; the table goes to stdout as markdown, every run to
# BENCH_OUT/runs.csv)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-1000 10000 100000}
strategies=${2:-sh refill hyperband tpe pbt c2f}
out=${BENCH_OUT:-bench-scale-out}
build=${CAVIAR_BUILD_DIR:-build-cpu}
caviar=$(readlink -f "$build/caviar")
[ -x "$caviar" ] || { echo "bench_scale.sh: no $caviar (CAVIAR_CUDA=OFF CAVIAR_BUILD_DIR=$build scripts/setup.sh)" >&2; exit 2; }
baseline=${BASELINE:+$(readlink -f "$BASELINE")}
baseline_max=${BASELINE_MAX:-10000}
threads=${BENCH_THREADS:-2}
quiet=-q
[ "${BENCH_PROGRESS:-0}" = 1 ] && quiet=
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
mkdir -p "$out"
[ -d "$out/data" ] || "$caviar" synth "$out/data" --train 2000 --features 16 >/dev/null
[ -d "$out/data-hb" ] || "$caviar" synth "$out/data-hb" --train 200 --test 200 --features 16 >/dev/null
csv="$out/runs.csv"
[ -f "$csv" ] || echo "build,strategy,size,trials,wall_s,device_s,peak_kb,arena_bytes,model_samples" > "$csv"
run() { # build-name binary strategy size
  local name=$1 bin=$2 s=$3 n=$4 dir="$out/$1-$3-$4" arena=0
  python3 scripts/scale_specs.py "$n" "$out/specs-$n" "$out/data" "$out/data-hb"
  local spec="$out/specs-$n/$s.json"
  [ "$name" = new ] && arena=$("$bin" sweep "$spec" --threads "$threads" --dry-run --json 2>/dev/null |
    python3 -c 'import json,sys; print(int(json.load(sys.stdin)["arena_bytes"]))')
  /usr/bin/time -f "%e %M" -o "$dir.time" "$bin" sweep "$spec" --threads "$threads" $quiet --force -o "$dir" >/dev/null 2>"$dir.log" ||
    { cat "$dir.log" >&2; exit 1; }
  python3 - "$dir" "$name" "$s" "$n" "$arena" >> "$csv" <<'PY'
import json, sys
d, name, s, n, arena = sys.argv[1:]
wall, peak = open(d + ".time").read().split()[-2:]
summary = json.load(open(d + "/summary.json"))
print(f"{name},{s},{n},{len(summary['trials'])},{wall},{summary.get('device_seconds', '')},{peak},{arena},"
      f"{summary['model_samples']:.0f}")
PY
  tail -n 1 "$csv" >&2
}
for n in $sizes; do
  for s in $strategies; do
    run new "$caviar" "$s" "$n"
    if [ -n "$baseline" ] && [ "$n" -le "$baseline_max" ]; then run baseline "$baseline" "$s" "$n"; fi
  done
done
python3 - "$csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
new = {(r["strategy"], int(r["size"])): r for r in rows if r["build"] == "new"}
base = {(r["strategy"], int(r["size"])): r for r in rows if r["build"] == "baseline"}
print("| strategy | trials | wall s | device s | outside training | wall/trial ms (x 1k) | peak MB | arenas MB | host B/trial | baseline wall s (x) |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for (s, n), r in sorted(new.items(), key=lambda kv: (["sh", "refill", "hyperband", "tpe", "tpe-mixed", "pbt", "c2f"].index(kv[0][0]), kv[0][1])):
    trials, wall, device = int(r["trials"]), float(r["wall_s"]), float(r["device_s"] or 0)
    per = wall / trials * 1e3
    first = min((k for k in new if k[0] == s), key=lambda k: k[1])
    per_1k = float(new[first]["wall_s"]) / int(new[first]["trials"]) * 1e3
    peak, arena = int(r["peak_kb"]) * 1024, int(r["arena_bytes"])
    b = base.get((s, n))
    bw = f"{float(b['wall_s']):.1f} ({float(b['wall_s']) / wall:.2f}x)" if b else "-"
    print(f"| {s} | {trials:,} | {wall:.1f} | {device:.1f} | {wall - device:.1f} s ({(wall - device) / wall:.1%}) | "
          f"{per:.2f} ({per / per_1k:.2f}) | {peak / 2**20:.0f} | {arena / 2**20:.0f} | {(peak - arena) / trials:,.0f} | {bw} |")
PY
