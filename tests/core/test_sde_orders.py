"""Stochastic convergence: strong orders on one shared Brownian path, weak order, OU statistics."""
import numpy as np
import pytest

import simdiff
from tests.helpers import assert_order, assert_within_sigma

MU, SIGMA, T = 0.5, 0.5, 1.0


def fine_path(rng, n_fine, n_paths, h, area=False):
    dw = rng.standard_normal((n_fine, n_paths)) * np.sqrt(h)
    if not area:
        return dw, None
    zeta = rng.standard_normal((n_fine, n_paths))
    return dw, 0.5 * h * (dw + zeta * np.sqrt(h / 3.0))


def coarsen(dw, area, factor, h):
    """Sum fine increments to coarse steps; I_(1,0) = sum_k [I_k + (W_k - W_0) h] over a block."""
    n, p = dw.shape
    blocks = dw.reshape(n // factor, factor, p)
    cdw = blocks.sum(axis=1)
    if area is None:
        return cdw, None
    w_before = np.cumsum(blocks, axis=1) - blocks          # W(s_k) - W(block start)
    carea = (area.reshape(n // factor, factor, p) + w_before * h).sum(axis=1)
    return cdw, carea


def gbm(calculus="ito"):
    return simdiff.SDE(lambda t, y: MU * y, lambda t, y: SIGMA * y, noise="diagonal", calculus=calculus)


@pytest.mark.parametrize("name, calculus, expected", [
    ("euler_maruyama", "ito", 0.5),
    ("milstein", "ito", 1.0),
    ("stochastic_heun", "stratonovich", 1.0),
])
def test_strong_order_gbm(name, calculus, expected):
    rng = np.random.default_rng(1)
    n_paths, n_fine = 4000, 2 ** 10
    hf = T / n_fine
    dw, _ = fine_path(rng, n_fine, n_paths, hf)
    W = dw.sum(axis=0)
    drift = MU if calculus == "stratonovich" else MU - 0.5 * SIGMA ** 2
    exact = np.exp(drift * T + SIGMA * W)
    factors = 2 ** np.arange(2, 8)
    hs, errs = [], []
    for f in factors:
        cdw, _ = coarsen(dw, None, f, hf)
        prob = simdiff.SDE(lambda t, y: MU * y, lambda t, y: SIGMA * y, noise="diagonal",
                           calculus=calculus, driver=simdiff.Prescribed(cdw))
        sol = simdiff.solve(prob, np.ones(n_paths), (0.0, T), dt=f * hf, method=name)
        hs.append(f * hf)
        errs.append(np.mean(np.abs(sol.final - exact)))
    assert_order(hs, errs, expected)


def _sra1_errors(drift, sigma, rng, n_paths=2000, n_fine=2 ** 13, factors=2 ** np.arange(4, 9)):
    hf = T / n_fine
    dw, area = fine_path(rng, n_fine, n_paths, hf, area=True)

    def run(f, method="sra1"):
        cdw, carea = coarsen(dw, area, f, hf) if f > 1 else (dw, area)
        prob = simdiff.SDE(drift, sigma, noise="additive", driver=simdiff.Prescribed(cdw, carea))
        return simdiff.solve(prob, np.ones(n_paths), (0.0, T), dt=f * hf, method=method).final

    ref = run(1)   # SRA1 on the 16x finer grid is the reference
    errs = [np.mean(np.abs(run(f) - ref)) for f in factors]
    em = np.mean(np.abs(run(factors[2], "euler_maruyama") - ref))
    return factors * hf, errs, em


def test_strong_order_sra1():
    """SRA1, additive noise: strong order 1.5, on a drift whose a'' b^2 term is not small.

    On a linear drift (pure Ornstein–Uhlenbeck) the order-1.5 remainder vanishes and SRA1
    converges with order 2, so there we only check "at least 1.5".
    """
    hs, errs, em = _sra1_errors(lambda t, y: -y + 2 * np.sin(3 * y), 1.5, np.random.default_rng(2))
    assert_order(hs, errs, 1.5)
    assert em > 5 * errs[2]          # Euler–Maruyama (order 1 here) on the same path and step
    hs, errs, em = _sra1_errors(lambda t, y: -2.0 * y, 0.8, np.random.default_rng(4), n_fine=2 ** 11)
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert slope > 1.5 - 0.15, (slope, errs)


def test_weak_order_euler_maruyama_gbm():
    """Weak error of E[X_T] with a control variate (the exact solution on the same path)."""
    rng = np.random.default_rng(3)
    n_paths, n_fine = 50_000, 256
    mu, sigma = 1.0, 0.3
    hf = T / n_fine
    dw, _ = fine_path(rng, n_fine, n_paths, hf)
    exact = np.exp((mu - 0.5 * sigma ** 2) * T + sigma * dw.sum(axis=0))
    hs, errs = [], []
    for f in (8, 16, 32, 64):
        cdw, _ = coarsen(dw, None, f, hf)
        prob = simdiff.SDE(lambda t, y: mu * y, lambda t, y: sigma * y, noise="diagonal",
                           driver=simdiff.Prescribed(cdw))
        sol = simdiff.solve(prob, np.ones(n_paths), (0.0, T), dt=f * hf)
        hs.append(f * hf)
        errs.append(abs(np.mean(sol.final - exact)))
    assert_order(hs, errs, 1.0)
    # the bias is the known one: E[X_n] = (1 + mu h)^n
    for h, e in zip(hs, errs):
        assert abs(e - (np.exp(mu * T) - (1 + mu * h) ** round(T / h))) < 0.1 * e


@pytest.mark.parametrize("method", ["euler_maruyama", "sra1", "milstein"])
def test_ou_mean_and_variance_within_4_sigma(method):
    theta, sigma, x0, T_ = 1.5, 0.7, 2.0, 1.0
    n = 200_000
    prob = simdiff.SDE(lambda t, y: -theta * y, sigma, noise="additive")
    sol = simdiff.solve(prob, np.full(n, x0), (0.0, T_), dt=1e-3, method=method, seed=7)
    x = sol.final
    mean = x0 * np.exp(-theta * T_)
    var = sigma ** 2 * (1 - np.exp(-2 * theta * T_)) / (2 * theta)
    assert_within_sigma(x, mean, exact_std=np.sqrt(var))
    # sample variance: standard error sqrt(2/(n-1)) var for Gaussian data
    assert abs(x.var(ddof=1) - var) < 4 * np.sqrt(2.0 / (n - 1)) * var + 2e-3 * var


def test_compiled_euler_maruyama_same_bits_as_generic():
    from tests.core.kernels import decay_kernel, gbm_sigma_kernel

    y0 = np.linspace(0.5, 1.5, 1000)
    gen = simdiff.solve(simdiff.SDE(lambda t, y: -0.7 * y, 0.3, noise="additive"), y0, (0, 1), dt=0.01,
                        seed=11, save_at=5)
    com = simdiff.solve(simdiff.SDE(simdiff.Kernel(decay_kernel, p=[0.7]), 0.3, noise="additive"), y0, (0, 1),
                        dt=0.01, seed=11, save_at=5)
    assert (gen.stats.path, com.stats.path) == ("generic", "compiled")
    np.testing.assert_array_equal(gen.y, com.y)
    # multiplicative (diagonal) noise through a diffusion kernel
    gen = simdiff.solve(simdiff.SDE(lambda t, y: -0.7 * y, lambda t, y: 0.2 * y), y0, (0, 1), dt=0.01, seed=3)
    com = simdiff.solve(simdiff.SDE(simdiff.Kernel(decay_kernel, p=[0.7]), simdiff.Kernel(gbm_sigma_kernel, p=[0.2])),
                        y0, (0, 1), dt=0.01, seed=3)
    assert com.stats.path == "compiled"
    np.testing.assert_allclose(gen.y, com.y, rtol=1e-14, atol=0)


def test_scalar_and_general_noise():
    """Scalar noise: one Wiener process drives every component; general: g @ dW with m columns."""
    n = 50_000
    y0 = np.zeros((n, 2))
    # general: dX = B dW with B (2 x 3) => Cov(X_T) = B B^T T
    B = np.array([[1.0, 0.5, 0.0], [0.0, 0.3, 0.8]])
    prob = simdiff.SDE(lambda t, y: np.zeros_like(y), lambda t, y: np.broadcast_to(B, (*y.shape, 3)),
                       noise="general", noise_dim=3)
    # per-particle noise needs one SDE per particle: solve a batch as independent 2-vectors
    sol = simdiff.solve(prob, np.zeros(2), (0.0, 1.0), dt=0.1, seed=0)
    assert sol.final.shape == (2,)
    # ensemble via many seeds is slow; check the covariance on one long path of increments instead
    xs = np.array([simdiff.solve(prob, np.zeros(2), (0.0, 1.0), dt=0.5, seed=s).final for s in range(3000)])
    cov = np.cov(xs.T)
    np.testing.assert_allclose(cov, B @ B.T, atol=0.12)
    # scalar: every component moves with the same dW
    prob = simdiff.SDE(lambda t, y: np.zeros_like(y), lambda t, y: np.ones_like(y), noise="scalar")
    x = simdiff.solve(prob, np.zeros(5), (0.0, 1.0), dt=0.1, seed=1).final
    assert np.ptp(x) == 0.0 and x[0] != 0.0
    del y0, n
