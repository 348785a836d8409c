#!/usr/bin/env bash
# The cost of a TPE proposal alone (scripts/bench_tpe.c: a refilled sweep's proposals, the trials in
# flight pending as constant liars, no training), on scripts/scale_specs.py's TPE spec: 3,000 trials,
# population 256, three runs, fills of one (the oldest trial finishes before each proposal; FILL of
# them finish together and as many are proposed in a row, as a sweep's epoch boundary does; SPEC=tpe-mixed
# for the same sweep over parameters of every kind), on the sweep's default threads (OMP_NUM_THREADS to change them). With
# BASELINE=path/to/libcaviar_core.a the same program is built against that library too and the two run
# alternately, for a ratio measured in the same run; equal checksums mean equal proposals. The
# baseline is compiled against its own tree's headers (BASELINE_TREE, by default the folder above the
# library's build folder): a library read through another version's structs reads garbage.
#   scripts/bench_tpe.sh [TRIALS] [POPULATION] [RUNS] [FILL]
set -euo pipefail
# OpenBLAS's own threads never start: the proposals call no BLAS, and an idle pool's threads,
# waiting on the cores the proposals share out, made two threads slower than one on the twelfth
# session's VM (a sweep's backend holds the pool to one thread before it trains, and its proposals
# take no such toll: a 10,000-trial TPE sweep's time outside training was the same either way).
export OPENBLAS_NUM_THREADS=1
cd "$(dirname "$0")/.."
trials=${1:-3000}
population=${2:-256}
runs=${3:-3}
fill=${4:-1}
build=${CAVIAR_BUILD_DIR:-build-cpu}
out=${BENCH_OUT:-build-bench-tpe}
lib="$build/libcaviar_core.a"
[ -f "$lib" ] || { echo "bench_tpe.sh: no $lib (CAVIAR_CUDA=OFF CAVIAR_BUILD_DIR=$build scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$out"
[ -d "$out/data" ] || "$build/caviar" synth "$out/data" --train 2000 --features 16 >/dev/null
python3 scripts/scale_specs.py "$trials" "$out/specs" "$out/data" "$out/data-hb" >/dev/null
link() { # library binary tree (whose headers the library was built with)
  gcc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$3/include" -I"$3/host" scripts/bench_tpe.c "$1" -o "$2" \
    -lgsl -lgslcblas -lcjson -lyaml -lopenblas -lz -lm -fopenmp
}
link "$lib" "$out/bench_tpe" .
if [ -n "${BASELINE:-}" ]; then
  tree=${BASELINE_TREE:-$(dirname "$BASELINE")/..}
  [ -f "$tree/include/caviar/tpe.h" ] || {
    echo "bench_tpe.sh: no include/caviar/tpe.h in $tree (BASELINE_TREE: the tree $BASELINE was built from)" >&2
    exit 2
  }
  link "$BASELINE" "$out/bench_tpe_baseline" "$tree"
fi
for r in $(seq "$runs"); do
  echo -n "this build: "; "$out/bench_tpe" "$out/specs/${SPEC:-tpe}.json" "$trials" "$population" 1 "$fill"
  [ -n "${BASELINE:-}" ] && { echo -n "baseline:   "; "$out/bench_tpe_baseline" "$out/specs/${SPEC:-tpe}.json" "$trials" "$population" 1 "$fill"; }
done
