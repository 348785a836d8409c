#!/usr/bin/env bash
# One writer per output folder across ranks (issue 30): rank 0 holds the folder for the whole job.
#   busy.sh CAVIAR MPIEXEC one|ranks
# one:   a one-process sweep holds the folder (paused mid-run); a sweep on 2 ranks into it is
#        refused at once, naming the folder and the holder's pid, and ends (never a hang); the
#        holder then finishes.
# ranks: a sweep on 2 ranks holds it (rank 0 paused mid-run); a one-process sweep into it is
#        refused naming rank 0's pid; the job then finishes.
set -uo pipefail
caviar=$1 mpiexec=$2 mode=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/caviar-mpi.XXXXXX")
holder=
trap '[ -n "$holder" ] && kill -CONT $holder 2>/dev/null; rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
"$caviar" synth "$work/data" --train 1500 --test 300 --features 16 >/dev/null 2>&1 || exit 1
limit=120
stopped() { [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = T ]; }
if [ "$mode" = one ]; then
  CAVIAR_KILL_AT=epoch:2:STOP "$caviar" sweep "$here/sh.json" --data "$work/data" -o "$work/out" -q --threads 1 \
    >"$work/holder.log" 2>&1 &
  holder=$!
  launcher=$holder
else
  CAVIAR_KILL_RANK=0 CAVIAR_KILL_AT=epoch:2:STOP timeout $limit "$mpiexec" -np 2 --oversubscribe "$caviar" sweep \
    "$here/sh.json" --data "$work/data" -o "$work/out" -q --threads 1 >"$work/holder.log" 2>&1 &
  launcher=$!
fi
for _ in $(seq 1 600); do
  if [ "$mode" = ranks ] && [ -z "$holder" ]; then
    for pid in $(pgrep -f -- "-o $work/out" || true); do
      [ "$(tr '\0' '\n' </proc/$pid/environ 2>/dev/null | grep -c '^OMPI_COMM_WORLD_RANK=0$')" = 1 ] && holder=$pid
    done
  fi
  [ -n "$holder" ] && stopped "$holder" && break
  sleep 0.1
done
[ -n "$holder" ] && stopped "$holder" || { echo "busy.sh: the holder never paused"; cat "$work/holder.log"; exit 1; }
if [ "$mode" = one ]; then
  timeout $limit "$mpiexec" -np 2 --oversubscribe "$caviar" sweep "$here/sh.json" --data "$work/data" -o "$work/out" \
    -q --threads 1 --force >"$work/second.log" 2>&1
else
  timeout $limit "$caviar" sweep "$here/sh.json" --data "$work/data" -o "$work/out" -q --threads 1 --force \
    >"$work/second.log" 2>&1
fi
status=$?
cat "$work/second.log" | head -20
kill -CONT "$holder"
wait $launcher
held=$?
holder_pid=$holder
holder=
if [ $status -eq 124 ]; then echo "busy.sh: the second sweep hung for ${limit}s"; exit 1; fi
if [ $status -eq 0 ]; then echo "busy.sh: the second sweep ran in a busy folder"; exit 1; fi
grep -q "$work/out: another caviar (pid [0-9]*) is writing there" "$work/second.log" ||
  { echo "busy.sh: the refusal does not name the folder and a pid"; exit 1; }
pid=$(sed -n 's/.*another caviar (pid \([0-9]*\)).*/\1/p' "$work/second.log" | head -1)
[ "$pid" = "$holder_pid" ] || { echo "busy.sh: the refusal names pid $pid, the holder is $holder_pid"; exit 1; }
if [ $held -ne 0 ]; then echo "busy.sh: the holder failed ($held)"; cat "$work/holder.log"; exit 1; fi
[ -e "$work/out/summary.json" ] || { echo "busy.sh: the holder left no results"; exit 1; }
echo "busy.sh: refused (status $status) naming pid $pid; the holder finished"
