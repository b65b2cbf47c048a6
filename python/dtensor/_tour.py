"""python3 -m dtensor tour: the content of `dtensor tour`, spelled in Python.

Each step shows the PyTorch expression it mirrors, then the tensor (printed
by rank 0) and how it is cut into one box per rank. Every rank runs every
step; only rank 0 prints.
"""
import copy

import numpy as np

import dtensor as dt


def run():
    ctx = dt.default_context()
    rank, size = ctx.rank, ctx.size

    def say(*a):
        if rank == 0:
            print(*a, flush=True)

    def boxes(t):
        parts = []
        for r in range(min(size, 8)):
            st, sh = t.owner_box(r)
            box = ", ".join("%d:%d" % (s, s + n) for s, n in zip(st, sh))
            parts.append("r%d [%s]%s" % (r, box, " (empty)" if 0 in sh else ""))
        if size > 8:
            parts.append("... (%d more)" % (size - 8))
        lay = t.layout
        if lay.kind == "replicated":
            return "replicated over %d ranks: every rank holds %s" % (size, parts[0][3:])
        head = {"split": "split on axis %s" % lay.split, "grid": "grid %s" % (lay.grid,)}.get(
            lay.kind, lay.kind + " layout")
        return "%s over %d rank%s:  %s" % (head, size, "" if size == 1 else "s", "  ".join(parts))

    def show(expr, t, values=True):
        say(">>> %s" % expr)
        if values:
            s = repr(t)  # collective: every rank formats
            say(s)
        else:
            say("    shape %s, %s; values are uninitialised" % (t.shape, t.dtype))
        say("    " + boxes(t) + "\n")
        return t

    say("dtensor %s in Python on %d rank%s\n" % (dt.__version__, size, "" if size == 1 else "s"))
    say("== from values (torch.tensor)")
    show("dt.tensor([[1.0, 2], [3, 4]])", dt.tensor([[1.0, 2], [3, 4]]))
    show("dt.tensor(np.arange(6.).reshape(2, 3))", dt.tensor(np.arange(6.).reshape(2, 3)))
    say("== filled")
    show("dt.zeros(2, 3)", dt.zeros(2, 3))
    show("dt.ones(2, 3, dtype=dt.int32)", dt.ones(2, 3, dtype=dt.int32))
    show("dt.full((2, 3), 7)", dt.full((2, 3), 7))
    show("dt.full((2, 3), 3.5)", dt.full((2, 3), 3.5))
    show("dt.empty(2, 3)", dt.empty(2, 3), values=False)
    say("== ranges")
    show("dt.arange(0, 10, 2)", dt.arange(0, 10, 2))
    show("dt.arange(0, 1, 0.3)", dt.arange(0, 1, 0.3))
    show("dt.arange(0, 5, 1.5, dtype=dt.int64)", dt.arange(0, 5, 1.5, dtype=dt.int64))
    show("dt.linspace(0, 1, 5)", dt.linspace(0, 1, 5))
    show("dt.logspace(0, 2, 3)", dt.logspace(0, 2, 3))
    show("dt.eye(2, 3)", dt.eye(2, 3))
    say("== random (counter-based Philox: values depend on the seed and the "
        "element's global index only)")
    say(">>> dt.manual_seed(0)\n")
    dt.manual_seed(0)
    show("dt.rand(2, 3)", dt.rand(2, 3))
    show("dt.randn(2, 3)", dt.randn(2, 3))
    show("dt.randint(0, 10, (2, 3))", dt.randint(0, 10, (2, 3)))
    say("== *_like and new_tensor (shape, dtype and layout of x)")
    x = show("x = dt.tensor([[1.0, 2], [3, 4]])", dt.tensor([[1.0, 2], [3, 4]]))
    show("dt.zeros_like(x)", dt.zeros_like(x))
    show("dt.full_like(x, 7)", dt.full_like(x, 7))
    show("dt.randn_like(x)", dt.randn_like(x))
    show("x.new_tensor([[5, 6], [7, 8]])", x.new_tensor([[5, 6], [7, 8]]))
    say("== layouts (the same values, cut differently)")
    show("dt.ones(2, 3, split=None)", dt.ones(2, 3, split=None))
    show("dt.arange(12).reshape(3, 4).redistribute(split=1)",
         dt.arange(12).reshape(3, 4).redistribute(split=1))
    if size == 4:
        show("dt.tensor(np.arange(24).reshape(4, 6), grid=(2, 2))",
             dt.tensor(np.arange(24).reshape(4, 6), grid=(2, 2)))
    say("== sharing memory (dt.from_numpy / t.numpy())")
    buf = np.arange(3.) + 10 * rank
    say(">>> buf = np.arange(3.) + 10 * rank     # each rank's own array")
    t = dt.from_numpy(buf)
    say(">>> t = dt.from_numpy(buf)               # stacked along axis 0, no copy")
    buf[1] = 100 + rank
    show("buf[1] = 100 + rank; t", t)
    t.numpy()[2] = -1 - rank
    ok = bool(np.shares_memory(buf, t.numpy()) and buf[2] == -1 - rank)
    ok = ctx.comm.allreduce(ok, op=__import__("mpi4py").MPI.LAND)
    say(">>> t.numpy()[2] = -1 - rank             # writes through to buf")
    say("    np.shares_memory(buf, t.numpy()) on every rank: %s\n" % ("yes" if ok else "NO"))
    say("== copies and views (clone, copy_, deepcopy, views)")
    x = show("x = dt.arange(12.).reshape(4, 3)", dt.arange(12.).reshape(4, 3))
    c = x.clone()
    d = copy.deepcopy(x)
    v = show("v = x[1:3]", x[1:3])
    show("x[-3::2]", x[-3::2])
    v.copy_(dt.full((2, 3), -1.))
    show("v.copy_(dt.full((2, 3), -1.)); x      # x changed through its view", x)
    show("c                                       # c = x.clone() before: unchanged", c)
    show("d                                       # d = copy.deepcopy(x) before: unchanged", d)
    say("== gradients (clone keeps the graph, copy_ records an edge, deepcopy is independent)")
    x = dt.tensor([3.], requires_grad=True)
    y = x.clone()
    (y ** 2).backward()
    say(">>> x = dt.tensor([3.], requires_grad=True); y = x.clone(); (y ** 2).backward()")
    say("    x.grad = %r  (the gradient flowed back through the clone)\n" % (x.grad,))
    c = dt.zeros(1)
    c.copy_(x)
    c.backward()
    say(">>> c = dt.zeros(1); c.copy_(x); c.backward()")
    say("    c.grad_fn = %s, x.grad = %r\n" % (c.grad_fn, x.grad))
    try:
        x.copy_(c)
        msg = "(unexpectedly allowed)"
    except dt.AutogradError as e:
        msg = "dtensor.AutogradError: %s" % e
    say(">>> x.copy_(c)                           # into a leaf that requires grad")
    say("    " + msg + "\n")
    d = copy.deepcopy(x)
    say(">>> d = copy.deepcopy(x)")
    say("    d.requires_grad = %s, d.grad = %r, d.is_leaf = %s\n" % (d.requires_grad, d.grad, d.is_leaf))
    say("== exact reductions and fingerprints (the same bits at any rank count)")
    dt.manual_seed(0)
    r = dt.randn(1000001, dtype=dt.float64)
    s = r.sum()
    say(">>> dt.randn(1000001, dtype=dt.float64).sum()")
    say("    %s = %s" % (repr(s), float(s).hex()))
    say("    checksum %#018x\n" % r.checksum())
    say("tour complete")
    return 0 if ok and msg.startswith("dtensor.AutogradError") else 1
