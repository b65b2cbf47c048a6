"""A stand-in for the few torch calls examples/to_torch.py makes, so the
suite can run its torch half where torch is not installed. It checks the
glue's logic (names, dtypes, .grad, requires_grad), not torch itself."""
import numpy as np


class dtype:
    def __init__(self, name):
        self.name = name

    def __str__(self):
        return "torch." + self.name

    def __eq__(self, other):
        return isinstance(other, dtype) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


float16 = dtype("float16")


class Tensor:
    def __init__(self, array):
        self._a = array
        self.grad = None
        self.requires_grad = False
        self.dtype = dtype("bool" if array.dtype == np.bool_ else array.dtype.name)

    def is_floating_point(self):
        return self._a.dtype.kind == "f"

    def requires_grad_(self, flag=True):
        if flag and not self.is_floating_point():
            raise RuntimeError("only floating tensors can require grad")
        self.requires_grad = flag
        return self

    def detach(self):
        return Tensor(self._a)

    def cpu(self):
        return self

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad")
        return self._a


def from_numpy(a):
    return Tensor(a)
