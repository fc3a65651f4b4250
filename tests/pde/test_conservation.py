"""Conservation: mass to round-off with no-flux walls, periodic axes and masks; the flux balance
dM/dt = -(outward boundary flux) + sources for Dirichlet problems; sources and decay."""
from __future__ import annotations

import numpy as np
import pytest

from simdiff.pde import Diffusion, Dirichlet, Grid, Mask, Neumann, Robin, boundary_flux, simulate

EXPLICIT = ["euler", "heun", "rk4", "ssprk3"]
IMPLICIT = ["backward_euler", "crank_nicolson"]
CONSERVED = 1e-12


def _rel_mass_change(run):
    return float(np.max(np.abs(run.mass - run.mass[0])) / abs(run.mass[0]))


def _random_field(grid, seed=7):
    r = np.random.default_rng(seed)
    return 1.0 + r.random(grid.shape)


# ---- no-flux walls and periodic axes --------------------------------------------------------------

GEOMETRIES = {
    "1d-neumann": lambda: (Grid((50,), extent=2.0), 0.3, "neumann"),
    "2d-neumann-fieldD": lambda: (Grid((24, 20), extent=(1.0, 0.8)),
                                  lambda x, y: 0.05 + 0.1 * (x > 0.5) + 0.02 * y, "neumann"),
    "2d-periodic": lambda: (Grid((24, 20), extent=1.0, periodic=True), 0.1, "periodic"),
    "3d-mixed": lambda: (Grid((10, 9, 8), extent=1.0, periodic=[True, False, False]), 0.05, Neumann(0.0)),
}


@pytest.mark.parametrize("geometry,method", [(g, m) for g in GEOMETRIES for m in EXPLICIT + IMPLICIT + ["adi"]]
                         + [("2d-periodic", "spectral")])
def test_mass_conserved(method, geometry):
    grid, D, bc = GEOMETRIES[geometry]()
    run = simulate(Diffusion(D=D, bc=bc), grid, _random_field(grid), 0.5, method=method, n_frames=6)
    assert _rel_mass_change(run) < CONSERVED
    assert np.ptp(run.y[-1]) < np.ptp(run.y[0])     # and it did diffuse


@pytest.mark.parametrize("periodic", [[True, True], [True, False], [False, False]])
def test_mass_conserved_anisotropic(periodic):
    """Flux form with the conormal no-flux condition: cross terms leak nothing through the walls or corners."""
    grid = Grid((24, 20), extent=1.0, periodic=periodic)
    Dt = np.array([[0.1, 0.05], [0.05, 0.1]])
    run = simulate(Diffusion(D=Dt), grid, _random_field(grid), 0.5, method="rk4", n_frames=3)
    assert _rel_mass_change(run) < CONSERVED


@pytest.mark.parametrize("bc,expect", [
    (Neumann(0.3), lambda g, x, y: 2 * 0.3 * 0.3 * 0.8 + 2 * 0.2 * 0.3 * 1.0),
    ({"x": Neumann(0.3)}, lambda g, x, y: 2 * 0.3 * 0.3 * 0.8),
    ({"x-": Neumann(lambda x, y: y)}, lambda g, x, y: 0.3 * np.sum(y) * g.dx[1]),
])
def test_anisotropic_neumann_is_the_conormal_flux(bc, expect, rng):
    """On a Neumann(q) wall the conormal flux is (D grad u).n = D_aa q, so dM/dt = sum over walls of D_aa q
    times the wall area, whatever the field and the cross terms."""
    grid = Grid((12, 10), extent=(1.0, 0.8))
    Dt = np.array([[0.3, 0.1], [0.1, 0.2]])
    rhs = Diffusion(D=Dt, bc=bc).problem(grid, method="euler").rhs
    rate = grid.integrate(rhs(0.0, rng.random(grid.shape)))
    assert rate == pytest.approx(expect(grid, grid.coords(0), grid.coords(1)), rel=1e-12)


# ---- masks -------------------------------------------------------------------------------------

def _disc(grid):
    x, y = grid.mesh()
    return Mask(grid, (x - 0.5) ** 2 + (y - 0.45) ** 2 < 0.35 ** 2)


def _signed_distance(grid):
    """An annulus as a signed-distance function (inside where <= 0)."""
    return Mask.from_function(grid, lambda x, y: np.abs(np.hypot(x - 0.5, y - 0.5) - 0.3) - 0.12)


def _image(grid, tmp_path):
    """A black-and-white PNG (white = inside) drawn with matplotlib: an L-shaped room with a hole."""
    import matplotlib.pyplot as plt

    img = np.zeros((60, 80))
    img[5:55, 5:30] = 1.0
    img[40:55, 5:75] = 1.0
    img[20:30, 12:20] = 0.0
    path = tmp_path / "room.png"
    plt.imsave(path, img, cmap="gray")
    mask = Mask.from_image(grid, path)
    # image rows run top-down, grid y runs up: the L's foot (rows 40-55 of 60) lies at small y, its
    # stem (columns 5-30 of 80) at small x, and the hole at rows 20-30, columns 12-20
    nx, ny = grid.shape
    at = lambda fx, fy: mask.inside[int(fx * nx), int(fy * ny)]  # noqa: E731
    assert at(0.85, 0.2) and not at(0.85, 0.8)          # foot to the right at the bottom only
    assert at(0.2, 0.8) and not at(0.2, 0.95)           # stem up the left side, white margin on top
    assert not at(0.2, 0.58)                            # the hole
    return mask


MASKS = {"disc": _disc, "function": _signed_distance, "image": _image}


@pytest.mark.parametrize("method", ["euler", "rk4", "backward_euler", "crank_nicolson", "adi"])
@pytest.mark.parametrize("shape", list(MASKS))
def test_mass_conserved_with_mask(method, shape, tmp_path):
    grid = Grid((32, 30), extent=1.0)
    mask = MASKS[shape](grid) if shape != "image" else _image(grid, tmp_path)
    D = lambda x, y: 0.02 * (1 + x)  # noqa: E731  (variable D inside the shape too)
    u0 = _random_field(grid)
    run = simulate(Diffusion(D=D, bc={"x-": Dirichlet(5.0)}), grid, u0, 0.4, method=method, mask=mask, n_frames=5)
    # the shape keeps away from the Dirichlet wall at x-, so no mass leaks in through it
    assert not mask.inside[0].any()
    assert _rel_mass_change(run) < CONSERVED
    assert np.all(run.y[:, ~mask.inside] == 0.0)
    assert run.mass[0] == pytest.approx(grid.integrate(u0, mask), rel=1e-14)


def test_mask_from_image_path_string(tmp_path):
    """simulate(mask=path) reads the image itself."""
    grid = Grid((32, 30), extent=1.0)
    mask = _image(grid, tmp_path)
    run = simulate(Diffusion(D=0.02), grid, _random_field(grid), 0.2, method="crank_nicolson",
                   mask=str(tmp_path / "room.png"), n_frames=3)
    assert np.array_equal(run.y[-1] != 0, mask.inside)
    assert _rel_mass_change(run) < CONSERVED


def test_mask_no_flux_dirichlet_walls_ignored():
    """Walls the shape does not touch have no effect: a Dirichlet wall outside the mask changes nothing."""
    grid = Grid((30, 30), extent=1.0)
    mask = _disc(grid)
    assert not mask.inside[0].any()
    u0 = _random_field(grid)
    a = simulate(Diffusion(D=0.05, bc=Dirichlet(3.0)), grid, u0, 0.3, method="crank_nicolson", mask=mask, n_frames=2)
    b = simulate(Diffusion(D=0.05), grid, u0, 0.3, method="crank_nicolson", mask=mask, n_frames=2)
    assert np.max(np.abs(a.y[-1] - b.y[-1])) < 1e-13


# ---- flux balance for Dirichlet problems ----------------------------------------------------------

def _dirichlet_setup():
    grid = Grid((30, 24), extent=((0.0, 1.5), (0.0, 1.0)))
    x, y = grid.mesh()
    bc = {"x-": Dirichlet(lambda x, y: 1.0 + y), "x+": 0.0, "y-": Robin(1.0, 0.1, 0.5), "y+": Neumann(-0.2)}
    D = 0.08
    u0 = np.exp(-((x - 0.7) ** 2 + (y - 0.5) ** 2) / 0.05)
    return grid, D, bc, u0


def _net_inflow(grid, D, bc, c, t=0.0):
    return -boundary_flux(c, grid, D, bc, side="all", t=t)


@pytest.mark.parametrize("D_kind", ["constant", "field", "function"])
@pytest.mark.parametrize("method", ["euler", "backward_euler", "crank_nicolson"])
def test_flux_balance_discrete_identity(method, D_kind):
    """Summed over cells the operator is the net inflow through the walls, so each step's mass change is
    the method's quadrature of -boundary_flux: h F(u_n) (Euler), h F(u_n+1) (backward Euler),
    h (F_n + F_n+1) / 2 (Crank–Nicolson), to round-off. boundary_flux must use the solver's wall D."""
    grid, D0, bc, u0 = _dirichlet_setup()
    fn = lambda x, y: D0 * (1.0 + 0.5 * x + 0.3 * np.sin(4 * y))  # noqa: E731
    D = {"constant": D0, "field": fn(*grid.mesh()), "function": fn}[D_kind]
    limit = Diffusion(D=D).stable_dt(grid, "euler")
    h = 0.5 * limit if method == "euler" else 0.01
    n = 30
    run = simulate(Diffusion(D=D, bc=bc), grid, u0, n * h, method=method, dt=h, save_every=h)
    assert len(run.t) == n + 1
    F = np.array([_net_inflow(grid, D, bc, c) for c in run.y])
    dM = np.diff(run.mass)
    quad = {"euler": h * F[:-1], "backward_euler": h * F[1:], "crank_nicolson": 0.5 * h * (F[:-1] + F[1:])}[method]
    if method == "crank_nicolson":     # the two Rannacher start steps are backward-Euler half steps
        dM, quad = dM[2:], quad[2:]
    assert np.max(np.abs(dM - quad)) < 1e-12 * np.max(np.abs(dM))
    assert np.max(np.abs(dM)) > 1e-4                # the walls do move mass


@pytest.mark.parametrize("method", ["rk4", "adi", "crank_nicolson"])
def test_flux_balance_rate(method):
    """dM/dt (centred difference of two close frames) equals the net inflow at the middle frame."""
    grid, D, bc, u0 = _dirichlet_setup()
    src = lambda x, y: 0.3 * x  # noqa: E731
    h = 1e-3
    run = simulate(Diffusion(D=D, bc=bc, source=src), grid, u0, 0.1, method=method, dt=h, save_every=h)
    src_total = grid.integrate(src(*grid.mesh()))
    for k in (30, 60, 90):
        dt2 = run.t[k + 1] - run.t[k - 1]
        rate = (run.mass[k + 1] - run.mass[k - 1]) / dt2
        expect = _net_inflow(grid, D, bc, run.y[k]) + src_total
        # a wrong sign, side or factor in boundary_flux misses by O(1); the centred difference by O(dt^2) ~ 2e-4
        assert abs(rate - expect) < 5e-4 * abs(expect), (k, rate, expect)


def test_boundary_flux_sides_add_up():
    grid, D, bc, u0 = _dirichlet_setup()
    total = boundary_flux(u0, grid, D, bc, side="all")
    parts = [boundary_flux(u0, grid, D, bc, side=s) for s in ("x-", "x+", "y-", "y+")]
    assert total == pytest.approx(sum(parts), rel=1e-14)
    # y+ is Neumann(-0.2): du/dn = -0.2 outward, so the outward flux is -D * (-0.2) * length
    assert parts[3] == pytest.approx(D * 0.2 * grid.lengths[0], rel=1e-13)


def test_boundary_flux_time_dependent_wall():
    """With a time-dependent wall value CN's mass change is the trapezoid of F(u, t) at the step ends."""
    grid = Grid((40,), extent=1.0)
    x = grid.coords(0)
    bc = {"x-": Dirichlet(lambda x, t: np.sin(5 * t)), "x+": Neumann(0.0)}
    D, h = 0.1, 0.01
    run = simulate(Diffusion(D=D, bc=bc), grid, np.cos(np.pi * x), 0.3, method="crank_nicolson", dt=h, save_every=h)
    F = np.array([-boundary_flux(c, grid, D, bc, side="all", t=t) for t, c in zip(run.t, run.y)])
    quad = 0.5 * h * (F[:-1] + F[1:])
    dM = np.diff(run.mass)
    assert np.max(np.abs(dM[2:] - quad[2:])) < 1e-12 * np.max(np.abs(quad))   # after the Rannacher start


def _mask_case():
    """A disc plus a strip along the Dirichlet y- wall, no-flux elsewhere; u0 zero outside."""
    grid = Grid((40, 40), extent=1.0)
    x, y = grid.mesh()
    inside = (x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.3 ** 2
    inside[5:30, :3] = True                        # touches y- over part of its length only
    D, g = 0.05, 2.0
    bc = {"y-": Dirichlet(g)}
    u0 = np.where(inside, 1.0 + np.cos(3 * x), 0.0)
    return grid, Mask(grid, inside), D, g, bc, u0


def _bookkeeping(grid, inside, D, g, u, mask_value):
    """Net inflow by hand: through the y- wall over inside edge cells (ghost 2g - u), and through the
    faces between inside and outside cells (ghost 2 mask_value - u, or no flux)."""
    dx, dy = grid.dx
    wall = float(np.sum((D * (2 * g - 2 * u[:, 0]) / dy)[inside[:, 0]])) * dx
    surface = 0.0
    if mask_value is not None:
        for a, h, area in ((0, dx, dy), (1, dy, dx)):
            for step in (-1, 1):
                nb = np.roll(inside, -step, axis=a)
                idx = [slice(None)] * 2
                idx[a] = -1 if step == 1 else 0
                nb[tuple(idx)] = True            # the wrapped neighbour is a wall, not a mask face
                face = inside & ~nb
                surface += float(np.sum(D * (2 * mask_value - 2 * u[face]) / h)) * area
    return wall + surface


@pytest.mark.parametrize("mask_value", [None, 0.0, 0.5])
def test_mask_flux_bookkeeping_matches_the_model(mask_value):
    """The model's semi-discrete dM/dt is the hand-counted inflow through walls and mask faces."""
    grid, mask, D, g, bc, u0 = _mask_case()
    model = Diffusion(D=D, bc=bc, mask_bc="neumann" if mask_value is None else mask_value)
    for method in ("euler", "backward_euler"):
        prob = model.problem(grid, method=method, mask=mask)
        du = prob.rhs(0.0, u0) if prob.linear is None else prob.linear.apply(0.0, u0, None) + prob.rhs(0.0, u0)
        rate = grid.integrate(du, mask)
        assert rate == pytest.approx(_bookkeeping(grid, mask.inside, D, g, u0, mask_value), rel=1e-12)


def test_boundary_flux_with_no_flux_mask_counts_inside_wall_cells_only():
    grid, mask, D, g, bc, u0 = _mask_case()
    got = -boundary_flux(u0, grid, D, bc, side="all", mask=mask)
    assert got == pytest.approx(_bookkeeping(grid, mask.inside, D, g, u0, None), rel=1e-12)


def test_boundary_flux_through_dirichlet_mask_surface():
    grid, mask, D, g, bc, u0 = _mask_case()
    got = -boundary_flux(u0, grid, D, bc, side="all", mask=mask, mask_value=0.5)
    assert got == pytest.approx(_bookkeeping(grid, mask.inside, D, g, u0, 0.5), rel=1e-12)
    # "all" is the walls plus the mask surface; a no-flux mask surface carries nothing
    surface = boundary_flux(u0, grid, D, bc, side="mask", mask=mask, mask_value=0.5)
    walls = sum(boundary_flux(u0, grid, D, bc, side=s, mask=mask) for s in ("x-", "x+", "y-", "y+"))
    assert surface + walls == pytest.approx(-got, rel=1e-12)
    assert -surface == pytest.approx(_bookkeeping(grid, mask.inside, D, 0.0, u0, 0.5)
                                     - _bookkeeping(grid, mask.inside, D, 0.0, u0, None), rel=1e-12)
    assert boundary_flux(u0, grid, D, bc, side="mask", mask=mask) == 0.0


# ---- sources and decay --------------------------------------------------------------------------

@pytest.mark.parametrize("method", EXPLICIT + IMPLICIT + ["adi", "spectral"])
def test_constant_source_grows_mass_linearly(method):
    periodic = method == "spectral"
    grid = Grid((20, 16), extent=(1.0, 0.8), periodic=periodic)
    s = 0.7
    run = simulate(Diffusion(D=0.05, source=s), grid, _random_field(grid), 0.5, method=method, n_frames=6)
    V = grid.lengths[0] * grid.lengths[1]
    expect = run.mass[0] + s * V * run.t
    assert np.max(np.abs(run.mass - expect)) < CONSERVED * expect[-1]


@pytest.mark.parametrize("method", ["euler", "rk4", "crank_nicolson", "adi"])
def test_constant_source_inside_mask(method):
    grid = Grid((24, 24), extent=1.0)
    mask = _disc(grid)
    s = lambda x, y: 0.5 + 0 * x  # noqa: E731
    run = simulate(Diffusion(D=0.05, source=s), grid, _random_field(grid), 0.3, method=method, mask=mask, n_frames=4)
    expect = run.mass[0] + 0.5 * mask.volume * run.t
    assert np.max(np.abs(run.mass - expect)) < CONSERVED * expect[-1]
    assert np.all(run.y[:, ~mask.inside] == 0.0)


def _decay_run(method, k=0.8, T=1.0, dt=None):
    periodic = method == "spectral"
    grid = Grid((20, 16), extent=1.0, periodic=periodic)
    return simulate(Diffusion(D=0.05, decay=k), grid, _random_field(grid), T, method=method, dt=dt, n_frames=5)


@pytest.mark.parametrize("method", ["rk4", "spectral"])
def test_decay_mass_exponential(method):
    run = _decay_run(method)
    # spectral (etd1) is exact for the mean; rk4's per-step error is (k h)^5 / 120
    assert np.allclose(run.mass, run.mass[0] * np.exp(-0.8 * run.t), rtol=1e-14 if method == "spectral" else 1e-8,
                       atol=0)


@pytest.mark.parametrize("method", ["euler", "backward_euler", "crank_nicolson"])
def test_decay_mass_follows_the_method_amplification(method):
    """Summed over cells the decay ODE is M' = -k M: each method multiplies M by its R(-k h) per step,
    to round-off, and that approaches exp(-k t) at the method's order."""
    k, h = 0.8, 0.05
    run = _decay_run(method, k=k, dt=h if method != "euler" else 0.005)
    h = run.dt
    z = -k * h
    n = np.round(run.t / h)
    if method == "crank_nicolson":     # two Rannacher start steps (two backward-Euler half steps each)
        factor = (1 / (1 - z / 2)) ** (2 * np.minimum(n, 2)) * ((1 + z / 2) / (1 - z / 2)) ** np.maximum(n - 2, 0)
    else:
        factor = {"euler": 1 + z, "backward_euler": 1 / (1 - z)}[method] ** n
    assert np.allclose(run.mass, run.mass[0] * factor, rtol=1e-12, atol=0)


def test_decay_mass_adi_second_order():
    """ADI is second order: with h = 0.05, k = 0.8 its mass is within O((k h)^2 k t) = 1e-4 of exp(-k t)
    (forward Euler on the decay, as when the decay was missing from the axis parts, misses by 0.016)."""
    run = _decay_run("adi", k=0.8, dt=0.05)
    assert np.allclose(run.mass, run.mass[0] * np.exp(-0.8 * run.t), rtol=1e-3, atol=0)


@pytest.mark.parametrize("method", ["rk4", "crank_nicolson", "adi", "spectral"])
def test_time_dependent_source(method):
    """s(x, y, t) = g(x, y) cos(w t) with no-flux walls: M(t) = M0 + G sin(w t) / w, G = integral of g."""
    periodic = method == "spectral"
    grid = Grid((20, 18), extent=1.0, periodic=periodic)
    w = 4.0
    g = lambda x, y: 1.0 + np.sin(2 * np.pi * x) * y  # noqa: E731
    model = Diffusion(D=0.05, source=lambda x, y, t: g(x, y) * np.cos(w * t))
    run = simulate(model, grid, _random_field(grid), 1.0, method=method, dt=None if method == "rk4" else 0.01,
                   n_frames=6)
    G = grid.integrate(g(*grid.mesh()))
    expect = run.mass[0] + G * np.sin(w * run.t) / w
    tol = {"rk4": 1e-8, "spectral": 1e-8}.get(method, 3e-4)     # CN/ADI: trapezoid, O(h^2)
    assert np.max(np.abs(run.mass - expect)) < tol * abs(run.mass[0])


@pytest.mark.parametrize("method", ["euler", "crank_nicolson", "adi"])
def test_time_dependent_source_inside_mask(method):
    """Cells outside the mask stay empty (the explicit path once added a time-dependent source there)."""
    grid = Grid((24, 24), extent=1.0)
    mask = _disc(grid)
    model = Diffusion(D=0.05, source=lambda x, y, t: 1.0 + 0 * x * t)
    run = simulate(model, grid, _random_field(grid), 0.2, method=method, mask=mask, n_frames=3)
    assert np.all(run.y[:, ~mask.inside] == 0.0)
    expect = run.mass[0] + mask.volume * run.t
    assert np.max(np.abs(run.mass - expect)) < CONSERVED * expect[-1]
