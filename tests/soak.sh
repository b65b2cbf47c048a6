#!/usr/bin/env bash
# soak.sh SOAK MPIEXEC WORKDIR [CYCLES IO_CYCLES]
#
# Resident memory stays flat at 4 ranks: CYCLES (default 10000) cycles of
# randn / zeros / copy_ (a redistribution) / deepcopy / destroy, then
# IO_CYCLES (default 200) of dt_save / dt_load / destroy. Each rank reads
# VmRSS after a warm-up tenth of each phase and at its end; growth beyond
# DT_SOAK_MAX_KB (default 2048 kB) on any rank fails.
set -euo pipefail
SOAK=$1
MPIEXEC=$2
WORK=$3
CYCLES=${4:-10000}
IO_CYCLES=${5:-200}
# Waiting ranks yield the core: with four ranks on two cores, busy polling
# makes this collective-heavy loop some 20x slower.
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
source "$(dirname "$0")/mpi_env.sh"
mkdir -p "$WORK"
dir=$(mktemp -d "$WORK/soak.XXXXXX")
trap 'rm -rf "$dir"' EXIT
start=$(date +%s)
# its own limit: ~50 ms a cycle on 2 cores under a load of 30
timeout 280 "$MPIEXEC" "${MPI_FLAGS[@]}" -np 4 "$SOAK" "$CYCLES" "$IO_CYCLES" "$dir"
echo "soak: passed in $(( $(date +%s) - start ))s"
