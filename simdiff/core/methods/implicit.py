r"""Linearly implicit methods for stiff semilinear problems :math:`\dot y = L y + N(t, y)`.

"Implicit" means a linear solve with :math:`I - aL` (``linear.solve_shifted``: a division for
diagonal parts, an FFT for Fourier-diagonal ones, a cached sparse LU for ``SparseOperator``), not
a fixed-point iteration: these stay stable at any step on diffusion, whose eigenvalues are
negative. The non-linear part is explicit (IMEX).
"""
from __future__ import annotations

from simdiff.core.linear import AxisSplit
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
    r"""Crank–Nicolson in L with Heun's rule for N (IMEX, order 2), with a Rannacher start.

    .. math::
        \tilde y = (I - hL)^{-1}(y_0 + h N_0), \quad
        (I - \tfrac h2 L) y_1 = (I + \tfrac h2 L) y_0 + \tfrac h2 \left(N_0 + N(t_1, \tilde y)\right)

    With ``N = 0`` this is the classical Crank–Nicolson scheme. Crank–Nicolson barely damps the
    stiffest modes (its amplification tends to -1), so rough initial data would ring for the whole
    run; following Rannacher (Numer. Math. 43, 1984) the first ``rannacher`` steps (default 0 for
    the registered method; ``simdiff.pde.simulate`` uses 2) are each taken as two backward-Euler
    half steps, which damp those modes and keep second order.
    """

    name = "crank_nicolson"
    order = 2
    evals_per_step = 2
    description = "Crank–Nicolson in L, Heun in N (IMEX)"

    def __init__(self, rannacher: int = 0):
        self.rannacher = int(rannacher)

    def init(self, ev, t0, y0):
        return (0,)

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        lin = ev.problem.linear
        ops = ev.ops
        done = int(state[0]) if state else 0
        if done < self.rannacher:
            tm = t0 + 0.5 * h
            y = lin.solve_shifted(tm, 0.5 * h, y0 + (0.5 * h) * ev.N(t0, y0), ops)
            return lin.solve_shifted(t1, 0.5 * h, y + (0.5 * h) * ev.N(tm, y), ops), (done + 1,)
        N0 = ev.N(t0, y0)
        # the trapezoid rule in N needs N at t1, at a predicted state unless N depends on t only
        ytil = y0 if getattr(ev.problem, "forcing", False) else lin.solve_shifted(t1, h, y0 + h * N0, ops)
        rhs = y0 + (0.5 * h) * lin.apply(t0, y0, ops) + (0.5 * h) * (N0 + ev.N(t1, ytil))
        return lin.solve_shifted(t1, 0.5 * h, rhs, ops), (done + 1,)


class DouglasADI(_Implicit):
    r"""Douglas ADI with :math:`\theta = 1/2` for an axis-split linear part ``A = sum_a A_a``
    (Douglas & Gunn 1964; Hundsdorfer & Verwer IV.3), the forcing by the trapezoid rule:

    .. math::
        Y_0 = u_n + h (A u_n) + \tfrac h2 (N(t_n, u_n) + N(t_{n+1}, u_n)), \quad
        (I - \theta h A_a) Y_a = Y_{a-1} - \theta h A_a u_n, \quad u_{n+1} = Y_d.

    Each axis solve is a set of independent tridiagonal systems; second order in time and
    unconditionally stable for isotropic diffusion in 2D and 3D.
    """

    name = "adi"
    order = 2
    evals_per_step = 2
    description = "Douglas ADI (theta=1/2), axis-split linear part"
    theta = 0.5

    def linear_problem(self, linear):
        if not isinstance(linear, AxisSplit):
            return f"it needs an axis-split linear part (AxisSplit), not {type(linear).__name__}"
        return None

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        lin = ev.problem.linear
        y = y0 + h * lin.apply(t0, y0, ev.ops) + (0.5 * h) * (ev.N(t0, y0) + ev.N(t1, y0))
        th = self.theta * h
        u = y0.reshape(-1)
        for a, P in enumerate(lin.parts):
            y = lin.solve_axis(a, th, y - th * (P @ u).reshape(y0.shape))
        return y, None


def ALL():
    return [BackwardEuler(), CrankNicolson(), DouglasADI()]
