"""Shared fixtures of the pytest suites. Every rank of `mpirun -np N python3
-m pytest` runs every test, in the same order: each test makes the same
collective calls on every rank and asserts on every rank."""
import os
import tempfile

import pytest
from mpi4py import MPI

import dtensor


@pytest.fixture
def comm():
    return MPI.COMM_WORLD


@pytest.fixture
def shared_dir(comm):
    """A directory every rank sees (DT_PY_TMP from CTest, else a new one
    made by rank 0), emptied by nobody: names carry the rank count."""
    base = os.environ.get("DT_PY_TMP")
    if base:
        if comm.rank == 0:
            os.makedirs(base, exist_ok=True)
        comm.Barrier()
        return base
    return comm.bcast(tempfile.mkdtemp(prefix="dtensor-py-") if comm.rank == 0 else None)


@pytest.fixture
def self_ctx():
    """A one-rank context on every rank: the 1-rank result, computed beside
    the N-rank one in the same job."""
    return dtensor.Context(MPI.COMM_SELF)


def raises_everywhere(comm, exc, fn, *a, **k):
    """fn(*a, **k) must raise exc on this rank; the message is returned.
    Every rank calls it, so a rank that did not raise fails here (and the
    others see it through the gathered verdicts)."""
    try:
        fn(*a, **k)
    except exc as e:
        got = str(e)
    else:
        got = None
    verdicts = comm.allgather(got is not None)
    assert all(verdicts), "raised on ranks %s only" % [i for i, v in enumerate(verdicts) if v]
    return got
