#!/usr/bin/env bash
# checksum_script.sh DTENSOR RESTART MPIEXEC PYTHON SCRIPT WORKDIR
#
# scripts/dtensor_checksum.py (numpy + h5py, no dtensor) recomputes every
# checksum of checkpoints saved at 1 and 3 ranks: every dtype, uneven and
# empty shapes, 0-d, split on a later axis, replicated, and a checkpoint with
# gradients, a 0-d int64 and the generator state (examples/restart.c). Its
# value must be the one `dtensor make` printed and the one recorded; after
# one element is changed with h5py it must fail, as `dtensor inspect` does;
# an attribute or format version it does not know is reported, not fatal.
set -euo pipefail
if [[ $# -ne 6 ]]; then
  echo "usage: $0 dtensor restart mpiexec python3 dtensor_checksum.py workdir" >&2
  exit 2
fi
DTENSOR=$1
RESTART=$2
MPIEXEC=$3
PY=$4
SCRIPT=$5
work=$6/checksum_script
source "$(dirname "$0")/mpi_env.sh"
rm -rf "$work"
mkdir -p "$work"
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

cases=(
  "randn --shape 37,5 --seed 7"
  "rand --shape 11,3,4 --dtype float64 --split 1 --seed 3"
  "randint --low -9 --high 9 --shape 13 --dtype int32 --seed 5"
  "randint --low -1000000 --high 1000000 --shape 9,2 --dtype int64 --split none"
  "randint --low 0 --high 2 --shape 6,7 --dtype bool --split 1"
  "tensor --data 2.5"
  "zeros --shape 0,4"
)
checked=0
for np in 1 3; do
  k=0
  for c in "${cases[@]}"; do
    k=$((k + 1))
    f="$work/np$np.case$k.h5"
    # shellcheck disable=SC2086
    if ! out=$(mpi_job "$np" "$DTENSOR" make $c --out "$f" --name "m/t$k" 2>&1); then
      fail "dtensor make $c at $np rank(s): $out"
      continue
    fi
    want=${out%%$'\n'*}
    want=${want#checksum }
    if ! got=$("$PY" "$SCRIPT" "$f" 2>&1); then
      fail "the script rejects 'make $c' saved at $np rank(s): $got"
      continue
    fi
    if ! grep -q "^ok  *m/t$k .* checksum $want\$" <<<"$got"; then
      fail "'make $c' at $np rank(s): library $want, script: $got"
      continue
    fi
    checked=$((checked + 1))
  done
done

# Gradients, a 0-d int64 and the root's generator state, saved at 3 ranks.
ck="$work/restart.h5"
if mpi_job 3 "$RESTART" --n 50 --k 4 --steps 3 --noise 0.1 --ckpt "$ck" >/dev/null 2>&1 &&
  got=$("$PY" "$SCRIPT" "$ck" 2>&1) &&
  grep -q '^ok  *model/w@grad float64 \[4, 1\]' <<<"$got" &&
  grep -q '^ok  *train/step int64 \[\]' <<<"$got" &&
  grep -q '3 dataset(s) checked, all checksums match' <<<"$got"; then
  checked=$((checked + 1))
else
  fail "the restart checkpoint (gradients, 0-d): ${got:-restart failed}"
fi

# A changed element: the script and the library both refuse the file.
"$PY" - "$work/np3.case1.h5" "$work/np3.case5.h5" "$ck" <<'PYEOF'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    d = f["m/t1"]
    d[17, 2] = np.nextafter(d[17, 2], np.float32(10))   # one ulp
with h5py.File(sys.argv[2], "r+") as f:
    d = f["m/t5"]
    d[5, 6] = not d[5, 6]
with h5py.File(sys.argv[3], "r+") as f:
    g = f["model/w@grad"]
    g[0, 0] = g[0, 0] * 2
PYEOF
for f in np3.case1.h5 np3.case5.h5 restart.h5; do
  rc=0
  out=$("$PY" "$SCRIPT" "$work/$f" 2>&1) || rc=$?
  if [ $rc -ne 1 ] || ! grep -q '^MISMATCH' <<<"$out"; then
    fail "a changed element of $f: the script exited $rc: $out"
  fi
  if mpi_job 2 "$DTENSOR" inspect "$work/$f" >/dev/null 2>&1; then
    fail "a changed element of $f: dtensor inspect accepts it"
  fi
done

# A changed attribute the loader trusts (requires_grad) is caught by the
# metadata checksum, by the script and by the library alike.
cp "$work/np1.case2.h5" "$work/meta.h5"
"$PY" - "$work/meta.h5" <<'PYEOF'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    a = f["m/t2"].attrs
    a["requires_grad"] = np.int32(1 - int(a["requires_grad"]))
PYEOF
set +e
out=$("$PY" "$SCRIPT" "$work/meta.h5" 2>&1)
rc=$?
set -e
if [ $rc -ne 1 ] || ! grep -q '^MISMATCH m/t2 metadata' <<<"$out"; then
  fail "a flipped requires_grad: the script exited $rc: $out"
else
  checked=$((checked + 1))
fi
if mpi_job 2 "$DTENSOR" inspect "$work/meta.h5" >/dev/null 2>&1; then
  fail "a flipped requires_grad: dtensor inspect accepts it"
fi

# Metadata this script does not know (a newer format) is reported, not fatal.
"$PY" - "$work/np1.case2.h5" <<'PYEOF'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    f["m/t2"].attrs["dtensor_version"] = np.int32(3)
    f["m/t2"].attrs["something_new"] = b"x"
    f.create_dataset("foreign", data=np.arange(3))
PYEOF
if out=$("$PY" "$SCRIPT" "$work/np1.case2.h5" 2>&1) &&
  grep -q "^ok  *m/t2 " <<<"$out" && grep -q "something_new" <<<"$out" &&
  grep -q "format version 3" <<<"$out" && grep -q "foreign.*skipped" <<<"$out"; then
  checked=$((checked + 1))
else
  fail "unknown attributes: $out"
fi
# Not a file: exit status 2.
rc=0
"$PY" "$SCRIPT" "$work/none.h5" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "a missing file gave exit status $rc, not 2"

[ $failures -eq 0 ] && echo "checksum script: $checked checkpoints verified (1 and 3 ranks), 3 changed elements caught"
exit $((failures > 0))
