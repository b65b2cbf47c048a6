"""Creation, dtypes, repr, numpy sharing, gather, checksums (issue 13)."""
import math

import numpy as np
import pytest

import dtensor as dt
from conftest import raises_everywhere

# (data, dtype, requires_grad, torch's repr): the C library's repr table
# (tests/test_format.c) through the Python spelling.
REPR_CASES = [
    ([1, 2, 3], None, False, "tensor([1, 2, 3])"),
    ([[1.0, 2], [3, 4]], None, False, "tensor([[1., 2.],\n        [3., 4.]])"),
    ([0.1, 2.5], None, False, "tensor([0.1000, 2.5000])"),
    ([1e-5, 1.0], None, False, "tensor([1.0000e-05, 1.0000e+00])"),
    ([1., 2.], dt.float64, False, "tensor([1., 2.], dtype=torch.float64)"),
    ([True, False], None, False, "tensor([ True, False])"),
    (3., None, False, "tensor(3.)"),
    (3, None, False, "tensor(3)"),
    (True, None, False, "tensor(True)"),
    (2.5, None, False, "tensor(2.5000)"),
    (float("nan"), None, False, "tensor(nan)"),
    (-0., None, False, "tensor(-0.)"),
    (-math.inf, None, False, "tensor(-inf)"),
    (7, dt.int32, False, "tensor(7, dtype=torch.int32)"),
    (2.5, dt.float64, True, "tensor(2.5000, dtype=torch.float64, requires_grad=True)"),
    ([float("nan"), math.inf, -math.inf, 1.5], None, False, "tensor([   nan,    inf,   -inf, 1.5000])"),
    ([-1.5, 2.25, -3.125], None, False, "tensor([-1.5000,  2.2500, -3.1250])"),
    ([-1, 20, -300], None, False, "tensor([  -1,   20, -300])"),
    ([1., 2.], None, True, "tensor([1., 2.], requires_grad=True)"),
    ([1, 2], dt.int32, False, "tensor([1, 2], dtype=torch.int32)"),
    ([True, False], "int32", False, "tensor([1, 0], dtype=torch.int32)"),
    ([1.7, -2.7], dt.int32, False, "tensor([ 1, -2], dtype=torch.int32)"),
    ([1, 0, 2], dt.bool, False, "tensor([ True, False,  True])"),
    ([1., 1e4], None, False, "tensor([1.0000e+00, 1.0000e+04])"),
    ([100., 1000.], None, False, "tensor([ 100., 1000.])"),
    ([1e8], None, False, "tensor([100000000.])"),
    ((1, 2), None, False, "tensor([1, 2])"),
    ([True, 2], None, False, "tensor([1, 2])"),
    ([], None, False, "tensor([])"),
    (np.array([1, 2], dtype=np.int32), None, False, "tensor([1, 2], dtype=torch.int32)"),
    (np.array([1.5], dtype=np.float64), None, False, "tensor([1.5000], dtype=torch.float64)"),
]


@pytest.mark.parametrize("data,dtype,rg,want", REPR_CASES)
def test_tensor_repr_table(data, dtype, rg, want):
    t = dt.tensor(data, dtype=dtype, requires_grad=rg)
    assert repr(t) == want


def test_inference_and_dtypes():
    assert dt.tensor([1, 2]).dtype is dt.int64
    assert dt.tensor([1.0, 2]).dtype is dt.float32
    assert dt.tensor([True]).dtype is dt.bool
    assert dt.tensor(np.zeros(2, np.float64)).dtype is dt.float64
    assert dt.tensor([1], dtype="torch.float64").dtype is dt.float64
    assert dt.tensor([1], dtype=np.int32).dtype is dt.int32
    assert repr(dt.float32) == "dtensor.float32" and dt.float32.itemsize == 4
    assert dt.float64.is_floating_point and not dt.int64.is_floating_point
    assert dt.get_default_dtype() is dt.float32


def test_factories_values():
    assert dt.zeros(2, 3).gather(None).tolist() == [[0.0] * 3] * 2
    assert repr(dt.ones(2, 3, dtype=dt.int32)) == (
        "tensor([[1, 1, 1],\n        [1, 1, 1]], dtype=torch.int32)")
    assert repr(dt.full((2, 3), 7)) == "tensor([[7, 7, 7],\n        [7, 7, 7]])"
    assert dt.full((2,), 3.5).dtype is dt.float32
    assert dt.arange(0, 10, 2).tolist() == [0, 2, 4, 6, 8]
    assert repr(dt.arange(0, 1, 0.3)) == "tensor([0.0000, 0.3000, 0.6000, 0.9000])"
    assert dt.arange(0, 5, 1.5, dtype=dt.int64).tolist() == [0, 1, 2, 3, 4]
    assert dt.arange(4).tolist() == [0, 1, 2, 3]
    assert repr(dt.linspace(0, 1, 5)) == "tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])"
    assert repr(dt.logspace(0, 2, 3)) == "tensor([  1.,  10., 100.])"
    assert repr(dt.eye(2, 3)) == "tensor([[1., 0., 0.],\n        [0., 1., 0.]])"
    assert dt.empty(2, 3).shape == (2, 3)
    x = dt.tensor([[1.0, 2], [3, 4]])
    assert dt.zeros_like(x).tolist() == [[0, 0], [0, 0]]
    assert dt.ones_like(x, dtype=dt.int64).dtype is dt.int64
    assert dt.full_like(x, 7).tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert dt.empty_like(x).shape == (2, 2)
    n = x.new_tensor([[5, 6], [7, 8]])
    assert n.dtype is dt.float32 and n.tolist() == [[5, 6], [7, 8]]
    r = dt.randint(0, 10, (50,)).gather(None)
    assert r.dtype == np.int64 and r.min() >= 0 and r.max() < 10
    assert dt.randint(3, (4,)).gather(None).max() < 3


def test_random_same_at_any_rank_count(comm, self_ctx):
    """Same seed, same tensor: the N-rank tensor gathered equals the
    1-rank one bitwise, and so do the checksums."""
    for f, args, kw in [(dt.rand, (7, 5), {}), (dt.randn, (9, 3), {"dtype": dt.float64}),
                        (dt.randn, (13,), {}), (dt.randint, (-5, 5, (11, 2)), {})]:
        dt.manual_seed(42)
        dt.manual_seed(42, ctx=self_ctx)
        a = f(*args, **kw)
        b = f(*args, ctx=self_ctx, **kw)
        ga, gb = a.gather(None), b.gather(None)
        assert ga.tobytes() == gb.tobytes()
        assert a.checksum() == b.checksum()
        c = f(*args, split=1 if len(a.shape) > 1 else None, **kw)  # another layout, next offset
        assert c.checksum() != a.checksum()
    dt.manual_seed(0)
    x = dt.rand_like(dt.zeros(6, 4, split=1))
    dt.manual_seed(0, ctx=self_ctx)
    y = dt.rand(6, 4, ctx=self_ctx)
    assert x.checksum() == y.checksum()
    assert dt.get_rng_state() == (0, 1)


def test_layouts_and_boxes(comm):
    P, r = comm.size, comm.rank
    t = dt.arange(12).reshape(3, 4)
    assert t.layout.kind == "split" and t.layout.split == 0
    (st, sh) = t.local_box()
    assert t.numpy().shape == sh
    total = comm.allreduce(int(np.prod(sh)))
    assert total == 12
    rep = dt.ones(2, 3, split=None)
    assert rep.layout.kind == "replicated" and rep.local_box() == ((0, 0), (2, 3))
    s1 = dt.zeros(3, 5, split=1)
    assert s1.layout == dt.Layout("split", 1, None)
    if P == 4:
        g = dt.zeros(4, 6, grid=(2, 2))
        assert g.layout.kind == "grid" and g.layout.grid == (2, 2)
        assert g.local_box() == g.owner_box(r)
    assert t.gather(0) is None if r != 0 else t.gather(0).tolist() == np.arange(12).reshape(3, 4).tolist()


def test_numpy_shares_memory_both_ways(comm):
    r = comm.rank
    y = dt.zeros(5, 4, dtype=dt.float64, split=1)
    a = y.numpy()
    assert np.shares_memory(a, y.numpy())
    a[...] = r + 1
    g = y.gather(None)
    # every element was written by the rank that owns it
    for q in range(comm.size):
        st, sh = y.owner_box(q)
        assert (g[:, st[1]:st[1] + sh[1]] == q + 1).all()
    # from_numpy: the array is the shard; stacked along axis 0 in rank order
    buf = np.arange(3.0) + 10 * r
    t = dt.from_numpy(buf)
    assert t.shape == (3 * comm.size,) and t.dtype is dt.float64
    buf[1] = 100 + r
    assert t.gather(None).tolist() == sum(([10.0 * q, 100.0 + q, 10.0 * q + 2] for q in range(comm.size)), [])
    t.numpy()[2] = -1 - r
    assert buf[2] == -1 - r and np.shares_memory(buf, t.numpy())
    # the tensor keeps its array alive; the array keeps the tensor alive
    v = dt.from_numpy(np.ones((2, 3), dtype=np.int32))[1]
    assert v.tolist() == [1] * 3 * 1 if comm.size == 1 else v.shape == (3,)
    n = dt.ones(4).numpy()
    assert n.tolist() == [1.0] * n.size
    # uneven and empty shards, given by start=
    lens = [(q % 3) for q in range(comm.size)]
    start = sum(lens[:r])
    u = dt.from_numpy(np.full((lens[r], 2), r, dtype=np.int64), start=(start, 0))
    assert u.shape == (sum(lens), 2) and u.local_box() == ((start, 0), (lens[r], 2))
    assert u.gather(None)[:, 0].tolist() == sum(([q] * lens[q] for q in range(comm.size)), [])


def test_dlpack():
    t = dt.arange(6.0).reshape(2, 3)
    a = np.from_dlpack(t)
    assert a.size == 0 or np.shares_memory(a, t.numpy())
    assert a.shape == t.local_box()[1]
    assert t.__dlpack_device__() == (1, 0)


def test_torch_interop():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    t = dt.arange(6.0)
    x = torch.from_numpy(t.numpy())
    x[0] = 42
    assert t.numpy()[0] == 42 or t.local_box()[1][0] == 0
    y = torch.from_dlpack(t)
    assert y.data_ptr() == x.data_ptr() or t.local_box()[1][0] == 0
    w = torch.arange(4, dtype=torch.float64)
    s = dt.from_numpy(w.numpy())
    assert s.dtype is dt.float64
    assert repr(dt.tensor(torch.tensor([[1.0, 2], [3, 4]]))) == repr(torch.tensor([[1.0, 2], [3, 4]]))


def test_errors_everywhere(comm):
    m = raises_everywhere(comm, dt.ShapeError, dt.tensor, [[1, 2], [3]])
    assert "ragged" in m
    raises_everywhere(comm, dt.DTypeError, dt.tensor, ["a", "b"])
    raises_everywhere(comm, TypeError, dt.zeros, 2.5)
    raises_everywhere(comm, dt.DTypeError, dt.zeros, 2, dtype="complex")
    m = raises_everywhere(comm, dt.ArgumentError, dt.arange, 0, 10, 0)
    assert m == "dt_arange: step must be nonzero"
    raises_everywhere(comm, dt.DTypeError, dt.rand, 3, dtype=dt.int64)
    raises_everywhere(comm, dt.AxisError, dt.zeros, 2, 3, split=5)
    assert issubclass(dt.ShapeError, ValueError) and issubclass(dt.DTypeError, TypeError)
    assert issubclass(dt.CheckpointError, OSError) and dt.ShapeError.code == 3
    assert dt.MismatchError.name == "DT_ERR_MISMATCH"
    # bad input on one rank only: every rank raises
    last = comm.size - 1
    data = [[1, 2], [3]] if comm.rank == last else [[1, 2], [3, 4]]
    raises_everywhere(comm, (dt.ShapeError, dt.ArgumentError), dt.tensor, data)
    a = np.zeros((4, 4))[:, ::2] if comm.rank == last else np.zeros((4, 2))
    m = raises_everywhere(comm, ValueError, dt.from_numpy, a)
    assert "rank %d is not C-contiguous" % last in m
    raises_everywhere(comm, TypeError, dt.from_numpy, [1.0, 2.0])
    raises_everywhere(comm, dt.DTypeError, dt.from_numpy, np.zeros(3, np.float16))
    ro = np.zeros(3)
    ro.flags.writeable = False
    raises_everywhere(comm, ValueError, dt.from_numpy, ro)
    if comm.size > 1:
        b = np.zeros((2, 3 if comm.rank == 0 else 4))
        raises_everywhere(comm, dt.ShapeError, dt.from_numpy, b)
        # overlapping boxes: the library's collective validation
        raises_everywhere(comm, dt.LayoutError, dt.from_numpy, np.zeros(2), start=(0,))
