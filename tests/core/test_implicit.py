"""Linearly implicit methods: temporal orders and unconditional stability on diffusion."""
import numpy as np
import pytest
import scipy.sparse as sp

import simdiff
from tests.helpers import assert_order


def dirichlet_laplacian(n, L=1.0):
    dx = L / (n + 1)
    A = sp.diags([np.ones(n - 1), -2 * np.ones(n), np.ones(n - 1)], [-1, 0, 1]) / dx ** 2
    return A, dx * np.arange(1, n + 1)


@pytest.mark.parametrize("name, order", [("backward_euler", 1), ("crank_nicolson", 2)])
def test_temporal_order_on_heat_equation(name, order):
    """Semi-discrete heat equation: compare with the exact ODE solution exp(t A) u0 (sine mode)."""
    n = 200
    A, x = dirichlet_laplacian(n)
    lam = -4 * (n + 1) ** 2 * np.sin(np.pi / (2 * (n + 1))) ** 2   # exact eigenvalue of the sine mode
    u0 = np.sin(np.pi * x)
    T = 0.1
    exact = np.exp(lam * T) * u0
    hs = T / 2 ** np.arange(3, 8)
    errs = [np.max(np.abs(simdiff.solve(simdiff.ODE(lambda t, y: np.zeros_like(y), linear=simdiff.SparseOperator(A)),
                                        u0, (0, T), dt=h, method=name).final - exact)) for h in hs]
    assert_order(hs, errs, order)


@pytest.mark.parametrize("name", ["backward_euler", "crank_nicolson"])
def test_stable_far_beyond_explicit_limit(name):
    n = 400
    A, x = dirichlet_laplacian(n)
    dt_explicit = 0.5 * (1.0 / (n + 1)) ** 2
    u0 = np.where(np.abs(x - 0.5) < 0.1, 1.0, 0.0)
    sol = simdiff.solve(simdiff.ODE(lambda t, y: np.zeros_like(y), linear=simdiff.SparseOperator(A)), u0,
                        (0, 0.05), dt=1000 * dt_explicit, method=name)
    assert np.all(np.isfinite(sol.final)) and np.max(np.abs(sol.final)) <= 1.0 + 1e-12


def test_imex_with_nonlinear_reaction_order_two():
    """u_t = u_xx + u(1-u) (Dirichlet): IMEX Crank–Nicolson–Heun is order 2 with N != 0."""
    n = 100
    A, x = dirichlet_laplacian(n)
    prob = simdiff.ODE(lambda t, u: u * (1 - u), linear=simdiff.SparseOperator(A))
    u0 = np.sin(np.pi * x)
    ref = simdiff.solve(prob, u0, (0, 0.2), dt=0.2 / 2 ** 12, method="crank_nicolson").final
    hs = 0.2 / 2 ** np.arange(3, 7)
    errs = [np.max(np.abs(simdiff.solve(prob, u0, (0, 0.2), dt=h, method="crank_nicolson").final - ref)) for h in hs]
    assert_order(hs, errs, 2.0)


def test_diagonal_and_fourier_implicit_solves_agree_with_exact_linear_decay():
    d = np.array([-1.0, -100.0])
    sol = simdiff.solve(simdiff.ODE(lambda t, y: np.zeros_like(y), linear=simdiff.Diagonal(d)), np.ones(2),
                        (0, 1), dt=1e-3, method="crank_nicolson")
    np.testing.assert_allclose(sol.final, np.exp(d), rtol=1e-5, atol=1e-30)
    with pytest.raises(simdiff.MethodMismatch, match="SparseOperator"):
        A, _ = dirichlet_laplacian(5)
        simdiff.solve(simdiff.ODE(lambda t, y: y, linear=simdiff.SparseOperator(A)), np.ones(5), (0, 1), dt=0.1,
                      method="etdrk4")
