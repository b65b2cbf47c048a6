#!/usr/bin/env bash
# kill_copy.sh SOAK MPIEXEC WORKDIR
#
# kill -9 of one rank (not the whole job) while every rank loops in dt_copy_
# (a redistribution, messages in flight): Open MPI must tear the job down
# within a bounded time (60 s here; it takes a few seconds), with a non-zero
# exit status, instead of leaving the other ranks waiting forever.
set -euo pipefail
SOAK=$1
MPIEXEC=$2
WORK=$3
source "$(dirname "$0")/mpi_env.sh"
mkdir -p "$WORK"
dir=$(mktemp -d "$WORK/kill.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$MPIEXEC" "${MPI_FLAGS[@]}" -np 3 "$SOAK" --spin "$dir" >"$dir/out" 2>&1 &
job=$!
# wait until every rank is in its copy_ loop
for _ in $(seq 1 600); do
  [ -s "$dir/pid.0" ] && [ -s "$dir/pid.1" ] && [ -s "$dir/pid.2" ] && break
  sleep 0.1
done
if ! [ -s "$dir/pid.1" ]; then
  echo "FAIL: the ranks did not start their copy_ loop" >&2
  kill -9 "$job" 2>/dev/null || true
  cat "$dir/out" >&2
  exit 1
fi
sleep 0.5
victim=$(cat "$dir/pid.1")
killed=$(date +%s.%N)
kill -9 "$victim"
rc=0
timeout 60 tail --pid="$job" -f /dev/null || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "FAIL: the job still runs 60 s after rank 1 was killed" >&2
  kill -9 "$job" 2>/dev/null || true
  for r in 0 2; do kill -9 "$(cat "$dir/pid.$r")" 2>/dev/null || true; done
  exit 1
fi
status=0
wait "$job" || status=$?
secs=$(echo "$(date +%s.%N) - $killed" | bc)
# no rank of the job may be left behind (a few seconds to finish dying)
for r in 0 2; do
  for _ in $(seq 1 100); do
    kill -0 "$(cat "$dir/pid.$r")" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$(cat "$dir/pid.$r")" 2>/dev/null; then
    echo "FAIL: rank $r still runs after the job ended" >&2
    kill -9 "$(cat "$dir/pid.$r")"
    exit 1
  fi
done
if [ "$status" -eq 0 ]; then
  echo "FAIL: the job exited 0 though rank 1 was killed" >&2
  exit 1
fi
echo "ok   kill -9 of rank 1 mid-copy_: job ended in ${secs}s with status $status"
