# cython: language_level=3, boundscheck=False, wraparound=False, embedsignature=True
"""dtensor's Python layer: Cython over the public C API (include/dtensor.h).

Every function here converts its Python arguments, makes one C call (two at
most) and wraps the result; the C library does the work, checks the input
and agrees on errors across ranks. Python-side checks that depend on local
data (tensor(data), from_numpy) are agreed with one collective, so a bad
input raises on every rank and never leaves a rank waiting.
"""
cimport cython
from libc.stdint cimport int64_t, uint64_t, INT64_MIN, INT64_MAX
from libc.stdlib cimport free, malloc
from libc.string cimport memset
cimport numpy as cnp
from mpi4py cimport MPI
from mpi4py.libmpi cimport (MPI_Comm, MPI_Allgather, MPI_Allreduce,
                            MPI_Finalized, MPI_INT64_T, MPI_MIN, MPI_SUCCESS)
from dtensor._cdtensor cimport *

import collections
from mpi4py import MPI as _MPI
import numbers
import weakref

import numpy as np

cnp.import_array()

__version__ = dt_version().decode()

include "_errors_dtypes.pxi"

# ---------------------------------------------------------------------------
# Contexts
# ---------------------------------------------------------------------------

_contexts = weakref.WeakSet()


cdef class Context:
    """A communicator with its generator state, grad mode and defaults
    (dt_ctx). Context(comm=MPI.COMM_WORLD) duplicates comm; collective."""
    cdef dt_ctx *ctx
    cdef readonly int rank
    cdef readonly int size
    cdef object __weakref__

    def __cinit__(self, MPI.Comm comm=None):
        if comm is None:
            comm = _MPI.COMM_WORLD
        _check(dt_ctx_create(comm.ob_mpi, &self.ctx))
        self.rank = dt_ctx_rank(self.ctx)
        self.size = dt_ctx_size(self.ctx)
        _contexts.add(self)

    def __dealloc__(self):
        cdef int finalized = 0
        if self.ctx != NULL:
            MPI_Finalized(&finalized)
            if not finalized:  # after MPI_Finalize the handle is just left
                dt_ctx_destroy(&self.ctx)

    def __repr__(self):
        return "dtensor.Context(rank=%d, size=%d)" % (self.rank, self.size)

    @property
    def comm(self):
        """The context's own (duplicated) communicator, as an mpi4py Comm.
        It stays owned by the context: do not Free it."""
        cdef MPI.Intracomm c = MPI.Intracomm()
        c.ob_mpi = dt_ctx_comm(self.ctx)
        return c

    def manual_seed(self, seed):
        _check(dt_manual_seed(self.ctx, <uint64_t>seed))

    def get_rng_state(self):
        cdef uint64_t s, o
        _check(dt_rng_state(self.ctx, &s, &o))
        return (s, o)

    def set_rng_state(self, state):
        seed, offset = state
        _check(dt_set_rng_state(self.ctx, <uint64_t>seed, <uint64_t>offset))

    @property
    def default_dtype(self):
        return _dtypes[<int>dt_ctx_default_dtype(self.ctx)]

    @default_dtype.setter
    def default_dtype(self, d):
        _check(dt_ctx_set_default_dtype(self.ctx, <dt_dtype>_dtype_code(d)))

    def is_grad_enabled(self):
        return bool(dt_is_grad_enabled(self.ctx))

    def set_grad_enabled(self, bint enabled):
        """Set grad mode; returns the previous mode."""
        cdef c_bool prev = False
        _check(dt_set_grad_enabled(self.ctx, enabled, &prev))
        return bool(prev)


cdef Context _default = None


def default_context():
    """The context of every call without ctx= (created on first use over
    MPI.COMM_WORLD; collective then)."""
    global _default
    if _default is None:
        _default = Context()
    return _default


def set_default_context(Context ctx):
    global _default
    _default = ctx


cdef inline Context _ctx(object ctx):
    global _default
    if ctx is None:
        if _default is None:
            _default = Context()
        return _default
    if not isinstance(ctx, Context):
        raise TypeError("ctx must be a dtensor.Context, not %s" % type(ctx).__name__)
    return <Context>ctx


cdef int _agree(Context c, int64_t ok) except -1:
    """The smallest value over the ranks (-1 on MPI failure)."""
    cdef int64_t out = ok
    if MPI_Allreduce(&ok, &out, 1, MPI_INT64_T, MPI_MIN, dt_ctx_comm(c.ctx)) != MPI_SUCCESS:
        raise MPIError("MPI_Allreduce failed")
    return <int>out


def manual_seed(seed, ctx=None):
    """torch.manual_seed: seed := seed, generator offset := 0."""
    _check(dt_manual_seed(_ctx(ctx).ctx, <uint64_t>seed))


def get_rng_state(ctx=None):
    """(seed, offset) of the generator."""
    return _ctx(ctx).get_rng_state()


def set_rng_state(state, ctx=None):
    _ctx(ctx).set_rng_state(state)


def set_default_dtype(d, ctx=None):
    """torch.set_default_dtype (float32 or float64)."""
    _ctx(ctx).default_dtype = d


def get_default_dtype(ctx=None):
    return _ctx(ctx).default_dtype


def is_grad_enabled(ctx=None):
    return _ctx(ctx).is_grad_enabled()


class set_grad_enabled:
    """torch.set_grad_enabled(mode), on every live context; also a context
    manager restoring the previous modes."""

    def __init__(self, mode):
        self.prev = [(c, c.set_grad_enabled(mode)) for c in list(_contexts)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for c, p in self.prev:
            c.set_grad_enabled(p)
        return False


class no_grad:
    """torch.no_grad(): a context manager (or decorator) that turns recording
    off on every live context and restores each one's mode afterwards."""

    def __enter__(self):
        self.prev = [(c, c.set_grad_enabled(False)) for c in list(_contexts)]
        return self

    def __exit__(self, *exc):
        for c, p in self.prev:
            c.set_grad_enabled(p)
        return False

    def __call__(self, f):
        import functools

        @functools.wraps(f)
        def wrapper(*a, **k):
            with no_grad():
                return f(*a, **k)
        return wrapper

# ---------------------------------------------------------------------------
# Argument conversion
# ---------------------------------------------------------------------------


class _Default:
    def __repr__(self):
        return "<default>"


DEFAULT = _Default()  # split not given: the context default (axis 0)
cdef object _DEF = DEFAULT

Layout = collections.namedtuple("Layout", "kind split grid")
cdef tuple _layout_names = ("default", "split", "replicated", "grid", "cuts", "irregular")


cdef int _shape(object size, int64_t *out) except -1:
    """A shape from (2, 3), [2, 3] or the *size tuple (2, 3) / ((2, 3),)."""
    cdef Py_ssize_t i, n
    if type(size) is tuple:
        n = len(<tuple>size)
        if n == 1 and type((<tuple>size)[0]) is not int:
            size = (<tuple>size)[0]
    if type(size) is not tuple:
        if isinstance(size, int) or hasattr(size, "__index__"):
            size = (size,)
        else:
            try:
                size = tuple(size)
            except TypeError:
                raise TypeError("size must be a sequence of ints, not %s"
                                % type(size).__name__) from None
    n = len(<tuple>size)
    if n > DT_MAX_DIMS:
        raise ShapeError("%d axes: at most %d" % (n, DT_MAX_DIMS))
    for i in range(n):
        d = (<tuple>size)[i]
        if type(d) is int:
            out[i] = <int64_t>d
        elif isinstance(d, bool) or not hasattr(d, "__index__"):
            raise TypeError("size must be ints, got %s" % type(d).__name__)
        else:
            out[i] = <int64_t>d.__index__()
    return <int>n


cdef int _opts(dt_opts *o, object dtype_, object split, object grid,
               bint requires_grad) except -1:
    memset(o, 0, sizeof(dt_opts))
    if dtype_ is not None:
        o.dtype = <dt_dtype>_dtype_code(dtype_)
    o.requires_grad = requires_grad
    cdef int i
    if split is _DEF and grid is None:
        return 0
    if grid is not None:
        g = tuple(grid)
        if len(g) > DT_MAX_DIMS:
            raise LayoutError("grid has %d axes: at most %d" % (len(g), DT_MAX_DIMS))
        o.layout = DT_GRID
        for i in range(len(g)):
            o.grid[i] = g[i]
    elif split is None:
        o.layout = DT_REPLICATED
    else:
        if not isinstance(split, numbers.Integral):
            raise TypeError("split must be an int axis or None, not %s" % type(split).__name__)
        o.layout = DT_SPLIT
        o.split_axis = split
    return 0


cdef int _scalar(object v, dt_scalar *s) except -1:
    """A Python (or numpy) scalar with its kind, for torch's inference."""
    if type(v) is float:
        s.kind = DT_FLOAT64
        s.f = v
        s.i = 0
    elif type(v) is int:
        s.kind = DT_INT64
        s.i = v
        s.f = 0
    elif isinstance(v, (bool, np.bool_)):
        s.kind = DT_BOOL
        s.i = 1 if v else 0
        s.f = 0
    elif isinstance(v, numbers.Integral):
        s.kind = DT_INT64
        s.i = v
        s.f = 0
    elif isinstance(v, numbers.Real):
        s.kind = DT_FLOAT64
        s.f = v
        s.i = 0
    else:
        raise TypeError("expected a number, got %s" % type(v).__name__)
    return 0

# ---------------------------------------------------------------------------
# Tensor
# ---------------------------------------------------------------------------


cdef inline Tensor _wrap(dt_tensor *t, Context ctx, object keep):
    cdef Tensor r = Tensor.__new__(Tensor)
    r.t = t
    r.ctx = ctx
    r.keep = keep
    return r


@cython.no_gc_clear
cdef class Tensor:
    """A distributed tensor (dt_tensor). Make one with dtensor.tensor,
    from_numpy or a factory; every method is collective unless it says
    otherwise (call it on every rank, in the same order)."""
    cdef dt_tensor *t
    cdef Context ctx
    cdef object keep  # the numpy array a from_numpy tensor (or view) uses
    cdef object __weakref__
    __array_ufunc__ = None  # numpy defers to our operators

    def __init__(self, *a, **k):
        raise TypeError("use dtensor.tensor(...), from_numpy(...) or a factory")

    def __dealloc__(self):
        if self.t != NULL:
            dt_tensor_destroy(&self.t)

    # ---- metadata (not collective) ----
    @property
    def shape(self):
        cdef const int64_t *s = dt_shape(self.t)
        return tuple([s[i] for i in range(dt_ndim(self.t))])

    def size(self, dim=None):
        s = self.shape
        return s if dim is None else s[dim]

    @property
    def ndim(self):
        return dt_ndim(self.t)

    def dim(self):
        return dt_ndim(self.t)

    def numel(self):
        return dt_numel(self.t)

    def __len__(self):
        if dt_ndim(self.t) == 0:
            raise TypeError("len() of a 0-d tensor")
        return dt_shape(self.t)[0]

    @property
    def dtype(self):
        return _dtypes[<int>dt_dtype_of(self.t)]

    @property
    def context(self):
        return self.ctx

    @property
    def layout(self):
        """Layout(kind, split, grid): kind "split", "replicated", "grid",
        "cuts" or "irregular"; split the axis (or None); grid per axis."""
        cdef int axis = -1
        cdef int grid[8]
        memset(grid, 0, sizeof(grid))
        cdef int k = dt_layout_of(self.t, &axis, grid)
        g = tuple([grid[i] for i in range(dt_ndim(self.t))]) if k in (DT_GRID, DT_CUTS) else None
        return Layout(_layout_names[k], axis if k == DT_SPLIT else None, g)

    def local_box(self):
        """(start, shape) of this rank's box, as tuples. Not collective."""
        cdef int64_t st[8]
        cdef int64_t sh[8]
        dt_local_box(self.t, st, sh)
        n = dt_ndim(self.t)
        return (tuple([st[i] for i in range(n)]), tuple([sh[i] for i in range(n)]))

    def owner_box(self, int rank):
        """(start, shape) of rank's box. Not collective."""
        cdef int64_t st[8]
        cdef int64_t sh[8]
        _check(dt_owner_box(self.t, rank, st, sh))
        n = dt_ndim(self.t)
        return (tuple([st[i] for i in range(n)]), tuple([sh[i] for i in range(n)]))

    def is_contiguous(self):
        """Whether this rank's shard is dense in C order. Not collective."""
        return bool(dt_is_contiguous(self.t))

    def shares_memory(self, Tensor other):
        """Whether self and other share memory on this rank. Not collective."""
        return bool(dt_shares_memory(self.t, other.t))

    # ---- autograd ----
    @property
    def requires_grad(self):
        return bool(dt_requires_grad(self.t))

    @requires_grad.setter
    def requires_grad(self, bint v):
        _check(dt_requires_grad_(self.t, v))

    def requires_grad_(self, bint requires_grad=True):
        _check(dt_requires_grad_(self.t, requires_grad))
        return self

    @property
    def grad(self):
        """The accumulated gradient (a tensor sharing its memory), or None."""
        cdef dt_tensor *g = dt_grad(self.t)
        cdef dt_tensor *v = NULL
        if g == NULL:
            return None
        _check(dt_detach(g, &v))
        return _wrap(v, self.ctx, None)

    @grad.setter
    def grad(self, g):
        if g is None:
            _check(dt_set_grad(self.t, NULL))
        elif isinstance(g, Tensor):
            _check(dt_set_grad(self.t, (<Tensor>g).t))
        else:
            raise TypeError("grad must be a Tensor or None")

    @property
    def grad_fn(self):
        """The name of the node that made this tensor ("AddBackward0"), or
        None for a leaf."""
        cdef const char *n = dt_grad_fn_name(self.t)
        return None if n == NULL else n.decode()

    @property
    def is_leaf(self):
        return not dt_has_grad_fn(self.t)

    def backward(self, gradient=None, bint retain_graph=False):
        cdef dt_tensor *g = NULL
        if gradient is not None:
            if not isinstance(gradient, Tensor):
                raise TypeError("gradient must be a Tensor")
            g = (<Tensor>gradient).t
        _check(dt_backward(self.t, g, retain_graph))

    # ---- data ----
    def numpy(self):
        """This rank's shard as a numpy array sharing its memory (writes go
        into the tensor). The array keeps the tensor alive. Not collective."""
        cdef int nd = dt_ndim(self.t)
        cdef cnp.npy_intp dims[8]
        cdef cnp.npy_intp strides[8]
        cdef int64_t st[8]
        cdef int64_t sh[8]
        cdef int64_t es[8]
        cdef int code = dt_dtype_of(self.t)
        cdef size_t isz = dt_dtype_size(<dt_dtype>code)
        dt_local_box(self.t, st, sh)
        dt_local_strides(self.t, es)
        for i in range(nd):
            dims[i] = sh[i]
            strides[i] = es[i] * isz
        cdef void *p = dt_local_data(self.t)
        if p == NULL:  # an empty box: numpy's own (empty) array
            return np.empty(self.local_box()[1], dtype=_dtypes[code].numpy_dtype)
        arr = cnp.PyArray_New(np.ndarray, nd, dims, _typenum[code], strides, p,
                              <int>isz, cnp.NPY_ARRAY_WRITEABLE, None)
        cnp.set_array_base(<cnp.ndarray>arr, self)
        return arr

    def __dlpack__(self, stream=None):
        """DLPack capsule of this rank's shard (CPU), through numpy: the
        capsule keeps the tensor alive. Not collective."""
        if stream is not None:
            raise BufferError("stream must be None for a CPU tensor")
        return self.numpy().__dlpack__()

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU, device 0

    def gather(self, root=0):
        """The whole tensor as a numpy array on root (None elsewhere);
        root=None gathers on every rank. Collective."""
        cdef int r = DT_ALL_RANKS if root is None else root
        cdef int code = dt_dtype_of(self.t)
        cdef cnp.ndarray buf = None
        cdef void *p = NULL
        if r == DT_ALL_RANKS or r == self.ctx.rank:
            buf = np.empty(self.shape, dtype=_dtypes[code].numpy_dtype)
            p = cnp.PyArray_DATA(buf)
        _check(dt_gather(self.t, r, p))
        return buf

    def item(self):
        """The value of a one-element tensor as a Python number. Collective."""
        if dt_numel(self.t) != 1:
            raise ShapeError("item(): a Tensor with %d elements cannot be "
                             "converted to Scalar" % dt_numel(self.t))
        return self.gather(None).item()

    def tolist(self):
        """The whole tensor as nested lists on every rank. Collective."""
        return self.gather(None).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def __repr__(self):
        """torch's repr (collective: every rank gets the same string)."""
        cdef char *s = NULL
        _check(dt_format(self.t, &s))
        try:
            return s.decode("utf-8", "replace")
        finally:
            free(s)

    def print(self):
        """print(repr(self)) on rank 0 only. Collective."""
        s = repr(self)
        if self.ctx.rank == 0:
            print(s, flush=True)

    def checksum(self):
        """The layout-invariant 64-bit fingerprint (dt_checksum)."""
        cdef uint64_t c = 0
        _check(dt_checksum(self.t, &c))
        return c

    # ---- copies and views ----
    def clone(self):
        cdef dt_tensor *o = NULL
        _check(dt_clone(self.t, &o))
        return _wrap(o, self.ctx, None)

    def copy_(self, Tensor src not None):
        _check(dt_copy_(self.t, src.t))
        return self

    def detach(self):
        cdef dt_tensor *o = NULL
        _check(dt_detach(self.t, &o))
        return _wrap(o, self.ctx, self.keep)

    def __deepcopy__(self, memo):
        cdef dt_tensor *o = NULL
        _check(dt_deepcopy(self.t, NULL, &o))
        r = _wrap(o, self.ctx, None)
        memo[id(self)] = r
        return r

    def view(self, *shape):
        cdef int64_t s[8]
        cdef int n = _shape(shape, s)
        cdef dt_tensor *o = NULL
        _check(dt_view(self.t, n, s, &o))
        return _wrap(o, self.ctx, self.keep)

    def reshape(self, *shape):
        cdef int64_t s[8]
        cdef int n = _shape(shape, s)
        cdef dt_tensor *o = NULL
        _check(dt_reshape(self.t, n, s, &o))
        return _wrap(o, self.ctx, self.keep)

    def transpose(self, int dim0, int dim1):
        cdef dt_tensor *o = NULL
        _check(dt_transpose(self.t, dim0, dim1, &o))
        return _wrap(o, self.ctx, self.keep)

    def to(self, dtype):
        cdef dt_tensor *o = NULL
        _check(dt_to(self.t, <dt_dtype>_dtype_code(dtype), &o))
        return _wrap(o, self.ctx, self.keep)

    def redistribute(self, split=DEFAULT, grid=None, dtype=None):
        """A copy in another layout (split=k, split=None for replicated,
        grid=(...)) and optionally dtype (dt_redistribute)."""
        cdef dt_opts o
        cdef dt_tensor *out = NULL
        _opts(&o, dtype, split, grid, False)
        _check(dt_redistribute(self.t, &o, &out))
        return _wrap(out, self.ctx, None)

    def __getitem__(self, idx):
        """Basic indexing: ints, slices (step >= 1) and one Ellipsis, as
        views sharing memory (dt_slice). An index that selects a single
        element gives a 0-d tensor (a copy: dt_reshape)."""
        if not isinstance(idx, tuple):
            idx = (idx,)
        nd = dt_ndim(self.t)
        n_ell = sum(1 for i in idx if i is Ellipsis)
        if n_ell > 1:
            raise IndexError("an index can only have a single ellipsis")
        if n_ell:
            k = idx.index(Ellipsis)
            idx = idx[:k] + (slice(None),) * (nd - len(idx) + 1) + idx[k + 1:]
        if len(idx) > nd:
            raise IndexError("too many indices for tensor of dimension %d" % nd)
        cdef Tensor cur = self
        cdef dt_tensor *o = NULL
        cdef int axis = 0
        cdef int64_t start, stop, step, n
        drop = []
        for it in idx:
            if isinstance(it, slice):
                start = INT64_MIN if it.start is None else it.start
                stop = INT64_MAX if it.stop is None else it.stop
                step = 1 if it.step is None else it.step
            elif isinstance(it, numbers.Integral) and not isinstance(it, bool):
                n = dt_shape(cur.t)[axis]
                start = it
                if start < -n or start >= n:
                    raise IndexError("index %d is out of bounds for dimension %d "
                                     "with size %d" % (start, axis, n))
                if start < 0:
                    start += n
                stop = start + 1
                step = 1
                drop.append(axis)
            else:
                raise TypeError("only integers, slices and ... are valid "
                                "indices, not %s" % type(it).__name__)
            if not (step == 1 and start == INT64_MIN and stop == INT64_MAX):
                o = NULL
                _check(dt_slice(cur.t, axis, start, stop, step, &o))
                cur = _wrap(o, self.ctx, self.keep)
            axis += 1
        if cur is self:  # t[:], t[...]: an alias, as torch's
            return self.view(self.shape)
        if drop:
            shape = tuple(s for i, s in enumerate(cur.shape) if i not in drop)
            if len(shape) == 0:
                return cur.reshape(())
            return cur.view(shape)
        return cur

    def __setitem__(self, idx, value):
        """self[idx] = value: copy_ into the view (a tensor, broadcast) or
        fill it with a number."""
        cdef Tensor v = self[idx]
        if isinstance(value, Tensor):
            v.copy_(value)
        else:
            v.copy_(full((), value, dtype=v.dtype, split=None, ctx=self.ctx))

    # ---- arithmetic ----
    def __add__(x, y):
        return _binop(x, y, 0)

    def __sub__(x, y):
        return _binop(x, y, 1)

    def __mul__(x, y):
        return _binop(x, y, 2)

    def __truediv__(x, y):
        return _binop(x, y, 3)

    def __matmul__(x, y):
        if not (isinstance(x, Tensor) and isinstance(y, Tensor)):
            return NotImplemented
        cdef dt_tensor *o = NULL
        _check(dt_matmul((<Tensor>x).t, (<Tensor>y).t, &o))
        return _wrap(o, (<Tensor>x).ctx, None)

    def __pow__(x, y, z):
        if not isinstance(x, Tensor) or z is not None:
            return NotImplemented
        if not isinstance(y, numbers.Real) or isinstance(y, bool):
            raise UnsupportedError("tensor ** %s: only a number exponent is "
                                   "supported" % type(y).__name__)
        cdef dt_tensor *o = NULL
        _check(dt_pow_scalar((<Tensor>x).t, y, &o))
        return _wrap(o, (<Tensor>x).ctx, None)

    def __neg__(self):
        cdef dt_tensor *o = NULL
        _check(dt_neg(self.t, &o))
        return _wrap(o, self.ctx, None)

    def __iadd__(self, y):
        return _inplace(self, y, 0)

    def __isub__(self, y):
        return _inplace(self, y, 1)

    def __imul__(self, y):
        return _inplace(self, y, 2)

    def __itruediv__(self, y):
        return _inplace(self, y, 3)

    def exp(self):
        cdef dt_tensor *o = NULL
        _check(dt_exp(self.t, &o))
        return _wrap(o, self.ctx, None)

    def log(self):
        cdef dt_tensor *o = NULL
        _check(dt_log(self.t, &o))
        return _wrap(o, self.ctx, None)

    def sum(self, dim=None, bint keepdim=False):
        """Exact sum (correctly rounded: the same bits at any rank count)."""
        return _reduce(self, dim, keepdim, False)

    def mean(self, dim=None, bint keepdim=False):
        return _reduce(self, dim, keepdim, True)

    # ---- creation from this tensor ----
    def new_tensor(self, data, dtype=None, bint requires_grad=False):
        """Tensor.new_tensor: self's dtype and layout rule."""
        cdef dt_opts o
        cdef int64_t s[8]
        cdef dt_tensor *out = NULL
        arr, code, _ = _as_array(self.ctx, data, self.dtype if dtype is None else dtype, "new_tensor")
        _opts(&o, dtype, DEFAULT, None, requires_grad)
        for i in range(arr.ndim):
            s[i] = arr.shape[i]
        _check(dt_new_tensor(self.t, arr.ndim, s, cnp.PyArray_DATA(arr),
                             <dt_dtype>code, &o, &out))
        return _wrap(out, self.ctx, None)


cdef object _reduce(Tensor a, object dim, bint keepdim, bint mean):
    cdef dt_tensor *o = NULL
    cdef int dims[8]
    cdef int n = 0
    if dim is None and not mean and not dt_dtype_is_float(dt_dtype_of(a.t)):
        _check(dt_sum_dim(a.t, 0, dims, keepdim, &o))  # int/bool -> int64
    elif dim is None:
        _check(dt_mean(a.t, &o) if mean else dt_sum(a.t, &o))
        if keepdim:
            r = _wrap(o, a.ctx, None)
            return r.reshape((1,) * a.ndim)
    else:
        ds = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
        if len(ds) > DT_MAX_DIMS:
            raise AxisError("too many dims")
        for d in ds:
            dims[n] = d
            n += 1
        _check(dt_mean_dim(a.t, n, dims, keepdim, &o) if mean
               else dt_sum_dim(a.t, n, dims, keepdim, &o))
    return _wrap(o, a.ctx, None)


cdef Tensor _full0(Context c, object v, int code):
    """A 0-d replicated tensor holding the Python scalar v."""
    cdef dt_scalar s
    cdef dt_opts o
    cdef dt_tensor *out = NULL
    _scalar(v, &s)
    memset(&o, 0, sizeof(o))
    o.layout = DT_REPLICATED
    o.dtype = <dt_dtype>code
    _check(dt_full(c.ctx, 0, NULL, s, &o, &out))
    return _wrap(out, c, None)


cdef Tensor _full_like(Tensor a, object v, int code):
    cdef dt_scalar s
    cdef dt_opts o
    cdef dt_tensor *out = NULL
    _scalar(v, &s)
    memset(&o, 0, sizeof(o))
    o.dtype = <dt_dtype>code
    _check(dt_full_like(a.t, s, &o, &out))
    return _wrap(out, a.ctx, None)


cdef object _bin_tt(Tensor a, Tensor b, int op):
    cdef dt_tensor *o = NULL
    cdef dt_err e
    if op == 0:
        e = dt_add(a.t, b.t, &o)
    elif op == 1:
        e = dt_sub(a.t, b.t, &o)
    elif op == 2:
        e = dt_mul(a.t, b.t, &o)
    else:
        e = dt_div(a.t, b.t, &o)
    _check(e)
    return _wrap(o, a.ctx, None)


cdef object _binop(object x, object y, int op):
    """x op y with a Python number on either side, as torch treats it (a
    "wrapped number": it never raises a tensor's floating dtype)."""
    cdef Tensor a
    cdef dt_tensor *o = NULL
    cdef bint reflected = False
    if isinstance(x, Tensor):
        a = <Tensor>x
        if isinstance(y, Tensor):
            return _bin_tt(a, <Tensor>y, op)
        s = y
    elif isinstance(y, Tensor):
        a = <Tensor>y
        s = x
        reflected = True
    else:
        return NotImplemented
    if not isinstance(s, numbers.Number) or isinstance(s, numbers.Complex) and not isinstance(s, numbers.Real):
        return NotImplemented
    cdef int acode = dt_dtype_of(a.t)
    cdef bint afloat = dt_dtype_is_float(<dt_dtype>acode)
    cdef bint sfloat = not isinstance(s, (numbers.Integral, np.bool_))
    if reflected and (op == 1 or op == 3):
        # s - a, s / a: s as a tensor like a (a's layout, never a gather);
        # a float s with an integer a uses the default float dtype.
        code = acode if (afloat or not sfloat) else <int>dt_ctx_default_dtype(a.ctx.ctx)
        return _bin_tt(_full_like(a, s, code), a, op)
    if sfloat and op != 3:
        if op == 0:
            _check(dt_add_scalar(a.t, s, &o))
        elif op == 1:
            _check(dt_add_scalar(a.t, -s, &o))
        else:
            _check(dt_mul_scalar(a.t, s, &o))
        return _wrap(o, a.ctx, None)
    if sfloat:  # a / float: in a's float dtype, or the default float
        if not afloat:
            a = a.to(_dtypes[<int>dt_ctx_default_dtype(a.ctx.ctx)])
        return _bin_tt(a, _full0(a.ctx, s, dt_dtype_of(a.t)), 3)
    # an int or bool: a 0-d int64/bool tensor (it only counts when it raises
    # the category, as torch's wrapped numbers)
    return _bin_tt(a, _full0(a.ctx, s, 0), op)


cdef object _inplace(Tensor a, object y, int op):
    cdef dt_err e
    cdef Tensor b
    if isinstance(y, Tensor):
        b = <Tensor>y
    elif isinstance(y, numbers.Real):
        if not isinstance(y, (numbers.Integral, np.bool_)) and op != 3:
            if op == 0:
                _check(dt_add_scalar_(a.t, y))
            elif op == 1:
                _check(dt_add_scalar_(a.t, -y))
            else:
                _check(dt_mul_scalar_(a.t, y))
            return a
        b = _full0(a.ctx, y, 0)
    else:
        return NotImplemented
    if op == 0:
        e = dt_add_(a.t, b.t)
    elif op == 1:
        e = dt_sub_(a.t, b.t)
    elif op == 2:
        e = dt_mul_(a.t, b.t)
    else:
        e = dt_div_(a.t, b.t)
    _check(e)
    return a


def matmul(Tensor a not None, Tensor b not None):
    return a @ b


def exp(Tensor a not None):
    return a.exp()


def log(Tensor a not None):
    return a.log()

include "_create.pxi"

include "_checkpoint.pxi"
