#!/usr/bin/env bash
# The least-squares example's loss after every step is bitwise identical at
# 1, 2, 3 and 4 ranks and with 1 or 2 OpenMP threads.
set -euo pipefail
exe=$1
MPIEXEC=$2
source "$(dirname "$0")/mpi_env.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { # ranks threads
  OMP_NUM_THREADS=$2 mpi_job "$1" "$exe" --n 1000 --k 12 --steps 25 --lr 0.1 |
    grep -v '^#' >"$work/np$1.t$2"
}
run 1 1
ref="$work/np1.t1"
# the fit must actually converge, or equality would prove little
first=$(awk '$1 == "step" && $2 == 0 {print $5}' "$ref" | tr -d '()')
last=$(awk '$1 == "step" && $2 == 24 {print $5}' "$ref" | tr -d '()')
[ -n "$first" ] && [ -n "$last" ] &&
  awk -v a="$first" -v b="$last" 'BEGIN { exit !(b + 0 < (a + 0) / 100) }' ||
  { echo "loss did not fall: $first -> $last"; exit 1; }
status=0
for np in 1 2 3 4; do
  for th in 1 2; do
    [ "$np$th" = "11" ] && continue
    run "$np" "$th"
    if ! cmp -s "$ref" "$work/np$np.t$th"; then
      echo "FAIL: losses at $np rank(s), $th thread(s) differ from 1 rank, 1 thread:"
      diff "$ref" "$work/np$np.t$th" | head -5
      status=1
    fi
  done
done
[ $status -eq 0 ] && echo "least squares: 25 losses bitwise identical at 1-4 ranks, 1-2 threads (loss $first -> $last)"
exit $status
