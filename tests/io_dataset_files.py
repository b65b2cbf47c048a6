#!/usr/bin/env python3
"""Write the HDF5 files tests/test_io_dataset.c loads with dt_load_dataset:
plain datasets as h5py writes them (no dtensor attributes), in every
storage, byte order and element type dt_load_dataset accepts, and the
damaged or unsupported ones it must refuse. The values follow the formulas
the C test recomputes (flat C-order index i):
  fval(i) = ((i * 37) % 1001) * 0.5 - 250     (exact in float32 and float64)
  ival(i) = ((i * 7919) % 65536) - 32768
  lval(i) = i * 1000003 - 5000000000
  bval(i) = i % 3 == 0
Usage: io_dataset_files.py DIR"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "examples"))
import to_torch  # noqa: E402  (write_checkpoint: our attributes, from h5py)


def idx(shape):
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)


def fval(shape):
    return ((idx(shape) * 37) % 1001) * 0.5 - 250


def ival(shape):
    return ((idx(shape) * 7919) % 65536) - 32768


def lval(shape):
    return idx(shape) * 1000003 - 5000000000


def bval(shape):
    return idx(shape) % 3 == 0


def main(out):
    os.makedirs(out, exist_ok=True)
    S = (13, 7)
    with h5py.File(os.path.join(out, "other.h5"), "w") as f:
        f["x"] = fval(S)
    with h5py.File(os.path.join(out, "plain.h5"), "w") as f:
        f.create_dataset("contig_f64", data=fval(S))
        f.create_dataset("chunk_f32", data=fval(S).astype("<f4"), chunks=(4, 3))
        f.create_dataset("gzip_i64", data=lval(S), chunks=(5, 2),
                         compression="gzip", compression_opts=4, shuffle=True,
                         fletcher32=True)
        f.create_dataset("be_f64", data=fval(S).astype(">f8"))
        f.create_dataset("be_i32", data=ival(S).astype(">i4"), chunks=(3, 7),
                         compression="gzip", shuffle=True)
        f.create_dataset("bool", data=bval(S))
        f.create_dataset("scalar", data=np.float64(2.5))
        f.create_dataset("scalar_i", data=np.int32(-7))
        f.create_dataset("empty", shape=(0, 5), dtype="<f4")
        g = f.create_group("g")
        g.create_dataset("cube", data=fval((5, 4, 3)), chunks=(2, 4, 1),
                         compression="gzip")
        f.create_dataset("u16", data=(ival(S) + 32768).astype("<u2"))
        f.create_dataset("i8", data=((idx(S) % 256) - 128).astype("i1"))
        f.create_dataset("u32", data=(4000000000 - idx(S)).astype(">u4"))
        f.create_dataset("w@grad", data=fval(S))
        # refused: element types
        f.create_dataset("u64", data=idx(S).astype("<u8"))
        f.create_dataset("f16", data=fval(S).astype("<f2"))
        f.create_dataset("str", data=np.array([b"ab", b"cd"]))
        f.create_dataset("null", data=h5py.Empty("f8"))
        # refused: storage
        f.create_dataset("lzf", data=fval(S), chunks=(4, 7), compression="lzf")
        f.create_dataset("unwritten", shape=(100,), dtype="<f8")
        f.create_dataset("huge", shape=(1 << 40,), dtype="<f8", chunks=(1 << 16,))
        hz = f.create_dataset("huge_gz", shape=(1 << 40,), dtype="<f8",
                              chunks=(1 << 16,), compression="gzip")
        hz[0:4] = 1.0
        pz = f.create_dataset("partial_gz", shape=(1000,), dtype="<f8",
                              chunks=(100,), compression="gzip")
        pz[0:100] = fval((100,))
        # every chunk stored, but 8 MiB declared over a 20-byte chunk
        bz = f.create_dataset("bomb_gz", shape=(1 << 20,), dtype="<f8",
                              chunks=(1 << 20,), compression="gzip")
        bz.id.write_direct_chunk((0,), b"\x78\x9c" + bytes(18))
        # unfiltered chunks of the wrong sizes (HDF5 would read past one)
        sc = f.create_dataset("short_chunk", shape=(8,), dtype="<f8",
                              chunks=(4,))
        sc.id.write_direct_chunk((0,), bytes(56))  # 64 bytes in all
        sc.id.write_direct_chunk((4,), bytes(8))
        # refused: links
        f["soft"] = h5py.SoftLink("/contig_f64")
        f["ext"] = h5py.ExternalLink("other.h5", "/x")
        # refused: a bool byte that is neither 0 nor 1 (raw bytes, no
        # conversion)
        b = f.create_dataset("badbool", shape=(4,), dtype=bool)
        b.id.write(h5py.h5s.ALL, h5py.h5s.ALL,
                   np.array([0, 1, 2, 1], dtype=np.int8).view(np.bool_))

    # Checkpoints written by h5py with our attributes: one element changed
    # after the checksum was recorded (data checksum wrong, metadata
    # consistent), and one whose checksum attribute was changed (metadata
    # checksum wrong). dt_load refuses both; skip_checksums loads them.
    for name in ("ck_data.h5", "ck_meta.h5"):
        p = os.path.join(out, name)
        to_torch.write_checkpoint(p, {"w": fval(S)})
        with h5py.File(p, "r+") as f:
            if name == "ck_data.h5":
                f["w"][3, 4] = 1234.5
            else:
                f["w"].attrs.modify("checksum", np.uint64(12345))


if __name__ == "__main__":
    main(sys.argv[1])
