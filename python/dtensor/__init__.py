"""dtensor: distributed tensors on MPI with PyTorch's names.

    from mpi4py import MPI
    import dtensor
    dtensor.manual_seed(0)
    x = dtensor.randn(1000, 64)            # float32, split on axis 0
    y = dtensor.tensor([[1.0, 2], [3, 4]])
    print(x.checksum())                    # the same at any rank count

Run it under `mpirun -np 4 python3 script.py`. Every call without ctx= uses
dtensor.default_context() (MPI.COMM_WORLD). Calls are collective unless
their docstring says otherwise: every rank makes them in the same order.
The C library (include/dtensor.h) documents each operation in full.
"""
from mpi4py import MPI  # noqa: F401  (initialises MPI before the library)

from ._core import (  # noqa: F401
    __version__, Context, Tensor, Layout, dtype, DEFAULT,
    default_context, set_default_context, manual_seed, get_rng_state,
    set_rng_state, set_default_dtype, get_default_dtype, is_grad_enabled,
    set_grad_enabled, no_grad,
    float32, float64, int32, int64, bool_,
    tensor, from_numpy, zeros, ones, empty, full, rand, randn, randint,
    arange, linspace, logspace, eye, zeros_like, ones_like, empty_like,
    full_like, rand_like, randn_like, matmul, exp, log,
    save, load, load_all, load_rng_state, checkpoint_names,
    Error, ERRORS, NullError, ArgumentError, ShapeError, DTypeError,
    AxisError, LayoutError, RankError, SizeOverflowError, OutOfMemoryError,
    ParseError, MismatchError, BusyError, AutogradError, UnsupportedError,
    MPIError, FileError, HDF5Error, CheckpointError, ChecksumError,
    ContextError)

# torch's spellings of the dtypes (dtensor.bool shadows the builtin only as
# an attribute of this package).
float = float32  # noqa: A001
double = float64
int = int32  # noqa: A001
long = int64
bool = bool_  # noqa: A001
