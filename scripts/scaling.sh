#!/usr/bin/env bash
# Strong and weak scaling of every `dtensor bench` operation over rank x
# thread counts on this machine, one CSV for the whole sweep, PNG plots.
#
# usage: scripts/scaling.sh [--ranks 1,2] [--threads 1,2] [--size 64M]
#                           [--reps 5] [--families "factories copy ..."]
#                           [--out DIR] [--dtensor PATH] [--oversubscribe]
#
#   --ranks, --threads  comma lists; combinations with ranks x threads above
#                       the cores of this machine are skipped unless
#                       --oversubscribe (defaults: 1,2 and 1,2 - on 2 cores
#                       1x1, 2x1 and 1x2)
#   --size              weak: bytes per rank; strong: bytes in total
#                       (default 64M, the size of the speed targets; the
#                       defaults took 5.6 minutes on a loaded 2-core machine)
#   --out DIR           where everything goes (default scaling-out/):
#                       run-<scaling>-r<R>-t<T>.csv/.json (one per run),
#                       scaling.csv, scaling.json, efficiency.csv, ratios.md,
#                       strong_/weak_time.png, strong_/weak_efficiency.png,
#                       ratio.png (see scripts/slurm/merge.sh)
#   --dtensor PATH      use this binary; without it the script installs the
#                       Debian packages and builds, as scripts/run.sh does
#
# Every run binds nothing (--bind-to none) and sets OMP_NUM_THREADS; on a
# cluster use scripts/slurm/ instead.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ranks=1,2
threads=1,2
size=64M
reps=5
families=""
out=scaling-out
dtensor=${DTENSOR:-}
oversub=0
mpiexec=${MPIEXEC:-mpirun}

while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) ranks=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --families) families=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --dtensor) dtensor=$2; shift 2 ;;
    --oversubscribe) oversub=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scaling.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$dtensor" ]; then
  # packages (gnuplot-nox among them) and the build, as the other scripts do
  source "$here/setup.sh"
  dtensor=$DT_BUILD/dtensor
fi
[ -x "$dtensor" ] || { echo "scaling.sh: '$dtensor' is not an executable" >&2; exit 1; }

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
cores=$(nproc 2>/dev/null || echo 1)
mkdir -p "$out"
rm -f "$out"/run-*.csv "$out"/run-*.json
IFS=, read -r -a rlist <<<"$ranks"
IFS=, read -r -a tlist <<<"$threads"
start=$SECONDS
runs=()
for sc in strong weak; do
  for t in "${tlist[@]}"; do
    for r in "${rlist[@]}"; do
      if [ $((r * t)) -gt "$cores" ] && [ "$oversub" -eq 0 ]; then
        echo "scaling.sh: skip $r ranks x $t threads (more than $cores cores; --oversubscribe runs it)" >&2
        continue
      fi
      base="$out/run-$sc-r$r-t$t"
      echo "scaling.sh: $sc scaling, $r ranks x $t threads, --size $size ($((SECONDS - start)) s so far)" >&2
      # shellcheck disable=SC2086
      OMP_NUM_THREADS=$t DT_NUM_THREADS=$t timeout 1200 "$mpiexec" --oversubscribe --bind-to none \
        -np "$r" "$dtensor" bench $families --scaling "$sc" --size "$size" --reps "$reps" \
        --dir "$out" --csv "$base.csv" --json "$base.json" --quiet >"$base.txt"
      runs+=("$base.csv")
    done
  done
done
[ ${#runs[@]} -gt 0 ] || { echo "scaling.sh: no run fits (see --oversubscribe)" >&2; exit 1; }
"$here/slurm/merge.sh" --out "$out" "${runs[@]}"
echo "scaling.sh: done in $((SECONDS - start)) s; see $out/ratios.md and $out/*.png" >&2
