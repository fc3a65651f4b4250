"""Fick's first law J = -D grad c (``flux``) and the wall flux (``boundary_flux``)."""
from __future__ import annotations

import numpy as np
import pytest

from simdiff.pde import Dirichlet, Grid, Neumann, boundary_flux, flux


def test_linear_profile_1d():
    grid = Grid((20,), extent=((-1.0, 3.0),))
    x = grid.coords(0)
    a, b, D = 2.5, -0.7, 0.3
    (J,) = flux(a * x + b, grid, D)
    assert np.allclose(J[1:-1], -D * a, rtol=1e-13, atol=0)
    # with the exact wall values as Dirichlet data, the ghost cells extend the line: exact everywhere
    bc = {"x-": Dirichlet(a * -1.0 + b), "x+": Dirichlet(a * 3.0 + b)}
    (J,) = flux(a * x + b, grid, D, bc)
    assert np.allclose(J, -D * a, rtol=1e-13, atol=0)
    # and the exact slope as Neumann data (outward: -a at x-, +a at x+)
    (J,) = flux(a * x + b, grid, D, {"x-": Neumann(-a), "x+": Neumann(a)})
    assert np.allclose(J, -D * a, rtol=1e-12, atol=0)


def test_linear_profile_3d_field_D(rng):
    grid = Grid((6, 7, 8), extent=((0, 1), (-1, 1), (2, 3)))
    x, y, z = grid.mesh()
    g = np.array([1.5, -0.5, 2.0])
    c = g[0] * x + g[1] * y + g[2] * z + 4.0
    D = rng.uniform(0.5, 2.0, size=grid.shape)
    J = flux(c, grid, D)
    inner = (slice(1, -1),) * 3
    for a in range(3):
        assert np.allclose(J[a][inner], -D[inner] * g[a], rtol=1e-12, atol=0)


@pytest.mark.parametrize("cross", [0.4, -0.4])
def test_tensor_D_gives_minus_D_grad_c(cross):
    grid = Grid((10, 12), extent=((0.0, 2.0), (-1.0, 1.0)))
    x, y = grid.mesh()
    Dt = np.array([[1.0, cross], [cross, 0.5]])
    g = np.array([0.8, -1.3])
    c = g[0] * x + g[1] * y
    J = flux(c, grid, Dt)
    expect = -Dt @ g                          # J is not parallel to grad c
    inner = (slice(1, -1),) * 2
    for a in range(2):
        assert np.allclose(J[a][inner], expect[a], rtol=1e-12, atol=0)
    assert abs(expect[0] * g[1] - expect[1] * g[0]) > 0.1


def test_flux_on_periodic_axis_is_centred(rng):
    grid = Grid((16,), extent=2 * np.pi, periodic=True)
    x = grid.coords(0)
    (J,) = flux(np.sin(x), grid, 2.0)
    expect = -2.0 * np.cos(x) * np.sin(grid.dx[0]) / grid.dx[0]     # centred difference of sin, exactly
    assert np.allclose(J, expect, rtol=1e-12, atol=1e-14)


def test_boundary_flux_linear_profile():
    """Outward flux through each wall of a steady linear profile: -D a at x+, +D a at x-, sum zero."""
    grid = Grid((25, 4), extent=((0.0, 2.0), (0.0, 0.5)))
    x, _ = grid.mesh()
    a, b, D = -1.2, 3.0, 0.7
    bc = {"x-": Dirichlet(b), "x+": Dirichlet(2.0 * a + b)}
    c = a * x + b
    area = grid.lengths[1]
    assert boundary_flux(c, grid, D, bc, side="x+") == pytest.approx(-D * a * area, rel=1e-12)
    assert boundary_flux(c, grid, D, bc, side="x-") == pytest.approx(D * a * area, rel=1e-12)
    assert boundary_flux(c, grid, D, bc, side="y-") == 0.0
    assert abs(boundary_flux(c, grid, D, bc, side="all")) < 1e-12


def test_boundary_flux_neumann_data():
    """A Neumann wall passes -D q per unit area whatever the field is."""
    grid = Grid((8, 9), extent=(1.0, 2.0))
    c = np.random.default_rng(3).random(grid.shape)
    q = lambda x, y: 1.0 + x  # noqa: E731  (on y+, x varies along the wall)
    out = boundary_flux(c, grid, 0.4, {"y+": Neumann(q)}, side="y+")
    xs = grid.coords(0)
    assert out == pytest.approx(float(np.sum(-0.4 * (1.0 + xs)) * grid.dx[0]), rel=1e-13)


def test_boundary_flux_bad_side():
    from simdiff.errors import InputError

    grid = Grid((8,), extent=1.0)
    with pytest.raises(InputError, match="side='y-'"):
        boundary_flux(np.zeros(8), grid, 1.0, side="y-")


def test_gradient_and_divergence_second_order():
    """div(grad c) of a smooth periodic field converges to the Laplacian at second order, and the
    gradient of a quadratic with Neumann-consistent walls is exact inside."""
    import numpy as np

    from simdiff.pde import Grid, divergence, gradient
    from tests.helpers import assert_order

    errs, hs = [], []
    for n in (16, 32, 64, 128):
        g = Grid((n, n), extent=2 * np.pi, periodic=True)
        x, y = g.mesh()
        c = np.sin(x) * np.cos(2 * y)
        lap = divergence(gradient(c, g, "periodic"), g)
        errs.append(np.abs(lap + 5 * c).max())
        hs.append(g.dx[0])
    assert_order(hs, errs, 2.0)
    g = Grid((20,), extent=1.0)
    x = g.coords(0)
    gx, = gradient(3 * x + 1, g, {"x-": ("neumann", -3.0), "x+": ("neumann", 3.0)})
    np.testing.assert_allclose(gx, 3.0, rtol=1e-12)
    d = divergence((x ** 2,), g)
    np.testing.assert_allclose(d, 2 * x, rtol=1e-10)
