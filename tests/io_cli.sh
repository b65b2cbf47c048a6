#!/usr/bin/env bash
# io_cli.sh DTENSOR MPIEXEC H5DUMP WORKDIR
#
# Checkpoints through the command: `dtensor make --out` writes files that
# h5dump (another HDF5 tool) reads as plain arrays with their attributes;
# `dtensor inspect` lists and verifies them at another rank count and exits
# non-zero on a file with one flipped data byte, a foreign or a missing file.
set -euo pipefail

if [[ $# -ne 4 ]]; then
  echo "usage: $0 path/to/dtensor path/to/mpiexec path/to/h5dump workdir" >&2
  exit 2
fi
DTENSOR=$1
MPIEXEC=$2
H5DUMP=$3
WORK=$4/io_cli
source "$(dirname "$0")/mpi_env.sh"

rm -rf "$WORK"
mkdir -p "$WORK"
failures=0

run() {
  local np=$1
  shift
  mpi_job "$np" "$DTENSOR" "$@"
}

# expect FILE TEXT... : FILE contains each TEXT verbatim.
expect() {
  local file=$1 text
  shift
  for text in "$@"; do
    if ! grep -qF -- "$text" "$file"; then
      echo "FAIL: $(basename "$file") lacks: $text" >&2
      echo "----- $(basename "$file"):" >&2
      cat "$file" >&2
      failures=$((failures + 1))
    fi
  done
}

# make NP FILE NAME ARGS... : `dtensor make ARGS --out FILE --name NAME`.
make_file() {
  local np=$1 file=$2 name=$3
  shift 3
  if ! run "$np" make "$@" --out "$WORK/$file" --name "$name" \
    >"$WORK/$file.make" 2>&1; then
    echo "FAIL: dtensor make $* --out $file at -np $np:" >&2
    cat "$WORK/$file.make" >&2
    failures=$((failures + 1))
  fi
}

# ---- h5dump reads the plain arrays -------------------------------------------
make_file 2 f32.h5 m/x tensor --data "[[1.5, 2], [3, 4]]"
"$H5DUMP" -d /m/x "$WORK/f32.h5" >"$WORK/f32.dump" 2>&1 || true
expect "$WORK/f32.dump" 'DATASET "/m/x"' 'DATATYPE  H5T_IEEE_F32LE' \
  'DATASPACE  SIMPLE { ( 2, 2 ) / ( 2, 2 ) }' '(0,0): 1.5, 2,' '(1,0): 3, 4' \
  'ATTRIBUTE "dtype"' '"float32"' '"dtensor-checkpoint"' \
  '"split axis=0 ranks=2"'

make_file 3 bool.h5 flags tensor --data "[true, false, true, true]"
"$H5DUMP" -d /flags "$WORK/bool.h5" >"$WORK/bool.dump" 2>&1 || true
expect "$WORK/bool.dump" 'H5T_ENUM' '"FALSE"            0;' \
  '"TRUE"             1;' '(0): TRUE, FALSE, TRUE, TRUE'

make_file 4 i64.h5 r arange --end 6
"$H5DUMP" -d /r "$WORK/i64.h5" >"$WORK/i64.dump" 2>&1 || true
expect "$WORK/i64.dump" 'DATATYPE  H5T_STD_I64LE' '(0): 0, 1, 2, 3, 4, 5'

make_file 2 scalar.h5 s tensor --data "7"
"$H5DUMP" -d /s "$WORK/scalar.h5" >"$WORK/scalar.dump" 2>&1 || true
expect "$WORK/scalar.dump" 'DATASPACE  SCALAR' '(0): 7'
"$H5DUMP" -A "$WORK/scalar.h5" >"$WORK/root.dump" 2>&1 || true
expect "$WORK/root.dump" 'ATTRIBUTE "rng_seed"' 'ATTRIBUTE "rng_offset"'
echo "ok   h5dump reads float32, bool, int64 and 0-d checkpoints"

# ---- inspect lists and verifies -------------------------------------------------
make_file 3 ck.h5 model/w randn --shape 37,5 --seed 7
sum=$(head -1 "$WORK/ck.h5.make" | sed 's/^checksum //')
if run 2 inspect "$WORK/ck.h5" >"$WORK/inspect.out" 2>&1; then
  expect "$WORK/inspect.out" "1 tensor(s), generator seed 7 offset 1" \
    'model/w' 'float32' '[37, 5]' 'split axis=0 ranks=3' 'False' "$sum" ' ok'
  echo "ok   inspect lists and verifies at another rank count"
else
  echo "FAIL: inspect of a good file exited non-zero:" >&2
  cat "$WORK/inspect.out" >&2
  failures=$((failures + 1))
fi

# One flipped byte in the data (its offset from h5dump's storage layout).
cp "$WORK/ck.h5" "$WORK/bad.h5"
off=$("$H5DUMP" -p -H -d /model/w "$WORK/bad.h5" | awk '$1 == "OFFSET" {print $2}')
pos=$((off + 101))
byte=$(od -An -tu1 -j "$pos" -N1 "$WORK/bad.h5" | tr -d ' ')
printf "\\$(printf %03o $((byte ^ 4)))" |
  dd of="$WORK/bad.h5" bs=1 seek="$pos" conv=notrunc status=none
rc=0
run 3 inspect "$WORK/bad.h5" >"$WORK/bad.out" 2>&1 || rc=$?
if [[ $rc -eq 0 || $rc -eq 124 ]]; then
  echo "FAIL: inspect of a file with a flipped byte exited with $rc" >&2
  failures=$((failures + 1))
else
  expect "$WORK/bad.out" 'CHECKSUM MISMATCH' 'DT_ERR_CHECKSUM' \
    '1 of 1 tensor(s) failed verification'
  echo "ok   inspect catches a flipped data byte (exit $rc)"
fi

# Foreign and missing files, and a bad option: clear messages, non-zero exit.
echo "not HDF5" >"$WORK/text.h5"
bad() {
  local want=$1 rc=0
  shift
  run 2 "$@" >"$WORK/err.out" 2>&1 || rc=$?
  if [[ $rc -eq 0 || $rc -eq 124 ]]; then
    echo "FAIL: 'dtensor $*' exited with $rc" >&2
    failures=$((failures + 1))
  else
    expect "$WORK/err.out" "$want"
    echo "ok   'dtensor $*' fails: $(grep -m1 -F -- "$want" "$WORK/err.out")"
  fi
}
bad "not an HDF5 file" inspect "$WORK/text.h5"
bad "No such file" inspect "$WORK/missing.h5"
bad "exactly one FILE" inspect
bad "--name needs --out" make zeros --name x
bad "tensor name" make zeros --out "$WORK/x.h5" --name "a//b"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
rm -rf "$WORK"
echo "all checkpoint command checks passed"
