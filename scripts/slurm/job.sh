#!/usr/bin/env bash
# The body of the strong and weak job scripts: one `dtensor bench` run in
# this allocation, its CSV/JSON into OUT/run-<scaling>-<jobid>.csv/.json.
# Not submitted directly: strong.sbatch and weak.sbatch call it.
#
# usage: job.sh strong|weak [--local NP] [--out DIR] [--dtensor PATH]
#               [--per socket|core] [bench options...]
#
#   --local NP  run on this machine with plain mpirun -np NP (no Slurm);
#               the test suite does this at 2 ranks
#   --per core  one rank per core, OMP_NUM_THREADS=1 (default)
#   --per socket one rank per socket, OMP_NUM_THREADS = cores per socket,
#               threads bound to cores (OMP_PROC_BIND=close, OMP_PLACES=cores)
# Remaining options go to `dtensor bench` (default: --size 256M --reps 5).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sc=${1:-}
case "$sc" in strong|weak) shift ;; *) echo "usage: $0 strong|weak [--local NP] ..." >&2; exit 2 ;; esac
local_np=""
out=${DT_BENCH_OUT:-bench-out}
dtensor=${DTENSOR:-$here/../../build/dtensor}
per=core
bench=()
while [ $# -gt 0 ]; do
  case "$1" in
    --local) local_np=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --dtensor) dtensor=$2; shift 2 ;;
    --per) per=$2; shift 2 ;;
    *) bench+=("$1"); shift ;;
  esac
done
[ ${#bench[@]} -gt 0 ] || bench=(--size 256M --reps 5)
mkdir -p "$out"
id=${SLURM_JOB_ID:-local$$}
base="$out/run-$sc-$id"

case "$per" in
  core)
    export OMP_NUM_THREADS=1
    srun_bind=(--cpu-bind=cores)
    ;;
  socket)
    cps=$(lscpu -p=SOCKET,CORE 2>/dev/null | grep -v '^#' | sort -u | awk -F, '{n[$1]++} END {print n[0] ? n[0] : 1}')
    export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-$cps}
    srun_bind=(--cpu-bind=sockets)
    ;;
  *) echo "job.sh: --per core|socket, got '$per'" >&2; exit 2 ;;
esac
# threads stay on their cores; first touch then puts each shard's pages on
# the socket of the thread that computes on them
export OMP_PROC_BIND=${OMP_PROC_BIND:-close} OMP_PLACES=${OMP_PLACES:-cores}
# checkpoints on a parallel file system: no HDF5 file locks (Lustre/GPFS
# mounts without flock), collective buffering hints for ROMIO
export HDF5_USE_FILE_LOCKING=${HDF5_USE_FILE_LOCKING:-FALSE}
export ROMIO_HINTS=${ROMIO_HINTS:-$here/romio-hints}

args=(bench --scaling "$sc" "${bench[@]}" --dir "$out" --csv "$base.csv" --json "$base.json" --quiet)
if [ -n "$local_np" ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_rmaps_base_oversubscribe=1
  # a shared test machine: no binding, so ranks of other jobs are not pinned on top of each other
  export OMP_PROC_BIND=false
  unset OMP_PLACES
  timeout "${DT_JOB_TIMEOUT:-600}" "${MPIEXEC:-mpirun}" --oversubscribe --bind-to none -np "$local_np" "$dtensor" "${args[@]}" >"$base.txt"
else
  srun "${srun_bind[@]}" "$dtensor" "${args[@]}" >"$base.txt"
fi
echo "job.sh: wrote $base.csv"
