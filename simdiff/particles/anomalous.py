r"""Batched, seeded generators of anomalous-diffusion trajectories.

Every generator returns ``n`` independent trajectories sampled on the regular grid
:math:`t_k = k\,dt`, :math:`k = 0, \dots, T-1`, as an array of shape ``(n, T)`` that starts at 0
(``fbm`` also accepts ``dim`` and then returns ``(n, T, dim)`` with independent components).
One ``seed`` (an int, ``None`` or a ``numpy.random.Generator``) becomes
``np.random.default_rng(seed)``; a given seed gives the same trajectories every time.

=============  ============================================  ==========================================
model          MSD :math:`\langle x^2(t) \rangle`             exponent range
=============  ============================================  ==========================================
``fbm``        :math:`2 D t^{2H}` (exact)                     ``0 < hurst < 1``  (alpha = 2H)
``sbm``        :math:`2 K t^{\alpha}` (exact)                 ``0 < alpha <= 2``
``ctrw``       :math:`\propto t^{\alpha}` (long times)        ``0 < alpha <= 1``
``levy_flight``  infinite; increments are alpha-stable        ``0 < alpha <= 2``
``levy_walk``  :math:`\propto t^{\alpha}` (long times)        ``1 < alpha < 2``
``attm``       :math:`\propto t^{\alpha}` (long times)        ``0 < alpha < 1``
=============  ============================================  ==========================================

The renewal models (CTRW, Lévy walk, ATTM) are exact in continuous time: their renewal epochs are
real numbers, not rounded to the grid, and are drawn for all particles at once in chunks (see
``_renewal_segments``). The grid only decides where the continuous path is read off.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator

import numba as nb
import numpy as np

from simdiff.core.drivers import sample_fgn, sample_stable
from simdiff.errors import InputError, InputTypeError

__all__ = ["fbm", "sbm", "ctrw", "levy_flight", "levy_walk", "attm"]


# ----------------------------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------------------------

def _number(name: str, value: Any, rule: str) -> float:
    if isinstance(value, (bool, str, bytes)):
        raise InputTypeError(f"{name}={value!r} is not a number; pass {rule}.")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputTypeError(f"{name}={value!r} is not a number; pass {rule}.") from None
    if not math.isfinite(x):
        raise InputError(f"{name}={value!r} is not finite; pass {rule}.")
    return x


def _integer(name: str, value: Any, low: int, rule: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name}={value!r} is not an integer; pass {rule}.")
    if value < low:
        raise InputError(f"{name}={value} is outside the valid range; pass {rule}.")
    return int(value)


def _grid(n, T, dt) -> tuple[int, int, float]:
    n = _integer("n", n, 1, "n >= 1 (number of trajectories)")
    T = _integer("T", T, 2, "T >= 2 (number of grid points, t_k = k dt for k = 0..T-1)")
    dt = _number("dt", dt, "dt > 0 (grid spacing)")
    if dt <= 0:
        raise InputError(f"dt={dt} is outside the valid range; pass dt > 0 (grid spacing).")
    return n, T, dt


def _positive(name: str, value: Any, what: str) -> float:
    x = _number(name, value, f"{name} > 0 ({what})")
    if x <= 0:
        raise InputError(f"{name}={x} is outside the valid range; pass {name} > 0 ({what}).")
    return x


def _in_range(name: str, value: Any, lo: float, hi: float, lo_open: bool, hi_open: bool, note: str = "") -> float:
    left, right = ("(" if lo_open else "["), (")" if hi_open else "]")
    rule = f"{name} in {left}{lo:g}, {hi:g}{right}" + (f" ({note})" if note else "")
    x = _number(name, value, rule)
    ok_lo = x > lo if lo_open else x >= lo
    ok_hi = x < hi if hi_open else x <= hi
    if not (ok_lo and ok_hi):
        raise InputError(f"{name}={x:g} is outside {left}{lo:g}, {hi:g}{right}; pass {rule}.")
    return x


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed < 0:
        raise InputError(f"seed={seed}: pass a non-negative int, None or a numpy Generator.")
    return np.random.default_rng(seed)


def _prepend_zero(increments: np.ndarray) -> np.ndarray:
    """Cumulative sum along axis 1 with a leading 0: increments (n, T-1, ...) -> path (n, T, ...)."""
    out = np.zeros((increments.shape[0], increments.shape[1] + 1, *increments.shape[2:]))
    np.cumsum(increments, axis=1, out=out[:, 1:])
    return out


# ----------------------------------------------------------------------------------------------
# Gaussian models
# ----------------------------------------------------------------------------------------------

def fbm(n: int, T: int, hurst: float, dt: float = 1.0, D: float = 1.0, seed=None, dim: int = 1) -> np.ndarray:
    r"""Exact fractional Brownian motion, shape ``(n, T)`` (or ``(n, T, dim)`` when ``dim > 1``).

    .. math::
        \langle B_H(t) B_H(s) \rangle = D\,(t^{2H} + s^{2H} - |t-s|^{2H}), \qquad
        \langle B_H(t)^2 \rangle = 2 D\, t^{2H},

    so the increments over one grid step have autocovariance
    :math:`D\,dt^{2H}\,(|k+1|^{2H} - 2|k|^{2H} + |k-1|^{2H})` at lag ``k``. The path is drawn exactly
    (Davies–Harte circulant embedding, :func:`simdiff.core.drivers.sample_fgn`): unit-step fGn
    scaled by :math:`\sqrt{2D}\,dt^{H}`, cumulatively summed from :math:`B_H(0) = 0`.

    Parameters
    ----------
    n : int >= 1, number of trajectories.
    T : int >= 2, number of grid points :math:`t_k = k\,dt`.
    hurst : Hurst index H in (0, 1); anomalous exponent alpha = 2H (H = 1/2 is Brownian motion).
    dt : grid spacing > 0 (time units).
    D : generalised diffusivity > 0 (length^2 / time^{2H}).
    seed : int, ``numpy.random.Generator`` or None.
    dim : int >= 1, number of independent Cartesian components.
    """
    n, T, dt = _grid(n, T, dt)
    hurst = _in_range("hurst", hurst, 0.0, 1.0, True, True, "0.5 is Brownian motion")
    D = _positive("D", D, "generalised diffusivity, MSD = 2 D t^(2H)")
    dim = _integer("dim", dim, 1, "dim >= 1 (independent components)")
    rng = _rng(seed)
    w = sample_fgn(rng, T - 1, hurst, n * dim, paths_first=True)   # (n*dim, T-1), unit step
    w *= math.sqrt(2.0 * D) * dt ** hurst
    if dim == 1:
        return _prepend_zero(w)                                    # (n, T), no transposes
    inc = w.reshape(n, dim, T - 1).transpose(0, 2, 1)              # (n, T-1, dim)
    return _prepend_zero(inc)


def sbm(n: int, T: int, alpha: float, dt: float = 1.0, K: float = 1.0, seed=None) -> np.ndarray:
    r"""Scaled Brownian motion, shape ``(n, T)``.

    .. math::
        dx = \sqrt{2 D(t)}\, dW_t, \quad D(t) = \alpha K t^{\alpha - 1}, \qquad
        \langle x^2(t) \rangle = 2 K t^{\alpha}.

    The grid increments are exact independent Gaussians,
    :math:`x_{k+1} - x_k \sim \mathcal N\big(0,\ 2K(t_{k+1}^{\alpha} - t_k^{\alpha})\big)`.

    Parameters
    ----------
    n : int >= 1, number of trajectories.  T : int >= 2, grid points.  dt : grid spacing > 0.
    alpha : anomalous exponent in (0, 2] (1 is Brownian motion, 2 ballistic-in-MSD).
    K : generalised diffusivity > 0 (length^2 / time^alpha).
    seed : int, ``numpy.random.Generator`` or None.
    """
    n, T, dt = _grid(n, T, dt)
    alpha = _in_range("alpha", alpha, 0.0, 2.0, True, False, "1 is Brownian motion")
    K = _positive("K", K, "generalised diffusivity, MSD = 2 K t^alpha")
    rng = _rng(seed)
    t = dt * np.arange(T)
    var = 2.0 * K * np.diff(t ** alpha)
    inc = rng.standard_normal((n, T - 1)) * np.sqrt(var)
    return _prepend_zero(inc)


# ----------------------------------------------------------------------------------------------
# renewal machinery (CTRW, Lévy walk, ATTM)
# ----------------------------------------------------------------------------------------------

def _pareto_log(rng: np.random.Generator, size, exponent: float) -> np.ndarray:
    r"""log of Pareto variates :math:`\tau = (1-U)^{-1/\mathrm{exponent}} \ge 1`, i.e.
    :math:`P(\tau > s) = s^{-\mathrm{exponent}}`; returned as :math:`E/\mathrm{exponent}`, E ~ Exp(1)."""
    return rng.standard_exponential(size) / exponent


def _renewal_segments(rng: np.random.Generator, n: int, t_end: float,
                      draw: Callable[[np.random.Generator, tuple], tuple[np.ndarray, np.ndarray]],
                      chunk: int) -> Iterator[tuple[np.ndarray, ...]]:
    r"""Renewal segments of ``n`` independent particles on :math:`[0, t_\mathrm{end}]`.

    Particle i lives through segments :math:`[J_j, J_{j+1})`, :math:`J_0 = 0`,
    :math:`J_{j+1} = J_j + \tau_j`, each with a mark :math:`m_j` (jump, velocity, diffusivity).
    ``draw(rng, (rows, chunk))`` returns ``(tau, mark)`` for ``chunk`` consecutive segments of
    each still-active particle; durations are clipped at ``2 t_end + 1`` (a longer duration only
    says "the segment outlasts the grid"). Yields flat arrays ``(row, start, end, mark, prev_mark)``
    for every segment that starts at or before ``t_end`` (``prev_mark = 0`` for the first one).
    """
    start = np.zeros(n)
    prev = np.zeros(n)
    active = np.arange(n)
    cap = 2.0 * t_end + 1.0
    while active.size:
        tau, mark = draw(rng, (active.size, chunk))
        tau = np.minimum(tau, cap)
        ends = start[active, None] + np.cumsum(tau, axis=1)
        starts = np.concatenate([start[active, None], ends[:, :-1]], axis=1)
        prevs = np.concatenate([prev[active, None], mark[:, :-1]], axis=1)
        keep = starts <= t_end
        rows = np.broadcast_to(active[:, None], starts.shape)[keep]
        yield rows, starts[keep], ends[keep], mark[keep], prevs[keep]
        start[active] = ends[:, -1]
        prev[active] = mark[:, -1]
        active = active[ends[:, -1] <= t_end]


def _chunk(expected: float) -> int:
    """Segments drawn per particle and round: about the expected count, within [16, 4096]."""
    return int(min(4096, max(16, 1.5 * expected)))


def _grid_index(times: np.ndarray, dt: float) -> np.ndarray:
    """First grid index k with k dt >= time (the first grid point at which an event at `time` is seen)."""
    return np.ceil(times / dt).astype(np.int64)


@nb.njit(cache=True)
def _scatter_add(out, idx, w):
    """out[idx[e]] += w[e] (a compiled np.add.at, without bincount's full-size temporary)."""
    for e in range(idx.size):
        out[idx[e]] += w[e]


class _GridSum:
    r"""Accumulates :math:`F_i(t_k) = \sum_{\text{events } e \text{ of } i,\ s_e \le t_k} w_e`
    (``step``) and :math:`G_i(t_k) = \sum_{s_e \le t_k} w_e (t_k - s_e)` (``ramp``) on the grid."""

    def __init__(self, n: int, T: int, dt: float):
        self.n, self.T, self.dt = n, T, dt
        # events are collected and binned once at the end: one pass over the (n, T) grid
        # instead of one full-size bincount per chunk of events
        self._idx: list[np.ndarray] = []
        self._w: list[np.ndarray] = []
        self._ws: list[np.ndarray] = []
        self._step = None

    def add(self, rows, times, weights, ramp: bool):
        k = _grid_index(times, self.dt)
        ok = k < self.T
        self._idx.append(rows[ok] * self.T + k[ok])
        self._w.append(weights[ok])
        self._ws.append(weights[ok] * times[ok] if ramp else np.zeros(int(ok.sum())))
        self._step = None

    def _binned(self, parts) -> np.ndarray:
        out = np.zeros(self.n * self.T)
        for idx, w in zip(self._idx, parts):
            _scatter_add(out, idx, w)
        return out.reshape(self.n, self.T)

    def step(self) -> np.ndarray:
        if self._step is None:
            a = self._binned(self._w)
            self._step = np.cumsum(a, axis=1, out=a)
        return self._step

    def ramp(self) -> np.ndarray:
        t = self.dt * np.arange(self.T)
        b = self._binned(self._ws)
        return t * self.step() - np.cumsum(b, axis=1, out=b)


# ----------------------------------------------------------------------------------------------
# renewal models
# ----------------------------------------------------------------------------------------------

def ctrw(n: int, T: int, alpha: float, dt: float = 1.0, sigma: float = 1.0, seed=None,
         tau0: float = 1.0) -> np.ndarray:
    r"""Continuous-time random walk with Pareto waiting times, shape ``(n, T)``.

    Waiting times :math:`\tau = \tau_0 (1-U)^{-1/\alpha}`, i.e.
    :math:`\psi(\tau) = \alpha \tau_0^{\alpha} \tau^{-1-\alpha}` for :math:`\tau \ge \tau_0`;
    after each wait the walker jumps by :math:`\mathcal N(0, \sigma^2)`. The grid value
    :math:`x(t_k)` is the position after the last jump at or before :math:`t_k` (the walk starts at
    0 at t = 0, and the first jump comes after the first wait). For :math:`\alpha < 1`

    .. math::
        \langle x^2(t) \rangle = \sigma^2 \langle N(t) \rangle
        \simeq \frac{\sigma^2}{\Gamma(1-\alpha)\Gamma(1+\alpha)} \Big(\frac{t}{\tau_0}\Big)^{\alpha},
        \qquad t \gg \tau_0,

    and for :math:`\alpha = 1`, :math:`\langle x^2 \rangle \simeq \sigma^2 t / (\tau_0 \ln(t/\tau_0))`.
    The corrections decay like :math:`(t/\tau_0)^{-\alpha}` (a constant offset in N(t)), so fit the
    exponent at :math:`t \gtrsim 10^2 \tau_0`.

    Parameters
    ----------
    n : int >= 1.  T : int >= 2.  dt : grid spacing > 0 (same time unit as tau0).
    alpha : waiting-time exponent in (0, 1] (anomalous exponent; 1 is the marginal case).
    sigma : jump standard deviation > 0 (length).
    tau0 : shortest waiting time > 0 (time units).
    seed : int, ``numpy.random.Generator`` or None.
    """
    n, T, dt = _grid(n, T, dt)
    alpha = _in_range("alpha", alpha, 0.0, 1.0, True, False, "waiting-time exponent")
    sigma = _positive("sigma", sigma, "jump standard deviation")
    tau0 = _positive("tau0", tau0, "shortest waiting time")
    rng = _rng(seed)
    t_end = (T - 1) * dt

    def draw(rng, size):
        log_tau = _pareto_log(rng, size, alpha)
        tau = tau0 * np.exp(np.minimum(log_tau, math.log(2.0 * t_end / tau0 + 2.0)))
        return tau, sigma * rng.standard_normal(size)

    acc = _GridSum(n, T, dt)
    for rows, _s, ends, jump, _p in _renewal_segments(rng, n, t_end, draw, _chunk((t_end / tau0) ** alpha)):
        seen = ends <= t_end                    # the jump closing the segment happens at its end
        acc.add(rows[seen], ends[seen], jump[seen], ramp=False)
    return acc.step()


def levy_flight(n: int, T: int, alpha: float, dt: float = 1.0, scale: float = 1.0, seed=None) -> np.ndarray:
    r"""Lévy flight: cumulative sums of i.i.d. symmetric alpha-stable jumps, shape ``(n, T)``.

    .. math::
        x_{k+1} - x_k = \mathrm{scale}\; dt^{1/\alpha}\, S_k, \qquad
        \langle e^{i q S} \rangle = e^{-|q|^{\alpha}},

    so :math:`\langle e^{iq(x(t) - x(0))} \rangle = e^{-\mathrm{scale}^{\alpha} t |q|^{\alpha}}`
    (self-similar, :math:`x(t) \overset{d}{=} t^{1/\alpha} x(1)`) and the jump density has tails
    :math:`\propto |x|^{-1-\alpha}` for alpha < 2 (the MSD is infinite). alpha = 2 gives Brownian
    increments of variance :math:`2\,\mathrm{scale}^2 dt`. Jumps come from
    :func:`simdiff.core.drivers.sample_stable` (Chambers–Mallows–Stuck, beta = 0). Very small alpha
    (below about 0.05) produces jumps that overflow float64.

    Parameters
    ----------
    n : int >= 1.  T : int >= 2.  dt : grid spacing > 0.
    alpha : stability index in (0, 2].
    scale : scale parameter > 0 (length / time^{1/alpha}).
    seed : int, ``numpy.random.Generator`` or None.
    """
    n, T, dt = _grid(n, T, dt)
    alpha = _in_range("alpha", alpha, 0.0, 2.0, True, False, "stability index; 2 is Gaussian")
    scale = _positive("scale", scale, "stable scale parameter")
    rng = _rng(seed)
    jumps = sample_stable(rng, alpha, 0.0, (n, T - 1)) * (scale * dt ** (1.0 / alpha))
    return _prepend_zero(jumps)


def levy_walk(n: int, T: int, alpha: float, dt: float = 1.0, v: float = 1.0, seed=None,
              tau0: float = 1.0) -> np.ndarray:
    r"""Lévy walk (1D): flights at constant speed ``v`` with Pareto durations, shape ``(n, T)``.

    AnDi convention (Muñoz-Gil et al. 2021, andi-datasets ``lw``): flight durations
    :math:`\tau = \tau_0 (1-U)^{-1/\gamma}` with :math:`\gamma = 3 - \alpha`, i.e.

    .. math::
        \psi(\tau) = \gamma\, \tau_0^{\gamma}\, \tau^{-1-\gamma} = \gamma\,\tau_0^{\gamma}\,\tau^{\alpha - 4},
        \qquad \tau \ge \tau_0,

    with finite mean and infinite variance for :math:`1 < \gamma < 2`. Each flight has a direction
    :math:`\pm 1` (fair coin); the position is linear in time during a flight,
    :math:`x(t) = x(J_j) + s_j v (t - J_j)` on :math:`[J_j, J_{j+1})`, and is read off exactly at the
    grid points (no rounding of flight times). The walk starts at t = 0 with a fresh flight
    (non-equilibrium start). For large t (Zumofen & Klafter 1993)

    .. math::
        \langle x^2(t) \rangle \simeq \frac{2 (\gamma - 1)\, v^2 \tau_0^{\gamma - 1}}{(3-\gamma)(2-\gamma)}\;
        t^{3-\gamma} = \frac{2 (2 - \alpha)\, v^2 \tau_0^{2 - \alpha}}{\alpha (\alpha - 1)}\, t^{\alpha},

    with a sub-leading correction :math:`\propto t` (relative size :math:`t^{1-\alpha}`).

    Parameters
    ----------
    n : int >= 1.  T : int >= 2.  dt : grid spacing > 0 (same time unit as tau0).
    alpha : anomalous exponent in (1, 2) (superdiffusive); gamma = 3 - alpha.
    v : speed > 0 (length / time).
    tau0 : shortest flight duration > 0 (time units).
    seed : int, ``numpy.random.Generator`` or None.
    """
    n, T, dt = _grid(n, T, dt)
    alpha = _in_range("alpha", alpha, 1.0, 2.0, True, True, "superdiffusive; flight exponent gamma = 3 - alpha")
    v = _positive("v", v, "flight speed")
    tau0 = _positive("tau0", tau0, "shortest flight duration")
    rng = _rng(seed)
    t_end = (T - 1) * dt
    gamma = 3.0 - alpha
    mean_tau = tau0 * gamma / (gamma - 1.0)

    def draw(rng, size):
        log_tau = _pareto_log(rng, size, gamma)
        tau = tau0 * np.exp(np.minimum(log_tau, math.log(2.0 * t_end / tau0 + 2.0)))
        return tau, v * (2.0 * rng.integers(0, 2, size) - 1.0)

    # x(t) = sum_j (u_j - u_{j-1}) (t - J_j)_+ : velocity changes at every flight start.
    acc = _GridSum(n, T, dt)
    for rows, starts, _e, vel, prev in _renewal_segments(rng, n, t_end, draw, _chunk(t_end / mean_tau + 1)):
        acc.add(rows, starts, vel - prev, ramp=True)
    return acc.ramp()


def attm(n: int, T: int, alpha: float, dt: float = 1.0, sigma: float | None = None, seed=None) -> np.ndarray:
    r"""Annealed transient time motion (Massignan et al., PRL 112, 150603, 2014), shape ``(n, T)``.

    Brownian motion whose diffusivity is redrawn at renewal times; the time a diffusivity lasts
    depends on it. AnDi convention (andi-datasets ``attm``, regime 1):

    .. math::
        D = (1-U)^{1/\sigma} \in (0, 1], \quad P(D) = \sigma D^{\sigma - 1}; \qquad
        \tau = D^{-\gamma} \ge 1; \qquad \gamma = \sigma / \alpha,\ \ \sigma < \gamma < \sigma + 1,

    so :math:`P(\tau > s) = s^{-\alpha}` and :math:`\langle x^2(t) \rangle \propto t^{\alpha}`.
    Within a segment :math:`dx = \sqrt{2D}\, dW`. The grid increments are exact given the
    diffusivity path: :math:`x_{k+1} - x_k \sim \mathcal N(0, 2\int_{t_k}^{t_{k+1}} D(s)\,ds)`,
    with segment boundaries at real times (andi-datasets truncates them to whole steps). Time is in
    the units in which :math:`\tau = D^{-\gamma}` and D are measured; dt only sets the grid.

    Parameters
    ----------
    n : int >= 1.  T : int >= 2.  dt : grid spacing > 0.
    alpha : anomalous exponent in (0, 1) (= sigma / gamma).
    sigma : exponent of P(D) ~ D^(sigma-1), in (0, alpha / (1 - alpha)) so that gamma < sigma + 1;
        default ``min(1, alpha / (2 (1 - alpha)))``.
    seed : int, ``numpy.random.Generator`` or None.
    """
    n, T, dt = _grid(n, T, dt)
    alpha = _in_range("alpha", alpha, 0.0, 1.0, True, True, "subdiffusive, alpha = sigma / gamma")
    upper = alpha / (1.0 - alpha)
    if sigma is None:
        sigma = min(1.0, 0.5 * upper)
    sigma = _in_range("sigma", sigma, 0.0, upper, True, True,
                      f"gamma = sigma / alpha must satisfy sigma < gamma < sigma + 1 at alpha={alpha:g}")
    rng = _rng(seed)
    t_end = (T - 1) * dt

    def draw(rng, size):
        e = rng.standard_exponential(size)             # E = -ln(1 - U)
        d = np.exp(-e / sigma)                         # D = (1-U)^(1/sigma)
        log_tau = np.minimum(e / alpha, math.log(2.0 * t_end + 2.0))   # tau = D^(-gamma) = e^(E/alpha)
        return np.exp(log_tau), d

    # Theta(t) = int_0^t D = sum_j (D_j - D_{j-1}) (t - J_j)_+
    acc = _GridSum(n, T, dt)
    for rows, starts, _e, d, prev in _renewal_segments(rng, n, t_end, draw, _chunk(t_end ** alpha + 1)):
        acc.add(rows, starts, d - prev, ramp=True)
    theta = np.maximum(np.diff(acc.ramp(), axis=1), 0.0)       # round-off guard
    inc = rng.standard_normal((n, T - 1)) * np.sqrt(2.0 * theta)
    return _prepend_zero(inc)
