"""Anomalous-diffusion generators: MSD exponents and prefactors, covariances, tails, errors.

Ensemble MSDs are computed inline, <x(t)^2> over particles (all paths start at 0). Exponents are
least-squares slopes of log MSD against log t over the stated ranges; seeds are fixed.
"""
import math

import numpy as np
import pytest

from simdiff import InputError
from simdiff.particles.anomalous import attm, ctrw, fbm, levy_flight, levy_walk, sbm


def _msd(x):
    return np.mean(x ** 2, axis=0)


def _slope(t, msd, lo, hi):
    sel = (t >= lo) & (t <= hi)
    return np.polyfit(np.log(t[sel]), np.log(msd[sel]), 1)[0]


def _hill(x, frac=0.01):
    """Hill estimator of the tail index from the top ``frac`` of |x|."""
    y = np.sort(np.abs(x))[::-1]
    k = int(frac * y.size)
    return 1.0 / np.mean(np.log(y[:k] / y[k]))


# ---------------------------------------------------------------- fBM

@pytest.mark.parametrize("hurst", [0.2, 0.35, 0.5, 0.7, 0.8])
def test_fbm_msd_exponent_and_prefactor(hurst):
    n, T, dt, D = 20000, 129, 0.5, 2.0
    x = fbm(n, T, hurst, dt=dt, D=D, seed=11)
    assert x.shape == (n, T) and np.all(x[:, 0] == 0)
    t = dt * np.arange(T)
    msd = _msd(x)
    assert abs(_slope(t, msd, 2.0, 60.0) - 2 * hurst) < 0.05
    # x(t) ~ N(0, 2 D t^2H): the sample mean of x^2 has standard deviation 2 D t^2H sqrt(2/n).
    k = 100
    exact = 2 * D * t[k] ** (2 * hurst)
    assert abs(msd[k] - exact) < 5 * exact * math.sqrt(2.0 / n)


@pytest.mark.parametrize("hurst", [0.25, 0.75])
def test_fbm_increment_autocovariance_lag1(hurst):
    n, T, dt, D = 4000, 64, 0.1, 0.5
    dx = np.diff(fbm(n, T, hurst, dt=dt, D=D, seed=12), axis=1)
    exact = D * dt ** (2 * hurst) * (2 ** (2 * hurst) - 2)       # 2D dt^2H * (2^2H - 2)/2
    per_path = np.mean(dx[:, 1:] * dx[:, :-1], axis=1)           # independent across paths
    est, err = per_path.mean(), per_path.std(ddof=1) / math.sqrt(n)
    assert abs(est - exact) < 5 * err
    var_exact = 2 * D * dt ** (2 * hurst)
    assert abs(np.mean(dx ** 2) / var_exact - 1) < 0.02


def test_fbm_dim_components_independent():
    x = fbm(3000, 50, 0.3, seed=13, dim=3)
    assert x.shape == (3000, 50, 3)
    c = np.corrcoef(x[:, -1, 0], x[:, -1, 1])[0, 1]
    assert abs(c) < 5 / math.sqrt(3000)
    np.testing.assert_allclose(_msd(x[:, -1, :]), 2 * 49 ** 0.6, rtol=5 * math.sqrt(2 / 3000))


# ---------------------------------------------------------------- SBM

@pytest.mark.parametrize("alpha", [0.3, 1.0, 1.7, 2.0])
def test_sbm_exponent_and_exact_variance(alpha):
    n, T, dt, K = 20000, 200, 0.25, 1.5
    x = sbm(n, T, alpha, dt=dt, K=K, seed=21)
    t = dt * np.arange(T)
    msd = _msd(x)
    assert abs(_slope(t, msd, 1.0, t[-1]) - alpha) < 0.05
    k = 150
    exact = 2 * K * t[k] ** alpha
    assert abs(msd[k] - exact) < 5 * exact * math.sqrt(2.0 / n)


# ---------------------------------------------------------------- CTRW

@pytest.mark.parametrize("alpha", [0.5, 0.8])
def test_ctrw_exponent(alpha):
    """Fit range t in [100, 2000] tau0: the (t/tau0)^-alpha correction to <N(t)> is small there."""
    x = ctrw(5000, 201, alpha, dt=10.0, sigma=0.5, seed=31)
    t = 10.0 * np.arange(201)
    assert abs(_slope(t, _msd(x), 100.0, 2000.0) - alpha) < 0.1
    # positions are piecewise constant: many grid steps show no jump
    assert np.mean(np.diff(x, axis=1) == 0) > 0.3


def test_ctrw_prefactor_at_long_time():
    """<x^2> ~ sigma^2 (t/tau0)^alpha / (Gamma(1-alpha) Gamma(1+alpha)) for t >> tau0 (15 % band)."""
    alpha, sigma = 0.5, 2.0
    x = ctrw(8000, 101, alpha, dt=100.0, sigma=sigma, seed=32)
    t = 100.0 * 100
    asym = sigma ** 2 * t ** alpha / (math.gamma(1 - alpha) * math.gamma(1 + alpha))
    assert abs(_msd(x)[-1] / asym - 1) < 0.15


# ---------------------------------------------------------------- Lévy flight

@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5])
def test_levy_flight_tail_index(alpha):
    x = levy_flight(1000, 1001, alpha, dt=0.5, scale=2.0, seed=41)
    jumps = np.diff(x, axis=1).ravel()
    assert abs(_hill(jumps) - alpha) < 0.1


def test_levy_flight_alpha2_is_brownian():
    dt, scale = 0.5, 1.5
    x = levy_flight(20000, 11, 2.0, dt=dt, scale=scale, seed=42)
    exact = 2 * scale ** 2 * dt * 10
    assert abs(_msd(x)[-1] - exact) < 5 * exact * math.sqrt(2 / 20000)


# ---------------------------------------------------------------- Lévy walk

@pytest.mark.parametrize("alpha", [1.4, 1.5, 1.6])
def test_levy_walk_exponent(alpha):
    """Fit range t in [100, 2000] tau0. Near alpha = 1 the flight-length fluctuations of <x^2> and
    near alpha = 2 the slow (t^(1-alpha), log at 2) corrections exceed 0.1, so the middle is tested."""
    x = levy_walk(5000, 201, alpha, dt=10.0, v=2.0, seed=51)
    t = 10.0 * np.arange(201)
    assert abs(_slope(t, _msd(x), 100.0, 2000.0) - alpha) < 0.1
    # constant speed: |x(t)| <= v t, and every grid step moves at most v dt
    assert np.all(np.abs(x) <= 2.0 * t + 1e-9)
    assert np.all(np.abs(np.diff(x, axis=1)) <= 2.0 * 10.0 + 1e-9)


# ---------------------------------------------------------------- ATTM

@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.8])
def test_attm_exponent(alpha):
    x = attm(5000, 201, alpha, dt=10.0, seed=61)
    t = 10.0 * np.arange(201)
    assert abs(_slope(t, _msd(x), 100.0, 2000.0) - alpha) < 0.1


# ---------------------------------------------------------------- seeds

@pytest.mark.parametrize("gen, alpha", [(fbm, 0.3), (sbm, 0.5), (ctrw, 0.6), (levy_flight, 1.2),
                                        (levy_walk, 1.4), (attm, 0.5)])
def test_seed_reproducible(gen, alpha):
    a = gen(7, 40, alpha, seed=5)
    b = gen(7, 40, alpha, seed=np.random.default_rng(5))
    c = gen(7, 40, alpha, seed=6)
    assert a.shape == (7, 40)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(a[:, 0] == 0) and np.all(np.isfinite(a))


# ---------------------------------------------------------------- errors

_BAD = [
    (fbm, dict(hurst=0.0), "hurst"), (fbm, dict(hurst=1.0), "hurst"), (fbm, dict(hurst=-0.2), "hurst"),
    (fbm, dict(hurst=0.5, D=0.0), "D"), (fbm, dict(hurst=0.5, dim=0), "dim"),
    (sbm, dict(alpha=0.0), "alpha"), (sbm, dict(alpha=2.1), "alpha"), (sbm, dict(alpha=1.0, K=-1), "K"),
    (ctrw, dict(alpha=0.0), "alpha"), (ctrw, dict(alpha=1.2), "alpha"),
    (ctrw, dict(alpha=0.5, sigma=0.0), "sigma"), (ctrw, dict(alpha=0.5, tau0=0.0), "tau0"),
    (levy_flight, dict(alpha=0.0), "alpha"), (levy_flight, dict(alpha=2.5), "alpha"),
    (levy_flight, dict(alpha=1.0, scale=0.0), "scale"),
    (levy_walk, dict(alpha=1.0), "alpha"), (levy_walk, dict(alpha=2.0), "alpha"),
    (levy_walk, dict(alpha=1.5, v=0.0), "v"),
    (attm, dict(alpha=0.0), "alpha"), (attm, dict(alpha=1.0), "alpha"),
    (attm, dict(alpha=0.5, sigma=1.0), "sigma"), (attm, dict(alpha=0.5, sigma=0.0), "sigma"),
]


@pytest.mark.parametrize("gen, kw, name", _BAD)
def test_bad_model_parameter_names_it(gen, kw, name):
    with pytest.raises(InputError, match=rf"^{name}="):
        gen(3, 10, **kw)


_GOOD = [(fbm, 0.5), (sbm, 1.0), (ctrw, 0.5), (levy_flight, 1.5), (levy_walk, 1.5), (attm, 0.5)]


@pytest.mark.parametrize("gen, alpha", _GOOD)
@pytest.mark.parametrize("grid, name", [(dict(n=0, T=10), "n"), (dict(n=3, T=1), "T"),
                                        (dict(n=3, T=10, dt=0.0), "dt"), (dict(n=3, T=10, dt=-1.0), "dt")])
def test_bad_grid_names_it(gen, alpha, grid, name):
    with pytest.raises(InputError, match=rf"^{name}=.*{name} "):
        kw = dict(grid)
        gen(kw.pop("n"), kw.pop("T"), alpha, **kw)
