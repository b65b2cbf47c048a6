"""Checkpoints: save at 3 ranks, load at 2, the generator state (issue 13)."""
import os

from mpi4py import MPI

import dtensor as dt
from conftest import raises_everywhere


def _sub(comm, k):
    """A context on the first min(k, size) ranks (None on the others)."""
    k = min(k, comm.size)
    c = comm.Split(0 if comm.rank < k else MPI.UNDEFINED, comm.rank)
    return dt.Context(c) if c != MPI.COMM_NULL else None


def test_save_at_3_load_at_2(comm, shared_dir):
    path = os.path.join(shared_dir, "ckpt-np%d.h5" % comm.size)
    c3 = _sub(comm, 3)
    ref = {}
    if c3 is not None:
        dt.manual_seed(11, ctx=c3)
        w = dt.randn(7, 5, dtype=dt.float64, split=1, ctx=c3)
        b = dt.arange(9, ctx=c3)
        w.requires_grad_()
        (w * 3).sum().backward()
        dt.save(path, {"w": w, "model/b": b})
        ref = {"w": w.checksum(), "b": b.checksum(), "g": w.grad.checksum(),
               "wv": w.gather(0), "next": dt.rand(4, ctx=c3).gather(0)}
    ref = comm.bcast(ref if comm.rank == 0 else None)
    c2 = _sub(comm, 2)
    if c2 is not None:
        w2 = dt.load(path, "w", split=0, ctx=c2)
        assert w2.requires_grad and w2.checksum() == ref["w"]
        assert w2.grad.checksum() == ref["g"]
        g = w2.gather(0)
        assert c2.rank != 0 or g.tobytes() == ref["wv"].tobytes()
        assert dt.checkpoint_names(path, ctx=c2) == ["model/b", "w"]
        allt = dt.load_all(path, split=None, ctx=c2)
        assert allt["model/b"].checksum() == ref["b"]
        assert allt["model/b"].layout.kind == "replicated"
        # the generator continues where the saving run was after its save
        nxt = dt.rand(4, ctx=c2).gather(0)
        assert c2.rank != 0 or nxt.tobytes() == ref["next"].tobytes()
        raises_everywhere(c2.comm, dt.ArgumentError, dt.load, path, "missing", ctx=c2)
        raises_everywhere(c2.comm, dt.FileError, dt.load, path + ".none", "w", ctx=c2)
        raises_everywhere(c2.comm, dt.DTypeError, dt.load, path, "w", dtype=dt.float32, ctx=c2)
    comm.Barrier()


def test_generator_after_load(comm, shared_dir, self_ctx):
    path = os.path.join(shared_dir, "rng-np%d.h5" % comm.size)
    dt.manual_seed(7)
    dt.randn(3)
    x = dt.zeros(5)
    dt.save(path, {"x": x})
    a = dt.randn(6).checksum()
    dt.manual_seed(123)
    got = dt.load_all(path)
    assert set(got) == {"x"} and dt.get_rng_state() == (7, 1)
    assert dt.randn(6).checksum() == a
    # and a one-rank run restoring the same file draws the same bits
    dt.load_rng_state(path, ctx=self_ctx)
    assert dt.randn(6, ctx=self_ctx).checksum() == a
    bad = os.path.join(shared_dir, "not-h5-np%d.h5" % comm.size)
    if comm.rank == 0:
        with open(bad, "w") as f:
            f.write("not hdf5")
    comm.Barrier()
    raises_everywhere(comm, dt.CheckpointError, dt.load, bad, "x")
    raises_everywhere(comm, TypeError, dt.save, path, [x])
