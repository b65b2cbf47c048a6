# Included by _core.pyx (one extension module): every creation function.

# ---------------------------------------------------------------------------
# Creation
# ---------------------------------------------------------------------------


cdef tuple _as_array(Context c, object data, object dtype_, str fn):
    """data -> (C-contiguous native array, its dt_dtype code), with torch's
    inference. Agreed over the ranks: a bad input on any rank raises on
    every rank."""
    arr = None
    code = 0
    err = None
    try:
        if isinstance(data, Tensor):
            raise TypeError("%s(): data is a dtensor.Tensor; use t.clone() or "
                            "t.detach()" % fn)
        from_py = not (isinstance(data, np.ndarray) or
                       (hasattr(data, "__array__") and not isinstance(data, (list, tuple))))
        try:
            arr = np.asarray(data)
        except ValueError as e:
            raise ShapeError("%s(): the nested sequences are ragged (every "
                             "list at one depth must have the same length): %s"
                             % (fn, e)) from None
        k = arr.dtype.kind
        if k == "b":
            code = DT_BOOL
        elif k == "f" and from_py:
            code = DT_FLOAT64
            if dtype_ is None:
                dtype_ = _dtypes[<int>dt_ctx_default_dtype(c.ctx)]
        elif k == "i" and from_py:
            code = DT_INT64
        elif arr.dtype.newbyteorder("=") in _code_by_numpy:
            code = _code_by_numpy[arr.dtype.newbyteorder("=")]
        elif k in "iu" and arr.dtype.itemsize <= 2:
            arr = arr.astype(np.int32)
            code = DT_INT32
        elif k == "u" and arr.dtype.itemsize == 4:
            arr = arr.astype(np.int64)
            code = DT_INT64
        elif k == "f" and arr.dtype.itemsize < 4:
            arr = arr.astype(np.float32)
            code = DT_FLOAT32
        elif k == "O" and from_py:
            raise DTypeError("%s(): could not infer a dtype from the data (mixed "
                             "types, or an integer beyond int64?)" % fn)
        else:
            raise DTypeError("%s(): cannot make a tensor of numpy dtype %s"
                             % (fn, arr.dtype))
        if arr.ndim > DT_MAX_DIMS:
            raise ShapeError("%s(): %d axes: at most %d" % (fn, arr.ndim, DT_MAX_DIMS))
        _dtype_code(dtype_)
        arr = np.array(arr, dtype=_dtypes[code].numpy_dtype, order="C", copy=False)
    except Exception as e:
        err = e
    if _agree(c, 0 if err is not None else 1) == 0:
        if err is not None:
            raise err
        raise ArgumentError("%s(): the data are invalid on another rank" % fn)
    return arr, code, dtype_


def tensor(data, dtype=None, requires_grad=False, split=DEFAULT, grid=None, ctx=None):
    """torch.tensor(data): a new tensor copied from nested lists/tuples,
    numbers or a numpy array (every rank passes the same data; each copies
    its own box). dtype inference as torch: ints -> int64, any float -> the
    default float dtype, bools -> bool; a numpy array keeps its dtype."""
    cdef Context c = _ctx(ctx)
    cdef dt_opts o
    cdef int64_t s[8]
    cdef dt_tensor *out = NULL
    arr, code, dtype_ = _as_array(c, data, dtype, "tensor")
    _opts(&o, dtype_, split, grid, requires_grad)
    for i in range(arr.ndim):
        s[i] = arr.shape[i]
    _check(dt_from_data(c.ctx, arr.ndim, s, cnp.PyArray_DATA(arr), <dt_dtype>code,
                        DT_ALL_RANKS, &o, &out))
    return _wrap(out, c, None)


# from_numpy's per-rank record: status, dtype, ndim, has_start, shape[8], start[8]
DEF REC = 20
cdef tuple _fn_status = (
    None,
    "is not a numpy.ndarray",
    "has an unsupported dtype (dtensor has float32, float64, int32, int64, bool)",
    "is not C-contiguous (use numpy.ascontiguousarray(a): from_numpy never copies)",
    "is read-only",
    "has too many axes, or is 0-d (give start= and shape=)",
    "start= does not have one entry per axis",
    "has a non-native byte order")


def from_numpy(local_array, start=None, shape=None, ctx=None):
    """torch.from_numpy, distributed: local_array *is* this rank's shard (no
    copy; the tensor keeps the array alive and writes go both ways).

    Without start, the ranks' arrays are stacked along axis 0 in rank order
    (other axes must agree). With start (this rank's box's global start),
    shape is the global shape (default: the smallest that holds every box).
    Boxes must tile the shape exactly. Collective: one Allgather of the
    ranks' boxes; a bad array on any rank raises on every rank. The array
    must be C-contiguous, writeable and of one of the five dtypes (a
    non-contiguous one is refused, never silently copied)."""
    cdef Context c = _ctx(ctx)
    cdef int64_t mine[REC]
    cdef int64_t gshape[8]
    cdef int64_t gstart[8]
    cdef int64_t lshape[8]
    cdef int64_t *allr
    cdef int P = c.size
    cdef int r, d, nd
    memset(mine, 0, sizeof(mine))
    st = 0
    a = local_array
    if not isinstance(a, np.ndarray):
        st = 1
    elif not a.dtype.isnative:
        st = 7
    elif a.dtype not in _code_by_numpy:
        st = 2
    elif not a.flags.c_contiguous:
        st = 3
    elif not a.flags.writeable:
        st = 4
    elif a.ndim > DT_MAX_DIMS or (a.ndim == 0 and start is None):
        st = 5
    elif start is not None and len(start) != a.ndim:
        st = 6
    if st == 0:
        mine[1] = _code_by_numpy[a.dtype]
        mine[2] = a.ndim
        mine[3] = start is not None
        for d in range(a.ndim):
            mine[4 + d] = a.shape[d]
            if start is not None:
                mine[12 + d] = start[d]
    mine[0] = st
    allr = <int64_t *>malloc(sizeof(int64_t) * REC * P)
    if allr == NULL:
        raise MemoryError()
    try:
        if MPI_Allgather(mine, REC, MPI_INT64_T, allr, REC, MPI_INT64_T,
                         dt_ctx_comm(c.ctx)) != MPI_SUCCESS:
            raise MPIError("from_numpy: MPI_Allgather failed")
        for r in range(P):
            if allr[r * REC] != 0:
                cls = (TypeError, TypeError, DTypeError, ValueError, ValueError,
                       ShapeError, ShapeError, DTypeError)[allr[r * REC]]
                raise cls("from_numpy(): the array on rank %d %s" % (r, _fn_status[allr[r * REC]]))
        nd = <int>allr[2]
        for r in range(P):
            if allr[r * REC + 1] != allr[1] or allr[r * REC + 2] != nd or allr[r * REC + 3] != allr[3]:
                raise MismatchError("from_numpy(): the arrays' dtypes, axis counts or "
                                    "start= differ between ranks (rank 0 and rank %d)" % r)
        if not allr[3]:  # stacked along axis 0 in rank order
            for d in range(nd):
                gshape[d] = allr[4 + d]
                gstart[d] = 0
                lshape[d] = mine[4 + d]
            gshape[0] = 0
            for r in range(P):
                for d in range(1, nd):
                    if allr[r * REC + 4 + d] != allr[4 + d]:
                        raise ShapeError("from_numpy(): the arrays of rank 0 and rank %d "
                                         "differ beyond axis 0 (%s); stacking needs them "
                                         "equal" % (r, "axis %d" % d))
                if r == c.rank:
                    gstart[0] = gshape[0]
                gshape[0] += allr[r * REC + 4]
        else:
            for d in range(nd):
                gstart[d] = mine[12 + d]
                lshape[d] = mine[4 + d]
                gshape[d] = 0
                for r in range(P):
                    gshape[d] = max(gshape[d], allr[r * REC + 12 + d] + allr[r * REC + 4 + d])
            if shape is not None:
                gs = tuple(shape)
                if len(gs) != nd:
                    raise ShapeError("from_numpy(): shape has %d axes, the arrays %d"
                                     % (len(gs), nd))
                for d in range(nd):
                    gshape[d] = gs[d]
    finally:
        free(allr)
    cdef dt_tensor *out = NULL
    cdef void *p = cnp.PyArray_DATA(<cnp.ndarray>a) if a.size else NULL
    _check(dt_from_buffer(c.ctx, p, <dt_dtype>mine[1], nd, gshape, gstart, lshape, &out))
    return _wrap(out, c, a)


cdef object _factory(int which, tuple size, dtype, bint requires_grad, split, grid, ctx):
    cdef Context c = _ctx(ctx)
    cdef int64_t s[8]
    cdef dt_opts o
    cdef dt_tensor *out = NULL
    cdef int n = _shape(size, s)
    cdef dt_err e
    _opts(&o, dtype, split, grid, requires_grad)
    if which == 0:
        e = dt_zeros(c.ctx, n, s, &o, &out)
    elif which == 1:
        e = dt_ones(c.ctx, n, s, &o, &out)
    elif which == 2:
        e = dt_empty(c.ctx, n, s, &o, &out)
    elif which == 3:
        e = dt_rand(c.ctx, n, s, &o, &out)
    else:
        e = dt_randn(c.ctx, n, s, &o, &out)
    _check(e)
    return _wrap(out, c, None)


def zeros(*size, dtype=None, requires_grad=False, split=DEFAULT, grid=None, ctx=None):
    """torch.zeros(*size). Layout: split=k (default 0), split=None
    (replicated) or grid=(g0, g1, ...)."""
    return _factory(0, size, dtype, requires_grad, split, grid, ctx)


def ones(*size, dtype=None, requires_grad=False, split=DEFAULT, grid=None, ctx=None):
    return _factory(1, size, dtype, requires_grad, split, grid, ctx)


def empty(*size, dtype=None, requires_grad=False, split=DEFAULT, grid=None, ctx=None):
    return _factory(2, size, dtype, requires_grad, split, grid, ctx)


def rand(*size, dtype=None, requires_grad=False, split=DEFAULT, grid=None, ctx=None):
    """torch.rand: the same values at any rank count (counter-based Philox)."""
    return _factory(3, size, dtype, requires_grad, split, grid, ctx)


def randn(*size, dtype=None, requires_grad=False, split=DEFAULT, grid=None, ctx=None):
    return _factory(4, size, dtype, requires_grad, split, grid, ctx)


def full(size, fill_value, dtype=None, requires_grad=False, split=DEFAULT, grid=None, ctx=None):
    """torch.full: the dtype is inferred from fill_value unless given."""
    cdef Context c = _ctx(ctx)
    cdef int64_t s[8]
    cdef dt_opts o
    cdef dt_scalar v
    cdef dt_tensor *out = NULL
    cdef int n = _shape(size, s)
    _scalar(fill_value, &v)
    _opts(&o, dtype, split, grid, requires_grad)
    _check(dt_full(c.ctx, n, s, v, &o, &out))
    return _wrap(out, c, None)


def randint(*args, size=None, dtype=None, requires_grad=False, split=DEFAULT, grid=None, ctx=None):
    """torch.randint(high, size) or randint(low, high, size)."""
    if size is not None:
        args = args + (size,)
    if len(args) == 2:
        low, high, sz = 0, args[0], args[1]
    elif len(args) == 3:
        low, high, sz = args
    else:
        raise TypeError("randint(low=0, high, size)")
    cdef Context c = _ctx(ctx)
    cdef int64_t s[8]
    cdef dt_opts o
    cdef dt_tensor *out = NULL
    cdef int n = _shape(sz, s)
    _opts(&o, dtype, split, grid, requires_grad)
    _check(dt_randint(c.ctx, low, high, n, s, &o, &out))
    return _wrap(out, c, None)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, split=DEFAULT, grid=None, ctx=None):
    """torch.arange(end) / arange(start, end, step)."""
    if end is None:
        start, end = 0, start
    cdef Context c = _ctx(ctx)
    cdef dt_scalar a, b, d
    cdef dt_opts o
    cdef dt_tensor *out = NULL
    _scalar(start, &a)
    _scalar(end, &b)
    _scalar(step, &d)
    _opts(&o, dtype, split, grid, requires_grad)
    _check(dt_arange(c.ctx, a, b, d, &o, &out))
    return _wrap(out, c, None)


def linspace(double start, double end, int64_t steps, dtype=None, requires_grad=False,
             split=DEFAULT, grid=None, ctx=None):
    cdef Context c = _ctx(ctx)
    cdef dt_opts o
    cdef dt_tensor *out = NULL
    _opts(&o, dtype, split, grid, requires_grad)
    _check(dt_linspace(c.ctx, start, end, steps, &o, &out))
    return _wrap(out, c, None)


def logspace(double start, double end, int64_t steps, double base=10.0, dtype=None,
             requires_grad=False, split=DEFAULT, grid=None, ctx=None):
    cdef Context c = _ctx(ctx)
    cdef dt_opts o
    cdef dt_tensor *out = NULL
    _opts(&o, dtype, split, grid, requires_grad)
    _check(dt_logspace(c.ctx, start, end, steps, base, &o, &out))
    return _wrap(out, c, None)


def eye(int64_t n, m=None, dtype=None, requires_grad=False, split=DEFAULT, grid=None, ctx=None):
    cdef Context c = _ctx(ctx)
    cdef dt_opts o
    cdef dt_tensor *out = NULL
    _opts(&o, dtype, split, grid, requires_grad)
    _check(dt_eye(c.ctx, n, n if m is None else m, &o, &out))
    return _wrap(out, c, None)


cdef object _like(int which, Tensor src, dtype, bint requires_grad, split, grid, fill=None):
    cdef dt_opts o
    cdef dt_scalar v
    cdef dt_tensor *out = NULL
    cdef dt_err e
    _opts(&o, dtype, split, grid, requires_grad)
    if which == 0:
        e = dt_zeros_like(src.t, &o, &out)
    elif which == 1:
        e = dt_ones_like(src.t, &o, &out)
    elif which == 2:
        e = dt_empty_like(src.t, &o, &out)
    elif which == 3:
        e = dt_rand_like(src.t, &o, &out)
    elif which == 4:
        e = dt_randn_like(src.t, &o, &out)
    else:
        _scalar(fill, &v)
        e = dt_full_like(src.t, v, &o, &out)
    _check(e)
    return _wrap(out, src.ctx, None)


def zeros_like(Tensor t not None, dtype=None, requires_grad=False, split=DEFAULT, grid=None):
    """Shape, dtype, context and layout of t unless overridden."""
    return _like(0, t, dtype, requires_grad, split, grid)


def ones_like(Tensor t not None, dtype=None, requires_grad=False, split=DEFAULT, grid=None):
    return _like(1, t, dtype, requires_grad, split, grid)


def empty_like(Tensor t not None, dtype=None, requires_grad=False, split=DEFAULT, grid=None):
    return _like(2, t, dtype, requires_grad, split, grid)


def rand_like(Tensor t not None, dtype=None, requires_grad=False, split=DEFAULT, grid=None):
    return _like(3, t, dtype, requires_grad, split, grid)


def randn_like(Tensor t not None, dtype=None, requires_grad=False, split=DEFAULT, grid=None):
    return _like(4, t, dtype, requires_grad, split, grid)


def full_like(Tensor t not None, fill_value, dtype=None, requires_grad=False, split=DEFAULT, grid=None):
    return _like(5, t, dtype, requires_grad, split, grid, fill_value)
