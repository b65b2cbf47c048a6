#!/usr/bin/env bash
# Run every MPI suite at 2 ranks under valgrind memcheck (not part of
# scripts/test.sh: it takes tens of minutes). Uses the main build ($DT_BUILD,
# default build/; configure and build it first, e.g. with scripts/test.sh or
# cmake as in the README). Open MPI's own reports are suppressed with the
# file it ships; a suite fails on any invalid read or write, any use of an
# uninitialised value, or a definite leak.
#
#   bash scripts/valgrind.sh [SUITE...]      e.g. test_copy test_fault
#
# Logs: $DT_BUILD/valgrind/<suite>.<pid>.log. Exit status: the number of
# failed suites (0 when all passed).
set -uo pipefail
DT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DT_BUILD=${DT_BUILD:-$DT_ROOT/build}
MPIEXEC=${MPIEXEC:-mpiexec}
source "$DT_ROOT/tests/mpi_env.sh"
export DT_CACHE_BYTES=0 DT_NUM_THREADS=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
# plugins stay loaded so their frames have names in the reports
export OMPI_MCA_mca_base_component_disable_dlclose=1
SUPP=()
for s in /usr/share/openmpi/openmpi-valgrind.supp \
  /usr/lib/x86_64-linux-gnu/pmix2/share/pmix/pmix-valgrind.supp; do
  [ -e "$s" ] && SUPP+=("--suppressions=$s")
done
if [ $# -gt 0 ]; then
  suites=("$@")
else
  suites=()
  for f in "$DT_BUILD"/tests/test_*; do
    [ -x "$f" ] && suites+=("$(basename "$f")")
  done
fi
mkdir -p "$DT_BUILD/valgrind"
failed=0
for s in "${suites[@]}"; do
  log="$DT_BUILD/valgrind/$s.%p.log"
  rm -f "$DT_BUILD/valgrind/$s".*.log
  start=$(date +%s)
  # test_io needs its scratch directory
  DT_TEST_IO_DIR="$DT_BUILD/tests/io-work" timeout 1800 "$MPIEXEC" "${MPI_FLAGS[@]}" -np 2 \
    valgrind --quiet --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --track-origins=no "${SUPP[@]}" --log-file="$log" \
    "$DT_BUILD/tests/$s" >"$DT_BUILD/valgrind/$s.out" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  # reports (blank-line separated blocks) with a frame in libdtensor
  ours=$(cat "$DT_BUILD/valgrind/$s".*.log 2>/dev/null | awk '
    /^==[0-9]+== *$/ { if (blk ~ /libdtensor/) n++; blk = ""; next }
    { blk = blk "\n" $0 }
    END { if (blk ~ /libdtensor/) n++; print n + 0 }')
  total=$(grep -cE '^==[0-9]+== (Invalid|Conditional|Syscall param|Use of|[0-9,]+ bytes in .* definitely)' \
    "$DT_BUILD/valgrind/$s".*.log 2>/dev/null | awk -F: '{ t += $NF } END { print t + 0 }')
  if [ "$rc" -eq 0 ] && [ "$ours" -eq 0 ]; then
    echo "ok   $s (${secs}s; $total report(s), none in libdtensor)"
  else
    echo "FAIL $s (exit $rc, $ours report(s) in libdtensor, ${secs}s): see $DT_BUILD/valgrind/$s.*.log"
    failed=$((failed + 1))
  fi
done
echo "valgrind: $((${#suites[@]} - failed)) passed, $failed failed"
exit "$failed"
