"""Shared helpers for the reaction–diffusion and Turing tests."""
from __future__ import annotations

import numpy as np

from simdiff.pde import Grid


def disc_mask(grid: Grid, frac: float = 0.4) -> np.ndarray:
    """A centred disc (ball in 3D, segment in 1D) of radius ``frac * min(lengths)``."""
    X = grid.mesh()
    r2 = sum((x - 0.5 * (lo + hi)) ** 2 for x, lo, hi in zip(X, grid.lo, grid.hi))
    inside = r2 < (frac * min(grid.lengths)) ** 2
    assert inside.any() and not inside.all()
    return inside


def random_state(model, grid: Grid, rng, lo: float = 0.1, hi: float = 1.1) -> np.ndarray:
    """Uniform random concentrations in ``[lo, hi)``, shape ``(S, *grid.shape)`` (positive: the
    Oregonator divides by ``u + q``)."""
    return lo + (hi - lo) * rng.random((len(model.species), *grid.shape))


def smooth_state(model, grid: Grid, amp: float = 0.2) -> np.ndarray:
    """The steady state modulated by a few low modes: smooth, and compatible with both periodic
    axes and no-flux walls (cosines of pi x / L have zero slope at the walls)."""
    X = grid.mesh()
    ss = model.steady_state()
    out = np.empty((len(model.species), *grid.shape))
    for s in range(len(model.species)):
        mod = np.ones(grid.shape)
        for a, x in enumerate(X):
            mod = mod * np.cos(2 * np.pi * (s + a + 1) * (x - grid.lo[a]) / grid.lengths[a])
        out[s] = ss[s] * (1.0 + amp * mod)
    return out


def level_crossing(x, u, level: float = 0.5) -> float:
    """The first x where the decreasing profile ``u`` drops below ``level``, linearly interpolated."""
    i = int(np.flatnonzero(u < level)[0])
    assert i > 0, "the profile starts below the level"
    return float(x[i - 1] + (level - u[i - 1]) * (x[i] - x[i - 1]) / (u[i] - u[i - 1]))


def upward_crossings(t, u, level: float) -> np.ndarray:
    """Times where ``u`` crosses ``level`` upwards, linearly interpolated between samples."""
    s = np.asarray(u) - level
    i = np.flatnonzero((s[:-1] < 0) & (s[1:] >= 0))
    return t[i] - s[i] * (t[i + 1] - t[i]) / (s[i + 1] - s[i])


def radial_spectrum(u: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power spectrum of a 2D field on a square periodic grid: ``(k, P(k))``,
    shells of width ``2 pi / L`` (the mean removed; shell 0 set to 0)."""
    assert grid.ndim == 2 and grid.lengths[0] == grid.lengths[1]
    P = np.abs(np.fft.fft2(u - u.mean())) ** 2
    ks = [2 * np.pi * np.fft.fftfreq(n, d=h) for n, h in zip(grid.shape, grid.dx)]
    K = np.hypot(*np.meshgrid(*ks, indexing="ij"))
    dk = 2 * np.pi / grid.lengths[0]
    shell = np.rint(K / dk).astype(int).ravel()
    Pr = np.bincount(shell, P.ravel()) / np.maximum(np.bincount(shell), 1)
    Pr[0] = 0.0
    return dk * np.arange(Pr.size), Pr


def dominant_wavelength(u: np.ndarray, grid: Grid) -> float:
    """2 pi / k_c with k_c the power-weighted mean wavenumber of the shells holding at least half
    the peak power of the radially averaged spectrum."""
    k, P = radial_spectrum(u, grid)
    sel = P >= 0.5 * P.max()
    return float(2 * np.pi / (np.sum(P[sel] * k[sel]) / np.sum(P[sel])))
