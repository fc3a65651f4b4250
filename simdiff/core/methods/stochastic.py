r"""Integrators for SDEs :math:`dy = f\,dt + g\,dW`.

Notation: ``h`` the signed step, ``dW`` the driver's increment (Var ``|h|`` for Brownian),
``I`` the iterated integral :math:`I_{(1,0)}=\int_{t_n}^{t_{n+1}} (W_s - W_{t_n})\,ds`.
References: Kloeden & Platen (1992), Rößler (SIAM J. Numer. Anal. 48, 2010).
"""
from __future__ import annotations

import math



from simdiff.core.methods.base import Method

ALL_NOISE = frozenset({"additive", "diagonal", "scalar", "general"})


class EulerMaruyama(Method):
    """Euler–Maruyama: ``y1 = y + f h + g dW``."""

    name = "euler_maruyama"
    kinds = frozenset({"sde"})
    strong_order = 0.5
    weak_order = 1.0
    noise = ALL_NOISE
    calculus = frozenset({"ito"})
    description = "Euler–Maruyama (strong 1.0 for additive noise)"

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        return y0 + h * ev.f(t0, y0) + ev.g_dw(t0, y0, dw[0]), None

    def compiled(self, problem):
        if problem.noise in ("additive", "diagonal"):
            return ("em", self)
        return None


class Milstein(Method):
    r"""Derivative-free Milstein (Kloeden–Platen 11.1.5), Itô, diagonal/scalar/additive noise.

    .. math:: \hat y = y + f h + g \sqrt{|h|}, \quad
              y_1 = y + f h + g\,\Delta W + \frac{g(\hat y) - g(y)}{2\sqrt{|h|}}(\Delta W^2 - |h|)
    """

    name = "milstein"
    kinds = frozenset({"sde"})
    strong_order = 1.0
    weak_order = 1.0
    noise = frozenset({"additive", "diagonal", "scalar"})
    calculus = frozenset({"ito"})
    evals_per_step = 1
    description = "derivative-free Milstein"

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        dW = dw[0]
        sq = math.sqrt(abs(h))
        f0 = ev.f(t0, y0)
        g0 = ev.g(t0, y0)
        if ev.problem.noise == "additive":
            return y0 + h * f0 + g0 * dW, None
        yhat = y0 + h * f0 + g0 * sq
        g1 = ev.g(t0, yhat)
        return y0 + h * f0 + g0 * dW + (g1 - g0) * ((dW * dW - abs(h)) / (2.0 * sq)), None


class StochasticHeun(Method):
    r"""Stochastic Heun (predictor–corrector trapezoid); converges to the Stratonovich solution.

    .. math:: \tilde y = y + f h + g \Delta W, \quad
              y_1 = y + \tfrac12 (f + \tilde f) h + \tfrac12 (g + \tilde g) \Delta W
    """

    name = "stochastic_heun"
    kinds = frozenset({"sde"})
    strong_order = 1.0   # commutative noise; 0.5 in general
    weak_order = 1.0
    noise = ALL_NOISE
    calculus = frozenset({"stratonovich"})
    evals_per_step = 2
    description = "stochastic Heun (Stratonovich)"

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        dW = dw[0]
        f0 = ev.f(t0, y0)
        g0 = ev.g(t0, y0)
        ytil = y0 + h * f0 + ev.noise_apply(g0, dW)
        f1 = ev.f(t1, ytil)
        g1 = ev.g(t1, ytil)
        return y0 + (0.5 * h) * (f0 + f1) + ev.noise_apply(0.5 * (g0 + g1), dW), None


class SRA1(Method):
    r"""Rößler's SRA1: strong order 1.5 for additive noise ``g = g(t)`` (Rößler 2010, Table 6.1).

    .. math::
        H_2 = y + \tfrac34 f(t, y) h + \tfrac32 g(t+h) \frac{I}{h}, \\
        y_1 = y + h\left(\tfrac13 f(t, y) + \tfrac23 f(t+\tfrac34 h, H_2)\right)
              + g(t+h)\left(\Delta W - \frac{I}{h}\right) + g(t) \frac{I}{h}
    """

    name = "sra1"
    kinds = frozenset({"sde"})
    strong_order = 1.5
    weak_order = 2.0
    noise = frozenset({"additive"})
    calculus = frozenset({"ito", "stratonovich"})
    needs_area = True
    evals_per_step = 2
    description = "Rößler SRA1 (additive noise, strong 1.5)"

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        dW, area = dw
        ih = area / h
        g0 = ev.g(t0, y0)
        g1 = ev.g(t1, y0)
        f0 = ev.f(t0, y0)
        H2 = y0 + (0.75 * h) * f0 + 1.5 * g1 * ih
        f2 = ev.f(t0 + 0.75 * h, H2)
        y1 = y0 + h * ((1.0 / 3.0) * f0 + (2.0 / 3.0) * f2) + g1 * (dW - ih) + g0 * ih
        return y1, None


def ALL():
    return [EulerMaruyama(), Milstein(), StochasticHeun(), SRA1()]



