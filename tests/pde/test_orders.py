"""Measured convergence orders: space (2, and 4 on periodic grids with order=4) and time (backward
Euler 1, Crank–Nicolson 2, ADI 2), each a least-squares slope within 0.15 of the declared order."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import lsqr, spsolve

from simdiff.pde import Diffusion, Dirichlet, Grid, Neumann, Robin, simulate
from tests.helpers import assert_order

# ---- space --------------------------------------------------------------------------------------


@pytest.mark.parametrize("order,nd", [(2, 1), (2, 2), (4, 1), (4, 2)])
def test_spatial_order_periodic(order, nd):
    """A smooth periodic field decays mode by mode; the error against exp(-D|k|^2 t) falls as dx^order.
    rk4 at its stable step (dt ~ dx^2) keeps the time error at O(dx^8)."""
    D, T = 0.1, 0.4
    hs, errs = [], []
    for n in ((12, 24, 48, 96) if order == 2 else (16, 24, 32, 48)):
        grid = Grid((n,) * nd, extent=2 * np.pi, periodic=True)
        mesh = grid.mesh()
        ks = [(2, 1), (3, 2)][: 1 + (nd > 1)]
        u0 = np.zeros(grid.shape)
        exact = np.zeros(grid.shape)
        for amp, kv in zip((1.0, 0.5), ks):
            kv = kv[:nd]
            phase = sum(k * x for k, x in zip(kv, mesh))
            u0 += amp * np.cos(phase + 0.3)
            exact += amp * np.cos(phase + 0.3) * np.exp(-D * sum(k * k for k in kv) * T)
        dt = 0.5 * Diffusion(D=D, order=order).stable_dt(grid, "rk4")
        dt = T / np.ceil(T / dt)
        run = simulate(Diffusion(D=D, order=order, bc="periodic"), grid, u0, T, method="rk4", dt=dt, n_frames=2)
        hs.append(grid.dx[0])
        errs.append(np.max(np.abs(run.y[-1] - exact)))
    assert_order(hs, errs, order)


def _manufactured(n, variable_D, walls):
    """Steady state of  div(D grad u) + s = 0  with u = exp(x/2) cos(y) on [0,1] x [0.3,1.3]."""
    grid = Grid((n, n), extent=((0.0, 1.0), (0.3, 1.3)))
    u_ex = lambda x, y: np.exp(0.5 * x) * np.cos(y)  # noqa: E731
    u_y = lambda x, y: -np.exp(0.5 * x) * np.sin(y)  # noqa: E731
    if variable_D:
        D = lambda x, y: 1.0 + 0.3 * x * y  # noqa: E731
        Dx, Dy = (lambda x, y: 0.3 * y), (lambda x, y: 0.3 * x)
    else:
        D = lambda x, y: 1.0 + 0.0 * x  # noqa: E731
        Dx = Dy = lambda x, y: 0.0 * x  # noqa: E731

    def source(x, y):
        u = u_ex(x, y)
        return -(D(x, y) * (0.25 * u - u) + Dx(x, y) * 0.5 * u + Dy(x, y) * u_y(x, y))

    if walls == "dirichlet":
        bc = Dirichlet(u_ex)
    else:   # Dirichlet, Neumann and two Robin walls (n outward: d/dn = -d/dy at y-)
        bc = {"x-": Dirichlet(u_ex), "x+": Neumann(lambda x, y: 0.5 * u_ex(x, y)),
              "y-": Robin(1.0, 0.5, lambda x, y: u_ex(x, y) - 0.5 * u_y(x, y)),
              "y+": Robin(2.0, 1.0, lambda x, y: 2 * u_ex(x, y) + u_y(x, y))}
    model = Diffusion(D={False: 1.0, "function": D, "field": D(*grid.mesh())}[variable_D], bc=bc, source=source)
    prob = model.problem(grid, method="backward_euler")
    forcing = prob.rhs(0.0, np.zeros(grid.shape)).ravel()
    u = spsolve(prob.linear.A.tocsc(), -forcing).reshape(grid.shape)
    return grid.dx[0], float(np.max(np.abs(u - u_ex(*grid.mesh()))))


@pytest.mark.parametrize("variable_D,walls", [(False, "dirichlet"), (False, "mixed"), ("function", "dirichlet"),
                                              ("function", "mixed"), ("field", "mixed")])
def test_spatial_order_walls_manufactured(variable_D, walls):
    """Every boundary rule and the harmonic-mean faces are second order (manufactured steady state); with
    variable D on Neumann/Robin walls this needs D at the wall face, not the edge cell's (first order)."""
    hs, errs = zip(*[_manufactured(n, variable_D, walls) for n in (16, 32, 64, 128)])
    assert_order(hs, errs, 2)


# ---- time ---------------------------------------------------------------------------------------

def _affine_exact(A, c, u0, T):
    """u(T) for u' = A u + c (A invertible): u* + exp(A T) (u0 - u*)."""
    A = A.toarray()
    ustar = -np.linalg.solve(A, c)
    return ustar + sla.expm(A * T) @ (u0 - ustar)


def _problem_1d():
    grid = Grid((40,), extent=1.0)
    x = grid.coords(0)
    model = Diffusion(D=0.05, bc={"x-": Dirichlet(1.0), "x+": Robin(1.0, 0.2, 0.3)},
                      source=lambda x: np.sin(np.pi * x), decay=0.4)
    u0 = 1.0 - 0.5 * x ** 2        # meets both wall conditions (no stiff start-up transient)
    return grid, model, u0


def _problem_2d(decay=0.0):
    grid = Grid((18, 14), extent=((0.0, 1.0), (0.0, 0.8)))
    x, y = grid.mesh()
    model = Diffusion(D=lambda x, y: 0.04 * (1 + 0.5 * x), bc={"x-": Dirichlet(0.5), "y+": Neumann(0.3)},
                      source=lambda x, y: np.cos(np.pi * x) * y, decay=decay)
    u0 = 0.5 + np.sin(np.pi * x) * np.cos(np.pi * y)
    return grid, model, u0


def _semi_discrete_exact(grid, model, u0, T):
    prob = model.problem(grid, method="backward_euler")
    c = prob.rhs(0.0, u0).ravel()
    return _affine_exact(prob.linear.A, c, u0.ravel(), T).reshape(grid.shape)


@pytest.mark.parametrize("method,order,case", [
    ("backward_euler", 1, "1d"), ("crank_nicolson", 2, "1d"), ("backward_euler", 1, "2d"),
    ("crank_nicolson", 2, "2d"), ("adi", 2, "2d"), ("adi", 2, "2d-decay"),
])
def test_temporal_order_against_semi_discrete_exact(method, order, case):
    grid, model, u0 = _problem_1d() if case == "1d" else _problem_2d(decay=0.6 if case == "2d-decay" else 0.0)
    T = 1.0
    exact = _semi_discrete_exact(grid, model, u0, T)
    hs, errs = [], []
    for n in (10, 20, 40, 80):
        run = simulate(model, grid, u0, T, method=method, dt=T / n, n_frames=2)
        hs.append(T / n)
        errs.append(np.max(np.abs(run.y[-1] - exact)))
    assert_order(hs, errs, order)


def _time_dependent_exact(grid, model, u0, T):
    """Exact u(T) for u' = A u + c(t) with c(t) = c0 + c1 sin(3t) + c2 cos(2t) (the forcing of the
    cases below): the components are fitted from the problem's own forcing, then one matrix
    exponential of the system augmented with the oscillators (sin 3t, cos 3t, sin 2t, cos 2t, 1)."""
    prob = model.problem(grid, method="backward_euler")
    A = prob.linear.A.toarray()
    N = A.shape[0]
    ts = np.array([0.1, 0.7, 1.3, 2.9])
    basis = np.stack([np.ones_like(ts), np.sin(3 * ts), np.cos(2 * ts)], axis=1)
    F = np.stack([prob.rhs(t, u0).ravel() for t in ts])
    coef, *_ = np.linalg.lstsq(basis, F, rcond=None)
    assert np.allclose(basis @ coef, F, atol=1e-12 * np.abs(F).max())   # the forcing has this form
    c0, c1, c2 = coef
    M = np.zeros((N + 5, N + 5))
    s3, c3, s2, q2, one = range(N, N + 5)
    M[:N, :N] = A
    M[:N, s3], M[:N, q2], M[:N, one] = c1, c2, c0
    M[s3, c3], M[c3, s3] = 3.0, -3.0
    M[s2, q2], M[q2, s2] = 2.0, -2.0
    z0 = np.concatenate([u0.ravel(), [0.0, 1.0, 0.0, 1.0, 1.0]])
    return (sla.expm(M * T) @ z0)[:N].reshape(grid.shape)


@pytest.mark.parametrize("method,order,nd", [("backward_euler", 1, 1), ("crank_nicolson", 2, 1),
                                             ("crank_nicolson", 2, 2), ("adi", 2, 2)])
def test_temporal_order_time_dependent_forcing(method, order, nd):
    """A source f(x, t) and a wall value g(t): the forcing path keeps the declared order."""
    if nd == 1:
        grid = Grid((30,), extent=1.0)
        x = grid.coords(0)
        u0 = np.cos(np.pi * x)
        model = Diffusion(D=0.05, bc={"x-": Dirichlet(lambda x, t: 1.0 + np.sin(3 * t))},
                          source=lambda x, t: np.cos(2 * t) * x)
    else:
        grid = Grid((14, 12), extent=1.0)
        x, y = grid.mesh()
        u0 = np.cos(np.pi * x) * y
        model = Diffusion(D=0.05, bc={"y-": Dirichlet(lambda x, y, t: np.sin(3 * t) * x)},
                          source=lambda x, y, t: np.cos(2 * t) * (x + y))
    T = 1.0
    exact = _time_dependent_exact(grid, model, u0, T)
    hs, errs = [], []
    for n in (10, 20, 40, 80):
        run = simulate(model, grid, u0, T, method=method, dt=T / n, n_frames=2)
        hs.append(T / n)
        errs.append(np.max(np.abs(run.y[-1] - exact)))
    assert_order(hs, errs, order)


@pytest.mark.parametrize("method,order", [("euler", 1), ("heun", 2), ("ssprk3", 3), ("rk4", 4)])
def test_explicit_temporal_order_time_dependent_wall_and_source(method, order):
    """The explicit path with a time-dependent wall value and source (refreshed every stage) keeps
    each method's order; steps 1/4 .. 1/32 of the stability limit keep the stiff modes resolved."""
    grid = Grid((12,), extent=1.0)
    x = grid.coords(0)
    u0 = np.cos(np.pi * x)
    model = Diffusion(D=0.05, bc={"x-": Dirichlet(lambda x, t: 1.0 + np.sin(3 * t))},
                      source=lambda x, t: np.cos(2 * t) * x)
    T = 1.0
    exact = _time_dependent_exact(grid, model, u0, T)
    n0 = int(np.ceil(T / model.stable_dt(grid, method)))
    hs, errs = [], []
    for f in (4, 8, 16, 32):
        run = simulate(model, grid, u0, T, method=method, dt=T / (n0 * f), n_frames=2)
        hs.append(T / (n0 * f))
        errs.append(np.max(np.abs(run.y[-1] - exact)))
    assert_order(hs, errs, order)


def _anisotropic_steady_error(n, walls):
    """Steady state of sum D_ij d_i d_j u + s = 0 with the compiled anisotropic kernel, solved densely
    (the kernel applied to unit vectors); returns (dx, max error)."""
    Dt = np.array([[1.0, 0.4], [0.4, 0.7]])
    k = 2 * np.pi
    if walls == "all":
        per = False
        u_ex = lambda x, y: np.exp(0.5 * x) * np.cos(y)  # noqa: E731
        hess = lambda x, y: (0.25 * u_ex(x, y), -0.5 * np.exp(0.5 * x) * np.sin(y), -u_ex(x, y))  # noqa: E731
        bc = Dirichlet(u_ex)
    else:
        per = [True, walls == "none"]
        u_ex = lambda x, y: np.sin(k * x) * np.exp(0.5 * y) if walls == "y" else np.sin(k * x) * np.cos(k * y)  # noqa
        if walls == "y":
            hess = lambda x, y: (-k * k * u_ex(x, y), 0.5 * k * np.cos(k * x) * np.exp(0.5 * y),  # noqa: E731
                                 0.25 * u_ex(x, y))
        else:
            hess = lambda x, y: (-k * k * u_ex(x, y), -k * k * np.cos(k * x) * np.sin(k * y), -k * k * u_ex(x, y))  # noqa
        bc = {"y": Dirichlet(u_ex)} if walls == "y" else "periodic"
    grid = Grid((n, n), extent=((0.0, 1.0), (0.0, 1.0)) if walls != "all" else ((0.0, 1.0), (0.3, 1.3)),
                periodic=per)

    def source(x, y):
        hxx, hxy, hyy = hess(x, y)
        return -(Dt[0, 0] * hxx + 2 * Dt[0, 1] * hxy + Dt[1, 1] * hyy)

    rhs = Diffusion(D=Dt, bc=bc, source=source).problem(grid, method="euler").rhs
    A, f0 = _nine_point_matrix(rhs, grid)
    if walls == "none":          # singular (constants): fix the mean
        A = sp.vstack([A, np.ones((1, grid.size))]).tocsr()
        f0 = np.concatenate([f0, [0.0]])
        u = lsqr(A, -f0, atol=1e-14, btol=1e-14, iter_lim=20000)[0]
    else:
        u = spsolve(A.tocsc(), -f0)
    return grid.dx[0], float(np.max(np.abs(u.reshape(grid.shape) - u_ex(*grid.mesh()))))


def _nine_point_matrix(rhs, grid):
    """The affine 2D kernel as (A, f0): A probed with 9 colourings (cells i % 3, j % 3), so each probe's
    response at a cell comes from one neighbour of the 3x3 block around it (n divisible by 3)."""
    nx, ny = grid.shape
    assert nx % 3 == 0 and ny % 3 == 0
    f0 = rhs(0.0, np.zeros(grid.shape)).ravel()
    I, J = np.indices(grid.shape)
    rows, cols, vals = [], [], []
    for ci in range(3):
        for cj in range(3):
            e = ((I % 3 == ci) & (J % 3 == cj)).astype(float)
            r = rhs(0.0, e).ravel() - f0
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    qi, qj = I + di, J + dj
                    ok = (qi % 3 == ci) & (qj % 3 == cj)
                    ok &= ((qi >= 0) & (qi < nx)) | grid.periodic[0]
                    ok &= ((qj >= 0) & (qj < ny)) | grid.periodic[1]
                    p = np.ravel_multi_index((I[ok], J[ok]), grid.shape)
                    q = np.ravel_multi_index((qi[ok] % nx, qj[ok] % ny), grid.shape)
                    rows.append(p)
                    cols.append(q)
                    vals.append(r[p])
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(grid.size,) * 2)
    return A, f0


@pytest.mark.parametrize("walls", ["none", "y", "all"])
def test_anisotropic_spatial_order(walls):
    """Second order with a full tensor next to Dirichlet walls and across a periodic seam: the ghost
    layers must continue the wall values along earlier axes (wrap on periodic axes, linear extrapolation
    on walls), not replicate the edge face's value (which was first order)."""
    hs, errs = zip(*[_anisotropic_steady_error(n, walls) for n in (24, 48, 96)])
    assert_order(hs, errs, 2)
