#!/usr/bin/env bash
# Set up everything (Debian packages, configure, build) and run the whole
# test suite: every MPI suite at 1, 2, 3 and 4 ranks, each under a timeout,
# then the extra stages in scripts/stages/ (each a separately configured
# build: sanitizers, a second MPI, fuzzers, ...). Exits non-zero on any
# failure; the last line is a plain "suite: N passed, M failed".
#
#   bash scripts/test.sh [CTEST ARGS...]   arguments go to the main ctest run
#   DT_STAGES="main asan"                  run only the named stages
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

DT_STAGES=${DT_STAGES:-all}
dt_passed=0
dt_failed=0
dt_report=()
suite_start=$(date +%s)

dt_stage_wanted() {
  [ "$DT_STAGES" = all ] || [[ " $DT_STAGES " == *" $1 "* ]]
}

# dt_stage_ctest NAME BUILD_DIR [CTEST ARGS...]: run ctest in BUILD_DIR and
# add its counts to the suite's.
dt_stage_ctest() {
  local name=$1 dir=$2 rc start secs line total failed
  shift 2
  start=$(date +%s)
  set +e
  (cd "$dir" && ctest --output-on-failure --timeout 300 -j 2 "$@") 2>&1 \
    | tee "$dir/ctest-$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  secs=$(( $(date +%s) - start ))
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$dir/ctest-$name.log" | tail -n 1 || true)
  if [ -n "$line" ]; then
    failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* tests failed out of ([0-9]+).*/\1/' <<<"$line")
  else
    failed=1 total=1
  fi
  [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1 && total=$((total + 1))
  dt_passed=$((dt_passed + total - failed))
  dt_failed=$((dt_failed + failed))
  dt_report+=("$(printf '%-10s %4d passed, %3d failed  %5ss' "$name" $((total - failed)) "$failed" "$secs")")
}

# dt_stage_result NAME RC SECS: a stage that is one check, not a ctest run.
dt_stage_result() {
  if [ "$2" -eq 0 ]; then dt_passed=$((dt_passed + 1)); else dt_failed=$((dt_failed + 1)); fi
  dt_report+=("$(printf '%-10s %4d passed, %3d failed  %5ss' "$1" $(( $2 == 0 )) $(( $2 != 0 )) "$3")")
}

if dt_stage_wanted main; then
  dt_stage_ctest main "$DT_BUILD" "$@"
fi
for stage in "$DT_ROOT"/scripts/stages/*.sh; do
  [ -e "$stage" ] || continue
  # shellcheck source=/dev/null
  source "$stage"
done

secs=$(( $(date +%s) - suite_start ))
echo
echo "dtensor test suite, by stage:"
printf '  %s\n' "${dt_report[@]}"
if [ "$dt_failed" -eq 0 ] && [ "$dt_passed" -gt 0 ]; then
  echo "dtensor test suite: PASSED in ${secs}s"
else
  echo "dtensor test suite: FAILED in ${secs}s"
fi
echo "suite: $dt_passed passed, $dt_failed failed"
[ "$dt_failed" -eq 0 ] && [ "$dt_passed" -gt 0 ]
