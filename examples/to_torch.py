#!/usr/bin/env python3
"""dtensor checkpoints <-> PyTorch state_dicts, with h5py (no dtensor needed).

A dtensor checkpoint (dt_save) is one HDF5 file: each tensor a dataset of the
global array, its gradient beside it as "<name>@grad", attributes as
specified in dtensor.h. This module reads one into a torch state_dict
(gradients as .grad, requires_grad as saved) and writes a state_dict as a
checkpoint that dt_load and `dtensor inspect` read at any rank count. It
also writes plain HDF5 files (write_plain, save_state_dict_plain): chunked,
gzip-compressed datasets with no dtensor attributes at all, the kind any
HDF5 tool writes, which dt_load_dataset loads into any layout.

    import to_torch
    sd = to_torch.load_state_dict("ck.h5")       # {"model/w": tensor, ...}
    model.load_state_dict(sd)                    # keys are the tensor names
    to_torch.save_state_dict(model.state_dict(), "from_torch.h5")
    to_torch.save_state_dict_plain(model.state_dict(), "plain.h5")
    # C: dt_load_dataset(ctx, "plain.h5", "encoder.weight", NULL, &w);

Command line:
    python3 to_torch.py show FILE.h5             # needs only numpy + h5py
    python3 to_torch.py to-torch FILE.h5 OUT.pt  # torch.save of the state_dict
    python3 to_torch.py from-torch IN.pt OUT.h5  # a torch.load-ed state_dict
    python3 to_torch.py from-torch-plain IN.pt OUT.h5  # plain datasets only

torch is imported only by the functions that need it; the numpy half
(read_checkpoint, write_checkpoint) works without it.
"""
import sys

import h5py
import numpy as np

FORMAT = "dtensor-checkpoint"
VERSION = 2
# dtensor dtype name -> (numpy dtype as stored, dt_dtype code of dtensor.h)
DTYPES = {
    "float32": ("<f4", 1),
    "float64": ("<f8", 2),
    "int32": ("<i4", 3),
    "int64": ("<i8", 4),
    "bool": ("bool", 5),
}
TORCH_DTYPES = ("float32", "float64", "int32", "int64", "bool")
DEFAULT_SEED = 67280421310721  # torch's and dtensor's default seed


# ---- the checksum (dtensor.h, dt_checksum; see scripts/dtensor_checksum.py)
_MASK = (1 << 64) - 1


def _fmix(k):
    k &= _MASK
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _MASK
    return k ^ (k >> 33)


def _fmix_array(k):
    s = np.uint64(33)
    k = k ^ (k >> s)
    k = k * np.uint64(0xFF51AFD7ED558CCD)
    k = k ^ (k >> s)
    k = k * np.uint64(0xC4CEB9FE1A85EC53)
    return k ^ (k >> s)


def checksum(array, dtype):
    """dt_checksum of a global array of dtensor dtype `dtype`."""
    # astype(order="C"), not ascontiguousarray: that one turns a 0-d array
    # into shape (1,), whose checksum differs.
    a = np.asarray(array).astype(DTYPES[dtype][0], order="C")
    bits = {1: "u1", 4: "<u4", 8: "<u8"}[a.dtype.itemsize]
    b = a.reshape(-1).view(bits).astype(np.uint64)
    with np.errstate(over="ignore"):
        idx = np.arange(b.size, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        S = int(_fmix_array(b ^ idx).sum(dtype=np.uint64))
    h = _fmix(DTYPES[dtype][1])
    for n in a.shape:
        h = _fmix(h ^ n)
    return _fmix(S ^ h)


# ---- the numpy half -----------------------------------------------------------
def _text(v):
    if isinstance(v, bytes):
        return v.decode("ascii")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _text(v[()])
    return str(v)


def read_checkpoint(path):
    """{name: (array, grad array or None, requires_grad)}, and the generator
    state (seed, offset). Gradient datasets become the grad of their tensor;
    datasets that are not dtensor tensors are skipped."""
    out = {}
    grads = {}
    with h5py.File(path, "r") as f:
        if _text(f.attrs.get("dtensor_format", b"")) != FORMAT:
            raise ValueError("%s: not a dtensor checkpoint" % path)
        rng = (int(f.attrs["rng_seed"]), int(f.attrs["rng_offset"]))
        names = []
        f.visititems(lambda n, o: names.append(n)
                     if isinstance(o, h5py.Dataset) else None)
        for name in names:
            d = f[name]
            if _text(d.attrs.get("dtensor_format", b"")) != FORMAT:
                continue
            dtype = _text(d.attrs["dtype"])
            array = np.asarray(d[()]).astype(DTYPES[dtype][0], copy=False)
            if name.endswith("@grad"):
                grads[name[:-5]] = array
            else:
                out[name] = (array, None, bool(int(d.attrs["requires_grad"])))
    for name, g in grads.items():
        if name in out:
            out[name] = (out[name][0], g, out[name][2])
    return out, rng


# ---- the metadata checksum (dtensor_io.h, "meta_checksum")
def _mix(h, v):
    return _fmix(h ^ ((v + 0x9E3779B97F4A7C15 + (h << 6)) & _MASK))


def _mix_bytes(h, b):
    n = len(b)
    for i in range(0, n - n % 8, 8):
        h = _mix(h, int.from_bytes(b[i:i + 8], "little"))
    tail = b[n - n % 8:]
    return _mix(h, int.from_bytes(tail, "little") ^ ((len(tail) << 56) & _MASK))


def meta_checksum(dname, dtype, shape, layout, requires_grad, has_grad,
                  data_checksum):
    """The meta_checksum attribute of dataset `dname` (format version 2)."""
    h = _mix(0x6474656E736F72, VERSION)
    h = _mix_bytes(h, dname.encode())
    h = _mix(h, DTYPES[dtype][1])
    h = _mix(h, len(shape))
    for n in shape:
        h = _mix(h, int(n) & _MASK)
    h = _mix_bytes(h, layout.encode())
    h = _mix(h, 1 if requires_grad else 0)
    h = _mix(h, 1 if has_grad else 0)
    return _mix(h, data_checksum)


def root_meta_checksum(seed, offset):
    """The root group's meta_checksum: format version and generator state."""
    return _mix(_mix(_mix(0x726F6F74, VERSION), seed & _MASK), offset & _MASK)


def _check_name(name):
    parts = name.split("/")
    if (not 0 < len(name) <= 255 or "@" in name or
            any(c.isspace() or not c.isprintable() or ord(c) > 126
                for c in name) or
            any(p in ("", ".", "..") for p in parts)):
        raise ValueError("'%s' is not a valid dtensor tensor name (printable "
                         "ASCII without spaces or '@', '/'-separated)" % name)


def _put_dataset(f, name, array, dtype, requires_grad, has_grad=False):
    stored = DTYPES[dtype][0]
    a = np.asarray(array).astype(stored, order="C")  # a 0-d array stays 0-d
    d = f.create_dataset(name, data=a)
    at = d.attrs
    at["dtensor_format"] = np.bytes_(FORMAT)
    at["dtensor_version"] = np.int32(VERSION)
    at["dtype"] = np.bytes_(dtype)
    at["ndim"] = np.int32(a.ndim)
    if a.ndim:
        at["shape"] = np.asarray(a.shape, dtype="<i8")
    else:
        at["shape"] = h5py.Empty("<i8")
    layout = "replicated ranks=1"
    at["layout"] = np.bytes_(layout)
    at["requires_grad"] = np.int32(1 if requires_grad else 0)
    cs = checksum(a, dtype)
    at["checksum"] = np.uint64(cs)
    at["meta_checksum"] = np.uint64(meta_checksum(
        name, dtype, a.shape, layout, requires_grad, has_grad, cs))


def write_checkpoint(path, tensors, rng_seed=DEFAULT_SEED, rng_offset=0):
    """Write {name: array} or {name: (array, grad or None, requires_grad)} as
    a dtensor checkpoint. Arrays must be of a dtensor dtype (float32,
    float64, int32, int64, bool); gradients float, of the tensor's shape."""
    items = []
    for name, v in tensors.items():
        array, grad, rg = v if isinstance(v, tuple) else (v, None, False)
        _check_name(name)
        array = np.asarray(array)
        dtype = "bool" if array.dtype == np.bool_ else array.dtype.name
        if dtype not in DTYPES:
            raise ValueError("'%s': dtype %s has no dtensor dtype (convert it "
                             "to one of %s)" % (name, array.dtype,
                                                ", ".join(DTYPES)))
        if grad is not None:
            grad = np.asarray(grad)
            if grad.shape != array.shape or dtype not in ("float32", "float64"):
                raise ValueError("'%s': the gradient must be float, of the "
                                 "tensor's shape" % name)
        rg = (bool(rg) or grad is not None) and dtype in ("float32", "float64")
        items.append((name, array, dtype, grad, rg))
    with h5py.File(path, "w") as f:
        f.attrs["dtensor_format"] = np.bytes_(FORMAT)
        f.attrs["dtensor_version"] = np.int32(VERSION)
        f.attrs["rng_seed"] = np.uint64(rng_seed)
        f.attrs["rng_offset"] = np.uint64(rng_offset)
        f.attrs["meta_checksum"] = np.uint64(root_meta_checksum(rng_seed,
                                                                rng_offset))
        for name, array, dtype, grad, rg in items:
            _put_dataset(f, name, array, dtype, rg, grad is not None)
            if grad is not None:
                _put_dataset(f, name + "@grad", grad, dtype, False)


# ---- plain HDF5 files (no dtensor attributes): dt_load_dataset reads them
def write_plain(path, arrays, chunks=True, compression="gzip"):
    """Write {name: numpy array} as plain h5py datasets (chunked and gzip
    compressed by default, shuffled; a 0-d array is stored contiguous, as
    HDF5 cannot chunk it). No attribute is written: dt_load_dataset(ctx,
    path, name, opts, &t) loads each one, dtype from the array's. Arrays
    of a type dt_load_dataset refuses (float16, uint64, strings...) raise
    ValueError."""
    ok = ("f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "b1")
    with h5py.File(path, "w") as f:
        for name, a in arrays.items():
            a = np.asarray(a)
            if a.dtype.str[1:] not in ok:
                raise ValueError("'%s': dt_load_dataset does not load %s"
                                 % (name, a.dtype))
            kw = {}
            if a.ndim > 0 and a.size > 0 and chunks:
                kw = dict(chunks=True, compression=compression, shuffle=True)
            f.create_dataset(name, data=a, **kw)


# ---- the torch half (torch imported here only) ----------------------------------
def load_state_dict(path):
    """A dtensor checkpoint as {name: torch.Tensor}, gradients as .grad."""
    import torch

    tensors, _ = read_checkpoint(path)
    sd = {}
    for name, (array, grad, rg) in tensors.items():
        t = torch.from_numpy(np.array(array))  # owns a writable copy
        if rg and t.is_floating_point():
            t.requires_grad_(True)
        if grad is not None:
            t.grad = torch.from_numpy(np.array(grad))
        sd[name] = t
    return sd


def save_state_dict(state_dict, path):
    """Write a torch state_dict (tensors; .grad when set) as a dtensor
    checkpoint. float16/bfloat16 and other dtypes have no dtensor dtype:
    convert them first (t.float())."""
    tensors = {}
    for name, t in state_dict.items():
        name_dtype = str(t.dtype).replace("torch.", "")
        if name_dtype not in TORCH_DTYPES:
            raise ValueError("'%s': %s has no dtensor dtype (convert it, e.g. "
                             "t.float())" % (name, t.dtype))
        g = t.grad.detach().cpu().numpy() if t.grad is not None else None
        tensors[name] = (t.detach().cpu().numpy(), g, bool(t.requires_grad))
    write_checkpoint(path, tensors)


def save_state_dict_plain(state_dict, path):
    """Write a torch state_dict's tensors (not their gradients) as a plain
    HDF5 file (write_plain): what dt_load_dataset reads without any dtensor
    attribute."""
    arrays = {}
    for name, t in state_dict.items():
        name_dtype = str(t.dtype).replace("torch.", "")
        if name_dtype not in TORCH_DTYPES:
            raise ValueError("'%s': %s has no dtensor dtype (convert it, e.g. "
                             "t.float())" % (name, t.dtype))
        arrays[name] = t.detach().cpu().numpy()
    write_plain(path, arrays)


def main(argv):
    if len(argv) == 3 and argv[1] == "show":
        tensors, (seed, offset) = read_checkpoint(argv[2])
        for name, (a, g, rg) in sorted(tensors.items()):
            print("%s %s %s%s%s" % (name, a.dtype, list(a.shape),
                                    " requires_grad" if rg else "",
                                    " grad" if g is not None else ""))
        print("generator seed %d offset %d" % (seed, offset))
        return 0
    if len(argv) == 4 and argv[1] == "to-torch":
        import torch
        torch.save(load_state_dict(argv[2]), argv[3])
        return 0
    if len(argv) == 4 and argv[1] == "from-torch":
        import torch
        save_state_dict(torch.load(argv[2]), argv[3])
        return 0
    if len(argv) == 4 and argv[1] == "from-torch-plain":
        import torch
        save_state_dict_plain(torch.load(argv[2]), argv[3])
        return 0
    print(__doc__.split("\n\n")[3], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
