#!/usr/bin/env bash
# io_chunked_h5py.sh DTENSOR MPIEXEC PYTHON CHECKSUM_SCRIPT WORKDIR
#
# Checkpoints saved chunked and deflated (`dtensor make --deflate N --chunk
# BYTES [--shuffle]`) at 3 ranks (1 rank: test_io_chunked), read by the
# rest of the world: h5py
# reads every value bitwise equal to the contiguous save of the same tensor
# and sees the gzip (and shuffle) filters and the chunk shape, `h5dump -p`
# shows DEFLATE, scripts/dtensor_checksum.py (numpy + h5py) verifies the
# recorded checksum, and `dtensor inspect` at 2 ranks loads and verifies it.
set -euo pipefail
if [[ $# -ne 5 ]]; then
  echo "usage: $0 dtensor mpiexec python3 dtensor_checksum.py workdir" >&2
  exit 2
fi
DTENSOR=$1
MPIEXEC=$2
PY=$3
SCRIPT=$4
work=$5/io_chunked_h5py
source "$(dirname "$0")/mpi_env.sh"
rm -rf "$work"
mkdir -p "$work"
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# case: factory args | chunk options | expected chunk shape
cases=(
  "arange --end 100000|--deflate 6 --chunk 65536 --shuffle|8192"
  "randn --shape 301,17 --dtype float64 --seed 3|--deflate 1 --chunk 4096|30,17"
  "randint --low 0 --high 2 --shape 50,60 --dtype bool --split 1|--deflate 9|50,60"
  "rand --shape 7,3000 --seed 5|--chunk 2048|1,512"
)
checked=0
for np in 3; do
  k=0
  for c in "${cases[@]}"; do
    k=$((k + 1))
    IFS='|' read -r make zopt chunk <<<"$c"
    fc="$work/np$np.c$k.contig.h5"
    fz="$work/np$np.c$k.z.h5"
    # shellcheck disable=SC2086
    if ! a=$(mpi_job "$np" "$DTENSOR" make $make --out "$fc" 2>&1) ||
      ! b=$(mpi_job "$np" "$DTENSOR" make $make $zopt --out "$fz" 2>&1); then
      fail "dtensor make $make [$zopt] at $np rank(s): $a $b"
      continue
    fi
    [[ "$a" == "$b" ]] || fail "checksums differ: $a / $b"
    if ! out=$("$PY" - "$fc" "$fz" "$chunk" "$zopt" <<'PYEOF' 2>&1
import sys, h5py, numpy as np
fc, fz, chunk, zopt = sys.argv[1:]
with h5py.File(fc, "r") as c, h5py.File(fz, "r") as z:
    a, b = c["tensor"], z["tensor"]
    assert a.chunks is None, a.chunks
    want = tuple(int(x) for x in chunk.split(","))
    assert b.chunks == want, (b.chunks, want)
    assert b.compression == ("gzip" if "--deflate" in zopt else None), b.compression
    assert b.shuffle == ("--shuffle" in zopt), b.shuffle
    va, vb = a[()], b[()]
    assert va.dtype == vb.dtype and va.shape == vb.shape
    assert va.tobytes() == vb.tobytes(), "values differ"
    assert a.attrs["checksum"] == b.attrs["checksum"]
    print("ok", b.id.get_storage_size(), va.nbytes)
PYEOF
    ); then
      fail "h5py on $fz: $out"
      continue
    fi
    if [[ "$zopt" == *--deflate* ]] && ! h5dump -p -H "$fz" | grep -q "COMPRESSION DEFLATE"; then
      fail "h5dump -p shows no DEFLATE in $fz"
    fi
    if ! out=$("$PY" "$SCRIPT" "$fz" 2>&1); then
      fail "dtensor_checksum.py $fz: $out"
    fi
    if ! out=$(mpi_job 2 "$DTENSOR" inspect "$fz" 2>&1) || [[ "$out" != *" ok"* ]]; then
      fail "dtensor inspect $fz: $out"
    fi
    checked=$((checked + 1))
  done
done
echo "$checked chunked checkpoint(s) checked, $failures failure(s)"
[[ $failures -eq 0 && $checked -eq ${#cases[@]} ]]
