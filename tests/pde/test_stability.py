"""Stability: explicit steps above the limit are refused, the limit is sharp, implicit methods stay
bounded far above it."""
from __future__ import annotations

import numpy as np
import pytest

import simdiff
from simdiff.errors import InputError
from simdiff.pde import Diffusion, Grid, simulate


EXPLICIT = ["euler", "heun", "ssprk3", "rk4"]


def _checkerboard(grid, seed=0):
    """The highest mode of a periodic even grid (eigenvalue -4 D sum 1/dx^2), plus some noise."""
    idx = np.indices(grid.shape).sum(axis=0)
    return (-1.0) ** idx + 0.1 * np.random.default_rng(seed).standard_normal(grid.shape)


@pytest.mark.parametrize("method", EXPLICIT)
def test_explicit_step_above_limit_refused(method):
    grid = Grid((32, 32), extent=1.0)
    model = Diffusion(D=0.1)
    limit = model.stable_dt(grid, method)
    with pytest.raises(InputError) as err:
        simulate(model, grid, np.ones(grid.shape), 1.0, method=method, dt=1.5 * limit)
    msg = str(err.value)
    assert f"dt={1.5 * limit:.3g}" in msg
    assert f"{limit:.3g}" in msg
    assert "crank_nicolson" in msg and method in msg


def test_stable_dt_formula():
    """dt = reach / (4 D sum 1/dx^2 + decay), the reach where each method's stability region meets
    the negative real axis."""
    grid = Grid((20, 10), extent=(1.0, 2.0))
    inv = sum(1 / h ** 2 for h in grid.dx)
    D, k = 0.3, 2.0
    model = Diffusion(D=D, decay=k)
    for method, reach in {"euler": 2.0, "heun": 2.0, "ssprk3": 2.5127, "rk4": 2.7853}.items():
        assert model.stable_dt(grid, method) == pytest.approx(reach / (4 * D * inv + k), rel=1e-12)
        # and the reach itself: |R(-reach)| = 1 for the method's stability polynomial
        z = -reach
        R = {"euler": 1 + z, "heun": 1 + z + z * z / 2, "ssprk3": 1 + z + z * z / 2 + z ** 3 / 6,
             "rk4": 1 + z + z * z / 2 + z ** 3 / 6 + z ** 4 / 24}[method]
        assert abs(R) == pytest.approx(1.0, abs=2e-4)
    assert model.stable_dt(grid, "crank_nicolson") == np.inf
    # the largest eigenvalue of the 4th-order stencil is 4/3 times the 2nd-order one's
    assert Diffusion(D=D, order=4).stable_dt(grid, "euler") == pytest.approx(2.0 / (4 * D * inv) * 0.75)


MODELS = {
    "2d": lambda: (Grid((16, 12), extent=(1.0, 0.5), periodic=True), Diffusion(D=0.2)),
    "3d-decay": lambda: (Grid((8, 6, 10), extent=1.0, periodic=True), Diffusion(D=0.1, decay=3.0)),
    "1d-order4": lambda: (Grid((24,), extent=1.0, periodic=True), Diffusion(D=0.1, order=4)),
    "2d-fieldD": lambda: (Grid((16, 16), extent=1.0, periodic=True),
                          Diffusion(D=lambda x, y: 0.05 + 0.05 * (x > 0.5))),
}


@pytest.mark.parametrize("method", EXPLICIT)
@pytest.mark.parametrize("case", list(MODELS))
def test_explicit_at_099_limit_stays_bounded(method, case):
    grid, model = MODELS[case]()
    limit = model.stable_dt(grid, method)
    u0 = _checkerboard(grid)
    run = simulate(model, grid, u0, 3000 * limit, method=method, dt=0.99 * limit, n_frames=4)
    assert np.all(np.isfinite(run.y))
    assert np.max(np.abs(run.y[-1])) <= np.max(np.abs(u0))


@pytest.mark.parametrize("method", EXPLICIT)
def test_stability_limit_is_sharp(method):
    """Just above the limit the checkerboard mode grows (through the core solver, which does not check)."""
    grid, model = MODELS["2d"]()
    limit = model.stable_dt(grid, method)
    prob = model.problem(grid, method=method)
    u0 = _checkerboard(grid)
    sol = simdiff.solve(prob, u0, (0.0, 400 * 1.05 * limit), dt=1.05 * limit, method=method)
    assert np.max(np.abs(sol.y[-1])) > 10 * np.max(np.abs(u0))


def test_anisotropic_at_099_limit_stays_bounded():
    grid = Grid((16, 16), extent=1.0, periodic=True)
    model = Diffusion(D=np.array([[0.2, 0.15], [0.15, 0.2]]))
    limit = model.stable_dt(grid, "euler")
    u0 = _checkerboard(grid)
    run = simulate(model, grid, u0, 2000 * limit, method="euler", dt=0.99 * limit, n_frames=3)
    assert np.max(np.abs(run.y[-1])) <= np.max(np.abs(u0))


@pytest.mark.parametrize("method,shape", [("backward_euler", (64,)), ("crank_nicolson", (64,)),
                                          ("backward_euler", (20, 16)), ("crank_nicolson", (20, 16)),
                                          ("adi", (20, 16)), ("adi", (10, 8, 12))])
@pytest.mark.parametrize("bc", ["neumann", "dirichlet"])
def test_implicit_at_100x_limit_stays_bounded(method, shape, bc):
    grid = Grid(shape, extent=1.0)
    model = Diffusion(D=0.5, bc=bc)
    limit = model.stable_dt(grid, "euler")
    u0 = 1.0 + np.random.default_rng(1).standard_normal(grid.shape)
    u0.flat[::7] += 5.0                                   # rough: every mode excited
    run = simulate(model, grid, u0, 200 * 100 * limit, method=method, dt=100 * limit, n_frames=21)
    norms = np.sqrt(np.sum(run.y ** 2, axis=tuple(range(1, run.y.ndim))))
    # A is symmetric negative semi-definite: the l2 norm never grows (CN may oscillate sign, not grow)
    assert np.all(np.diff(norms) <= 1e-12 * norms[0])
    if method == "backward_euler":      # an M-matrix: discrete maximum principle
        assert np.max(run.y[-1]) <= np.max(u0) and np.min(run.y[-1]) >= min(np.min(u0), 0.0)


def test_adi_100x_limit_variable_D_bounded():
    grid = Grid((24, 20), extent=1.0)
    model = Diffusion(D=lambda x, y: 0.05 + 0.5 * x * y, bc={"x-": 1.0})
    limit = model.stable_dt(grid, "euler")
    u0 = np.random.default_rng(2).random(grid.shape)
    run = simulate(model, grid, u0, 300 * 100 * limit, method="adi", dt=100 * limit, n_frames=4)
    assert np.all(np.abs(run.y) <= 1.5)
    # and it reaches the steady state u = 1 (Dirichlet 1 at x-, no flux elsewhere)
    assert np.max(np.abs(run.y[-1] - 1.0)) < 1e-3
