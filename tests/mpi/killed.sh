#!/usr/bin/env bash
# A rank that dies mid-sweep (SIGKILL) or fails (its data folder is missing: an MPMD launch gives
# rank 1 another --data) ends the whole job with a non-zero status and a message naming the rank,
# within a time limit: never a hang. A killed job leaves its sweep-state (what --resume needs); one
# that fails before training leaves no results.
# Ranks started with other seeds or other data are refused at the start, before they could hang.
#   killed.sh CAVIAR MPIEXEC kill|fail|differ|otherdata
set -uo pipefail
caviar=$1 mpiexec=$2 mode=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/caviar-mpi.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
"$caviar" synth "$work/data" --train 1500 --test 300 --features 16 >/dev/null 2>&1 || exit 1
limit=60
if [ "$mode" = kill ]; then
  # Long enough that it is still training when the rank is killed (minutes on its own).
  timeout $limit "$mpiexec" -np 2 --oversubscribe "$caviar" sweep "$here/long.json" --data "$work/data" \
    -o "$work/out" -q --threads 1 --seed 5 >"$work/log" 2>&1 &
  launcher=$!
  # Wait for rank 1 to run and rank 0 to have made its state folder (its first write, just after
  # MPI started), then kill rank 1 a second later: in the sweep's first moments (its data may
  # still be loading), where the job must still end and leave what --resume needs.
  victim=
  for _ in $(seq 1 600); do
    sleep 0.1
    for pid in $(pgrep -f -- "--seed 5" || true); do
      [ "$(tr '\0' '\n' </proc/$pid/environ 2>/dev/null | grep -c '^OMPI_COMM_WORLD_RANK=1$')" = 1 ] && victim=$pid
    done
    [ -n "$victim" ] && [ -e "$work/out/sweep-state/sweep.json" ] && break
  done
  [ -n "$victim" ] || { echo "killed.sh: rank 1 never started"; cat "$work/log"; exit 1; }
  [ -e "$work/out/sweep-state/sweep.json" ] || { echo "killed.sh: rank 0 never made its state folder"; cat "$work/log"; exit 1; }
  sleep 1
  kill -9 "$victim"
  wait $launcher
  status=$?
else
  # An MPMD launch gives rank 1 other arguments: a missing data folder (fail), another seed
  # (differ), a copy of the data with other contents (otherdata).
  case $mode in
    fail) other=(--data "$work/missing") ;;
    differ) other=(--data "$work/data" --seed 9) ;;
    otherdata)
      "$caviar" synth "$work/data2" --train 1500 --test 300 --features 16 --seed 2 >/dev/null 2>&1 || exit 1
      other=(--data "$work/data2") ;;
  esac
  timeout $limit "$mpiexec" --oversubscribe -np 1 "$caviar" sweep "$here/sh.json" --data "$work/data" -o "$work/out" -q \
    --threads 1 : -np 1 "$caviar" sweep "$here/sh.json" -o "$work/out" -q --threads 1 "${other[@]}" \
    >"$work/log" 2>&1
  status=$?
fi
cat "$work/log" | head -40
if [ $status -eq 124 ]; then echo "killed.sh: the job hung for ${limit}s"; exit 1; fi
if [ $status -eq 0 ]; then echo "killed.sh: the job succeeded although a rank died"; exit 1; fi
if [ "$mode" = kill ]; then
  grep -q "rank 1" "$work/log" || { echo "killed.sh: no message names rank 1"; exit 1; }
elif [ "$mode" = fail ]; then
  grep -q "caviar: rank 1 of 2 on .*: .*missing" "$work/log" || { echo "killed.sh: no 'caviar: rank 1 of 2 on HOST: ...' message"; exit 1; }
elif [ "$mode" = differ ]; then
  grep -q "caviar: rank 0 of 2 on .*: rank 1 runs another sweep than rank 0" "$work/log" ||
    { echo "killed.sh: no message that rank 1 runs another sweep"; exit 1; }
else
  grep -q "caviar: rank 0 of 2 on .*: rank 1 loaded other data than rank 0" "$work/log" ||
    { echo "killed.sh: no message that rank 1 loaded other data"; exit 1; }
fi
if [ "$mode" != kill ] && [ "$(grep -c '^caviar: rank' "$work/log")" != 1 ]; then
  echo "killed.sh: the error was not printed exactly once"; exit 1
fi
if [ "$mode" = kill ]; then
  # Killed in its first moments, it leaves what a resume needs (the results so far may be there
  # too): one process resumes it (for two seconds of its time budget: the sweep is long).
  [ -e "$work/out/sweep-state/sweep.json" ] || { echo "killed.sh: the killed job left no sweep-state to resume"; exit 1; }
  "$caviar" sweep --resume "$work/out" -q --threads 1 --time-budget 2 >"$work/resumed" 2>&1 ||
    { echo "killed.sh: --resume failed:"; cat "$work/resumed"; exit 1; }
else
  [ -e "$work/out/summary.json" ] && { echo "killed.sh: a job that failed at its start left results"; exit 1; }
fi
echo "killed.sh: the job ended with status $status"
