#!/usr/bin/env bash
# A sweep across ranks that is killed or stopped resumes, on the same or another number of ranks
# (or in one process), and ends as an uninterrupted one-process run ends: summary.json equal apart
# from wall time and the ranks' report, curves.csv and best/ byte for byte (compare.py).
#   resume.sh CAVIAR MPIEXEC SPEC RANKS HOW RESUME_RANKS [keep-best]
# RANKS: the interrupted run's ranks (1: one process, no mpirun). HOW:
#   kill:K         every rank SIGKILLs itself at its K-th epoch boundary
#   kill1:POINT:K  rank 1 alone SIGKILLs itself the K-th time it passes POINT (chunk: inside an
#                  epoch); mpirun ends the others
#   stop:K         rank 1 alone gets SIGUSR1 at its K-th epoch boundary: every rank stops at that
#                  boundary, snapshots and exits with status 3
#   mpirun-usr1    SIGUSR1 to mpirun once the sweep has a snapshot: mpirun forwards it to every
#                  rank, and they stop as on stop:K (README's way to stop a job mpirun started)
# RESUME_RANKS: the resumed run's ranks (1: one process, no mpirun).
set -uo pipefail
caviar=$1 mpiexec=$2 spec=$3 ranks=$4 how=$5 again=$6 keep=${7:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/caviar-mpi-resume.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "resume.sh: $*"; for f in "$work"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }
"$caviar" synth "$work/data" --train 1500 --test 300 --features 16 >/dev/null 2>&1 || fail "synth failed"
spec_file="$here/$spec.json"
if [ -n "$keep" ] || [ "$how" = mpirun-usr1 ]; then
  # model.keep best (the fifth arena in the snapshot), or enough epochs for a signal to land.
  python3 - "$spec_file" "$work/spec.json" "$keep" "$how" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
if sys.argv[3]:
    spec["model"]["keep"] = "best"
if sys.argv[4] == "mpirun-usr1":
    spec["model"]["epochs"] = 200
    spec["trials"] = 12
json.dump(spec, open(sys.argv[2], "w"))
PY
  spec_file="$work/spec.json"
fi
run() { # run N ARGS...: N ranks under mpirun, or one process
  local n=$1
  shift
  if [ "$n" = 1 ]; then timeout 300 "$caviar" "$@"; else timeout 300 "$mpiexec" -np "$n" --oversubscribe "$caviar" "$@"; fi
}
args=(sweep "$spec_file" --data "$work/data" -q --threads 1)
run 1 "${args[@]}" -o "$work/one" >"$work/one.log" 2>&1 || fail "the uninterrupted one-process sweep failed"

# The interrupted run: a snapshot at every epoch boundary.
case $how in
  kill:*)
    CAVIAR_KILL_AT="epoch:${how#kill:}" run "$ranks" "${args[@]}" -o "$work/out" --snapshot-every 0 >"$work/cut.log" 2>&1
    status=$? ;;
  kill1:*)
    CAVIAR_KILL_RANK=1 CAVIAR_KILL_AT="${how#kill1:}" run "$ranks" "${args[@]}" -o "$work/out" --snapshot-every 0 \
      >"$work/cut.log" 2>&1
    status=$? ;;
  stop:*)
    CAVIAR_KILL_RANK=1 CAVIAR_KILL_AT="epoch:${how#stop:}:USR1" run "$ranks" "${args[@]}" -o "$work/out" \
      --snapshot-every 0 >"$work/cut.log" 2>&1
    status=$?
    [ $status -eq 3 ] || fail "a stop asked of rank 1 ended with status $status, expected 3"
    grep -q "resume with: mpirun -np K caviar sweep --resume $work/out" "$work/cut.log" ||
      fail "the stopped job did not say how to resume"
    [ -e "$work/out/summary.json" ] || fail "the stopped job wrote no results so far" ;;
  mpirun-usr1)
    "$mpiexec" -np "$ranks" --oversubscribe "$caviar" "${args[@]}" \
      -o "$work/out" --snapshot-every 0 >"$work/cut.log" 2>&1 &
    launcher=$!
    # Up to 120 s for the first snapshot: mpirun's start under ASan on a busy 2-core machine took
    # more than 30 s once (the job's output was still empty then).
    for _ in $(seq 1 1200); do
      [ -e "$work/out/sweep-state/snapshot.bin" ] && break
      sleep 0.1
    done
    [ -e "$work/out/sweep-state/snapshot.bin" ] || { kill -9 $launcher; fail "no snapshot within 120 s"; }
    kill -USR1 $launcher
    wait $launcher
    status=$?
    [ $status -eq 3 ] || fail "SIGUSR1 to mpirun ended the job with status $status, expected 3" ;;
  *) fail "unknown HOW $how" ;;
esac
[ $status -eq 0 ] && fail "the interrupted run finished (status 0): HOW $how did not interrupt it"
[ $status -eq 124 ] && fail "the interrupted run hung"
[ -e "$work/out/sweep-state/snapshot.bin" ] || fail "the interrupted run left no snapshot"

run "$again" sweep --resume "$work/out" -q --threads 1 >"$work/resume.log" 2>&1 ||
  fail "the resume on $again rank(s) failed"
[ -e "$work/out/sweep-state" ] && fail "the finished resume left its sweep-state"
python3 "$here/compare.py" "$work/one" "$work/out" || fail "the resumed sweep differs from the uninterrupted one"
python3 - "$work/out/summary.json" "$again" <<'PY' || fail "summary.json does not report the resumed run's ranks"
import json, sys
ranks = json.load(open(sys.argv[1])).get("ranks", [])
want = int(sys.argv[2])
sys.exit(0 if len(ranks) == (want if want > 1 else 0) else 1)
PY
echo "resume.sh: $spec on $ranks rank(s), $how, resumed on $again rank(s) equals the uninterrupted run"
