"""Trajectory analysis for normal and anomalous diffusion.

Trajectories are arrays of shape ``(n_particles, n_times)`` (1D) or ``(n_particles, n_times, dim)``,
sampled on a uniform grid ``t_k = k * dt``. Lags are given as integer numbers of steps and returned
in time units (``lag * dt``).

Notation: ``x_i(t)`` is particle ``i``, ``T`` the number of samples, ``Δ`` a lag in steps,
``<.>`` an ensemble average over particles and ``δ²`` a time average along one trajectory.

>>> import numpy as np
>>> from simdiff.particles.analysis import msd, tamsd, fit_exponent
>>> rng = np.random.default_rng(0)
>>> x = np.cumsum(rng.normal(0.0, np.sqrt(2 * 0.5 * 0.01), (500, 1000)), axis=1)  # D = 0.5, dt = 0.01
>>> tau, m = tamsd(x, dt=0.01, lags=np.unique(np.geomspace(1, 100, 20).astype(int)))
>>> fit = fit_exponent(tau, m.mean(axis=0))
>>> bool(abs(fit.alpha - 1.0) < 0.05)
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simdiff.errors import InputError

__all__ = [
    "ExponentFit", "msd", "tamsd", "fit_exponent", "eb_parameter", "vacf", "van_hove", "first_passage_times",
]


# ----------------------------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------------------------
def _trajectories(x, name: str = "x", min_times: int = 2) -> np.ndarray:
    """Return ``x`` as a float array of shape (n_particles, n_times, dim), after checking it."""
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"{name} must be a numeric array; got dtype {arr.dtype}.")
    if arr.ndim not in (2, 3):
        raise InputError(
            f"{name} has shape {arr.shape}; it must be (n_particles, n_times) or (n_particles, n_times, dim). "
            f"Use x[None, :] for a single 1D trajectory."
        )
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape}); it needs at least one particle, one dimension "
                         f"and {min_times} times.")
    if arr.shape[1] < min_times:
        raise InputError(f"{name} has {arr.shape[1]} time points; this analysis needs at least {min_times}.")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise InputError(f"{name} holds {bad} non-finite value(s) (nan or inf); every sample must be finite.")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr


def _positive(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}={value!r} must be a positive finite number.") from None
    if not np.isfinite(v) or v <= 0:
        raise InputError(f"{name}={value!r} must be a positive finite number.")
    return v


def _lags(lags, n_times: int, lo: int, name: str = "lags", default_lo: int | None = None) -> np.ndarray:
    """Integer lags in steps, checked to lie in [lo, n_times - 1]; default ``default_lo .. n_times - 1``."""
    hi = n_times - 1
    if lags is None:
        start = lo if default_lo is None else default_lo
        if hi < start:
            raise InputError(f"no {name} in [{start}, {hi}]: the trajectories are too short ({n_times} times).")
        return np.arange(start, hi + 1)
    arr = np.atleast_1d(np.asarray(lags))
    if arr.ndim != 1 or arr.size == 0:
        raise InputError(f"{name} must be a non-empty 1D sequence of integer steps; got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must hold finite integer numbers of steps; got {arr!r}.")
    if not np.all(arr == np.round(arr)):
        raise InputError(f"{name} must be integer numbers of steps (lag time = lag * dt); got {arr!r}.")
    arr = arr.astype(np.int64)
    if arr.min() < lo or arr.max() > hi:
        raise InputError(
            f"{name} range [{arr.min()}, {arr.max()}] is outside [{lo}, {hi}] for {n_times} time points; "
            f"lags are steps, not times."
        )
    return arr


def _autocorrelation(y: np.ndarray) -> np.ndarray:
    """Unnormalised autocorrelation ``S(Δ) = Σ_{t=0}^{T-1-Δ} y_t · y_{t+Δ}`` for every Δ in [0, T).

    ``y`` has shape (n, T, dim); the dot product sums over ``dim``. Zero-padding to ``n_fft >= 2T - 1``
    makes the circular FFT correlation equal to the linear one (Wiener–Khinchin), O(T log T).
    """
    n_times = y.shape[1]
    n_fft = 1 << int(np.ceil(np.log2(2 * n_times - 1))) if n_times > 1 else 2
    spec = np.fft.rfft(y, n=n_fft, axis=1)
    power = (spec * spec.conj()).real
    return np.fft.irfft(power, n=n_fft, axis=1)[:, :n_times, :].sum(axis=-1)


# ----------------------------------------------------------------------------------------------
# mean squared displacements
# ----------------------------------------------------------------------------------------------
def msd(x, dt: float = 1.0, lags=None) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble-averaged MSD from the first sample: ``<|x(τ) - x(0)|²>`` over particles.

    ``MSD(τ_Δ) = (1/N) Σ_i |x_i(Δ·dt) - x_i(0)|²``; for Brownian motion in ``d`` dimensions it is
    ``2 d D τ``.

    Parameters
    ----------
    x : trajectories, shape (n_particles, n_times[, dim]); finite.
    dt : sampling step (time units), > 0.
    lags : integer lags in steps, each in [0, n_times - 1]; default ``1 .. n_times - 1``.

    Returns
    -------
    (lag_times, msd) with ``lag_times = lags * dt``; both of shape (n_lags,).
    """
    arr = _trajectories(x)
    dt = _positive(dt, "dt")
    lag = _lags(lags, arr.shape[1], lo=0, default_lo=1)
    disp = arr[:, lag, :] - arr[:, :1, :]
    return lag * dt, np.mean(np.sum(disp * disp, axis=-1), axis=0)


def tamsd(x, dt: float = 1.0, lags=None, *, method: str = "fft") -> tuple[np.ndarray, np.ndarray]:
    """Time-averaged MSD of every trajectory.

    ``δ²_i(Δ) = 1/(T-Δ) Σ_{t=0}^{T-1-Δ} |x_i(t+Δ) - x_i(t)|²``.

    ``method="fft"`` (default, O(T log T)) expands the square,
    ``Σ|x_{t+Δ} - x_t|² = Σ_{t=Δ}^{T-1} |x_t|² + Σ_{t=0}^{T-1-Δ} |x_t|² - 2 S(Δ)``,
    takes both sums of squares from one cumulative sum and the autocorrelation ``S(Δ)`` from a
    zero-padded FFT. Each trajectory is first shifted by its time mean (δ² is translation invariant),
    which keeps the cancellation error at round-off. ``method="direct"`` is the readable O(T²)
    reference.

    Parameters
    ----------
    x : trajectories, shape (n_particles, n_times[, dim]); finite.
    dt : sampling step (time units), > 0.
    lags : integer lags in steps, each in [1, n_times - 1]; default all of them.
    method : ``"fft"`` or ``"direct"``.

    Returns
    -------
    (lag_times, tamsd) of shapes (n_lags,) and (n_particles, n_lags).
    """
    arr = _trajectories(x)
    dt = _positive(dt, "dt")
    n_times = arr.shape[1]
    lag = _lags(lags, n_times, lo=1)
    if method == "direct":
        out = np.empty((arr.shape[0], lag.size))
        for j, k in enumerate(lag):
            d = arr[:, k:, :] - arr[:, :-k, :]
            out[:, j] = np.sum(d * d, axis=(1, 2)) / (n_times - k)
        return lag * dt, out
    if method != "fft":
        raise InputError(f"method={method!r} is unknown; use one of 'fft', 'direct'.")
    y = arr - arr.mean(axis=1, keepdims=True)
    sq = np.sum(y * y, axis=-1)
    csum = np.concatenate([np.zeros((y.shape[0], 1)), np.cumsum(sq, axis=1)], axis=1)  # csum[k] = Σ_{t<k}
    s = _autocorrelation(y)[:, lag]
    total = csum[:, n_times - lag] + (csum[:, -1:] - csum[:, lag]) - 2.0 * s
    return lag * dt, np.maximum(total, 0.0) / (n_times - lag)


def eb_parameter(x, lag: int) -> float:
    """Ergodicity-breaking parameter of the TAMSD at one lag.

    ``EB(Δ) = (<(δ²)²> - <δ²>²) / <δ²>²`` over particles. For Brownian motion in ``d`` dimensions
    ``EB → 4Δ / (3 d T)`` for ``1 << Δ << T`` (exactly ``2/(d(T-1))`` at ``Δ = 1``); it tends to zero
    for an ergodic process and stays finite for weakly non-ergodic ones (CTRW).

    Parameters
    ----------
    x : trajectories, shape (n_particles >= 2, n_times[, dim]); finite.
    lag : lag in steps, in [1, n_times - 1].
    """
    arr = _trajectories(x)
    if arr.shape[0] < 2:
        raise InputError(f"x holds {arr.shape[0]} particle; eb_parameter needs at least 2 to form a variance.")
    lag_arr = np.atleast_1d(np.asarray(lag))
    if lag_arr.size != 1:
        raise InputError(f"lag={lag!r} must be a single integer number of steps.")
    _, d2 = tamsd(arr, 1.0, _lags(lag_arr, arr.shape[1], lo=1, name="lag"))
    d2 = d2[:, 0]
    mean = d2.mean()
    if mean == 0.0:
        raise InputError("x is constant over every window at this lag (<δ²> = 0); EB is undefined.")
    return float(np.mean(d2 * d2) / mean**2 - 1.0)


# ----------------------------------------------------------------------------------------------
# exponent fit
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExponentFit:
    """Power law ``MSD(τ) ≈ K τ^alpha`` with a confidence interval ``[alpha_low, alpha_high]`` for alpha.

    ``K`` is the prefactor in the units of the data (for Brownian motion ``K = 2 d D``; the
    generalised diffusivity of ``MSD = 2 d K_α τ^α / Γ(1+α)`` is ``K_α = K Γ(1+α) / (2d)``).
    """

    alpha: float
    K: float
    alpha_low: float
    alpha_high: float


def fit_exponent(lags, msd, lag_range=None, confidence: float = 0.95) -> ExponentFit:  # noqa: A002
    """Least-squares fit of ``log MSD = log K + alpha log τ``.

    Ordinary least squares over the ``n`` points with ``lag_range[0] <= τ <= lag_range[1]``; the
    interval is ``alpha ± t_{(1+c)/2, n-2} · SE(alpha)`` with
    ``SE(alpha)² = Σ r² / ((n-2) Σ (log τ - mean log τ)²)`` (Student t, ``n - 2`` degrees of freedom).
    The interval assumes independent residuals; MSD estimates at neighbouring lags are correlated,
    so use few, log-spaced lags for an honest interval.

    Parameters
    ----------
    lags : lag times, shape (n_lags,), > 0 (the first output of :func:`msd` / :func:`tamsd`).
    msd : MSD values, shape (n_lags,), > 0 (average a TAMSD over particles first).
    lag_range : (low, high) in time units, inclusive; default all lags. At least 3 lags must fall in it.
    confidence : confidence level in (0, 1).
    """
    tau = np.asarray(lags, dtype=float)
    m = np.asarray(msd, dtype=float)
    if tau.ndim != 1 or tau.size == 0:
        raise InputError(f"lags must be a non-empty 1D array of lag times; got shape {tau.shape}.")
    if m.shape != tau.shape:
        raise InputError(
            f"msd has shape {m.shape} but lags has shape {tau.shape}; they must match "
            f"(for a TAMSD of shape (n_particles, n_lags) pass tamsd.mean(axis=0))."
        )
    if not np.all(np.isfinite(tau)) or not np.all(np.isfinite(m)):
        raise InputError("lags and msd must be finite; found nan or inf.")
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise InputError(f"confidence={confidence!r} must be a number in (0, 1).") from None
    if not 0.0 < c < 1.0:
        raise InputError(f"confidence={confidence!r} must lie in (0, 1), e.g. 0.95.")
    keep = np.ones(tau.shape, dtype=bool)
    if lag_range is not None:
        try:
            lo, hi = (float(v) for v in lag_range)
        except (TypeError, ValueError):
            raise InputError(f"lag_range={lag_range!r} must be a pair (low, high) of lag times.") from None
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
            raise InputError(f"lag_range={lag_range!r} must be finite with low <= high.")
        keep = (tau >= lo) & (tau <= hi)
    tau, m = tau[keep], m[keep]
    if tau.size < 3:
        raise InputError(
            f"lag_range={lag_range!r} keeps {tau.size} lag(s); the fit and its interval need at least 3."
        )
    if np.any(tau <= 0):
        raise InputError(f"lags must be > 0 inside the fit range (log τ); got min {tau.min():g}. Drop lag 0.")
    if np.any(m <= 0):
        raise InputError(f"msd must be > 0 inside the fit range (log MSD); got min {m.min():g}.")
    from scipy import stats

    lx, ly = np.log(tau), np.log(m)
    if np.ptp(lx) == 0.0:
        raise InputError("lags inside the fit range are all equal; the slope is undefined.")
    xm = lx - lx.mean()
    sxx = float(xm @ xm)
    alpha = float(xm @ (ly - ly.mean()) / sxx)
    intercept = float(ly.mean() - alpha * lx.mean())
    resid = ly - (intercept + alpha * lx)
    dof = tau.size - 2
    se = float(np.sqrt(resid @ resid / dof / sxx))
    half = float(stats.t.ppf(0.5 + c / 2.0, dof)) * se
    return ExponentFit(alpha=alpha, K=float(np.exp(intercept)), alpha_low=alpha - half, alpha_high=alpha + half)


# ----------------------------------------------------------------------------------------------
# velocity autocorrelation, van Hove, first passage
# ----------------------------------------------------------------------------------------------
def vacf(v_or_x, dt: float = 1.0, lags=None, *, positions: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Time- and ensemble-averaged autocorrelation of the increments (or velocities).

    ``C(Δ) = (1/N) Σ_i 1/(T'-Δ) Σ_{t=0}^{T'-1-Δ} u_i(t) · u_i(t+Δ)``, computed by FFT.

    With ``positions=True`` (default) ``u(t) = x(t+1) - x(t)`` are the increments (``T' = T - 1``);
    for Brownian motion ``C(0) = 2 d D dt`` and ``C(Δ ≥ 1) = 0``. Divide by ``dt²`` for the
    velocity autocorrelation of the finite-difference velocity. With ``positions=False`` the input
    already holds velocities ``u = v`` (``T' = T``).

    Parameters
    ----------
    v_or_x : positions or velocities, shape (n_particles, n_times[, dim]); finite.
    dt : sampling step (time units), > 0.
    lags : integer lags in steps, in [0, T' - 1]; default all of them.
    positions : whether the input is positions (differenced first) or velocities.

    Returns
    -------
    (lag_times, C) both of shape (n_lags,).
    """
    arr = _trajectories(v_or_x, name="v_or_x", min_times=2 if positions else 1)
    dt = _positive(dt, "dt")
    u = np.diff(arr, axis=1) if positions else arr
    n_u = u.shape[1]
    lag = _lags(lags, n_u, lo=0)
    s = _autocorrelation(u)[:, lag] / (n_u - lag)
    return lag * dt, s.mean(axis=0)


def van_hove(x, lag: int, bins=50, *, t0: int | None = None, range=None) -> tuple[np.ndarray, np.ndarray]:  # noqa: A002
    """Van Hove self-correlation: probability density of the displacement ``x(t+Δ) - x(t)``.

    ``G(ξ, Δ) = P(x(t+Δ) - x(t) ∈ bin) / bin width``, normalised by *all* displacements (those outside
    ``range`` included), so it compares directly with a pdf; for Brownian motion
    ``G = exp(-ξ²/(4Dτ)) / sqrt(4πDτ)``. In ``dim > 1`` the Cartesian components are pooled
    (isotropic motion).

    Parameters
    ----------
    x : trajectories, shape (n_particles, n_times[, dim]); finite.
    lag : lag in steps, in [1, n_times - 1].
    bins : number of bins or an increasing array of bin edges (as numpy.histogram).
    t0 : start index of the displacement; ``None`` (default) pools every start ``t`` (more data,
        correlated samples), an integer uses ``x(t0+Δ) - x(t0)`` only (independent over particles).
    range : (low, high) of the histogram; default the data range.

    Returns
    -------
    (edges, density) with shapes (n_bins + 1,) and (n_bins,).
    """
    arr = _trajectories(x)
    n_times = arr.shape[1]
    k = int(_lags(np.atleast_1d(np.asarray(lag)), n_times, lo=1, name="lag")[0]) if np.size(lag) == 1 else None
    if k is None:
        raise InputError(f"lag={lag!r} must be a single integer number of steps.")
    if t0 is None:
        disp = arr[:, k:, :] - arr[:, :-k, :]
    else:
        if not isinstance(t0, (int, np.integer)) or not 0 <= t0 <= n_times - 1 - k:
            raise InputError(f"t0={t0!r} must be an integer in [0, {n_times - 1 - k}] for lag={k}.")
        disp = arr[:, t0 + k, :] - arr[:, t0, :]
    disp = disp.ravel()
    if np.ndim(bins) == 0:
        if not isinstance(bins, (int, np.integer)) or bins < 1:
            raise InputError(f"bins={bins!r} must be a positive integer or an increasing array of edges.")
    else:
        e = np.asarray(bins, dtype=float)
        if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
            raise InputError("bins as edges must be a finite, strictly increasing 1D array of >= 2 values.")
    if range is not None:
        lo, hi = (float(v) for v in range)
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
            raise InputError(f"range={range!r} must be finite with low < high.")
    counts, edges = np.histogram(disp, bins=bins, range=range)
    return edges, counts / (disp.size * np.diff(edges))


def first_passage_times(x, level: float, dt: float = 1.0) -> np.ndarray:
    """First time each 1D trajectory reaches ``level``; nan where it never does.

    ``T_i = dt · min{k : x_i(k) >= level}`` if ``x_i(0) < level`` (or ``<= level`` from above;
    ``0`` if ``x_i(0) == level``). The grid only sees the path at ``t_k``, so these times exceed the
    continuous first-passage times; for Brownian motion the discretely monitored passage matches
    the continuous one to a level shifted outward by ``0.5826 · sqrt(2 D dt)``
    (Broadie–Glasserman–Kou; ``0.5826 = -ζ(1/2)/sqrt(2π)``). The continuous law from ``x(0) = 0`` is
    Lévy–Smirnov, ``P(T < t) = erfc(|a| / sqrt(4 D t))``.

    Parameters
    ----------
    x : 1D trajectories, shape (n_particles, n_times) (or dim = 1); finite.
    level : the absorbing level (position units); finite.
    dt : sampling step (time units), > 0.

    Returns
    -------
    times, shape (n_particles,).
    """
    arr = _trajectories(x, min_times=1)
    if arr.shape[2] != 1:
        raise InputError(f"x has dim={arr.shape[2]}; first_passage_times needs 1D trajectories (project first).")
    try:
        a = float(level)
    except (TypeError, ValueError):
        raise InputError(f"level={level!r} must be a finite number.") from None
    if not np.isfinite(a):
        raise InputError(f"level={level!r} must be a finite number.")
    dt = _positive(dt, "dt")
    p = arr[:, :, 0]
    above = p[:, :1] > a
    hit = np.where(above, p <= a, p >= a)
    first = np.argmax(hit, axis=1)
    return np.where(hit.any(axis=1), first * dt, np.nan)
