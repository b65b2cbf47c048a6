# Stage "mpich": the library built against MPICH (Debian's libmpich-dev and
# libhdf5-mpich-dev, installed beside Open MPI) into build-mpich, then its 1-
# and 2-rank suites and the consumer package test (C and C++, CMake and
# pkg-config with dtensor.pc's MPI flags) with MPICH's mpiexec. Proves
# nothing in the build, the tests or dtensor.pc assumes Open MPI.
# MPICH defines MPI_STATUSES_IGNORE as (MPI_Status *)1, which GCC 12's
# -Wstringop-overflow mistakes for a zero-sized array passed to MPI_Waitall
# (a false positive, an error under -Werror): that one warning is off here.
# About 2 minutes on 2 cores, its build included (sourced by scripts/test.sh).
if dt_stage_wanted mpich; then
  mpich_dir="$DT_ROOT/build-mpich"
  mpich_start=$(date +%s)
  mkdir -p "$mpich_dir"
  if cmake -S "$DT_ROOT" -B "$mpich_dir" -DCMAKE_BUILD_TYPE=Release \
      -DMPI_C_COMPILER=/usr/bin/mpicc.mpich \
      -DMPIEXEC_EXECUTABLE=/usr/bin/mpiexec.mpich \
      -DHDF5_C_COMPILER_EXECUTABLE=/usr/bin/h5pcc.mpich \
      -DCMAKE_C_FLAGS=-Wno-stringop-overflow >"$mpich_dir/build.log" 2>&1 &&
    grep -q '^MPI_C_LIB_NAMES:STRING=mpich$' "$mpich_dir/CMakeCache.txt" &&
    grep -q 'hdf5/mpich' "$mpich_dir/CMakeCache.txt" &&
    cmake --build "$mpich_dir" -j 2 >>"$mpich_dir/build.log" 2>&1; then
    dt_stage_ctest mpich "$mpich_dir" -R '(np[12]|consumer_package)$'
  else
    echo "stage mpich: configure or build failed; see $mpich_dir/build.log" >&2
    tail -n 30 "$mpich_dir/build.log" >&2
    dt_stage_result mpich 1 $(($(date +%s) - mpich_start))
  fi
fi
