"""Copies, views, slicing, arithmetic, reductions, autograd (issue 13)."""
import copy
import math

import numpy as np
import pytest

import dtensor as dt
from conftest import raises_everywhere


def test_clone_copy_detach_deepcopy(comm):
    x = dt.arange(12.0).reshape(4, 3)
    c = x.clone()
    d = copy.deepcopy(x)
    v = x[1:3]
    det = x.detach()
    assert not c.shares_memory(x) and not d.shares_memory(x)
    assert det.shares_memory(x) or x.numpy().size == 0
    assert v.shape == (2, 3)
    v.copy_(dt.full((2, 3), -1.0))
    want = np.arange(12.0).reshape(4, 3)
    want[1:3] = -1
    assert x.gather(None).tolist() == want.tolist()
    assert c.gather(None).tolist() == np.arange(12.0).reshape(4, 3).tolist()
    assert d.gather(None).tolist() == np.arange(12.0).reshape(4, 3).tolist()
    # deepcopy independence: writing the copy leaves the original alone
    d.numpy()[...] = 7
    assert x.gather(None).tolist() == want.tolist()
    assert d.gather(None).tolist() == [[7.0] * 3] * 4
    # copy_ converts dtype and redistributes from any layout
    y = dt.zeros(4, 3, dtype=dt.int64, split=1)
    y.copy_(x)
    assert y.gather(None).tolist() == want.astype(np.int64).tolist()
    assert x.copy_(y) is x


def test_slicing_views(comm):
    x = dt.arange(24).reshape(4, 6)
    n = np.arange(24).reshape(4, 6)
    for idx in [(slice(1, 3),), (slice(None), slice(None, None, 2)), (slice(1, 3), slice(None, None, 2)),
                (slice(-3, None, 2),), (slice(2, 100),), (slice(-100, 3),), (slice(3, 1),),
                (Ellipsis, slice(1, 2)), (1,), (slice(None), -1), (-1, 2)]:
        got = x[idx]
        assert got.shape == n[idx].shape, idx
        assert got.gather(None).tolist() == n[idx].tolist(), idx
    v = x[1:3, ::2]
    v[...] = 0
    n[1:3, ::2] = 0
    assert x.gather(None).tolist() == n.tolist()
    x[0] = 5
    n[0] = 5
    assert x.gather(None).tolist() == n.tolist()
    t = x.transpose(0, 1)
    assert t.shape == (6, 4) and t.gather(None).tolist() == n.T.tolist()
    assert x.reshape(2, 12).gather(None).tolist() == n.reshape(2, 12).tolist()
    raises_everywhere(comm, IndexError, lambda: x[4])
    raises_everywhere(comm, dt.ArgumentError, lambda: x[::-1])
    raises_everywhere(comm, TypeError, lambda: x["a"])


def test_to_and_redistribute(comm, self_ctx):
    dt.manual_seed(3)
    x = dt.randn(7, 5, dtype=dt.float64)
    assert x.to(dt.float64) is not x and x.to("float64").shares_memory(x) or x.numpy().size == 0
    f = x.to(dt.float32)
    assert f.dtype is dt.float32
    assert f.gather(None).tobytes() == x.gather(None).astype(np.float32).tobytes()
    for kw in [{"split": 1}, {"split": None}, {"split": 0, "dtype": dt.int32}]:
        r = x.redistribute(**kw)
        g = r.gather(None)
        ref = x.gather(None)
        if "dtype" in kw:
            ref = np.trunc(ref).astype(np.int32)
        assert g.tobytes() == ref.tobytes()
    assert x.redistribute(split=1).checksum() == x.checksum()


# (expression, torch's result as a repr): wrapped Python numbers never raise
# a tensor's floating dtype; an int tensor with a float number gives float32.
ARITH = [
    (lambda a, b, i: a + b, "tensor([5., 7., 9.])"),
    (lambda a, b, i: a - b, "tensor([-3., -3., -3.])"),
    (lambda a, b, i: a * b, "tensor([ 4., 10., 18.])"),
    (lambda a, b, i: a / b, "tensor([0.2500, 0.4000, 0.5000])"),
    (lambda a, b, i: a + 1, "tensor([2., 3., 4.])"),
    (lambda a, b, i: 1 - a, "tensor([ 0., -1., -2.])"),
    (lambda a, b, i: 2 * a, "tensor([2., 4., 6.])"),
    (lambda a, b, i: a / 3, "tensor([0.3333, 0.6667, 1.0000])"),
    (lambda a, b, i: 6 / a, "tensor([6., 3., 2.])"),
    (lambda a, b, i: a ** 2, "tensor([1., 4., 9.])"),
    (lambda a, b, i: -a, "tensor([-1., -2., -3.])"),
    (lambda a, b, i: i + 1, "tensor([2, 3, 4])"),
    (lambda a, b, i: i * 2.5, "tensor([2.5000, 5.0000, 7.5000])"),
    (lambda a, b, i: i / 2, "tensor([0.5000, 1.0000, 1.5000])"),
    (lambda a, b, i: 7 - i, "tensor([6, 5, 4])"),
    (lambda a, b, i: i + a, "tensor([2., 4., 6.])"),
    (lambda a, b, i: a.to(dt.float64) + 0.5, "tensor([1.5000, 2.5000, 3.5000], dtype=torch.float64)"),
    (lambda a, b, i: a + dt.tensor([[10.0], [20.0]]), "tensor([[11., 12., 13.],\n        [21., 22., 23.]])"),
    (lambda a, b, i: dt.tensor([[1.0, 2], [3, 4]]) @ dt.tensor([[1.0], [1.0]]), "tensor([[3.],\n        [7.]])"),
    (lambda a, b, i: a.sum(), "tensor(6.)"),
    (lambda a, b, i: a.mean(), "tensor(2.)"),
    (lambda a, b, i: i.sum(), "tensor(6)"),
    (lambda a, b, i: dt.tensor([[1.0, 2], [3, 4]]).sum(0), "tensor([4., 6.])"),
    (lambda a, b, i: dt.tensor([[1.0, 2], [3, 4]]).mean(dim=1, keepdim=True), "tensor([[1.5000],\n        [3.5000]])"),
]


@pytest.mark.parametrize("k", range(len(ARITH)))
def test_arithmetic_table(k):
    f, want = ARITH[k]
    a = dt.tensor([1.0, 2, 3])
    b = dt.tensor([4.0, 5, 6])
    i = dt.tensor([1, 2, 3])
    assert repr(f(a, b, i)) == want


def test_inplace_and_exact_sum(comm, self_ctx):
    a = dt.tensor([1.0, 2, 3])
    a += 1
    a *= 2
    a -= dt.ones(3)
    a /= 2
    assert a.tolist() == [1.5, 2.5, 3.5]
    dt.manual_seed(5)
    dt.manual_seed(5, ctx=self_ctx)
    x = dt.randn(100001, dtype=dt.float64)
    y = dt.randn(100001, dtype=dt.float64, ctx=self_ctx)
    s = x.sum().item()
    assert s == y.sum().item() == math.fsum(y.gather(None).tolist())
    assert x.mean().item() == y.mean().item()
    assert float(x.sum()) == s


def test_autograd_through_clone_copy_views(comm):
    x = dt.tensor([3.0], requires_grad=True)
    assert x.is_leaf and x.grad_fn is None and x.grad is None
    y = x.clone()
    assert y.grad_fn == "CloneBackward0" and not y.is_leaf
    (y ** 2).backward()
    assert x.grad.tolist() == [6.0]
    c = dt.zeros(1)
    c.copy_(x)
    assert c.requires_grad and c.grad_fn == "CopyBackwards"
    c.backward()
    assert x.grad.tolist() == [7.0]
    raises_everywhere(comm, dt.AutogradError, x.copy_, c)
    d = copy.deepcopy(x)
    assert d.requires_grad and d.is_leaf and d.grad.tolist() == [7.0]
    assert not d.shares_memory(x)
    x.grad = None
    assert x.grad is None
    # views: the gradient is zero outside the slice
    w = dt.arange(6.0).reshape(2, 3).requires_grad_()
    (w[:, 1:] * 2).sum().backward()
    assert w.grad.tolist() == [[0.0, 2.0, 2.0], [0.0, 2.0, 2.0]]
    z = dt.ones(4, requires_grad=True)
    (z.view(2, 2).transpose(0, 1) * dt.tensor([[1.0, 2], [3, 4]])).sum().backward()
    assert z.grad.tolist() == [1.0, 3.0, 2.0, 4.0]
    with dt.no_grad():
        q = z * 2
        assert not dt.is_grad_enabled()
    assert not q.requires_grad and dt.is_grad_enabled()
    assert (z * 2).grad_fn == "MulBackward0"
    raises_everywhere(comm, dt.AutogradError, dt.ones(3).backward)
    raises_everywhere(comm, dt.DTypeError, dt.ones(3, dtype=dt.int64).requires_grad_)


def test_shape_errors_everywhere(comm):
    m = raises_everywhere(comm, dt.ShapeError, lambda: dt.zeros(2, 3) + dt.zeros(3, 2))
    assert m.startswith("dt_add: The size of tensor a")
    raises_everywhere(comm, dt.DTypeError, lambda: dt.ones(2, dtype=dt.bool) - dt.ones(2, dtype=dt.bool))
    raises_everywhere(comm, TypeError, lambda: dt.ones(2) + "a")
    raises_everywhere(comm, dt.UnsupportedError, lambda: dt.ones(2) ** dt.ones(2))
    raises_everywhere(comm, dt.ShapeError, dt.ones(3).item)
