#!/usr/bin/env bash
# golden.sh DTENSOR MPIEXEC GOLDEN
#
# Values are a contract across versions: every `dtensor make` case in GOLDEN
# (a copy of the project's golden-checksums.txt) prints its recorded checksum
# at 1, 2 and 3 ranks, with 1 and 2 threads, on the widest vector kernels of
# this CPU and on the portable ones (DT_KERNELS=portable).
set -euo pipefail
if [[ $# -ne 3 ]]; then
  echo "usage: $0 path/to/dtensor path/to/mpiexec golden-checksums.txt" >&2
  exit 2
fi
DTENSOR=$1
MPIEXEC=$2
GOLDEN=$3
source "$(dirname "$0")/mpi_env.sh"

failures=0 cases=0
while read -r want args; do
  [[ -z $want || $want == \#* ]] && continue
  cases=$((cases + 1))
  read -ra argv <<<"$args"
  for cfg in 1:1:auto 2:1:auto 3:2:auto 1:1:portable 3:1:portable 2:2:avx2; do
    IFS=: read -r np thr kern <<<"$cfg"
    if ! out=$(DT_KERNELS=$kern OMP_NUM_THREADS=$thr DT_NUM_THREADS=$thr \
      mpi_job "$np" "$DTENSOR" make "${argv[@]}" 2>&1 </dev/null); then
      echo "FAIL: make $args at -np $np, $thr thread(s), kernels $kern:" >&2
      echo "$out" >&2
      failures=$((failures + 1))
      continue
    fi
    got=${out%%$'\n'*}
    got=${got#checksum }
    if [[ $got != "$want" ]]; then
      echo "FAIL: make $args at -np $np, $thr thread(s), kernels $kern:" \
        "checksum $got, the contract says $want" >&2
      failures=$((failures + 1))
    fi
  done
done <"$GOLDEN"
if ((cases == 0)); then
  echo "FAIL: no cases in $GOLDEN" >&2
  exit 1
fi
echo "golden: $cases cases x 6 configurations, $failures failure(s)"
((failures == 0))
