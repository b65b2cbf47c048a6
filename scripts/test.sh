#!/usr/bin/env bash
# Set up everything (Debian packages, configure, build) and run the whole
# test suite: every MPI suite at 1, 2, 3 and 4 ranks, each under a timeout.
# Exits non-zero on any failure; the last line is a plain summary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

cd "$DT_BUILD"
start=$(date +%s)
set +e
ctest --output-on-failure --timeout 300 -j 2 "$@" 2>&1 | tee ctest.log
rc=${PIPESTATUS[0]}
set -e
secs=$(( $(date +%s) - start ))
summary=$(grep -E "tests passed, [0-9]+ tests failed out of" ctest.log | tail -n 1)
if [ "$rc" -eq 0 ]; then
  echo "dtensor test suite: PASSED (${summary:-no tests ran}) in ${secs}s"
else
  echo "dtensor test suite: FAILED (${summary:-ctest exited $rc}) in ${secs}s"
fi
exit "$rc"
