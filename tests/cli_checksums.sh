#!/usr/bin/env bash
# cli_checksums.sh DTENSOR MPIEXEC
#
# The promise, checked end to end through the command: `dtensor make` gives
# the same checksum at any rank count, thread count and layout. Shapes are
# small and uneven (37 x 5 cuts unevenly at 2, 3 and 4 ranks), so shard
# boundaries land in the middle of Philox blocks and Box-Muller pairs.
# Bad input must fail on every rank, quickly, with a message on stderr.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 path/to/dtensor path/to/mpiexec" >&2
  exit 2
fi
DTENSOR=$1
MPIEXEC=$2
source "$(dirname "$0")/mpi_env.sh"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0

# run NP THREADS ARGS... : one `dtensor` job, killed after 120 s.
run() {
  local np=$1 threads=$2
  shift 2
  OMP_NUM_THREADS=$threads mpi_job "$np" "$DTENSOR" "$@"
}

# checksum NP THREADS ARGS... : prints the checksum from the first line of
# `dtensor make`, or fails when the run fails or the line is malformed.
checksum() {
  local out line
  if ! out=$(run "$@" 2>"$TMP/stderr"); then
    echo "FAIL: 'dtensor ${*:3}' at -np $1, $2 thread(s) exited non-zero:" >&2
    cat "$TMP/stderr" >&2
    return 1
  fi
  line=${out%%$'\n'*}
  if [[ ! $line =~ ^checksum\ 0x[0-9a-f]{16}$ ]]; then
    echo "FAIL: 'dtensor ${*:3}' at -np $1: first line is '$line'" >&2
    return 1
  fi
  echo "${line#checksum }"
}

# agree LABEL CONFIGS ARGS... : every "np:threads" config in CONFIGS gives
# the checksum of the first one.
agree() {
  local label=$1 configs=$2
  shift 2
  local ref="" refcfg="" cfg sum
  for cfg in $configs; do
    if ! sum=$(checksum "${cfg%%:*}" "${cfg##*:}" make "$@"); then
      failures=$((failures + 1))
      return 0
    fi
    if [[ -z $ref ]]; then
      ref=$sum
      refcfg=$cfg
    elif [[ $sum != "$ref" ]]; then
      echo "FAIL: $label: checksums differ" >&2
      echo "  -np ${refcfg%%:*}, ${refcfg##*:} thread(s): $ref" >&2
      echo "  -np ${cfg%%:*}, ${cfg##*:} thread(s): $sum" >&2
      failures=$((failures + 1))
      return 0
    fi
  done
  echo "ok   $label: $ref"
}

# np:threads, the reference (1 rank, 1 thread) first.
ALL="1:1 2:1 3:1 4:1 1:2 3:2"
SPLITS="0 1 none"
SPECS="rand:float32 rand:float64 randn:float32 randn:float64 randint:int64 randint:int32"
DET="1:1 2:1 3:1 4:1"
# DT_CHECKSUMS_QUICK=1 (the sanitizer build, where each job starts ten times
# slower): a smaller set that still crosses uneven shards (37 x 5 at 3
# ranks, split on either axis), two threads and every generator kind: 24
# jobs instead of 135.
if [[ ${DT_CHECKSUMS_QUICK:-0} == 1 ]]; then
  ALL="1:1 3:2"
  SPLITS="0 1"
  SPECS="rand:float32 randn:float64 randint:int32"
  DET="1:1 3:1"
fi

for split in $SPLITS; do
  for spec in $SPECS; do
    f=${spec%%:*}
    dt=${spec##*:}
    agree "$f $dt split $split" "$ALL" \
      "$f" --dtype "$dt" --shape 37,5 --split "$split" --seed 7
  done
done

# Deterministic factories agree as well (1 thread; the kernels do not
# depend on threads, and the random ones above already cover 2 threads).
agree "arange float step" "$DET" arange --start 0 --end 3.7 --step 0.1
agree "linspace" "$DET" linspace --start -1 --end 2 --steps 37
agree "eye 5,7 split 1" "$DET" eye --shape 5,7 --split 1
agree "eye 5,7" "$DET" eye --shape 5,7

# Different seeds must give different tensors.
s7=$(checksum 2 1 make rand --shape 37,5 --seed 7) || failures=$((failures + 1))
s8=$(checksum 2 1 make rand --shape 37,5 --seed 8) || failures=$((failures + 1))
if [[ -n ${s7:-} && ${s7:-} == "${s8:-}" ]]; then
  echo "FAIL: seeds 7 and 8 give the same checksum $s7" >&2
  failures=$((failures + 1))
else
  echo "ok   seeds 7 and 8 differ: ${s7:-?} ${s8:-?}"
fi

# Bad input: non-zero exit on every rank, well before the timeout (124 would
# mean a hang), and a message from rank 0 on stderr.
bad() {
  local rc=0
  run 2 1 make "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  if [[ $rc -eq 0 || $rc -eq 124 ]]; then
    echo "FAIL: 'dtensor make $*' at -np 2 exited with $rc" >&2
    failures=$((failures + 1))
  elif ! grep -q '^dtensor make: ' "$TMP/err"; then
    echo "FAIL: 'dtensor make $*' printed no error message on stderr:" >&2
    cat "$TMP/err" >&2
    failures=$((failures + 1))
  else
    echo "ok   'make $*' fails: $(grep -m1 '^dtensor make: ' "$TMP/err")"
  fi
}
bad arange --step 0
bad rand --dtype int64
bad zeros --shape 3,-1
bad zeros --shape 3,4 --split 2
bad bogus
bad rand --dtype float128

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checksum checks passed"
