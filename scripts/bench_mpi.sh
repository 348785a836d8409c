#!/usr/bin/env bash
# The default sweep in one process on 2 threads against 2 MPI ranks of 1 thread each, in the same
# run, alternating (docs/PERF.md): wall time of each, that the results agree, and per rank its
# busy fraction and the time it spent in the per-epoch exchanges (where rungs are decided).
#   scripts/bench_mpi.sh [BUILD_DIR] [SPEC]     (default: build-cpu, the built-in default spec)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cpu} spec=${2:-}
out=$(mktemp -d "${TMPDIR:-/tmp}/caviar-bench-mpi.XXXXXX")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
now() { python3 -c "import time; print(time.time())"; }
t0=$(now)
"$build/caviar" sweep $spec -o "$out/one" -q --threads 2 >/dev/null
t1=$(now)
mpirun -np 2 --bind-to core "$build/caviar" sweep $spec -o "$out/two" -q --threads 1 >/dev/null
t2=$(now)
echo "1 process x 2 threads: $(python3 -c "print(round($t1 - $t0, 1))") s (whole command)"
echo "2 ranks x 1 thread:    $(python3 -c "print(round($t2 - $t1, 1))") s (whole command, mpirun included)"
python3 tests/mpi/compare.py "$out/one" "$out/two" 2 && echo "results: equal"
python3 - "$out/one/summary.json" "$out/two/summary.json" <<'PY'
import json, sys
one, two = (json.load(open(p)) for p in sys.argv[1:])
print(f"sweep wall_seconds: one process {one['wall_seconds']:.1f}, 2 ranks {two['wall_seconds']:.1f}")
rungs = len(two["rungs"])
for r in two["ranks"]:
    print(f"rank {r['rank']}: {r['trials']} trials, {r['member_epochs']:.0f} member-epochs, "
          f"{r['members_moved_in']} moved in, busy {r['busy_fraction']:.2f}, comm {r['comm_seconds']:.4f} s over {r['exchanges']} exchanges "
          f"({1000 * r['comm_seconds'] / max(1, r['exchanges']):.2f} ms each), waiting {r['wait_seconds']:.2f} s")
PY
uptime
rm -rf "$out"
