"""simdiff: physical and generative diffusion through one ODE/SDE solver.

>>> import numpy as np, simdiff
>>> ou = simdiff.SDE(drift=lambda t, y: -y, diffusion=0.5, noise="additive")
>>> sol = simdiff.solve(ou, np.zeros(1000), (0.0, 1.0), dt=1e-2, seed=0)
>>> sol.y.shape
(2, 1000)

``import simdiff`` loads numpy and the core's pure-Python modules only: numba loads on the first
compiled solve, torch only under ``simdiff.generative``, matplotlib inside plotting functions.
"""
from __future__ import annotations

import importlib

from simdiff.core import (
    ODE, SDE, AlphaStable, Brownian, Constant, Diagonal, FourierDiagonal, FractionalGaussian, Kernel,
    Linear, Method, Prescribed, ScalarOfTime, Solution, SparseOperator, Stats, methods, register, solve, time_grid,
)
from simdiff.errors import (
    CheckpointError, InputError, InputTypeError, MethodMismatch, SimdiffError, StabilityError,
)

__version__ = "0.1.0"

__all__ = [
    "ODE", "SDE", "Kernel", "kernel", "solve", "time_grid", "Solution", "Stats", "methods", "register",
    "Method", "Brownian", "FractionalGaussian", "AlphaStable", "Prescribed",
    "Linear", "Diagonal", "Constant", "ScalarOfTime", "FourierDiagonal", "SparseOperator",
    "SimdiffError", "InputError", "InputTypeError", "MethodMismatch", "StabilityError", "CheckpointError",
    "__version__",
]

_LAZY_SUBMODULES = {"core", "errors", "pde", "io", "particles", "viz"}


def __getattr__(name: str):
    if name == "kernel":  # imports numba: only on use
        from simdiff.core.kernels import kernel

        return kernel
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"simdiff.{name}")
    raise AttributeError(f"module 'simdiff' has no attribute {name!r}")
