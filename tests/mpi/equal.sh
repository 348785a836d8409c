#!/usr/bin/env bash
# A sweep on K MPI ranks leaves what one process leaves: summary.json equal bit for bit apart from
# wall time, speed and the ranks/devices fields, curves.csv and best/ byte for byte (compare.py).
#   equal.sh CAVIAR MPIEXEC SPEC RANKS [--expect-differ]
# With --expect-differ the distributed run gets another seed and the comparison must fail: the
# check itself can tell two sweeps apart.
set -euo pipefail
caviar=$1 mpiexec=$2 spec=$3 ranks=$4 expect=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/caviar-mpi.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
if [ "$spec" = cnn ] || [ "$spec" = cnn_aug ]; then
  "$caviar" synth "$work/data" --images --side 8 --shift 1 --train 1200 --test 240 --classes 4 >/dev/null 2>&1
else
  "$caviar" synth "$work/data" --train 1500 --test 300 --features 16 >/dev/null 2>&1
fi
"$caviar" sweep "$here/$spec.json" --data "$work/data" -o "$work/one" -q --threads 1 >"$work/one.log" 2>&1 ||
  { echo "equal.sh: the one-process sweep failed:"; cat "$work/one.log"; exit 1; }
seed=()
[ "$expect" = --expect-differ ] && seed=(--seed 4)
timeout 300 "$mpiexec" -np "$ranks" --oversubscribe "$caviar" sweep "$here/$spec.json" --data "$work/data" \
  -o "$work/many" -q --threads 1 "${seed[@]}" >"$work/many.log" 2>&1 ||
  { echo "equal.sh: the $ranks-rank sweep failed:"; cat "$work/many.log"; exit 1; }
if [ "$expect" = --expect-differ ]; then
  if python3 "$here/compare.py" "$work/one" "$work/many" "$ranks"; then
    echo "equal.sh: compare.py found no difference between seed 3 and seed 4"
    exit 1
  fi
  exit 0
fi
python3 "$here/compare.py" "$work/one" "$work/many" "$ranks"
if [ "$spec" = pbt ]; then
  # The spec is chosen so that some exploit copies a donor that lives on another rank.
  python3 - "$work/many/summary.json" <<'PY'
import json, sys
ranks = json.load(open(sys.argv[1]))["ranks"]
copies = sum(r["pbt_copies_received"] for r in ranks)
if copies == 0:
    sys.exit("equal.sh: no PBT copy crossed ranks, so the cross-rank path went untested")
PY
fi
if [ "$spec" = sh ] || [ "$spec" = hyperband ] || [ "$spec" = cnn ]; then
  # Culls leave one rank busier than another: some member must have moved (rebalancing), so the
  # moving path is what the comparison above covered.
  python3 - "$work/many/summary.json" <<'PY'
import json, sys
ranks = json.load(open(sys.argv[1]))["ranks"]
if sum(r["members_moved_in"] for r in ranks) == 0:
    sys.exit("equal.sh: no member moved between ranks after the culls, so rebalancing went untested")
PY
fi
echo "equal.sh: $spec on $ranks ranks equals the one-process run"
