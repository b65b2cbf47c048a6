#!/usr/bin/env bash
# to_torch.sh DTENSOR RESTART MPIEXEC PYTHON TO_TORCH WORKDIR
#
# examples/to_torch.py without torch (not installed here): its numpy/h5py
# half reads a checkpoint saved at 3 ranks (gradients included) and writes
# one that `dtensor inspect` verifies at 3 ranks, with the checksum `dtensor
# make` gives the same values; write_plain's plain chunked gzip file (and
# save_state_dict_plain's) is listed by `dtensor inspect` and loaded by
# dt_load_dataset (`inspect --dataset`) at 3 ranks with Python's checksums; its torch half runs against a stand-in module
# (tests/to_torch_stub/torch.py) that checks the glue, not torch.
set -euo pipefail
if [[ $# -ne 6 ]]; then
  echo "usage: $0 dtensor restart mpiexec python3 to_torch.py workdir" >&2
  exit 2
fi
DTENSOR=$1
RESTART=$2
MPIEXEC=$3
PY=$4
TO_TORCH=$5
work=$6/to_torch
source "$(dirname "$0")/mpi_env.sh"
rm -rf "$work"
mkdir -p "$work"
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# A checkpoint from the library: weights with a gradient, a 0-d step.
mpi_job 3 "$RESTART" --n 40 --k 5 --steps 2 --ckpt "$work/ck.h5" >/dev/null
out=$("$PY" "$TO_TORCH" show "$work/ck.h5")
grep -q '^model/w float64 \[5, 1\] requires_grad grad$' <<<"$out" &&
  grep -q '^train/step int64 \[\]$' <<<"$out" &&
  grep -q '^generator seed 2024 offset 3$' <<<"$out" ||
  fail "show of a restart checkpoint: $out"

# The same values as `dtensor make` makes: the same checksum, recorded by
# Python and verified by the library at 3 ranks.
want=$(mpi_job 2 "$DTENSOR" make arange --start 0 --end 12 --step 1 --dtype float64 | head -n 1)
PYTHONPATH=$(dirname "$TO_TORCH") "$PY" - "$work" "${want#checksum }" <<'PYEOF' || fail "write_checkpoint"
import sys
import h5py
import numpy as np
import to_torch
work, want = sys.argv[1], int(sys.argv[2], 16)
a = np.arange(12, dtype=np.float64)
assert to_torch.checksum(a, "float64") == want, "checksum differs from the library's"
rng = np.random.default_rng(0)
to_torch.write_checkpoint(work + "/np.h5", {
    "encoder.layers.0.weight": (rng.standard_normal((7, 3)).astype(np.float32),
                                np.ones((7, 3), np.float32), True),
    "x/arange": a,
    "ints": np.arange(-4, 5, dtype=np.int32),
    "longs": np.array(2**40, dtype=np.int64),
    "mask": np.array([[True, False], [False, True]]),
    "empty": np.zeros((0, 3)),
}, rng_seed=7, rng_offset=9)
# reading it back gives the same arrays
t, rngstate = to_torch.read_checkpoint(work + "/np.h5")
assert rngstate == (7, 9)
assert t["encoder.layers.0.weight"][2] and (t["encoder.layers.0.weight"][1] == 1).all()
assert t["mask"][0].dtype == np.bool_ and t["longs"][0] == 2**40
assert t["longs"][0].shape == (), "a 0-d array was not stored 0-d"
for bad in ({"a@grad": a}, {"/a": a}, {"h": np.zeros(2, np.float16)}):
    try:
        to_torch.write_checkpoint(work + "/bad.h5", bad)
        raise AssertionError("accepted %s" % list(bad))
    except ValueError:
        pass
PYEOF
if out=$(mpi_job 3 "$DTENSOR" inspect "$work/np.h5" 2>&1); then
  for n in encoder.layers.0.weight x/arange ints longs mask empty; do
    grep -q "$n" <<<"$out" || fail "inspect does not list $n: $out"
  done
else
  fail "dtensor inspect refuses the file written by to_torch.py: $out"
fi

# A plain HDF5 file (chunked, gzip, no dtensor attributes) from write_plain:
# `dtensor inspect` lists it, and `--dataset` loads each dataset with
# dt_load_dataset at 3 ranks and prints the checksum Python computes.
sums=$(PYTHONPATH=$(dirname "$TO_TORCH") "$PY" - "$work" <<'PYEOF'
import sys
import numpy as np
import to_torch
work = sys.argv[1]
rng = np.random.default_rng(1)
arrays = {
    "encoder.weight": rng.standard_normal((9, 4)).astype(np.float32),
    "x/big": np.arange(3000, dtype=np.float64).reshape(100, 30) / 7,
    "labels": np.arange(-20, 20, dtype=np.int64),
    "mask": np.arange(12).reshape(3, 4) % 3 == 0,
    "step": np.array(5, dtype=np.int32),
}
to_torch.write_plain(work + "/plain.h5", arrays)
for name, a in arrays.items():
    print(name, "0x%016x" % to_torch.checksum(a, str(a.dtype)))
try:
    to_torch.write_plain(work + "/bad.h5", {"h": np.zeros(2, np.float16)})
    raise AssertionError("float16 accepted")
except ValueError:
    pass
PYEOF
) || fail "write_plain"
if out=$(mpi_job 3 "$DTENSOR" inspect "$work/plain.h5" 2>&1); then
  grep -q "not a dtensor checkpoint; 5 HDF5 dataset(s)" <<<"$out" &&
    grep -Eq '^x/big +float64LE +float64 +\[100, 30\] +\[[0-9, ]+\] +shuffle,deflate$' <<<"$out" ||
    fail "inspect of write_plain's file: $out"
else
  fail "dtensor inspect refuses write_plain's file: $out"
fi
while read -r name sum; do
  [ -n "$name" ] || continue
  got=$(mpi_job 3 "$DTENSOR" inspect "$work/plain.h5" --dataset "$name" 2>&1 </dev/null) ||
    fail "dt_load_dataset of $name: $got"
  grep -q "checksum $sum\$" <<<"$got" || fail "$name: Python says $sum, dt_load_dataset: $got"
done <<<"$sums"

# The torch half against the stand-in: load_state_dict and save_state_dict.
PYTHONPATH=$(dirname "$0")/to_torch_stub:$(dirname "$TO_TORCH") "$PY" - "$work" <<'PYEOF' || fail "the torch half"
import sys
import numpy as np
import torch
import to_torch
work = sys.argv[1]
sd = to_torch.load_state_dict(work + "/ck.h5")
w = sd["model/w"]
assert w.requires_grad and w.grad is not None and w.grad._a.shape == (5, 1)
assert not sd["train/step"].requires_grad and sd["train/step"]._a == 2
to_torch.save_state_dict(sd, work + "/from_torch.h5")
back, _ = to_torch.read_checkpoint(work + "/from_torch.h5")
to_torch.save_state_dict_plain(sd, work + "/plain_torch.h5")
assert (back["model/w"][0] == w._a).all() and (back["model/w"][1] == w.grad._a).all()
assert back["model/w"][2]
half = torch.Tensor(np.zeros(2, np.float16))
try:
    to_torch.save_state_dict({"h": half}, work + "/bad.h5")
    raise AssertionError("float16 accepted")
except ValueError:
    pass
PYEOF
if ! out=$(mpi_job 3 "$DTENSOR" inspect "$work/from_torch.h5" 2>&1); then
  fail "dtensor inspect refuses the file from save_state_dict: $out"
fi
out=$(mpi_job 2 "$DTENSOR" inspect "$work/plain_torch.h5" --dataset model/w 2>&1) &&
  grep -q '^model/w  float64  \[5, 1\]  checksum 0x' <<<"$out" ||
  fail "dt_load_dataset of save_state_dict_plain's file: $out"
[ $failures -eq 0 ] && echo "to_torch.py: numpy half read/written and verified by dtensor at 3 ranks; torch half run against a stand-in"
exit $((failures > 0))
