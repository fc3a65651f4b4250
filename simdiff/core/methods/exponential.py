r"""Exponential integrators for semilinear problems :math:`\dot y = L y + N(t, y)`.

The linear part is integrated exactly (through ``linear.phis``: :math:`\varphi_k(Z)` with
:math:`Z=\int_{t_0}^{t_1} L`, evaluated by the Kassam–Trefethen contour rule), the nonlinear part
explicitly. Work happens in the basis where :math:`L` is diagonal (``forward``/``backward``: the
identity for ``Diagonal`` and ``ScalarOfTime``, real FFTs for ``FourierDiagonal``).

Notation: ``E = phi_0(Z) = e^Z``, ``h`` the step, ``N_x = N(t, x)``. References: Cox & Matthews,
J. Comput. Phys. 176 (2002); Kassam & Trefethen, SIAM J. Sci. Comput. 26 (2005);
Hochbruck & Ostermann, Acta Numerica 19 (2010).
"""
from __future__ import annotations

from simdiff.core.methods.base import Method
from simdiff.core.methods.stochastic import ALL_NOISE


class _Exponential(Method):
    needs_linear = True
    needs_phi = True

    def _setup(self, ev, t0, t1, y0, kmax, half=False):
        lin = ev.problem.linear
        ops = ev.ops
        fw = lambda x: lin.forward(x, ops)            # noqa: E731
        bw = lambda x: lin.backward(x, ops, y0)       # noqa: E731
        ph = lin.phis(t0, t1, kmax, ops, y0)
        ph2 = lin.phis(t0, 0.5 * (t0 + t1), kmax, ops, y0) if half else None
        return fw, bw, ph, ph2


class ETD1(_Exponential):
    """Exponential Euler (ETD1): ``u1 = E u + h phi_1 N_u``."""

    name = "etd1"
    kinds = frozenset({"ode"})
    order = 1
    description = "exponential Euler"

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        fw, bw, ph, _ = self._setup(ev, t0, t1, y0, 1)
        return bw(ph[0] * fw(y0) + (h * ph[1]) * fw(ev.N(t0, y0))), None


class ETDRK2(_Exponential):
    """Cox–Matthews ETD2RK: ``a = E u + h phi_1 N_u``; ``u1 = a + h phi_2 (N_a - N_u)``."""

    name = "etdrk2"
    kinds = frozenset({"ode"})
    order = 2
    evals_per_step = 2
    description = "Cox–Matthews ETD2RK"

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        fw, bw, ph, _ = self._setup(ev, t0, t1, y0, 2)
        Nu = fw(ev.N(t0, y0))
        ah = ph[0] * fw(y0) + (h * ph[1]) * Nu
        a = bw(ah)
        Na = fw(ev.N(t1, a))
        return bw(ah + (h * ph[2]) * (Na - Nu)), None


class ETDRK4(_Exponential):
    r"""Cox–Matthews ETDRK4 with Kassam–Trefethen phi functions (order 4).

    .. math::
        a = E_2 u + \tfrac h2 \varphi_1(Z/2) N_u,\quad
        b = E_2 u + \tfrac h2 \varphi_1(Z/2) N_a,\quad
        c = E_2 a + \tfrac h2 \varphi_1(Z/2) (2N_b - N_u), \\
        u_1 = E u + h\,[(\varphi_1 - 3\varphi_2 + 4\varphi_3) N_u
              + 2(\varphi_2 - 2\varphi_3)(N_a + N_b) + (4\varphi_3 - \varphi_2) N_c]
    """

    name = "etdrk4"
    kinds = frozenset({"ode"})
    order = 4
    evals_per_step = 4
    description = "Cox–Matthews ETDRK4 (Kassam–Trefethen phi)"

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        tm = t0 + 0.5 * h
        fw, bw, ph, ph2 = self._setup(ev, t0, t1, y0, 3, half=True)
        E2, Q = ph2[0], (0.5 * h) * ph2[1]
        uh = fw(y0)
        Nu = fw(ev.N(t0, y0))
        E2u = E2 * uh
        ah = E2u + Q * Nu
        Na = fw(ev.N(tm, bw(ah)))
        bh = E2u + Q * Na
        Nb = fw(ev.N(tm, bw(bh)))
        ch = E2 * ah + Q * (2.0 * Nb - Nu)
        Nc = fw(ev.N(t1, bw(ch)))
        f1, f2, f3 = _weights(ph, h)
        return bw(ph[0] * uh + f1 * Nu + f2 * (Na + Nb) + f3 * Nc), None


class ExpEulerMaruyama(_Exponential):
    r"""Exponential Euler–Maruyama: ``u1 = E (u + g dW) + h phi_1 N_u`` (strong order 0.5).

    Exact for the linear drift; the noise enters through :math:`e^{Z}`, as in Lord & Tambue's
    scheme for stochastic semilinear PDEs.
    """

    name = "exp_euler_maruyama"
    kinds = frozenset({"sde"})
    strong_order = 0.5
    weak_order = 1.0
    noise = ALL_NOISE
    calculus = frozenset({"ito"})
    description = "exponential Euler–Maruyama"

    def step(self, ev, t0, t1, y0, dw, state):
        h = t1 - t0
        fw, bw, ph, _ = self._setup(ev, t0, t1, y0, 1)
        gdw = ev.g_dw(t0, y0, dw[0])
        return bw(ph[0] * fw(y0 + gdw) + (h * ph[1]) * fw(ev.N(t0, y0))), None


def _weights(ph, h):
    """ETDRK4's three weights for a list of phi values; kept beside them (they depend on h only)."""
    if len(ph) > 4:
        return ph[4]
    p1, p2, p3 = ph[1], ph[2], ph[3]
    w = (h * (p1 - 3.0 * p2 + 4.0 * p3), h * (2.0 * (p2 - 2.0 * p3)), h * (4.0 * p3 - p2))
    ph.append(w)          # ph is the linear part's cached list for this step size
    return w


def ALL():
    return [ETD1(), ETDRK2(), ETDRK4(), ExpEulerMaruyama()]
