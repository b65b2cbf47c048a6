#!/usr/bin/env python3
"""Recompute every checksum of a dtensor checkpoint with numpy and h5py only.

    python3 dtensor_checksum.py FILE.h5 [FILE.h5 ...]

For every tensor dataset (and every "<name>@grad" gradient) the script reads
the global array, recomputes dt_checksum by the recipe in dtensor.h and
compares it with the dataset's "checksum" attribute. It prints one line per
dataset:

    ok       model/w  float64 [12, 1]  checksum 0x0123456789abcdef
    MISMATCH model/b  float32 [3]      recorded 0x... computed 0x...

Exit status: 0 when every checksum matches, 1 when one does not (or a
dataset disagrees with its own attributes), 2 when a file cannot be read.
Attributes and format versions this script does not know are reported
("note: ...") but do not fail the check: the element checksums it verifies
stay the same when the format grows new metadata.

The recipe (dtensor.h, dt_checksum), all arithmetic modulo 2^64:
    fmix(k):  k ^= k >> 33; k *= 0xff51afd7ed558ccd; k ^= k >> 33;
              k *= 0xc4ceb9fe1a85ec53; k ^= k >> 33
    b_i       the bits of element i (global row-major index) zero-extended
              to 64: float32/int32 their 4 bytes, float64/int64 their 8,
              bool its byte (0 or 1)
    S         sum_i fmix(b_i ^ (i * 0x9E3779B97F4A7C15))
    h         fmix(code), code: float32 1, float64 2, int32 3, int64 4,
              bool 5; then h = fmix(h ^ shape[d]) for each axis d
    checksum  fmix(S ^ h)
"""
import sys

import h5py
import numpy as np

FORMAT = "dtensor-checkpoint"
DTYPE_CODES = {"float32": 1, "float64": 2, "int32": 3, "int64": 4, "bool": 5}
# How each dtype's elements become their bits (little-endian as stored).
BITS_VIEW = {
    "float32": ("<f4", "<u4"),
    "float64": ("<f8", "<u8"),
    "int32": ("<i4", "<u4"),
    "int64": ("<i8", "<u8"),
    "bool": ("u1", "u1"),
}
TENSOR_ATTRS = {"dtensor_format", "dtensor_version", "dtype", "ndim", "shape",
                "layout", "requires_grad", "checksum", "meta_checksum"}
ROOT_ATTRS = {"dtensor_format", "dtensor_version", "rng_seed", "rng_offset",
              "meta_checksum"}
KNOWN_VERSIONS = {2}
IDX_MUL = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xFF51AFD7ED558CCD)
M2 = np.uint64(0xC4CEB9FE1A85EC53)
S33 = np.uint64(33)
MASK = (1 << 64) - 1
# Elements hashed per piece: bounds the memory a large dataset needs.
PIECE = 1 << 22


def fmix_array(k):
    """MurmurHash3's 64-bit finaliser over a uint64 array (wrapping)."""
    k = k ^ (k >> S33)
    k = k * M1
    k = k ^ (k >> S33)
    k = k * M2
    return k ^ (k >> S33)


def fmix(k):
    """The same for one Python int."""
    k &= MASK
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & MASK
    return k ^ (k >> 33)


def element_sum(values, dtype, first):
    """S over a flat C-order piece whose first element has global index
    `first`, as a Python int modulo 2^64."""
    stored, bits = BITS_VIEW[dtype]
    b = np.ascontiguousarray(values.astype(stored, copy=False)).view(bits)
    b = b.astype(np.uint64)
    idx = np.arange(first, first + b.size, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = fmix_array(b ^ (idx * IDX_MUL))
        return int(h.sum(dtype=np.uint64))


def checksum_of(dset, dtype):
    """dt_checksum of a dataset's global array, read in pieces."""
    shape = dset.shape
    S = 0
    if len(shape) == 0:
        S = element_sum(np.asarray(dset[()]).reshape(1), dtype, 0)
    elif all(n > 0 for n in shape):
        row = int(np.prod(shape[1:], dtype=np.int64))
        rows = max(1, PIECE // max(row, 1))
        for r0 in range(0, shape[0], rows):
            piece = dset[r0:r0 + rows].reshape(-1)
            S = (S + element_sum(piece, dtype, r0 * row)) & MASK
    h = fmix(DTYPE_CODES[dtype])
    for n in shape:
        h = fmix(h ^ n)
    return fmix(S ^ h)


def text(v):
    if isinstance(v, bytes):
        return v.decode("ascii", "replace")
    if isinstance(v, np.ndarray) and v.shape == ():
        return text(v[()])
    return str(v)


def mix(h, v):
    return fmix(h ^ ((v + 0x9E3779B97F4A7C15 + (h << 6)) & MASK))


def mix_bytes(h, b):
    n = len(b) - len(b) % 8
    for i in range(0, n, 8):
        h = mix(h, int.from_bytes(b[i:i + 8], "little"))
    tail = b[n:]
    return mix(h, int.from_bytes(tail, "little") ^ (len(tail) << 56))


def meta_checksum(dname, a, dtype, shape, has_grad, version):
    """dtensor_io.h's meta_checksum of dataset `dname` from its attributes."""
    h = mix(0x6474656E736F72, version)
    h = mix_bytes(h, dname.encode())
    h = mix(h, DTYPE_CODES[dtype])
    h = mix(h, len(shape))
    for n in shape:
        h = mix(h, int(n) & MASK)
    h = mix_bytes(h, text(a["layout"]).encode())
    h = mix(h, 1 if int(a["requires_grad"]) else 0)
    h = mix(h, 1 if has_grad else 0)
    return mix(h, int(a["checksum"]) & MASK)


def check_dataset(name, dset, out):
    """Verify one tensor dataset; returns True when it is sound."""
    a = dset.attrs
    for extra in sorted(set(a.keys()) - TENSOR_ATTRS):
        out.append("note: %s: attribute '%s' is not known to this script "
                   "(not verified)" % (name, extra))
    version = int(a["dtensor_version"]) if "dtensor_version" in a else None
    if version not in KNOWN_VERSIONS:
        out.append("note: %s: format version %s (this script knows %s); "
                   "checking the element checksum only"
                   % (name, version, sorted(KNOWN_VERSIONS)))
    for need in ("dtype", "checksum"):
        if need not in a:
            out.append("BAD      %s: attribute '%s' is missing" % (name, need))
            return False
    dtype = text(a["dtype"])
    if dtype not in DTYPE_CODES:
        out.append("BAD      %s: unknown dtype '%s'" % (name, dtype))
        return False
    shape = list(dset.shape)
    if "shape" in a:
        recorded = a["shape"]
        recorded = [] if recorded is None or isinstance(recorded, h5py.Empty) \
            else [int(n) for n in np.atleast_1d(recorded)]
        if recorded != shape:
            out.append("BAD      %s: attribute shape %s but the dataset holds %s"
                       % (name, recorded, shape))
            return False
    want = int(a["checksum"]) & MASK
    got = checksum_of(dset, dtype)
    if got != want:
        out.append("MISMATCH %s %s %s recorded 0x%016x computed 0x%016x"
                   % (name, dtype, shape, want, got))
        return False
    if version in KNOWN_VERSIONS:
        for need in ("layout", "requires_grad", "meta_checksum"):
            if need not in a:
                out.append("BAD      %s: attribute '%s' is missing" % (name, need))
                return False
        has_grad = not name.endswith("@grad") and (name + "@grad") in dset.file
        want_meta = int(a["meta_checksum"]) & MASK
        got_meta = meta_checksum(name, a, dtype, shape, has_grad, version)
        if got_meta != want_meta:
            out.append("MISMATCH %s metadata: recorded meta_checksum 0x%016x "
                       "computed 0x%016x" % (name, want_meta, got_meta))
            return False
    out.append("ok       %s %s %s checksum 0x%016x" % (name, dtype, shape, got))
    return True


def check_file(path):
    """Returns (sound, lines)."""
    out = []
    sound = True
    with h5py.File(path, "r") as f:
        if text(f.attrs.get("dtensor_format", b"")) != FORMAT:
            out.append("note: %s: the root group has no dtensor_format "
                       "attribute" % path)
        for extra in sorted(set(f.attrs.keys()) - ROOT_ATTRS):
            out.append("note: root attribute '%s' is not known to this script "
                       "(not verified)" % extra)
        found = []

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                found.append(name)

        f.visititems(visit)
        tensors = 0
        for name in sorted(found):
            dset = f[name]
            if text(dset.attrs.get("dtensor_format", b"")) != FORMAT:
                out.append("note: %s: not a dtensor tensor (no dtensor_format "
                           "attribute), skipped" % name)
                continue
            tensors += 1
            sound = check_dataset(name, dset, out) and sound
        out.append("%s: %d dataset(s) checked, %s" %
                   (path, tensors, "all checksums match" if sound
                    else "FAILED"))
    return sound, out


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    status = 0
    for path in argv[1:]:
        try:
            sound, lines = check_file(path)
        except (OSError, KeyError, ValueError, TypeError) as e:
            print("error: %s: %s" % (path, e), file=sys.stderr)
            status = 2
            continue
        print("\n".join(lines))
        if not sound and status == 0:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
