"""Array backends: one small ``ops`` namespace per array library.

Integrators use ``+ - * /`` and these ops only, so the same step rule runs on numpy arrays and on
torch tensors. Deciding which backend an array belongs to never imports torch.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def is_torch(x: Any) -> bool:
    """True when ``x`` is a torch tensor (checked by module name: torch is not imported)."""
    return type(x).__module__.startswith("torch")


class NumpyOps:
    name = "numpy"

    @staticmethod
    def exp(x):
        return np.exp(x)

    @staticmethod
    def sqrt(x):
        return np.sqrt(x)

    @staticmethod
    def copy(x):
        return np.array(x, copy=True)

    @staticmethod
    def all_finite(x) -> bool:
        return bool(np.isfinite(x).all())

    @staticmethod
    def normal(rng, shape, like):
        return rng.standard_normal(shape, dtype=like.dtype if like.dtype in (np.float32, np.float64) else np.float64)

    @staticmethod
    def matvec(g, v):
        """``g`` of shape (..., m) times ``v`` of shape (m,)."""
        return g @ v

    # scipy's pocketfft (SIMD, C++) is several times faster than numpy's on the real transforms
    # the Fourier-diagonal linear parts use; imported on first use
    @staticmethod
    def rfftn(x, axes):
        import scipy.fft

        return scipy.fft.rfftn(x, axes=axes)

    @staticmethod
    def irfftn(x, shape, axes):
        import scipy.fft

        return scipy.fft.irfftn(x, s=shape, axes=axes)

    @staticmethod
    def to_numpy(x) -> np.ndarray:
        return np.asarray(x)

    @staticmethod
    def from_numpy(a, like):
        return np.asarray(a)

    @staticmethod
    def stack(xs):
        return np.stack(xs)

    @staticmethod
    def asarray_like(a, like):
        """A constant (number or numpy array) converted for arithmetic with ``like``."""
        return a


class TorchOps:
    name = "torch"

    def __init__(self):
        import torch

        self.torch = torch

    def exp(self, x):
        return self.torch.exp(x) if is_torch(x) else np.exp(x)

    def sqrt(self, x):
        return self.torch.sqrt(x) if is_torch(x) else np.sqrt(x)

    def copy(self, x):
        return x.clone()

    def all_finite(self, x) -> bool:
        return bool(self.torch.isfinite(x).all())

    def normal(self, rng, shape, like):
        return self.torch.randn(tuple(shape), generator=rng, dtype=like.dtype, device=like.device)

    def matvec(self, g, v):
        return g @ v

    def rfftn(self, x, axes):
        return self.torch.fft.rfftn(x, dim=tuple(axes))

    def irfftn(self, x, shape, axes):
        return self.torch.fft.irfftn(x, s=tuple(shape), dim=tuple(axes))

    def to_numpy(self, x) -> np.ndarray:
        return x.detach().cpu().numpy()

    def from_numpy(self, a, like):
        return self.torch.as_tensor(np.asarray(a), dtype=like.dtype, device=like.device)

    def stack(self, xs):
        return self.torch.stack(list(xs))

    def asarray_like(self, a, like):
        if isinstance(a, np.ndarray):
            dtype = like.dtype if not np.iscomplexobj(a) else (
                self.torch.complex128 if like.dtype == self.torch.float64 else self.torch.complex64)
            return self.torch.as_tensor(a, dtype=dtype, device=like.device)
        if isinstance(a, complex):
            return a
        return a


_NUMPY = NumpyOps()
_TORCH: TorchOps | None = None


def ops_for(y: Any):
    """The ops namespace for ``y``'s array library."""
    global _TORCH
    if is_torch(y):
        if _TORCH is None:
            _TORCH = TorchOps()
        return _TORCH
    return _NUMPY
