"""Validation against exact solutions of the diffusion equation."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erfc

from simdiff.pde import Diffusion, Grid, simulate
from tests.helpers import assert_order


# ---- 1D step: c = erfc(x / sqrt(4 D t)) / 2 -------------------------------------------------------

def _step_run(n, method="rk4", D=0.5, T=2.0):
    grid = Grid((n,), extent=((-10.0, 10.0),))     # walls 5 widths sqrt(4 D T) away: erfc(5) ~ 1e-12
    x = grid.coords(0)
    run = simulate(Diffusion(D=D), grid, np.where(x < 0, 1.0, 0.0), T, method=method, n_frames=3)
    exact = [0.5 * erfc(x / np.sqrt(4 * D * t)) for t in run.t[1:]]
    return grid, run, exact


def test_step_matches_erf_solution():
    grid, run, exact = _step_run(400)
    for y, ex in zip(run.y[1:], exact):
        assert np.max(np.abs(y - ex)) < 1.5e-4
    # the half-mass point stays at x = 0 and the profile is antisymmetric about c = 1/2
    assert np.allclose(run.y[-1] + run.y[-1][::-1], 1.0, atol=1e-12)


def test_step_error_falls_as_dx_squared():
    hs, errs = [], []
    for n in (100, 200, 400, 800):
        grid, run, exact = _step_run(n)
        hs.append(grid.dx[0])
        errs.append(np.max(np.abs(run.y[-1] - exact[-1])))
    assert_order(hs, errs, 2)


@pytest.mark.parametrize("method", ["backward_euler", "crank_nicolson"])
def test_step_implicit(method):
    """Implicit methods with a small step: same erf profile (CN's step IC damps through many steps)."""
    grid = Grid((400,), extent=((-10.0, 10.0),))
    x = grid.coords(0)
    D, T = 0.5, 2.0
    run = simulate(Diffusion(D=D), grid, np.where(x < 0, 1.0, 0.0), T, method=method, dt=2e-3, n_frames=2)
    assert np.max(np.abs(run.y[-1] - 0.5 * erfc(x / np.sqrt(4 * D * T)))) < 3e-4


# ---- Gaussian heat kernel (periodic box, sum of periodic images) ------------------------------------

def _gauss_periodic(grid, centre, var, images=2):
    """Normalised Gaussian of variance ``var`` per axis, wrapped on the periodic box."""
    mesh = grid.mesh()
    out = np.ones(grid.shape)
    for x, c, L in zip(mesh, centre, grid.lengths):
        s = sum(np.exp(-(x - c + k * L) ** 2 / (2 * var)) for k in range(-images, images + 1))
        out = out * s / np.sqrt(2 * np.pi * var)
    return out


HEAT_CASES = {
    1: dict(shape=(128,), L=8.0, method="crank_nicolson"),
    2: dict(shape=(64, 64), L=8.0, method="adi"),
    3: dict(shape=(32, 32, 32), L=8.0, method="adi"),
}


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("how", ["spectral", "finite-difference", "explicit"])
def test_gaussian_heat_kernel(nd, how):
    case = HEAT_CASES[nd]
    grid = Grid(case["shape"], extent=[(-case["L"] / 2, case["L"] / 2)] * nd, periodic=True)
    D, var0, T = 0.7, 0.3, 0.8
    centre = [0.3, -0.2, 0.1][:nd]
    u0 = _gauss_periodic(grid, centre, var0)
    method = {"spectral": "spectral", "explicit": "rk4"}.get(how, case["method"])
    dt = 0.01 if how == "finite-difference" else None
    run = simulate(Diffusion(D=D), grid, u0, T, method=method, dt=dt, n_frames=3)
    exact = _gauss_periodic(grid, centre, var0 + 2 * D * T)
    err = np.max(np.abs(run.y[-1] - exact)) / np.max(exact)
    # spectral: exact in time, spectrally accurate in space; finite differences: O(dx^2)
    dx2 = grid.dx[0] ** 2
    assert err < (1e-10 if how == "spectral" else 0.3 * dx2), (err, dx2)
    assert abs(run.mass[-1] - run.mass[0]) < 1e-12 * run.mass[0]


# ---- Dirichlet sine modes -------------------------------------------------------------------------

def _sine(grid, modes):
    """Product of sin(m pi (x - lo) / L) over axes: an exact eigenvector of the discrete Dirichlet
    Laplacian on a cell-centred grid (the ghost value -u_edge is the sine itself half a cell out)."""
    u = np.ones(grid.shape)
    lam_discrete, lam_cont = 0.0, 0.0
    for a, (x, m) in enumerate(zip(grid.mesh(), modes)):
        k = m * np.pi / grid.lengths[a]
        u = u * np.sin(k * (x - grid.lo[a]))
        lam_discrete -= 4 / grid.dx[a] ** 2 * np.sin(k * grid.dx[a] / 2) ** 2
        lam_cont -= k ** 2
    return u, lam_discrete, lam_cont


@pytest.mark.parametrize("shape,modes", [((20,), (3,)), ((14, 12), (2, 3)), ((10, 9, 8), (1, 2, 2))])
def test_sine_mode_is_a_discrete_eigenvector(shape, modes):
    grid = Grid(shape, extent=[(-0.5, 1.5), (0.0, 1.2), (1.0, 2.0)][:len(shape)])
    u, lam, _ = _sine(grid, modes)
    rhs = Diffusion(D=0.8, bc="dirichlet").problem(grid, method="euler").rhs(0.0, u)
    assert np.max(np.abs(rhs - 0.8 * lam * u)) < 1e-12 * np.max(np.abs(0.8 * lam * u))


@pytest.mark.parametrize("method,nd", [("rk4", 1), ("rk4", 2), ("backward_euler", 1), ("backward_euler", 2),
                                       ("crank_nicolson", 1), ("crank_nicolson", 3), ("adi", 2), ("adi", 3)])
def test_sine_mode_semidiscrete_decay(method, nd):
    """Each method's amplification factor R(h lambda)^n times the mode, to round-off."""
    shape, modes = {1: ((24,), (2,)), 2: ((16, 12), (1, 3)), 3: ((10, 8, 9), (2, 1, 1))}[nd]
    grid = Grid(shape, extent=[2.0, 1.0, 1.5][:nd])
    D, T = 0.3, 0.2
    u0, lam, _ = _sine(grid, modes)
    dt = 0.01
    if method == "rk4":
        limit = Diffusion(D=D).stable_dt(grid, "rk4")
        dt = T / np.ceil(T / (0.9 * limit))
    run = simulate(Diffusion(D=D, bc="dirichlet"), grid, u0, T, method=method, dt=dt, n_frames=2)
    h, n = run.dt, round(T / run.dt)
    assert abs(n * h - T) < 1e-12
    z = h * D * lam
    if method == "rk4":
        R = 1 + z + z ** 2 / 2 + z ** 3 / 6 + z ** 4 / 24
    elif method == "backward_euler":
        R = 1 / (1 - z)
    elif method == "crank_nicolson":   # two Rannacher start steps, each two backward-Euler half steps
        R = (1 + z / 2) / (1 - z / 2)
        expect = (1 / (1 - z / 2)) ** 4 * R ** (n - 2) * u0
    else:   # Douglas ADI, theta = 1/2: R = 1 + sum z_a / prod (1 - z_a / 2)
        za = [h * D * (-4 / grid.dx[a] ** 2 * np.sin(m * np.pi / grid.lengths[a] * grid.dx[a] / 2) ** 2)
              for a, m in enumerate(modes)]
        R = 1 + sum(za) / np.prod([1 - x / 2 for x in za])
    if method != "crank_nicolson":
        expect = R ** n * u0
    assert np.max(np.abs(run.y[-1] - expect)) < 1e-12 * np.max(np.abs(u0))
    # and the semi-discrete exact exp(D lambda T) to the method's accuracy
    tol = {"backward_euler": 1e-2, "rk4": 1e-5}.get(method, 1e-3)
    assert np.max(np.abs(run.y[-1] - np.exp(D * lam * T) * u0)) < tol


@pytest.mark.parametrize("nd", [1, 2])
def test_sine_mode_converges_to_continuous_decay(nd):
    """exp(-D k^2 t) sin(k x): spatial error O(dx^2) (rk4 with dt ~ dx^2 has negligible time error)."""
    hs, errs = [], []
    for n in (8, 16, 32, 64):
        grid = Grid((n,) * nd, extent=[1.0, 1.0][:nd])
        modes = (2, 1)[:nd]
        u0, _, lam_c = _sine(grid, modes)
        D, T = 0.05, 0.5
        run = simulate(Diffusion(D=D, bc=0.0), grid, u0, T, method="rk4", n_frames=2)
        hs.append(grid.dx[0])
        errs.append(np.max(np.abs(run.y[-1] - np.exp(D * lam_c * T) * u0)))
    assert_order(hs, errs, 2)


# ---- anisotropic Gaussian: covariance grows as Sigma0 + 2 D t ----------------------------------------

def _moments(grid, c):
    x, y = grid.mesh()
    M = c.sum()
    mx, my = (x * c).sum() / M, (y * c).sum() / M
    cxx = ((x - mx) ** 2 * c).sum() / M
    cyy = ((y - my) ** 2 * c).sum() / M
    cxy = ((x - mx) * (y - my) * c).sum() / M
    return np.array([mx, my]), np.array([[cxx, cxy], [cxy, cyy]])


@pytest.mark.parametrize("method,cross", [("rk4", 0.5), ("euler", 0.5), ("spectral", 0.5), ("rk4", -0.5),
                                          ("spectral", -0.5)])
def test_anisotropic_gaussian_covariance(method, cross):
    grid = Grid((96, 96), extent=[(-6.0, 6.0)] * 2, periodic=True)
    Dt = np.array([[0.8, cross], [cross, 0.6]])    # full tensor, strong cross term
    S0 = np.array([[0.25, -0.05], [-0.05, 0.16]])
    x, y = grid.mesh()
    X = np.stack([x - 0.2, y + 0.1], axis=-1)
    P = np.linalg.inv(S0)
    u0 = np.exp(-0.5 * np.einsum("...i,ij,...j->...", X, P, X))
    T = 0.5
    run = simulate(Diffusion(D=Dt), grid, u0, T, method=method, n_frames=3)
    for t, c in zip(run.t, run.y):
        mean, cov = _moments(grid, c)
        assert np.allclose(mean, [0.2, -0.1], atol=1e-9)
        # the discrete second differences are exact on quadratics, so the moments grow exactly
        assert np.allclose(cov, S0 + 2 * Dt * t, atol=1e-8), (t, cov, S0 + 2 * Dt * t)
    assert abs(run.mass[-1] - run.mass[0]) < 1e-12 * run.mass[0]


@pytest.mark.parametrize("shape", [(15, 9), (16, 10), (9,), (8, 6, 7)])
def test_spectral_exact_on_fourier_modes(shape):
    """A Fourier mode under D (scalar or full tensor) and decay: exp(-(k.D.k + decay) t), to round-off."""
    nd = len(shape)
    grid = Grid(shape, extent=2 * np.pi, periodic=True)
    mesh = grid.mesh()
    k = np.array([2, -3, 1][:nd])
    phase = sum(kk * x for kk, x in zip(k, mesh)) + 0.4
    u0 = np.cos(phase) + 0.3
    for D in ([0.1] + ([np.array([[0.1, 0.03, 0.0], [0.03, 0.05, 0.01], [0.0, 0.01, 0.2]])[:nd, :nd]]
                       if nd > 1 else [])):
        run = simulate(Diffusion(D=D, decay=0.2), grid, u0, 1.0, method="spectral", n_frames=3)
        rate = float(k @ (D * np.eye(nd) if np.ndim(D) == 0 else D) @ k)
        for t, y in zip(run.t, run.y):
            exact = (np.cos(phase) * np.exp(-rate * t) + 0.3) * np.exp(-0.2 * t)
            assert np.max(np.abs(y - exact)) < 1e-13


# ---- composite wall: steady flux through layers ---------------------------------------------------

@pytest.mark.parametrize("D_kind,D_hi", [("function", 2.0), ("function", 3.0), ("field", 2.0), ("field", 3.0)])
def test_composite_wall_steady_flux(D_kind, D_hi):
    """Layers D = 1 on [0, dx) and D_hi beyond, u = 1 and 0 on the walls: the steady flux is
    1 / (dx / 1 + (1 - dx) / D_hi), which the harmonic-mean faces give exactly."""
    from scipy.sparse.linalg import spsolve

    from simdiff.pde import Dirichlet, boundary_flux

    grid = Grid((20,), extent=1.0)
    x, dx = grid.coords(0), grid.dx[0]
    D = np.where(x < dx, 1.0, D_hi) if D_kind == "field" else (lambda x: np.where(x < dx, 1.0, D_hi))
    model = Diffusion(D=D, bc={"x-": Dirichlet(1.0), "x+": Dirichlet(0.0)})
    prob = model.problem(grid, method="backward_euler")
    u = spsolve(prob.linear.A.tocsc(), -prob.rhs(0.0, np.zeros(grid.shape)))
    exact = 1.0 / (dx / 1.0 + (1.0 - dx) / D_hi)
    assert boundary_flux(u, grid, D, model.bc, side="x+") == pytest.approx(exact, rel=1e-10)
    assert -boundary_flux(u, grid, D, model.bc, side="x-") == pytest.approx(exact, rel=1e-10)
