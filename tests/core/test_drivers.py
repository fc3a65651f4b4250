"""Driving noises: fractional Gaussian noise (Davies–Harte) and alpha-stable noise (Chambers–Mallows–Stuck).

Every statistical check uses a fixed seed and a band of about 5 standard errors computed from the
sample itself, or a KS test with p > 1e-3.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import simdiff
from simdiff.core.drivers import fgn_spectrum, sample_fgn, sample_stable

HURSTS = (0.2, 0.35, 0.5, 0.7, 0.8)
K_SIGMA = 5.0


@simdiff.kernel
def zero_drift(t, y, out, p, ip):
    for i in range(y.size):
        out[i] = 0.0


def fgn_gamma(k, hurst):
    """Autocovariance of unit-step fGn: ½(|k+1|^2H − 2|k|^2H + |k−1|^2H)."""
    k = np.abs(np.asarray(k, dtype=float))
    two_h = 2.0 * hurst
    return 0.5 * (np.abs(k + 1) ** two_h - 2.0 * k ** two_h + np.abs(k - 1) ** two_h)


def fbm_cov(s, t, hurst):
    """Covariance of fractional Brownian motion: ½(s^2H + t^2H − |t − s|^2H)."""
    two_h = 2.0 * hurst
    return 0.5 * (np.abs(s) ** two_h + np.abs(t) ** two_h - np.abs(t - s) ** two_h)


def product_moments(a, b):
    """Mean of a[i] * b[j] over the last axis and its standard error, for every (i, j)."""
    n = a.shape[1]
    mean = a @ b.T / n
    var = (a * a) @ (b * b).T / n - mean**2
    return mean, np.sqrt(var / (n - 1))


def assert_band(estimate, exact, se, what):
    z = np.abs(np.asarray(estimate) - np.asarray(exact)) / np.asarray(se)
    assert np.all(z <= K_SIGMA), f"{what}: worst deviation {z.max():.2f} sigma (> {K_SIGMA})\n" \
                                 f"estimate={np.asarray(estimate)}\nexact={np.asarray(exact)}"


# --------------------------------------------------------------------------------------------
# Fractional Gaussian noise

@pytest.mark.parametrize("hurst", HURSTS)
def test_fgn_autocovariance_matches_gamma(hurst):
    n, batch, lags = 64, 20_000, 6
    x = sample_fgn(np.random.default_rng(101), n, hurst, batch)
    assert x.shape == (n, batch)
    # One estimate per path (paths are independent), so the band comes from their spread.
    per_path = np.stack([np.mean(x[: n - k] * x[k:], axis=0) for k in range(lags)])
    est = per_path.mean(axis=1)
    se = per_path.std(axis=1, ddof=1) / math.sqrt(batch)
    assert_band(est, fgn_gamma(np.arange(lags), hurst), se, f"fGn autocovariance, H={hurst}")


@pytest.mark.parametrize("hurst", (0.2, 0.8))
def test_fgn_full_covariance_is_stationary_toeplitz(hurst):
    """Every entry E[x_i x_j] (not only time averages) equals gamma(|i - j|): the path is stationary,
    including at its ends, where a wrong circulant embedding would show first."""
    n, batch = 12, 200_000
    x = sample_fgn(np.random.default_rng(202), n, hurst, batch)
    est, se = product_moments(x, x)
    i = np.arange(n)
    assert_band(est, fgn_gamma(i[:, None] - i[None, :], hurst), se, f"fGn covariance matrix, H={hurst}")


@pytest.mark.parametrize("hurst", (0.2, 0.8))
def test_fgn_real_and_imaginary_paths_are_independent(hurst):
    """sample_fgn uses both the real and the imaginary part of one FFT; they must be uncorrelated."""
    n, batch = 12, 200_000
    x = sample_fgn(np.random.default_rng(303), n, hurst, batch)
    half = batch // 2
    re, im = x[:, :half], x[:, half:]
    est, se = product_moments(re, im)
    assert_band(est, np.zeros((n, n)), se, f"cross-covariance of paired paths, H={hurst}")


@pytest.mark.parametrize("hurst", HURSTS)
def test_fgn_circulant_embedding_is_valid_for_long_paths(hurst):
    lam = fgn_spectrum(2**16, hurst)
    assert lam.shape == (2**17,) and np.all(lam >= 0.0)
    # The embedding's first row is the autocovariance: its mean eigenvalue is gamma(0) = 1.
    assert lam.mean() == pytest.approx(1.0, rel=1e-9)


def test_fgn_odd_batch_and_empty_path():
    x = sample_fgn(np.random.default_rng(1), 10, 0.3, 7)
    assert x.shape == (10, 7) and np.all(np.isfinite(x))
    assert sample_fgn(np.random.default_rng(1), 0, 0.3, 4).shape == (0, 4)


@pytest.mark.parametrize("hurst", HURSTS)
def test_fbm_through_solve_msd_scales_as_t_to_2h(hurst):
    """dy = dW^H from y = 0 is fractional Brownian motion: E y_t^2 = t^2H, Cov(y_s, y_t) = fbm_cov."""
    n_part = 20_000
    sde = simdiff.SDE(drift=lambda t, y: 0.0 * y, diffusion=1.0, driver=simdiff.FractionalGaussian(hurst))
    sol = simdiff.solve(sde, np.zeros(n_part), (0.0, 1.0), dt=0.01, save_at=11, seed=404)
    t, y = sol.t[1:], sol.y[1:]
    sq = y**2
    msd = sq.mean(axis=1)
    assert_band(msd, t ** (2 * hurst), sq.std(axis=1, ddof=1) / math.sqrt(n_part), f"MSD, H={hurst}")
    slope = np.polyfit(np.log(t), np.log(msd), 1)[0]
    assert abs(slope - 2 * hurst) <= 0.05, f"MSD slope {slope:.4f}, expected 2H = {2 * hurst}"
    # Correlations across saved frames: the whole path is one fBm.
    est, se = product_moments(y, y)
    assert_band(est, fbm_cov(t[:, None], t[None, :], hurst), se, f"fBm covariance, H={hurst}")


@pytest.mark.parametrize("hurst", (0.3, 0.7))
def test_fgn_path_does_not_depend_on_saved_frames(hurst):
    """The whole fGn path is drawn up front: saving frames changes neither the path nor the bits."""
    sde = simdiff.SDE(drift=lambda t, y: 0.0 * y, diffusion=1.0, driver=simdiff.FractionalGaussian(hurst))
    y0 = np.zeros(500)
    ref = simdiff.solve(sde, y0, (0.0, 1.0), dt=0.01, save_at=None, seed=5)
    for save_at in (5, 11, [0.0, 0.37, 0.5, 1.0]):
        sol = simdiff.solve(sde, y0, (0.0, 1.0), dt=0.01, save_at=save_at, seed=5)
        assert np.array_equal(sol.y[-1], ref.y[-1]), f"save_at={save_at} changed the final state"
    other = simdiff.solve(sde, y0, (0.0, 1.0), dt=0.01, seed=6)
    assert not np.array_equal(other.y[-1], ref.y[-1])


def test_fgn_compiled_and_generic_paths_use_the_same_path():
    driver = simdiff.FractionalGaussian(0.7)
    y0 = np.zeros(300)
    gen = simdiff.solve(simdiff.SDE(lambda t, y: 0.0 * y, 1.0, driver=driver), y0, (0.0, 1.0),
                        dt=0.01, save_at=5, seed=9)
    comp = simdiff.solve(simdiff.SDE(simdiff.Kernel(zero_drift), 1.0, driver=driver), y0, (0.0, 1.0),
                         dt=0.01, save_at=5, seed=9)
    assert gen.stats.path == "generic" and comp.stats.path == "compiled"
    np.testing.assert_allclose(comp.y, gen.y, rtol=0, atol=1e-14)


def test_fgn_accepts_only_euler_type_methods():
    sde = simdiff.SDE(lambda t, y: -y, lambda t, y: 0.1 * y, noise="diagonal",
                      driver=simdiff.FractionalGaussian(0.7))
    with pytest.raises(simdiff.MethodMismatch, match="euler_maruyama"):
        simdiff.solve(sde, np.ones(3), (0.0, 1.0), dt=0.1, method="milstein", seed=0)


# --------------------------------------------------------------------------------------------
# Alpha-stable noise

def test_stable_alpha_2_is_normal_with_variance_2():
    x = sample_stable(np.random.default_rng(11), 2.0, 0.0, 200_000)
    p = stats.kstest(x, stats.norm(scale=math.sqrt(2.0)).cdf).pvalue
    assert p > 1e-3, f"alpha=2 vs N(0, 2): KS p = {p:.2e}"
    # beta has no effect at alpha = 2 (tan(pi) = 0)
    x = sample_stable(np.random.default_rng(12), 2.0, 0.8, 200_000)
    assert stats.kstest(x, stats.norm(scale=math.sqrt(2.0)).cdf).pvalue > 1e-3


def test_stable_alpha_1_is_cauchy():
    x = sample_stable(np.random.default_rng(13), 1.0, 0.0, 200_000)
    p = stats.kstest(x, stats.cauchy().cdf).pvalue
    assert p > 1e-3, f"alpha=1 vs Cauchy: KS p = {p:.2e}"


def test_stable_half_totally_skewed_is_levy():
    """S1(1/2, 1) is the Lévy distribution with scale 1: positive, with a closed-form CDF."""
    x = sample_stable(np.random.default_rng(14), 0.5, 1.0, 200_000)
    assert x.min() >= 0.0
    p = stats.kstest(x, stats.levy().cdf).pvalue
    assert p > 1e-3, f"alpha=1/2, beta=1 vs Levy: KS p = {p:.2e}"


@pytest.mark.parametrize("alpha, beta", [(0.8, 0.0), (0.8, 0.5), (1.2, -0.7), (1.5, 0.0),
                                         (1.5, 0.3), (1.8, 0.0), (1.8, 1.0)])
def test_stable_cdf_matches_scipy_s1(alpha, beta):
    """CMS draws S(alpha, beta) with characteristic function exp(-|k|^a (1 - i b sgn(k) tan(pi a/2))),
    which is scipy's default parameterization S1 (checked below, not assumed)."""
    assert stats.levy_stable.parameterization == "S1"
    n = 1_000_000
    x = sample_stable(np.random.default_rng(15), alpha, beta, n)
    qs = np.array([-3.0, -1.0, -0.3, 0.0, 0.3, 1.0, 3.0])
    exact = stats.levy_stable.cdf(qs, alpha, beta)
    emp = (x[:, None] <= qs).mean(axis=0)
    se = np.sqrt(np.maximum(exact * (1 - exact), 1e-12) / n)
    assert_band(emp, exact, se, f"stable CDF, alpha={alpha}, beta={beta}")


@pytest.mark.parametrize("alpha", (0.8, 1.0, 1.2, 1.5))
def test_stable_tail_index_by_hill_estimator(alpha):
    n, k = 1_000_000, 10_000
    a = np.sort(np.abs(sample_stable(np.random.default_rng(16), alpha, 0.0, n)))[::-1]
    hill = 1.0 / np.mean(np.log(a[:k] / a[k]))
    assert abs(hill - alpha) <= 0.1, f"Hill tail index {hill:.3f} for alpha={alpha}"


@pytest.mark.parametrize("alpha, beta", [(1.2, 0.0), (1.5, 0.5), (0.8, 0.0)])
def test_stable_increments_scale_as_h_to_one_over_alpha(alpha, beta):
    """Through solve: increments over a step h are h^(1/alpha) S(alpha, beta)."""
    sde = simdiff.SDE(lambda t, y: 0.0 * y, 1.0, driver=simdiff.AlphaStable(alpha, beta))
    y0 = np.zeros(20_000)
    incr = {}
    for h, seed in ((1e-3, 1), (1e-1, 2)):
        sol = simdiff.solve(sde, y0, (0.0, 10 * h), dt=h, save_at=11, seed=seed)
        incr[h] = np.diff(sol.y, axis=0).ravel()
    lo, hi = incr[1e-3], incr[1e-1]
    # same law once rescaled by h^(1/alpha)
    p = stats.ks_2samp(lo / 1e-3 ** (1 / alpha), hi / 1e-1 ** (1 / alpha)).pvalue
    assert p > 1e-3, f"rescaled increments differ: KS p = {p:.2e}"
    # and the quantile spread grows as h^(1/alpha): fitted exponent within 0.02
    iqr = {h: np.subtract(*np.quantile(v, [0.75, 0.25])) for h, v in incr.items()}
    exponent = math.log(iqr[1e-1] / iqr[1e-3]) / math.log(100.0)
    assert abs(exponent - 1 / alpha) <= 0.02, f"IQR grows as h^{exponent:.4f}, expected h^{1 / alpha:.4f}"
    # and the rescaled law is S(alpha, beta) itself
    p = stats.kstest(hi[:2000] / 1e-1 ** (1 / alpha), stats.levy_stable(alpha, beta).cdf).pvalue
    assert p > 1e-3, f"rescaled increments vs levy_stable({alpha}, {beta}): KS p = {p:.2e}"


def test_stable_draws_do_not_depend_on_how_they_are_split():
    whole = sample_stable(np.random.default_rng(17), 1.5, 0.3, (10, 4))
    g = np.random.default_rng(17)
    pieces = np.concatenate([sample_stable(g, 1.5, 0.3, (3, 4)), sample_stable(g, 1.5, 0.3, (7, 4))])
    assert np.array_equal(whole, pieces)


def test_stable_solve_does_not_depend_on_saved_frames_or_path():
    """Saving more frames, or compiling the drift, must not change a seeded Lévy flight."""
    driver = simdiff.AlphaStable(1.5, 0.3)
    y0 = np.zeros(50)
    runs = {}
    for name, drift in (("generic", lambda t, y: 0.0 * y), ("compiled", simdiff.Kernel(zero_drift))):
        for save_at in (None, 5, 11):
            sol = simdiff.solve(simdiff.SDE(drift, 1.0, driver=driver), y0, (0.0, 1.0), dt=0.01,
                                save_at=save_at, seed=8)
            assert sol.stats.path == name
            runs[name, save_at] = sol.y[-1]
    ref = runs["generic", None]
    for key, y in runs.items():
        np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12, err_msg=f"{key} differs")


# --------------------------------------------------------------------------------------------
# Validation

@pytest.mark.parametrize("hurst", (0.0, 1.0, -0.1, 1.5, float("nan"), float("inf")))
def test_hurst_outside_unit_interval_is_refused(hurst):
    with pytest.raises(simdiff.InputError, match="hurst"):
        simdiff.FractionalGaussian(hurst=hurst)


@pytest.mark.parametrize("alpha", (0.0, -1.0, 2.0001, 3.0, float("nan"), float("inf")))
def test_alpha_outside_range_is_refused(alpha):
    with pytest.raises(simdiff.InputError, match="alpha"):
        simdiff.AlphaStable(alpha=alpha)


@pytest.mark.parametrize("beta", (-1.0001, 1.5, float("nan"), float("-inf")))
def test_beta_outside_range_is_refused(beta):
    with pytest.raises(simdiff.InputError, match="beta"):
        simdiff.AlphaStable(alpha=1.5, beta=beta)


def test_alpha_1_with_skew_is_refused():
    with pytest.raises(simdiff.InputError, match="beta"):
        simdiff.AlphaStable(alpha=1.0, beta=0.5)


@pytest.mark.parametrize("make, name", [(lambda: simdiff.FractionalGaussian("0.5"), "hurst"),
                                        (lambda: simdiff.FractionalGaussian(True), "hurst"),
                                        (lambda: simdiff.AlphaStable(None), "alpha"),
                                        (lambda: simdiff.AlphaStable(1.5, "left"), "beta")])
def test_non_numeric_driver_parameters_are_type_errors(make, name):
    with pytest.raises(simdiff.InputTypeError, match=name):
        make()


def test_driver_parameters_are_stored_as_floats():
    """numpy scalars are accepted and stored as floats, so checkpoint metadata stays plain JSON."""
    d = simdiff.AlphaStable(np.float32(1.5), np.array(-0.25))
    assert type(d.alpha) is float and type(d.beta) is float and d.beta == -0.25
    assert type(simdiff.FractionalGaussian(np.float64(0.3)).hurst) is float


def test_valid_driver_parameters_are_accepted():
    simdiff.FractionalGaussian(1e-3)
    simdiff.FractionalGaussian(0.999)
    simdiff.AlphaStable(2.0, -1.0)
    simdiff.AlphaStable(1e-3, 1.0)


@pytest.mark.parametrize("kw", [dict(grid=[0.0, 0.1, 0.5, 1.0]), dict(dt=0.3),
                                dict(dt=0.1, save_at=[0.25, 1.0])])
def test_fgn_on_non_uniform_grid_is_refused(kw):
    sde = simdiff.SDE(lambda t, y: 0.0 * y, 1.0, driver=simdiff.FractionalGaussian(0.7))
    with pytest.raises(simdiff.InputError, match="FractionalGaussian"):
        simdiff.solve(sde, np.zeros(3), (0.0, 1.0), seed=0, **kw)


def test_fgn_on_uniform_explicit_grid_is_accepted():
    sde = simdiff.SDE(lambda t, y: 0.0 * y, 1.0, driver=simdiff.FractionalGaussian(0.7))
    sol = simdiff.solve(sde, np.zeros(3), (0.0, 1.0), grid=np.linspace(0.0, 1.0, 11), seed=0)
    assert sol.y.shape == (2, 3) and np.all(np.isfinite(sol.y))


@pytest.mark.parametrize("driver", [simdiff.FractionalGaussian(0.7), simdiff.AlphaStable(1.5)])
def test_non_brownian_drivers_refuse_torch_tensors(driver):
    torch = pytest.importorskip("torch")
    sde = simdiff.SDE(lambda t, y: 0.0 * y, 1.0, driver=driver)
    with pytest.raises(simdiff.InputError, match="numpy"):
        simdiff.solve(sde, torch.zeros(3, dtype=torch.float64), (0.0, 1.0), dt=0.1, seed=0)
