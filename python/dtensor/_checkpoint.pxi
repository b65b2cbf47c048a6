# Included by _core.pyx (one extension module): checkpoints.

# ---------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------


def save(path, tensors, skip_grads=False, ctx=None):
    """Save {name: tensor} (and their gradients unless skip_grads, and the
    generator state) to one HDF5 file, atomically (dt_save). Collective."""
    if not isinstance(tensors, dict):
        raise TypeError("save(path, {name: tensor, ...})")
    items = list(tensors.items())
    for k, v in items:
        if not isinstance(k, str) or not isinstance(v, Tensor):
            raise TypeError("save(): keys must be str and values dtensor.Tensor")
    cdef Context c = _ctx(ctx) if ctx is not None or not items else (<Tensor>items[0][1]).ctx
    cdef int n = len(items)
    cdef const char **names = <const char **>malloc(sizeof(char *) * (n + 1))
    cdef const dt_tensor **ts = <const dt_tensor **>malloc(sizeof(dt_tensor *) * (n + 1))
    cdef dt_save_opts so
    cdef int i
    enc = [k.encode() for k, v in items]
    bpath = str(path).encode()
    try:
        if names == NULL or ts == NULL:
            raise MemoryError()
        for i in range(n):
            names[i] = enc[i]
            ts[i] = (<Tensor>items[i][1]).t
        memset(&so, 0, sizeof(so))
        so.skip_grads = skip_grads
        _check(dt_save(c.ctx, bpath, n, names, ts, &so))
    finally:
        free(names)
        free(ts)


def load(path, name, dtype=None, split=DEFAULT, grid=None, requires_grad=False, ctx=None):
    """Load one tensor (and its saved gradient) into any layout, at any rank
    count; its checksum is verified (dt_load). Collective."""
    cdef Context c = _ctx(ctx)
    cdef dt_opts o
    cdef dt_tensor *out = NULL
    _opts(&o, dtype, split, grid, requires_grad)
    _check(dt_load(c.ctx, str(path).encode(), str(name).encode(), &o, &out))
    return _wrap(out, c, None)


def checkpoint_names(path, ctx=None):
    """The tensor names of a checkpoint, in the file's order. Collective."""
    cdef Context c = _ctx(ctx)
    cdef int n = 0
    cdef dt_file_entry *e = NULL
    _check(dt_list(c.ctx, str(path).encode(), &n, &e))
    try:
        return [e[i].name.decode() for i in range(n)]
    finally:
        free(e)


def load_rng_state(path, ctx=None):
    """Restore the generator state saved in a checkpoint. Collective."""
    _check(dt_load_rng_state(_ctx(ctx).ctx, str(path).encode()))


def load_all(path, split=DEFAULT, grid=None, restore_rng=True, ctx=None):
    """Every tensor of a checkpoint as {name: tensor}, and (unless
    restore_rng=False) the generator state saved with them, so random
    tensors drawn next equal those of an uninterrupted run. Collective."""
    out = {}
    for name in checkpoint_names(path, ctx):
        out[name] = load(path, name, split=split, grid=grid, ctx=ctx)
    if restore_rng:
        load_rng_state(path, ctx)
    return out
