# Sourced by the test scripts: the one place that says how a test launches
# an MPI job. The caller sets MPIEXEC first.
#
# Root is allowed (CI runs as root), ranks may outnumber cores, and OpenMP
# threads are not pinned to one core per rank. The scripts run many short
# jobs: on one node the ob1 messaging layer starts in half the time UCX takes
# (unless the caller chose one). One thread per rank unless the caller or the
# job says otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# Waiting ranks yield their core (ranks outnumber cores in the suite).
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
MPI_FLAGS=(--oversubscribe --bind-to none)

# mpi_job NP PROGRAM ARGS... : one job on NP ranks, killed after 120 s so a
# hang fails the test instead of stalling the suite. Its exit status is the
# job's; a timeout or a rank or launcher killed by a signal also says so on stderr,
# so a failed test's log tells a hang or a crashed mpirun from a failed
# program.
mpi_job() {
  local np=$1 rc=0
  shift
  timeout 120 "$MPIEXEC" "${MPI_FLAGS[@]}" -np "$np" "$@" || rc=$?
  if [ "$rc" -eq 124 ]; then
    echo "mpi_job: killed after 120 s (a hang?): -np $np $*" >&2
  elif [ "$rc" -gt 128 ]; then
    echo "mpi_job: status $rc, signal $((rc - 128)) (a rank, or $(basename "$MPIEXEC") itself, was killed): -np $np $*" >&2
  fi
  return "$rc"
}
