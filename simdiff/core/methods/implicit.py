r"""Linearly implicit methods for stiff semilinear problems :math:`\dot y = L y + N(t, y)`.

"Implicit" means a linear solve with :math:`I - aL` (``linear.solve_shifted``: a division for
diagonal parts, an FFT for Fourier-diagonal ones, a cached sparse LU for ``SparseOperator``), not
a fixed-point iteration: these stay stable at any step on diffusion, whose eigenvalues are
negative. The non-linear part is explicit (IMEX).
"""
from __future__ import annotations

from simdiff.core.methods.base import Method


class _Implicit(Method):
    needs_linear = True
    kinds = frozenset({"ode"})


class BackwardEuler(_Implicit):
    r"""IMEX Euler: :math:`(I - hL) y_1 = y_0 + h N(t_0, y_0)`. Order 1, L-stable in L."""

    name = "backward_euler"
    order = 1
    description = "backward Euler in L, explicit N (IMEX)"

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        lin = ev.problem.linear
        return lin.solve_shifted(t1, h, y0 + h * ev.N(t0, y0), ev.ops), None


class CrankNicolson(_Implicit):
    r"""Crank–Nicolson in L with Heun's rule for N (IMEX, order 2).

    .. math::
        \tilde y = (I - hL)^{-1}(y_0 + h N_0), \quad
        (I - \tfrac h2 L) y_1 = (I + \tfrac h2 L) y_0 + \tfrac h2 \left(N_0 + N(t_1, \tilde y)\right)

    With ``N = 0`` this is the classical Crank–Nicolson scheme (one solve per step).
    """

    name = "crank_nicolson"
    order = 2
    evals_per_step = 2
    description = "Crank–Nicolson in L, Heun in N (IMEX)"

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        lin = ev.problem.linear
        ops = ev.ops
        N0 = ev.N(t0, y0)
        ytil = lin.solve_shifted(t1, h, y0 + h * N0, ops)
        rhs = y0 + (0.5 * h) * lin.apply(t0, y0, ops) + (0.5 * h) * (N0 + ev.N(t1, ytil))
        return lin.solve_shifted(t1, 0.5 * h, rhs, ops), None


def ALL():
    return [BackwardEuler(), CrankNicolson()]
