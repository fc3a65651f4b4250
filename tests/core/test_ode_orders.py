"""Deterministic convergence orders: fitted slopes within 0.15 of the declared order."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import simdiff
from simdiff.core.methods import get
from tests.helpers import assert_order


def _exp_sin(t, y):
    return y * np.cos(t)


@pytest.mark.parametrize("name, hs", [
    ("euler", 2.0 ** -np.arange(5, 10)),
    ("heun", 2.0 ** -np.arange(4, 9)),
    ("ssprk3", 2.0 ** -np.arange(3, 8)),
    ("rk4", 2.0 ** -np.arange(2, 7)),
])
def test_explicit_rk_order(name, hs):
    errs = []
    for h in hs:
        sol = simdiff.solve(simdiff.ODE(_exp_sin), np.array([1.0]), (0.0, 2.0), dt=h, method=name)
        errs.append(abs(sol.final[0] - np.exp(np.sin(2.0))))
    assert_order(hs, errs, get(name).order)


def test_dopri5_meets_tolerance_and_order():
    errs, nfes = [], []
    for rtol in (1e-4, 1e-6, 1e-8, 1e-10):
        sol = simdiff.solve(simdiff.ODE(_exp_sin), np.array([1.0]), (0.0, 10.0), rtol=rtol, atol=rtol * 1e-3)
        errs.append(abs(sol.final[0] - np.exp(np.sin(10.0))) / np.exp(np.sin(10.0)))
        nfes.append(sol.stats.nfe)
        assert errs[-1] < 50 * rtol
    # work grows like tol^(-1/5) for a 5th-order method: slope of log err vs log nfe ~ -5
    slope = np.polyfit(np.log(nfes), np.log(errs), 1)[0]
    assert -6.5 < slope < -3.8, slope


def _slow_forcing(t, y):
    # the nonlinearity reads the slow component only, so the solution is smooth after the
    # stiff components' initial layers (which the exact linear part resolves)
    return np.sin(y[0]) * np.array([1.0, 0.7, -0.5, 0.3]) + np.cos(t)


@pytest.mark.parametrize("name, hs", [
    ("etd1", 2.0 ** -np.arange(5, 10)),
    ("etdrk2", 2.0 ** -np.arange(4, 9)),
    ("etdrk4", 2.0 ** -np.arange(3, 8)),
])
def test_etd_orders_on_stiff_diagonal_problem(name, hs):
    """y' = L y + N(t, y) with eigenvalues down to -1e4: explicit methods would need h < 3e-4."""
    d = np.array([-1.0, -30.0, -1e3, -1e4])
    N = _slow_forcing
    y0 = np.array([1.0, 0.5, -0.3, 0.2])
    T = 1.0
    ref = solve_ivp(lambda t, y: d * y + N(t, y), (0, T), y0, method="Radau", rtol=1e-13, atol=1e-14).y[:, -1]
    prob = simdiff.ODE(N, linear=simdiff.Diagonal(d))
    errs = []
    for h in hs:
        sol = simdiff.solve(prob, y0, (0.0, T), dt=h, method=name)
        errs.append(np.max(np.abs(sol.final - ref)))
    assert_order(hs, errs, get(name).order)
    assert errs[0] < 1e-1  # stable at h = 30x the explicit limit


def test_etdrk4_fourier_heat_mode_is_exact():
    """Pure diffusion of a Fourier mode: the exponential integrator is exact at any step."""
    n, D = 64, 0.3
    x = 2 * np.pi * np.arange(n) / n
    k = np.fft.rfftfreq(n, d=1.0 / n)
    lin = simdiff.FourierDiagonal(-D * k ** 2, axes=(0,))
    prob = simdiff.ODE(lambda t, y: np.zeros_like(y), linear=lin)
    u0 = np.sin(3 * x) + 0.5 * np.cos(x)
    sol = simdiff.solve(prob, u0, (0.0, 2.0), dt=0.5, method="etdrk4")
    exact = np.exp(-9 * D * 2) * np.sin(3 * x) + 0.5 * np.exp(-D * 2) * np.cos(x)
    np.testing.assert_allclose(sol.final, exact, atol=1e-13)


def test_etdrk4_order_on_periodic_reaction_diffusion():
    """Fisher–KPP-like u_t = D u_xx + u (1 - u) on a periodic grid: order 4 in time."""
    n, D = 64, 0.05
    x = 2 * np.pi * np.arange(n) / n
    k = np.fft.rfftfreq(n, d=1.0 / n)
    prob = simdiff.ODE(lambda t, u: u * (1 - u), linear=simdiff.FourierDiagonal(-D * k ** 2, axes=(0,)))
    u0 = 0.5 + 0.4 * np.sin(x) + 0.1 * np.cos(5 * x)
    ref = simdiff.solve(prob, u0, (0.0, 2.0), dt=2.0 ** -9, method="etdrk4").final
    hs = 2.0 ** -np.arange(1, 5)
    errs = [np.max(np.abs(simdiff.solve(prob, u0, (0.0, 2.0), dt=h, method="etdrk4").final - ref)) for h in hs]
    assert_order(hs, errs, 4.0)


def test_compiled_rk_matches_generic():
    from tests.core.kernels import decay_kernel

    k = simdiff.Kernel(decay_kernel, p=[0.7])
    y0 = np.linspace(0.1, 1.0, 7)
    for name in ("euler", "heun", "rk4", "ssprk3"):
        a = simdiff.solve(simdiff.ODE(k), y0, (0.0, 1.0), dt=0.01, method=name, save_at=4)
        b = simdiff.solve(simdiff.ODE(lambda t, y: -0.7 * y), y0, (0.0, 1.0), dt=0.01, method=name, save_at=4)
        assert a.stats.path == "compiled" and b.stats.path == "generic"
        np.testing.assert_allclose(a.y, b.y, rtol=1e-13, atol=0)
        assert a.stats.nfe == b.stats.nfe


def test_backward_in_time_recovers_initial_condition():
    """The harmonic oscillator is reversible: forward then backward returns to y0."""
    osc = simdiff.ODE(lambda t, y: np.array([y[1], -y[0]]))
    y0 = np.array([1.0, 0.0])
    fwd = simdiff.solve(osc, y0, (0.0, 3.0), dt=1e-3, method="rk4")
    back = simdiff.solve(osc, fwd.final, (3.0, 0.0), dt=-1e-3, method="rk4")
    np.testing.assert_allclose(back.final, y0, atol=1e-12)
    np.testing.assert_allclose(fwd.final, [np.cos(3.0), -np.sin(3.0)], atol=1e-12)
    back5 = simdiff.solve(osc, fwd.final, (3.0, 0.0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(back5.final, y0, atol=1e-8)


def test_save_at_frames_and_grid():
    sol = simdiff.solve(simdiff.ODE(lambda t, y: -y), np.ones(2), (0.0, 1.0), dt=0.3, method="rk4",
                        save_at=[0.0, 0.5, 1.0])
    np.testing.assert_array_equal(sol.t, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(sol.y[:, 0], np.exp(-sol.t), rtol=1e-4)
    ts, saves = simdiff.time_grid((0.0, 1.0), dt=0.3, save_at=[0.5])
    np.testing.assert_allclose(ts, [0.0, 0.3, 0.5, 0.6, 0.9, 1.0])
    sol = simdiff.solve(simdiff.ODE(lambda t, y: -y), np.ones(2), (0.0, 1.0), rtol=1e-9, save_at=11)
    np.testing.assert_allclose(sol.y[:, 0], np.exp(-np.linspace(0, 1, 11)), rtol=1e-8)
