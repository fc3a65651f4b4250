"""The shared solver core: problems, drivers, integrators, ``solve``.

Knows nothing of grids, particles or networks. Pure Python on import; numba loads on the first
compiled solve (or when a Kernel is made), torch when a tensor arrives.
"""
from simdiff.core.drivers import AlphaStable, Brownian, Driver, FractionalGaussian, Prescribed
from simdiff.core.linear import (
    AxisSplit, Constant, Diagonal, FourierDiagonal, Linear, ScalarOfTime, SparseOperator,
)
from simdiff.core.methods import methods, register
from simdiff.core.methods.base import Method
from simdiff.core.problem import ODE, SDE, Kernel
from simdiff.core.solution import Solution, Stats
from simdiff.core.solve import solve, time_grid

__all__ = [
    "ODE", "SDE", "Kernel", "solve", "time_grid", "Solution", "Stats", "methods", "register", "Method",
    "Driver", "Brownian", "FractionalGaussian", "AlphaStable", "Prescribed",
    "Linear", "Diagonal", "Constant", "ScalarOfTime", "FourierDiagonal", "SparseOperator", "AxisSplit",
]
