"""Explicit Runge–Kutta methods for ODEs, as Butcher tableaus, and Dormand–Prince 5(4)."""
from __future__ import annotations

import numpy as np

from simdiff.core.methods.base import Method


class ExplicitRK(Method):
    """An explicit Runge–Kutta method given by its Butcher tableau (a strictly lower triangular)."""

    kinds = frozenset({"ode"})

    def __init__(self, name: str, a, b, c, order: int, description: str = ""):
        self.name = name
        self.a = np.ascontiguousarray(np.asarray(a, dtype=float).reshape(len(b), len(b)))
        self.b = np.ascontiguousarray(b, dtype=float)
        self.c = np.ascontiguousarray(c, dtype=float)
        self.order = order
        self.evals_per_step = len(b)
        self.description = description

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        ks = []
        for s in range(len(self.b)):
            ys = y0
            for q in range(s):
                if self.a[s, q] != 0.0:
                    ys = ys + (h * self.a[s, q]) * ks[q]
            ks.append(ev.f(t0 + self.c[s] * h, ys))
        incr = 0.0
        for s in range(len(self.b)):
            if self.b[s] != 0.0:
                incr = incr + self.b[s] * ks[s]
        return y0 + h * incr, None

    def compiled(self, problem):
        return ("erk", self)


EULER = ExplicitRK("euler", [[0.0]], [1.0], [0.0], order=1, description="explicit Euler")
HEUN = ExplicitRK("heun", [[0, 0], [1, 0]], [0.5, 0.5], [0, 1], order=2,
                  description="Heun's method (explicit trapezoid)")
RK4 = ExplicitRK("rk4", [[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0]],
                 [1 / 6, 1 / 3, 1 / 3, 1 / 6], [0, 0.5, 0.5, 1], order=4,
                 description="classical Runge–Kutta")
SSPRK3 = ExplicitRK("ssprk3", [[0, 0, 0], [1, 0, 0], [0.25, 0.25, 0]], [1 / 6, 1 / 6, 2 / 3],
                    [0, 1, 0.5], order=3, description="strong-stability-preserving RK3 (Shu–Osher)")


class Dopri5(Method):
    """Dormand–Prince 5(4) with local extrapolation, FSAL, and PI step-size control.

    Error norm: RMS of ``err / (atol + rtol * max(|y0|, |y1|))`` (Hairer, Nørsett & Wanner I, II.4).
    """

    name = "dopri5"
    kinds = frozenset({"ode"})
    order = 5
    adaptive = True
    evals_per_step = 6
    description = "Dormand–Prince 5(4), adaptive"

    C = np.array([0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1])
    A = [
        [],
        [1 / 5],
        [3 / 40, 9 / 40],
        [44 / 45, -56 / 15, 32 / 9],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
        [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
    ]
    B = np.array([35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0])
    E = np.array([71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40])

    def init(self, ev, t0, y0):
        return (ev.f(t0, y0),)   # FSAL: the first stage of the next step

    def attempt(self, ev, t0, h, y0, state, rtol, atol):
        """One trial step: (y1, error norm, state if accepted)."""
        ops = ev.ops
        ks = [state[0]]
        for s in range(1, 7):
            ys = y0
            for q, aq in enumerate(self.A[s]):
                if aq != 0.0:
                    ys = ys + (h * aq) * ks[q]
            if s == 6:
                y1 = ys
            ks.append(ev.f(t0 + self.C[s] * h, ys))
        err = 0.0
        for s in range(7):
            if self.E[s] != 0.0:
                err = err + self.E[s] * ks[s]
        err = err * h
        scale = atol + rtol * _maxabs(ops, y0, y1)
        norm = float(_rms(ops, err / scale))
        return y1, norm, (ks[6],)

    def step(self, ev, t0, t1, y0, dw, state):  # fixed step use (grid given)
        y1, _, st = self.attempt(ev, t0, t1 - t0, y0, state, 1.0, 1.0)
        return y1, st


def _maxabs(ops, a, b):
    if ops.name == "numpy":
        return np.maximum(np.abs(a), np.abs(b))
    return ops.torch.maximum(a.abs(), b.abs())


def _rms(ops, x):
    if ops.name == "numpy":
        return np.sqrt(np.mean(np.abs(x) ** 2))
    return ops.torch.sqrt(ops.torch.mean(x.abs() ** 2)).item()
