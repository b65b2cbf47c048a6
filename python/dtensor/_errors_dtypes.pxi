# Included by _core.pyx (one extension module): errors and dtypes.

# ---------------------------------------------------------------------------
# Errors: one exception class per dt_err
# ---------------------------------------------------------------------------


class Error(Exception):
    """Base class of dtensor's errors; .code is the dt_err value, .name its
    symbolic name ("DT_ERR_SHAPE")."""
    code = None
    name = None


def _err_class(name, cname, base, doc):
    return type(name, (Error, base), {"__doc__": doc, "name": cname,
                                       "__module__": "dtensor"})


NullError = _err_class("NullError", "DT_ERR_NULL", ValueError, "A required argument is missing.")
ArgumentError = _err_class("ArgumentError", "DT_ERR_ARG", ValueError, "Invalid argument.")
ShapeError = _err_class("ShapeError", "DT_ERR_SHAPE", ValueError, "Invalid or mismatched shape.")
DTypeError = _err_class("DTypeError", "DT_ERR_DTYPE", TypeError, "Invalid or unsupported dtype.")
AxisError = _err_class("AxisError", "DT_ERR_AXIS", IndexError, "Axis out of range.")
LayoutError = _err_class("LayoutError", "DT_ERR_LAYOUT", ValueError, "Invalid layout.")
RankError = _err_class("RankError", "DT_ERR_RANK", ValueError, "Invalid rank.")
SizeOverflowError = _err_class("SizeOverflowError", "DT_ERR_OVERFLOW", OverflowError, "Size overflows 64 bits.")
OutOfMemoryError = _err_class("OutOfMemoryError", "DT_ERR_NOMEM", MemoryError, "Out of memory.")
ParseError = _err_class("ParseError", "DT_ERR_PARSE", ValueError, "Malformed tensor literal.")
MismatchError = _err_class("MismatchError", "DT_ERR_MISMATCH", ValueError, "Collective arguments differ between ranks.")
BusyError = _err_class("BusyError", "DT_ERR_BUSY", RuntimeError, "Object still in use.")
AutogradError = _err_class("AutogradError", "DT_ERR_AUTOGRAD", RuntimeError, "Autograd rule violated.")
UnsupportedError = _err_class("UnsupportedError", "DT_ERR_UNSUPPORTED", NotImplementedError, "Operation not supported.")
MPIError = _err_class("MPIError", "DT_ERR_MPI", RuntimeError, "An MPI call failed.")
FileError = _err_class("FileError", "DT_ERR_IO", OSError, "I/O error (missing, unreadable or unwritable file).")
HDF5Error = _err_class("HDF5Error", "DT_ERR_HDF5", OSError, "The HDF5 library failed.")
CheckpointError = _err_class("CheckpointError", "DT_ERR_FORMAT", OSError, "Not a valid checkpoint (or HDF5) file.")
ChecksumError = type("ChecksumError", (CheckpointError,), {
    "__doc__": "The data read do not match the recorded checksum.",
    "name": "DT_ERR_CHECKSUM", "__module__": "dtensor"})
ContextError = _err_class("ContextError", "DT_ERR_CONTEXT", ValueError, "Tensors belong to incompatible contexts.")

ERRORS = (NullError, ArgumentError, ShapeError, DTypeError, AxisError,
          LayoutError, RankError, SizeOverflowError, OutOfMemoryError,
          ParseError, MismatchError, BusyError, AutogradError,
          UnsupportedError, MPIError, FileError, HDF5Error, CheckpointError,
          ChecksumError, ContextError)

_err_by_code = {}


def _init_errors():
    by_name = {c.name: c for c in ERRORS}
    for code in range(1, <int>DT_ERR_COUNT_):
        cname = dt_err_name(<dt_err>code).decode()
        cls = by_name.get(cname)
        if cls is None:  # a code added to the C library later
            cls = _err_class(cname, cname, RuntimeError, dt_strerror(<dt_err>code).decode())
        cls.code = code
        _err_by_code[code] = cls


_init_errors()


cdef int _raise(dt_err err) except -1:
    msg = dt_last_error().decode("utf-8", "replace")
    if not msg:
        msg = dt_strerror(err).decode()
    raise _err_by_code.get(<int>err, Error)(msg)


cdef inline int _check(dt_err err) except -1:
    if err != DT_OK:
        _raise(err)
    return 0

# ---------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------


cdef class dtype:
    """An element type: dtensor.float32, float64, int32, int64, bool."""
    cdef readonly int code
    cdef readonly str name
    cdef readonly object numpy_dtype

    def __repr__(self):
        return "dtensor." + self.name

    @property
    def itemsize(self):
        return dt_dtype_size(<dt_dtype>self.code)

    @property
    def is_floating_point(self):
        return bool(dt_dtype_is_float(<dt_dtype>self.code))

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))


def _dtype_by_name(name):
    return _dtypes_by_name[name]


cdef dtype _mk_dtype(int code, npdt):
    cdef dtype d = dtype.__new__(dtype)
    d.code = code
    d.name = dt_dtype_name(<dt_dtype>code).decode()
    d.numpy_dtype = np.dtype(npdt)
    return d


float32 = _mk_dtype(DT_FLOAT32, np.float32)
float64 = _mk_dtype(DT_FLOAT64, np.float64)
int32 = _mk_dtype(DT_INT32, np.int32)
int64 = _mk_dtype(DT_INT64, np.int64)
bool_ = _mk_dtype(DT_BOOL, np.bool_)
cdef tuple _dtypes = (None, float32, float64, int32, int64, bool_)
_dtypes_by_name = {d.name: d for d in _dtypes[1:]}
cdef dict _code_by_numpy = {np.dtype(np.float32): DT_FLOAT32, np.dtype(np.float64): DT_FLOAT64,
                            np.dtype(np.int32): DT_INT32, np.dtype(np.int64): DT_INT64,
                            np.dtype(np.bool_): DT_BOOL}
cdef int _typenum[6]
_typenum[:] = [0, cnp.NPY_FLOAT32, cnp.NPY_FLOAT64, cnp.NPY_INT32, cnp.NPY_INT64, cnp.NPY_BOOL]


cdef int _dtype_code(object d) except -1:
    """dtensor dtype, name ("float32", "torch.float64", "double"), numpy dtype
    or type; None -> 0 (infer / default)."""
    cdef dt_dtype out
    if d is None:
        return 0
    if isinstance(d, dtype):
        return (<dtype>d).code
    if isinstance(d, str) or type(d).__module__ == "torch":
        s = str(d).encode()
        if dt_dtype_from_name(s, &out) == DT_OK:
            return out
        raise DTypeError("unknown dtype %r" % (d,))
    try:
        return _code_by_numpy[np.dtype(d)]
    except (TypeError, KeyError):
        raise DTypeError("unsupported dtype %r (dtensor has float32, float64, "
                         "int32, int64, bool)" % (d,)) from None
