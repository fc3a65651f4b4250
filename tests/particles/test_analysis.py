"""Trajectory analysis checked against the mathematics of Brownian and ballistic motion."""
import numpy as np
import pytest
from scipy import special, stats

from simdiff import InputError
from simdiff.particles.analysis import (
    ExponentFit, eb_parameter, first_passage_times, fit_exponent, msd, tamsd, vacf, van_hove,
)

D = 0.7
DT = 0.01


def brownian(seed, n_particles, n_steps, dim=None, diffusivity=D, dt=DT):
    """Brownian paths from x(0) = 0: cumulative sums of N(0, 2 D dt) increments, n_steps + 1 samples."""
    rng = np.random.default_rng(seed)
    shape = (n_particles, n_steps) if dim is None else (n_particles, n_steps, dim)
    steps = rng.normal(0.0, np.sqrt(2 * diffusivity * dt), shape)
    x = np.cumsum(steps, axis=1)
    return np.concatenate([np.zeros_like(x[:, :1]), x], axis=1)


def eb_brownian_exact(lag, n_times):
    """Exact EB of discrete 1D Brownian motion: Var(Σ_t w_t²) / (n Δ σ²)² with overlapping windows.

    w_t = sum of Δ iid increments, n = T - Δ windows, Cov(w_s², w_t²) = 2 (Δ - |s-t|)_+² σ⁴.
    """
    n = n_times - lag
    k = np.arange(-(lag - 1), lag)
    return 2.0 * np.sum((n - np.abs(k)) * (lag - np.abs(k)) ** 2.0) / (n * lag) ** 2


@pytest.mark.parametrize("dim", [None, 2])
def test_ensemble_msd_of_brownian_motion_is_2dDt(dim):
    n = 4000
    x = brownian(1, n, 200, dim)
    d = 1 if dim is None else dim
    tau, m = msd(x, dt=DT)
    assert tau.shape == m.shape == (200,)
    np.testing.assert_allclose(tau, DT * np.arange(1, 201))
    exact = 2 * d * D * tau
    sigma = np.sqrt(2.0 / (d * n)) * exact  # |Δx|² is σ² χ²_d / d-scaled: Var = 2 d σ⁴
    assert np.all(np.abs(m - exact) < 5 * sigma)
    # lag 0 is allowed and gives exactly zero
    assert msd(x, DT, lags=[0])[1][0] == 0.0


def test_fft_tamsd_equals_direct_reference():
    x = brownian(2, 7, 513, dim=3) + 50.0  # offset: round-off must not grow with |x|
    tau_f, f = tamsd(x, DT)
    tau_d, ref = tamsd(x, DT, method="direct")
    np.testing.assert_array_equal(tau_f, tau_d)
    assert f.shape == (7, 513)
    np.testing.assert_allclose(f, ref, rtol=1e-10, atol=1e-10 * ref.max())
    # 1D input, chosen lags, odd length
    y = brownian(3, 5, 300)
    lags = [1, 2, 17, 299]
    np.testing.assert_allclose(tamsd(y, lags=lags)[1], tamsd(y, lags=lags, method="direct")[1], rtol=1e-10)


def test_tamsd_mean_of_brownian_motion_is_2dDtau():
    n, dim = 500, 2
    x = brownian(4, n, 1000, dim)
    lags = np.array([1, 3, 10, 30, 100])
    tau, d2 = tamsd(x, DT, lags)
    exact = 2 * dim * D * tau
    sem = d2.std(axis=0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(d2.mean(axis=0) - exact) < 5 * sem)
    # the spread itself is the Brownian one: Var(δ²)/<δ²>² = EB ≈ 4Δ/(3 d T) (to 25 %, statistical)
    eb = d2.var(axis=0) / d2.mean(axis=0) ** 2
    np.testing.assert_allclose(eb[2:], [eb_brownian_exact(k, 1001) / dim for k in lags[2:]], rtol=0.25)


def test_eb_parameter_of_brownian_motion():
    n, n_times, lag = 3000, 1000, 20
    x = brownian(5, n, n_times - 1)
    eb = eb_parameter(x, lag)
    exact = eb_brownian_exact(lag, n_times)
    asymptotic = 4 * lag / (3 * n_times)
    assert abs(exact - asymptotic) / asymptotic < 0.04  # 4Δ/(3T) is the Δ >> 1, Δ << T limit
    band = 5 * np.sqrt(2.0 / (n - 1))  # relative std of a sample variance (δ² is close to Gaussian)
    assert abs(eb - exact) / exact < band
    assert abs(eb - asymptotic) / asymptotic < band
    # EB at Δ = 1 is exactly 2/(T-1) in expectation; and it is small because BM is ergodic
    assert abs(eb_parameter(x, 1) - 2 / (n_times - 1)) / (2 / (n_times - 1)) < band


def test_fit_exponent_of_brownian_msd():
    x = brownian(6, 3000, 1000)
    lags = np.unique(np.geomspace(1, 1000, 12).astype(int))
    tau, m = msd(x, DT, lags)
    fit = fit_exponent(tau, m)
    assert isinstance(fit, ExponentFit)
    assert abs(fit.alpha - 1.0) < 0.05
    assert fit.alpha_low < 1.0 < fit.alpha_high
    assert abs(fit.K - 2 * D) / (2 * D) < 0.15
    # time-averaged MSD, fitted on a sub-range: only the lags inside it count. (Its interval is not
    # asserted: TAMSDs at neighbouring lags share data, the residuals are correlated and the
    # regression interval is too narrow, as the docstring warns.)
    tau2, d2 = tamsd(x[:200], DT, lags[lags < 200])
    fit2 = fit_exponent(tau2, d2.mean(axis=0), lag_range=(0.02, 1.0), confidence=0.99)
    assert abs(fit2.alpha - 1.0) < 0.05
    inside = (tau2 >= 0.02) & (tau2 <= 1.0)
    assert fit2 == fit_exponent(tau2[inside], d2.mean(axis=0)[inside], confidence=0.99)


def test_fit_exponent_interval_is_the_t_interval():
    rng = np.random.default_rng(7)
    tau = np.geomspace(0.1, 10, 9)
    m = 3.0 * tau**0.6 * np.exp(rng.normal(0, 0.05, tau.size))
    fit = fit_exponent(tau, m, confidence=0.9)
    res = stats.linregress(np.log(tau), np.log(m))
    assert fit.alpha == pytest.approx(res.slope, rel=1e-12)
    assert fit.K == pytest.approx(np.exp(res.intercept), rel=1e-12)
    half = stats.t.ppf(0.95, tau.size - 2) * res.stderr
    assert fit.alpha_high - fit.alpha == pytest.approx(half, rel=1e-10)
    assert fit.alpha - fit.alpha_low == pytest.approx(half, rel=1e-10)


def test_ballistic_motion_gives_alpha_two_exactly():
    v = np.array([[0.5], [-2.0], [3.0]])
    t = DT * np.arange(400)
    x = v * t  # x = v t
    for tau, m in (msd(x, DT), tamsd(x, DT)):
        m = m if m.ndim == 1 else m.mean(axis=0)
        fit = fit_exponent(tau, m)
        assert fit.alpha == pytest.approx(2.0, abs=1e-9)
        assert fit.K == pytest.approx(np.mean(v**2), rel=1e-8)
        assert fit.alpha_high - fit.alpha_low < 1e-8


def test_vacf_of_brownian_increments_is_a_delta():
    n, n_steps, dim = 400, 500, 2
    x = brownian(8, n, n_steps, dim)
    lags = np.arange(0, 20)
    tau, c = vacf(x, DT, lags)
    np.testing.assert_allclose(tau, DT * lags)
    s2 = 2 * D * DT  # variance of one increment component
    m = n * (n_steps - lags)  # independent products per lag and component
    sigma = np.where(lags == 0, s2 * np.sqrt(2.0 * dim / m), s2 * np.sqrt(dim / m))
    target = np.where(lags == 0, 2 * dim * D * DT, 0.0)
    assert np.all(np.abs(c - target) < 5 * sigma)
    # positions=False takes velocities directly: same numbers after scaling by dt²
    _, cv = vacf(np.diff(x, axis=1) / DT, DT, lags, positions=False)
    np.testing.assert_allclose(cv * DT**2, c, rtol=1e-10, atol=1e-14)


def test_van_hove_of_brownian_motion_is_gaussian():
    n, lag = 20000, 25
    x = brownian(9, n, 60)
    tau = lag * DT
    s = np.sqrt(2 * D * tau)
    edges, dens = van_hove(x, lag, bins=30, t0=5, range=(-3 * s, 3 * s))
    assert edges.shape == (31,) and dens.shape == (30,)
    counts = dens * np.diff(edges) * n
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)
    cdf = stats.norm.cdf(edges, scale=s)
    expected = n * np.diff(cdf)
    outside_obs = n - counts.sum()
    outside_exp = n * (1 - (cdf[-1] - cdf[0]))
    chi2 = np.sum((counts - expected) ** 2 / expected) + (outside_obs - outside_exp) ** 2 / outside_exp
    assert stats.chi2.sf(chi2, df=30) > 1e-3
    # density compares with the Gaussian pdf point-wise as well
    centers = 0.5 * (edges[1:] + edges[:-1])
    pdf = np.exp(-centers**2 / (4 * D * tau)) / np.sqrt(4 * np.pi * D * tau)
    assert np.max(np.abs(dens - pdf)) < 0.05 * pdf.max()
    # pooled over all start times: same law, many more samples
    e2, d2 = van_hove(x, lag, bins=np.linspace(-3 * s, 3 * s, 21))
    c2 = 0.5 * (e2[1:] + e2[:-1])
    pdf2 = np.exp(-c2**2 / (4 * D * tau)) / np.sqrt(4 * np.pi * D * tau)
    assert np.max(np.abs(d2 - pdf2)) < 0.03 * pdf2.max()


def _fpt_ks(times, level, diffusivity, grid):
    """Sup distance between the censored empirical CDF of `times` and erfc(level / sqrt(4 D t)) on the grid."""
    emp = np.searchsorted(np.sort(times[np.isfinite(times)]), grid, side="right") / times.size
    theory = special.erfc(level / np.sqrt(4 * diffusivity * grid))
    return np.max(np.abs(emp - theory))


def test_first_passage_times_follow_levy_smirnov():
    diffusivity, dt, a, n, n_steps = 0.5, 0.01, 1.0, 20000, 400
    x = brownian(10, n, n_steps, diffusivity=diffusivity, dt=dt)
    times = first_passage_times(x, a, dt)
    assert times.shape == (n,)
    assert np.any(np.isnan(times))  # some paths never reach a by t = 4
    finite = times[np.isfinite(times)]
    np.testing.assert_allclose(finite / dt, np.round(finite / dt), atol=1e-9)
    idx = np.round(finite / dt).astype(int)
    rows = np.flatnonzero(np.isfinite(times))
    before = np.where(np.arange(n_steps + 1) < idx[:, None], x[rows], -np.inf)
    assert np.all(x[rows, idx] >= a) and np.all(before.max(axis=1) < a)  # the first grid point at/above a
    grid = dt * np.arange(1, n_steps + 1)
    crit = 1.63 / np.sqrt(n)  # KS at the 1 % level; the censored statistic is no larger under H0
    a_eff = a + 0.5826 * np.sqrt(2 * diffusivity * dt)  # discrete-monitoring continuity correction
    assert _fpt_ks(times, a_eff, diffusivity, grid) < crit
    # the test has power: without the correction the grid's overshoot is detected
    assert _fpt_ks(times, a, diffusivity, grid) > crit
    # a level below the start: by symmetry the same law
    down = first_passage_times(-x, -a, dt)
    np.testing.assert_array_equal(np.isnan(down), np.isnan(times))
    np.testing.assert_allclose(down[np.isfinite(down)], finite)
    assert first_passage_times(x, 0.0, dt)[0] == 0.0


def test_outputs_on_small_known_inputs():
    x = np.array([[0.0, 1.0, 3.0, 6.0]])
    tau, m = msd(x, dt=0.5)
    np.testing.assert_allclose(tau, [0.5, 1.0, 1.5])
    np.testing.assert_allclose(m, [1.0, 9.0, 36.0])
    _, d2 = tamsd(x, dt=0.5)
    np.testing.assert_allclose(d2, [[(1 + 4 + 9) / 3, (9 + 25) / 2, 36.0]])
    _, c = vacf(x)  # increments 1, 2, 3
    np.testing.assert_allclose(c, [(1 + 4 + 9) / 3, (2 + 6) / 2, 3.0])
    np.testing.assert_array_equal(first_passage_times(x, 2.5, dt=0.5), [1.0])
    assert np.isnan(first_passage_times(x, 7.0)[0])


GOOD = np.zeros((3, 10))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: msd(np.zeros((0, 10))), "x is empty"),
        (lambda: msd(np.zeros((3, 0))), "x is empty"),
        (lambda: tamsd(np.zeros(10)), "x has shape"),
        (lambda: tamsd(np.zeros((2, 1))), "x has 1 time points"),
        (lambda: msd(np.array([[0.0, np.nan, 1.0]])), "x holds 1 non-finite"),
        (lambda: tamsd(np.array([[0.0, np.inf, 1.0]])), "x holds 1 non-finite"),
        (lambda: vacf(np.array([[0.0, np.nan, 1.0]])), "v_or_x holds 1 non-finite"),
        (lambda: msd(GOOD, lags=[10]), "lags range"),
        (lambda: msd(GOOD, lags=[-1]), "lags range"),
        (lambda: tamsd(GOOD, lags=[0]), "lags range"),
        (lambda: tamsd(GOOD, lags=[1.5]), "lags must be integer"),
        (lambda: tamsd(GOOD, lags=[]), "lags must be a non-empty"),
        (lambda: vacf(GOOD, lags=[9]), "lags range"),
        (lambda: msd(GOOD, dt=0.0), "dt=0.0"),
        (lambda: tamsd(GOOD, dt=np.nan), "dt=nan"),
        (lambda: first_passage_times(GOOD, 1.0, dt=-1), "dt=-1"),
        (lambda: tamsd(GOOD, method="slow"), "method='slow'"),
        (lambda: eb_parameter(GOOD, 10), "lag range"),
        (lambda: eb_parameter(GOOD, 0), "lag range"),
        (lambda: eb_parameter(GOOD[:1] + np.arange(10.0), 1), "at least 2"),
        (lambda: eb_parameter(GOOD, 1), "EB is undefined"),
        (lambda: van_hove(GOOD, 10), "lag range"),
        (lambda: van_hove(GOOD, 2, bins=0), "bins=0"),
        (lambda: van_hove(GOOD, 2, bins=[1.0, 0.0]), "bins as edges"),
        (lambda: van_hove(GOOD, 2, t0=8), "t0=8"),
        (lambda: van_hove(GOOD, 2, range=(1.0, 1.0)), "range="),
        (lambda: first_passage_times(np.zeros((2, 5, 2)), 1.0), "dim=2"),
        (lambda: first_passage_times(GOOD, np.nan), "level=nan"),
        (lambda: first_passage_times(np.zeros((0, 5)), 1.0), "x is empty"),
        (lambda: fit_exponent([], []), "lags must be a non-empty"),
        (lambda: fit_exponent([1.0, 2.0, 3.0], [1.0, 2.0]), "msd has shape"),
        (lambda: fit_exponent([1.0, 2.0, 3.0], [1.0, np.nan, 2.0]), "finite"),
        (lambda: fit_exponent([0.0, 1.0, 2.0], [1.0, 2.0, 3.0]), "lags must be > 0"),
        (lambda: fit_exponent([1.0, 2.0, 3.0], [1.0, 0.0, 3.0]), "msd must be > 0"),
        (lambda: fit_exponent([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], lag_range=(3, 10)), "keeps 2 lag"),
        (lambda: fit_exponent([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], lag_range=(3, 1)), "lag_range="),
        (lambda: fit_exponent([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], confidence=1.0), "confidence=1.0"),
    ],
)
def test_bad_inputs_raise_input_error_naming_the_parameter(call, match):
    with pytest.raises(InputError, match=match):
        call()
