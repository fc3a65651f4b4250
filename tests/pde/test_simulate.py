"""simulate(): method choice, frames, summaries and bc spellings."""
from __future__ import annotations

import numpy as np
import pytest

from simdiff.pde import Boundaries, Diffusion, Dirichlet, Grid, Neumann, Robin, simulate
from simdiff.pde.operators import reference


@pytest.mark.parametrize("grid,D,mask,expect", [
    (Grid((16, 16), extent=1.0, periodic=True), 0.1, None, "spectral"),
    (Grid((16, 16), extent=1.0, periodic=True), np.array([[0.1, 0.02], [0.02, 0.1]]), None, "spectral"),
    (Grid((16, 16), extent=1.0), np.array([[0.1, 0.02], [0.02, 0.1]]), None, "rk4"),
    (Grid((16,), extent=1.0), 0.1, None, "crank_nicolson"),
    (Grid((16, 16), extent=1.0), 0.1, None, "adi"),
    (Grid((16, 16), extent=1.0, periodic=True), 0.1, np.ones((16, 16), bool), "adi"),
    (Grid((16, 16), extent=1.0, periodic=True), np.full((16, 16), 0.1), None, "adi"),
])
def test_auto_method(grid, D, mask, expect):
    run = simulate(Diffusion(D=D), grid, np.ones(grid.shape), 0.1, mask=mask, n_frames=2)
    assert run.method == expect


def test_frames_save_every_and_t0():
    grid = Grid((20,), extent=1.0)
    run = simulate(Diffusion(D=0.1), grid, np.ones(20), 1.25, t0=0.5, save_every=0.2, method="crank_nicolson")
    assert np.allclose(run.t, [0.5, 0.7, 0.9, 1.1, 1.25])
    assert run.y.shape == (5, 20)
    run = simulate(Diffusion(D=0.1), grid, np.ones(20), 1.0, n_frames=11, method="euler")
    assert np.allclose(run.t, np.linspace(0, 1, 11), atol=1e-12)
    # the largest step <= 0.9 x the stability limit that divides the frame interval
    cap = 0.9 * Diffusion(D=0.1).stable_dt(grid, "euler")
    assert run.dt == pytest.approx(0.1 / np.ceil(0.1 / cap))


def test_implicit_default_dt_rule():
    """Frame interval, capped at 50 explicit limits and 1/50 of the run, then shortened to divide
    the frame interval (one step size: one factorisation)."""
    grid = Grid((200,), extent=1.0)
    model = Diffusion(D=1.0)
    limit = model.stable_dt(grid, "euler")
    run = simulate(model, grid, np.ones(200), 1.0, n_frames=3, method="backward_euler")
    cap = min(0.5, 50 * limit, 1.0 / 50)
    assert run.dt == pytest.approx(0.5 / np.ceil(0.5 / cap))


def test_summary_mentions_mass_and_file(tmp_path):
    grid = Grid((16, 16), extent=1.0)
    u0 = np.random.default_rng(0).random(grid.shape)
    run = simulate(Diffusion(D=0.05), grid, u0, 0.2, method="adi", out=tmp_path / "s.h5", n_frames=3)
    s = run.summary()
    assert "16x16" in s and "'adi'" in s and "3 frames" in s
    assert f"{run.mass[0]:.6g}" in s and "relative change" in s and str(tmp_path / "s.h5") in s


def test_bc_spellings_agree(rng):
    """Every way of writing the same conditions builds the same operator."""
    grid = Grid((9, 8), extent=(1.0, 2.0))
    u = rng.normal(size=grid.shape)
    forms = [
        {"x-": 1.5, "x+": "neumann", "y": Robin(1.0, 0.5, 0.2)},
        {"x-": Dirichlet(1.5), "x+": Neumann(0.0), "y-": ("robin", 1.0, 0.5, 0.2), "y+": Robin(1.0, 0.5, 0.2)},
        [(1.5, "no-flux"), Robin(1.0, 0.5, 0.2)],
        [(("dirichlet", 1.5), Neumann()), (Robin(1.0, 0.5, 0.2), Robin(1.0, 0.5, 0.2))],
    ]
    outs = [reference.div_grad(u, grid, Boundaries(grid, f)) for f in forms]
    for o in outs[1:]:
        assert np.array_equal(o, outs[0])


def test_one_spec_keeps_periodic_axes_periodic():
    grid = Grid((8, 8), extent=1.0, periodic=[True, False])
    b = Boundaries(grid, Dirichlet(1.0))
    assert [s.kind for s in b.sides[0]] == ["periodic", "periodic"]
    assert [s.kind for s in b.sides[1]] == ["dirichlet", "dirichlet"]
