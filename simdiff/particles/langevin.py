r"""Overdamped Langevin dynamics (Brownian dynamics) through :func:`simdiff.solve`.

.. math:: dx = \frac{F(x)}{\gamma}\,dt + \sqrt{2D}\,dW, \qquad D = \frac{k_B T}{\gamma}

for ``n`` particles in ``dim`` dimensions (state ``(n, dim)``), with a force from a potential
(:func:`harmonic`, :func:`double_well`, :func:`washboard`, or a user :class:`~simdiff.Kernel`),
reflecting walls of a box, and absorbing levels whose first-passage times are recorded per
particle. Everything is a compiled kernel, so the whole step loop between saved frames runs in one
numba call (the core's Euler–Maruyama loop with inline normals).

Absorption is handled in the state: one extra column holds each particle's first-passage time
(-1 until it is absorbed); a post-step kernel freezes an absorbed particle at the level it
crossed and writes the time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numba as nb
import numpy as np

from simdiff.core.kernels import KERNEL_SIG
from simdiff.core.problem import SDE, Kernel
from simdiff.core.solve import solve
from simdiff.errors import InputError

# ---- forces (per coordinate; p[0] = 1/gamma, then the potential's parameters) -------------------
# ip[0] = dim, ip[1] = 1 when the state carries a first-passage-time column


@nb.njit(cache=True, inline="always")
def _coord(y, i, ip):
    """(coordinate index within a particle, True when this entry does not move: the
    first-passage column, or any coordinate of a particle already absorbed)."""
    w = ip[0] + ip[1]
    k = i % w
    if k >= ip[0]:
        return k, True
    return k, ip[1] == 1 and y[i - k + ip[0]] >= 0.0


@nb.njit(KERNEL_SIG, cache=True)
def harmonic_force(t, y, out, p, ip):
    """F = -k (x - x0): p = [1/gamma, k, x0]."""
    for i in range(y.size):
        k, extra = _coord(y, i, ip)
        out[i] = 0.0 if extra else -p[0] * p[1] * (y[i] - p[2])


@nb.njit(KERNEL_SIG, cache=True)
def double_well_force(t, y, out, p, ip):
    """U = a x^4 - b x^2 per coordinate, F = -4 a x^3 + 2 b x: p = [1/gamma, a, b]."""
    for i in range(y.size):
        k, extra = _coord(y, i, ip)
        x = y[i]
        out[i] = 0.0 if extra else p[0] * (-4.0 * p[1] * x * x * x + 2.0 * p[2] * x)


@nb.njit(KERNEL_SIG, cache=True)
def washboard_force(t, y, out, p, ip):
    """U = -V0 cos(2 pi x / L) - f x, F = -(2 pi V0 / L) sin(2 pi x / L) + f: p = [1/gamma, V0, L, f]."""
    q = 2.0 * math.pi / p[2]
    for i in range(y.size):
        k, extra = _coord(y, i, ip)
        out[i] = 0.0 if extra else p[0] * (-p[1] * q * math.sin(q * y[i]) + p[3])


@nb.njit(KERNEL_SIG, cache=True)
def free_force(t, y, out, p, ip):
    for i in range(y.size):
        out[i] = 0.0


@nb.njit(KERNEL_SIG, cache=True)
def noise_amplitude(t, y, out, p, ip):
    """sqrt(2 D) on the coordinates, 0 on the first-passage column: p = [sqrt(2 D)]."""
    for i in range(y.size):
        k, extra = _coord(y, i, ip)
        out[i] = 0.0 if extra else p[0]


@nb.njit(KERNEL_SIG, cache=True)
def walls_kernel(t, y, out, p, ip):
    """Reflect at box walls, then absorb at levels.

    p = [lo_0, hi_0, lo_1, hi_1, ..., (then per absorbing level) axis, level, side]; ip[2] = number
    of reflecting axes given (0 or dim), ip[3] = number of absorbing levels. side = +1: absorbed
    when x >= level; -1: when x <= level.
    """
    d = ip[0]
    w = d + ip[1]
    n = y.size // w
    nabs = ip[3]
    off = 2 * d if ip[2] > 0 else 0
    for j in range(n):
        base = j * w
        absorbed = ip[1] == 1 and y[base + d] >= 0.0
        for k in range(w):
            out[base + k] = y[base + k]
        if absorbed:
            continue
        if ip[2] > 0:
            for k in range(d):
                lo, hi = p[2 * k], p[2 * k + 1]
                x = out[base + k]
                # fold back into [lo, hi] (a step may cross a wall more than once)
                for _ in range(8):
                    if x > hi:
                        x = 2.0 * hi - x
                    elif x < lo:
                        x = 2.0 * lo - x
                    else:
                        break
                out[base + k] = x
        for a in range(nabs):
            ax = int(p[off + 3 * a])
            level = p[off + 3 * a + 1]
            side = p[off + 3 * a + 2]
            x = out[base + ax]
            if (side > 0 and x >= level) or (side < 0 and x <= level):
                out[base + d] = t
                break


# ---- the user-facing pieces ---------------------------------------------------------------------

@dataclass(frozen=True)
class Potential:
    """A force kernel and its parameters (without 1/gamma)."""

    name: str
    fn: Any
    params: tuple
    pointwise: bool = True

    def force(self, gamma: float) -> tuple[Any, list]:
        return self.fn, [1.0 / gamma, *self.params]


def _positive(name, value):
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name}={value!r} must be a positive, finite number.")


def harmonic(k: float = 1.0, x0: float = 0.0) -> Potential:
    """Harmonic trap U = k (x - x0)^2 / 2 per coordinate; stiffness k > 0."""
    _positive("k", k)
    return Potential("harmonic", harmonic_force, (float(k), float(x0)))


def double_well(a: float = 1.0, b: float = 2.0) -> Potential:
    """Double well U = a x^4 - b x^2 per coordinate (minima at +-sqrt(b / 2a)); a > 0, b > 0."""
    _positive("a", a)
    _positive("b", b)
    return Potential("double_well", double_well_force, (float(a), float(b)))


def washboard(V0: float = 1.0, period: float = 1.0, tilt: float = 0.0) -> Potential:
    """Tilted washboard U = -V0 cos(2 pi x / period) - tilt x; V0 >= 0, period > 0."""
    _positive("period", period)
    if not (math.isfinite(V0) and V0 >= 0):
        raise InputError(f"V0={V0!r} must be finite and >= 0.")
    return Potential("washboard", washboard_force, (float(V0), float(period), float(tilt)))


@dataclass
class Trajectories:
    """Saved positions ``x`` (n_frames, n, dim) at times ``t``; first-passage times ``fpt`` (n,),
    NaN for particles never absorbed (when absorbing levels were given)."""

    t: np.ndarray
    x: np.ndarray
    fpt: np.ndarray | None
    stats: Any


def overdamped(n: int, *, dim: int = 1, t_end: float, dt: float, D: float | None = None,
               kT: float = 1.0, gamma: float = 1.0, potential: Potential | None = None,
               x0: Any = 0.0, box: Sequence[tuple[float, float]] | tuple[float, float] | None = None,
               absorb: Sequence[tuple[int, float, int]] = (), save_at: int | Sequence[float] | None = None,
               seed: Any = None, progress: bool = False, driver: Any = None) -> Trajectories:
    r"""Brownian dynamics of ``n`` independent particles, Euler–Maruyama on the compiled path.

    Parameters
    ----------
    D
        Diffusivity (length²/time) > 0; default ``kT / gamma``.
    kT, gamma
        Thermal energy and friction (> 0); the force is divided by ``gamma``.
    potential
        :func:`harmonic`, :func:`double_well`, :func:`washboard` or None (free diffusion).
    box
        Reflecting walls: one ``(lo, hi)`` for every axis, or one per axis.
    absorb
        Absorbing levels ``(axis, level, side)``: a particle is absorbed when ``x[axis] >= level``
        (side = +1) or ``<= level`` (side = -1); its first-passage time is recorded.
    save_at
        Frames to keep (an int, or times); default the start and the end.
    driver
        The driving noise: Brownian (default), or e.g. ``simdiff.FractionalGaussian(hurst)`` for
        fBM-driven (fractional) Langevin dynamics; ``sqrt(2 D)`` multiplies its increments.
    """
    n, dim = int(n), int(dim)
    if n < 1:
        raise InputError(f"n={n}: need at least one particle.")
    if dim not in (1, 2, 3):
        raise InputError(f"dim={dim}: particles move in 1, 2 or 3 dimensions.")
    _positive("gamma", gamma)
    _positive("kT", kT)
    D = kT / gamma if D is None else float(D)
    _positive("D", D)
    _positive("t_end", t_end)
    _positive("dt", dt)
    fpt = len(absorb) > 0
    width = dim + (1 if fpt else 0)
    y0 = np.zeros((n, width))
    pos = np.broadcast_to(np.asarray(x0, dtype=float), (n, dim)) if np.ndim(x0) <= 2 else None
    if pos is None:
        raise InputError(f"x0 has shape {np.shape(x0)}; pass a number, one position ({dim},) or ({n}, {dim}).")
    y0[:, :dim] = pos
    if fpt:
        y0[:, dim] = -1.0
    ip = np.array([dim, 1 if fpt else 0, 0, 0], dtype=np.int64)
    pot = potential
    if pot is None:
        fn, p = free_force, [1.0 / gamma]
    else:
        if not isinstance(pot, Potential):
            raise InputError("potential: pass harmonic(...), double_well(...), washboard(...) or None.")
        fn, p = pot.force(gamma)
    drift = Kernel(fn, p=p, ip=ip, pointwise=not fpt)
    noise = Kernel(noise_amplitude, p=[math.sqrt(2.0 * D)], ip=ip, pointwise=not fpt)
    post = None
    if box is not None or fpt:
        wp: list[float] = []
        if box is not None:
            b = [tuple(box)] * dim if np.ndim(box) == 1 else [tuple(x) for x in box]
            if len(b) != dim or any(len(x) != 2 or not x[0] < x[1] for x in b):
                raise InputError(f"box={box!r}: give (lo, hi) with lo < hi, once or once per axis ({dim}).")
            inside = np.all([(pos[:, k] >= b[k][0]) & (pos[:, k] <= b[k][1]) for k in range(dim)])
            if not inside:
                raise InputError("x0 lies outside the box; start every particle inside the walls.")
            wp += [v for x in b for v in x]
            ip[2] = dim
        for a in absorb:
            axis, level, side = a
            if not (0 <= int(axis) < dim) or int(side) not in (-1, 1):
                raise InputError(f"absorb entry {a!r}: (axis in 0..{dim - 1}, level, side +1 or -1).")
            wp += [float(axis), float(level), float(side)]
        ip[3] = len(absorb)
        post = Kernel(walls_kernel, p=wp or [0.0], ip=ip)
        drift = Kernel(fn, p=p, ip=ip, pointwise=False)
        noise = Kernel(noise_amplitude, p=[math.sqrt(2.0 * D)], ip=ip, pointwise=False)
    extra = {} if driver is None else {"driver": driver}
    problem = SDE(drift, noise, noise="diagonal", post_step=post, **extra)
    sol = solve(problem, y0, (0.0, float(t_end)), dt=float(dt), method="euler_maruyama", save_at=save_at,
                seed=seed, progress=progress)
    x = sol.y[:, :, :dim]
    times = None
    if fpt:
        last = sol.y[-1, :, dim]
        times = np.where(last >= 0, last, np.nan)
    return Trajectories(sol.t, x, times, sol.stats)


# ---- underdamped Langevin: BAOAB --------------------------------------------------------------

class UnderdampedSDE(SDE):
    r"""Underdamped Langevin dynamics as an SDE on the state ``(n, 2, dim)`` = (positions, velocities):

    .. math:: dx = v\,dt, \qquad m\,dv = [F(x) - \gamma m v]\,dt + \sqrt{2 \gamma m k_B T}\,dW

    ``force(x)`` returns the force for positions of shape ``(n, dim)``. Solved by the registered
    ``baoab`` method (any SDE method works on it as a plain SDE, too).
    """

    def __init__(self, force, *, gamma: float, mass: float = 1.0, kT: float = 1.0):
        for name, v in (("gamma", gamma), ("mass", mass), ("kT", kT)):
            _positive(name, v)
        self._force, self.gamma, self.mass, self.kT = force, float(gamma), float(mass), float(kT)
        sig = math.sqrt(2.0 * self.gamma * self.kT / self.mass)

        def drift(t, y):
            out = np.empty_like(y)
            out[:, 0] = y[:, 1]
            out[:, 1] = force(y[:, 0]) / self.mass - self.gamma * y[:, 1]
            return out

        def diffusion(t, y):
            g = np.zeros_like(y)
            g[:, 1] = sig
            return g

        super().__init__(drift, diffusion, noise="diagonal")

    def force(self, x):
        return self._force(x)


def _make_baoab():
    from simdiff.core.methods import register
    from simdiff.core.methods.base import Method

    class _BAOAB(Method):
        name = "baoab"
        kinds = frozenset({"sde"})
        strong_order = None
        weak_order = 2.0
        noise = frozenset({"diagonal"})
        calculus = frozenset({"ito", "stratonovich"})
        r"""BAOAB splitting for underdamped Langevin dynamics (Leimkuhler & Matthews 2013):

        B: :math:`v \mathrel{+}= \tfrac h2 F(x)/m`; A: :math:`x \mathrel{+}= \tfrac h2 v`;
        O: :math:`v \leftarrow e^{-\gamma h} v + \sqrt{(k_BT/m)(1 - e^{-2\gamma h})}\,\xi`; A; B.

        Its configurational sampling is exact for harmonic forces at any stable step, and second
        order in general. One force evaluation per step (the last B's force is reused next step).
        """

        description = "BAOAB splitting (underdamped Langevin)"

        def linear_problem(self, linear):
            return None

        def init(self, ev, t0, y0):
            ev.nfe += 1
            return (ev.problem.force(y0[:, 0]),)

        def step(self, ev, t0, t1, y0, dw, state):
            p = ev.problem
            if not isinstance(p, UnderdampedSDE):
                raise InputError("method 'baoab' needs an UnderdampedSDE problem (positions and velocities).")
            h = t1 - t0
            F = state[0]
            x, v = y0[:, 0], y0[:, 1]
            v = v + (0.5 * h / p.mass) * F
            x = x + 0.5 * h * v
            c = math.exp(-p.gamma * abs(h))
            # dW has variance |h|; the O step needs a unit normal
            xi = dw[0][:, 1] / math.sqrt(abs(h))
            v = c * v + math.sqrt(p.kT / p.mass * (1.0 - c * c)) * xi
            x = x + 0.5 * h * v
            ev.nfe += 1
            F = p.force(x)
            v = v + (0.5 * h / p.mass) * F
            return np.stack([x, v], axis=1), (F,)

    register(_BAOAB(), replace=True)


_make_baoab()


def underdamped(n: int, *, dim: int = 1, t_end: float, dt: float, gamma: float = 1.0, mass: float = 1.0,
                kT: float = 1.0, force=None, x0: Any = 0.0, v0: Any = None,
                save_at: int | Sequence[float] | None = None, seed: Any = None) -> Trajectories:
    """Underdamped Langevin dynamics of ``n`` particles with BAOAB. ``force(x)`` on positions of
    shape ``(n, dim)`` (default: none); ``v0`` default: Maxwell–Boltzmann at ``kT``."""
    n, dim = int(n), int(dim)
    if n < 1:
        raise InputError(f"n={n}: need at least one particle.")
    if dim not in (1, 2, 3):
        raise InputError(f"dim={dim}: particles move in 1, 2 or 3 dimensions.")
    _positive("t_end", t_end)
    _positive("dt", dt)
    force = force if force is not None else (lambda x: np.zeros_like(x))
    problem = UnderdampedSDE(force, gamma=gamma, mass=mass, kT=kT)
    rng = np.random.default_rng(seed)
    y0 = np.zeros((n, 2, dim))
    y0[:, 0] = np.broadcast_to(np.asarray(x0, dtype=float), (n, dim))
    y0[:, 1] = (rng.standard_normal((n, dim)) * math.sqrt(kT / mass) if v0 is None
                else np.broadcast_to(np.asarray(v0, dtype=float), (n, dim)))
    sol = solve(problem, y0, (0.0, float(t_end)), dt=float(dt), method="baoab", save_at=save_at, seed=rng)
    return Trajectories(sol.t, sol.y[:, :, 0], None, sol.stats)
