#!/usr/bin/env bash
# Shared by scripts/test.sh and scripts/run.sh (sourced): make sure the Debian
# packages are there, then configure and build into $DT_BUILD (default build/).
# As root, missing packages are installed (apt-get update first); a normal
# user is told the exact command to run.
set -euo pipefail

DT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DT_BUILD=${DT_BUILD:-$DT_ROOT/build}
# The library and its suite (Open MPI and its parallel HDF5 are the default
# MPI); gnuplot-nox draws the scaling plots; clang brings libFuzzer; MPICH and
# its HDF5 are a second MPI built side by side; valgrind for the leak script;
# the Python pieces for the checksum script and the Python package.
DT_PACKAGES=(gcc g++ make cmake pkg-config libopenmpi-dev openmpi-bin
             libhdf5-openmpi-dev hdf5-tools libcunit1-dev librandom123-dev
             gnuplot-nox clang libclang-rt-14-dev valgrind
             libmpich-dev libhdf5-mpich-dev
             cython3 python3-dev python3-numpy python3-mpi4py python3-pytest
             python3-h5py
             zlib1g-dev  # dt_save's deflate chunks (src/io/save_chunked.c)
             man-db)  # `man dtensor` in the consumer package test

dt_missing_packages() {
  local p missing=()
  for p in "${DT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

dt_install_packages() {
  local missing
  missing=$(dt_missing_packages)
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
  else
    echo "setup: missing Debian packages: $missing" >&2
    echo "setup: install them with:  sudo apt-get update && sudo apt-get install -y $missing" >&2
    exit 1
  fi
}

dt_build() {
  local jobs
  jobs=$(nproc 2>/dev/null || echo 2)
  cmake -S "$DT_ROOT" -B "$DT_BUILD" -DCMAKE_BUILD_TYPE=Release ${DT_CMAKE_ARGS:-}
  cmake --build "$DT_BUILD" -j "$jobs"
}

# Open MPI refuses to run as root unless told it is fine.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

dt_install_packages
dt_build
