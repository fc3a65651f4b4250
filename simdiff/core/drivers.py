r"""Driving noises: what stands in for :math:`dW_t` in an SDE.

A driver hands an integrator one increment per step. ``Brownian`` draws independent Gaussian
increments of variance :math:`|h|`; ``FractionalGaussian`` hands out the increments of one exact
fractional Brownian path (circulant embedding, Davies & Harte 1987) with
:math:`\mathrm{Var} = |h|^{2H}`; ``AlphaStable`` draws i.i.d. symmetric (or skewed) alpha-stable
increments scaled by :math:`|h|^{1/\alpha}` (Chambers, Mallows & Stuck 1976). Integrators do not
know which driver made an increment; their declared strong orders hold for Brownian increments.

A driver is configuration; ``driver.begin(...)`` returns a *stream* for one solve, whose
``position`` is saved in checkpoints and restored with ``seek``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from simdiff.errors import InputError, InputTypeError

__all__ = ["Driver", "Brownian", "FractionalGaussian", "AlphaStable", "Prescribed"]


class Driver:
    r"""Base class. Subclasses set ``kind`` and implement ``begin``.

    ``begin(rng, dts, shape, like, ops, area)`` returns a stream with ``next() -> (dW, area)``,
    ``take(n) -> (dW[n, ...], area)`` (numpy only, for compiled loops), ``position`` and ``seek``.
    ``area`` is the iterated integral :math:`I_{(1,0)} = \int (W_s - W_{t_n}) ds` that strong
    order 1.5 methods need; only drivers with ``supports_area`` provide it.
    """

    kind: str = "driver"
    supports_area: bool = False
    compiled_inline: bool = False   # compiled loops may draw its increments inline (Brownian)

    def begin(self, rng, dts: np.ndarray, shape: tuple, like: Any, ops, area: bool = False):
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"type": type(self).__name__, **{k: v for k, v in vars(self).items()}}


class _Stream:
    def __init__(self, dts):
        self.dts = dts
        self.position = 0

    def seek(self, position: int) -> None:
        self.position = int(position)


@dataclass(frozen=True)
class Brownian(Driver):
    """Standard Wiener increments: :math:`\\Delta W \\sim N(0, |h|)` per component and step."""

    kind = "brownian"
    supports_area = True
    compiled_inline = True

    def begin(self, rng, dts, shape, like, ops, area=False):
        return _BrownianStream(rng, dts, shape, like, ops, area)


class _BrownianStream(_Stream):
    def __init__(self, rng, dts, shape, like, ops, area):
        super().__init__(dts)
        self.rng, self.shape, self.like, self.ops, self.area = rng, shape, like, ops, area

    def next(self):
        h = float(self.dts[self.position])
        self.position += 1
        sq = math.sqrt(abs(h))
        dw = self.ops.normal(self.rng, self.shape, self.like) * sq
        if not self.area:
            return dw, None
        # I_(1,0) = h/2 (dW + zeta sqrt(|h|/3)): Var = |h|^3/3, Cov(I, dW) = h^2/2 (Kloeden–Platen 10.4).
        zeta = self.ops.normal(self.rng, self.shape, self.like)
        return dw, 0.5 * h * (dw + zeta * (sq / math.sqrt(3.0)))

    def take(self, n):
        sq = np.sqrt(np.abs(self.dts[self.position:self.position + n]))
        dw = self.rng.standard_normal((n, *self.shape))
        dw *= sq.reshape((n,) + (1,) * len(self.shape))
        self.position += n
        return dw, None


class _ArrayStream(_Stream):
    """Hands out slices of a precomputed increment array (numpy), one step at a time."""

    def __init__(self, dts, dw, area, like, ops):
        super().__init__(dts)
        self.dw, self.areas, self.like, self.ops = dw, area, like, ops

    def next(self):
        k = self.position
        if k >= len(self.dw):
            raise InputError(f"the driver holds {len(self.dw)} increments but the solve needs more steps.")
        self.position += 1
        dw = self.ops.from_numpy(self.dw[k], self.like)
        a = None if self.areas is None else self.ops.from_numpy(self.areas[k], self.like)
        return dw, a

    def take(self, n):
        k = self.position
        self.position += n
        return np.ascontiguousarray(self.dw[k:k + n]), None


@dataclass(frozen=True, eq=False)
class Prescribed(Driver):
    """Increments given by the caller, shape ``(n_steps, *noise_shape)`` (and optionally areas).

    Used for convergence studies on one shared Brownian path: build the fine path once and sum
    it to coarser steps.
    """

    dw: np.ndarray
    area: np.ndarray | None = None
    kind = "prescribed"

    @property
    def supports_area(self) -> bool:  # type: ignore[override]
        return self.area is not None

    def begin(self, rng, dts, shape, like, ops, area=False):
        dw = np.asarray(self.dw, dtype=float)
        if dw.shape[1:] != tuple(shape) or len(dw) < len(dts):
            raise InputError(
                f"Prescribed increments have shape {dw.shape}; this solve needs ({len(dts)}, "
                f"{', '.join(map(str, shape))}) (steps, *noise shape).")
        return _ArrayStream(dts, dw, None if self.area is None else np.asarray(self.area), like, ops)

    def to_dict(self) -> dict:
        return {"type": "Prescribed", "n_steps": int(np.shape(self.dw)[0])}


def _as_float(driver, name: str, rule: str) -> float:
    """Store ``driver.name`` as a float (it goes into checkpoint metadata as JSON) or say what to pass."""
    value = getattr(driver, name)
    try:
        if isinstance(value, (bool, str, bytes)):
            raise TypeError
        x = float(value)
    except (TypeError, ValueError):
        raise InputTypeError(f"{name}={value!r} is not a number; pass {rule}.") from None
    object.__setattr__(driver, name, x)
    return x


def _uniform_step(dts: np.ndarray, who: str) -> float:
    h = np.abs(dts)
    if len(h) and not np.allclose(h, h[0], rtol=1e-9, atol=0.0):
        raise InputError(
            f"{who} needs equal time steps (its increments are correlated across steps); got steps "
            f"from {h.min():g} to {h.max():g}. Pass dt with save_at times on the same grid, or a "
            f"uniform grid.")
    return float(h[0]) if len(h) else 0.0


def fgn_spectrum(n: int, hurst: float) -> np.ndarray:
    """Eigenvalues of the circulant embedding (size 2n) of the unit-step fGn covariance."""
    k = np.arange(n + 1, dtype=float)
    two_h = 2.0 * hurst
    gamma = 0.5 * (np.abs(k + 1) ** two_h - 2 * k ** two_h + np.abs(k - 1) ** two_h)
    row = np.concatenate([gamma, gamma[-2:0:-1]])
    lam = np.fft.fft(row).real
    # For H > 1/2 the spectrum is provably non-negative; round-off can still dip below zero on
    # long paths. Clip tiny negatives, fail loudly on real ones (Dietrich & Newsam 1997).
    if lam.min() < -1e-10 * lam.max():
        raise InputError(f"circulant embedding failed for hurst={hurst} and n={n} (negative eigenvalue {lam.min():g}).")
    return np.clip(lam, 0.0, None)


def sample_fgn(rng: np.random.Generator, n: int, hurst: float, batch: int, block: int = 512,
               paths_first: bool = False) -> np.ndarray:
    """``batch`` independent unit-step fGn paths of length ``n``, shape ``(n, batch)`` (time first,
    as drivers hand out increments), or ``(batch, n)`` with ``paths_first``.

    Davies–Harte: with the 2n-circulant's eigenvalues lam, ``fft(sqrt(lam / 2n) * (Z1 + i Z2))``
    has real and imaginary parts that are two independent exact samples; both are used. Paths
    are made ``2 * block`` at a time in one reused buffer (normals drawn as complex pairs, the FFT
    along the contiguous axis, in place), so memory stays at a few MB whatever ``batch`` is.
    """
    import scipy.fft

    out = np.empty((batch, n) if paths_first else (n, batch))
    if n == 0 or batch == 0:
        return out
    m = 2 * n
    sq = np.sqrt(fgn_spectrum(n, hurst) / m)
    buf = np.empty((min(block, (batch + 1) // 2), 2 * m))          # reused: no fresh pages per block
    for b0 in range(0, batch, 2 * block):
        k = min(2 * block, batch - b0)
        half = (k + 1) // 2
        rng.standard_normal(out=buf[:half])
        z = buf[:half].view(np.complex128)                            # (half, m) complex
        z *= sq
        w = scipy.fft.fft(z, axis=1, overwrite_x=True)
        if paths_first:
            out[b0:b0 + half] = w.real[:, :n]
            out[b0 + half:b0 + k] = w.imag[:k - half, :n]
        else:
            out[:, b0:b0 + half] = w.real[:, :n].T
            out[:, b0 + half:b0 + k] = w.imag[:k - half, :n].T
    return out


@dataclass(frozen=True)
class FractionalGaussian(Driver):
    """Increments of fractional Brownian motion with Hurst index ``hurst`` in (0, 1).

    ``Var(dW) = |h|^(2 hurst)``, ``Cov(dW_j, dW_k) = |h|^(2H) (|k-j+1|^2H - 2|k-j|^2H + |k-j-1|^2H)/2``.
    The whole path is drawn exactly (circulant embedding) when the solve starts, so correlations
    hold across saved frames. Needs a uniform time grid; numpy arrays only.
    """

    hurst: float = 0.5
    kind = "fractional"

    def __post_init__(self):
        _as_float(self, "hurst", "a number in (0, 1)")
        if not (0.0 < self.hurst < 1.0) or not math.isfinite(self.hurst):
            raise InputError(f"hurst={self.hurst} is outside (0, 1). Use 0 < hurst < 1 (0.5 is Brownian motion).")

    def begin(self, rng, dts, shape, like, ops, area=False):
        if ops.name != "numpy":
            raise InputError("FractionalGaussian noise runs on numpy arrays; pass y0 as a numpy array.")
        h = _uniform_step(dts, "FractionalGaussian")
        batch = int(np.prod(shape, dtype=np.int64))
        path = sample_fgn(rng, len(dts), self.hurst, batch) * h ** self.hurst
        return _ArrayStream(dts, path.reshape((len(dts), *shape)), None, like, ops)


def sample_stable(rng: np.random.Generator, alpha: float, beta: float, shape) -> np.ndarray:
    """Standard alpha-stable variates S(alpha, beta, scale=1, loc=0) by Chambers–Mallows–Stuck.

    Characteristic function exp(-|k|^alpha (1 - i beta sign(k) tan(pi alpha / 2))) for alpha != 1;
    alpha = 2 gives N(0, 2).

    Each variate uses two consecutive uniforms of one ``rng.random`` call (variate-major), so
    drawing ``n`` variates at once or in pieces gives the same numbers: a solve's increments do not
    depend on how its steps are split into saved frames or compiled chunks.
    """
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
    u = rng.random((*shape, 2))
    v = math.pi * (u[..., 0] - 0.5)        # uniform on [-pi/2, pi/2)
    w = -np.log1p(-u[..., 1])              # standard exponential
    if alpha == 1.0:
        b = 0.5 * math.pi + beta * v
        return (2.0 / math.pi) * (b * np.tan(v) - beta * np.log((0.5 * math.pi * w * np.cos(v)) / b))
    t = beta * math.tan(0.5 * math.pi * alpha)
    b = math.atan(t) / alpha
    s = (1.0 + t * t) ** (1.0 / (2.0 * alpha))
    return (s * np.sin(alpha * (v + b)) / np.cos(v) ** (1.0 / alpha)
            * (np.cos(v - alpha * (v + b)) / w) ** ((1.0 - alpha) / alpha))


@dataclass(frozen=True)
class AlphaStable(Driver):
    """I.i.d. alpha-stable increments ``|h|^(1/alpha) S(alpha, beta)`` (Lévy-flight noise).

    ``alpha`` in (0, 2] is the tail index (2 is Gaussian with variance 2|h|), ``beta`` in [-1, 1]
    the skewness. numpy arrays only.
    """

    alpha: float = 1.5
    beta: float = 0.0
    kind = "stable"

    def __post_init__(self):
        _as_float(self, "alpha", "a number in (0, 2]")
        _as_float(self, "beta", "a number in [-1, 1]")
        if not (0.0 < self.alpha <= 2.0):
            raise InputError(f"alpha={self.alpha} is outside (0, 2]. Use 0 < alpha <= 2 (2 is Gaussian).")
        if not (-1.0 <= self.beta <= 1.0):
            raise InputError(f"beta={self.beta} is outside [-1, 1]. Use -1 <= beta <= 1 (0 is symmetric).")
        if self.alpha == 1.0 and self.beta != 0.0:
            raise InputError("alpha=1 with beta != 0 does not scale as |h|^(1/alpha); use beta=0 at alpha=1.")

    def begin(self, rng, dts, shape, like, ops, area=False):
        if ops.name != "numpy":
            raise InputError("AlphaStable noise runs on numpy arrays; pass y0 as a numpy array.")
        return _StableStream(self, rng, dts, shape, like, ops)


class _StableStream(_Stream):
    def __init__(self, drv, rng, dts, shape, like, ops):
        super().__init__(dts)
        self.drv, self.rng, self.shape = drv, rng, shape

    def take(self, n):
        scale = np.abs(self.dts[self.position:self.position + n]) ** (1.0 / self.drv.alpha)
        x = sample_stable(self.rng, self.drv.alpha, self.drv.beta, (n, *self.shape))
        x *= scale.reshape((n,) + (1,) * len(self.shape))
        self.position += n
        return x, None

    def next(self):
        dw, _ = self.take(1)
        return dw[0], None
