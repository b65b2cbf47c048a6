#!/usr/bin/env bash
# io_xrank.sh IO_XRANK MPIEXEC WORKDIR
#
# Checkpoints cross rank counts: io_xrank saves its ten tensors at P ranks,
# then loads them at Q ranks into every layout and compares them bit for
# bit (and the generator state) with a 1-rank rebuild, for every P and Q in
# 1..4 (P = 4 -> Q = 3 and P = 1 -> Q = 4 among them).
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 path/to/io_xrank path/to/mpiexec workdir" >&2
  exit 2
fi
BIN=$1
MPIEXEC=$2
WORK=$3/io_xrank
source "$(dirname "$0")/mpi_env.sh"

rm -rf "$WORK"
mkdir -p "$WORK"
failures=0

run() {
  local np=$1
  shift
  mpi_job "$np" "$BIN" "$@"
}

for P in 1 2 3 4; do
  if run "$P" save "$WORK/ck$P.h5" >"$WORK/save$P.log" 2>&1; then
    echo "ok   saved at $P rank(s)"
  else
    echo "FAIL: save at $P rank(s):" >&2
    cat "$WORK/save$P.log" >&2
    failures=$((failures + 1))
  fi
done
for P in 1 2 3 4; do
  for Q in 1 2 3 4; do
    log=$WORK/load$P-$Q.log
    if run "$Q" load "$WORK/ck$P.h5" "$P" >"$log" 2>&1; then
      echo "ok   saved at $P rank(s), loaded at $Q"
    else
      echo "FAIL: saved at $P rank(s), loaded at $Q:" >&2
      cat "$log" >&2
      failures=$((failures + 1))
    fi
  done
done

if [[ $failures -ne 0 ]]; then
  echo "$failures run(s) failed" >&2
  exit 1
fi
rm -rf "$WORK"
echo "all cross rank-count checks passed"
