"""The three forms of the diffusion operator agree: compiled stencils, numpy references, sparse
assembly ``A u + c`` (to 1e-12 relative, on random fields)."""
from __future__ import annotations

import numpy as np
import pytest

from simdiff.pde import Boundaries, Diffusion, Dirichlet, Grid, Mask, Neumann, Robin
from simdiff.pde.operators import reference, stencils
from simdiff.pde.operators.packing import Packed
from simdiff.pde.operators.sparse import assemble
from tests.pde._util import apply_kernel, rel_err, three_ways

TOL = 1e-12


def _grid(nd, periodic):
    shape = {1: (13,), 2: (11, 9), 3: (7, 6, 5)}[nd]
    extent = [(-1.0, 1.5), (0.0, 2.0), (0.5, 1.25)][:nd]
    return Grid(shape, extent=extent, periodic=periodic)


def _face_fn(nd, scale=1.0):
    """A smooth function of the face coordinates ``f(x[, y[, z]])``."""
    if nd == 1:
        return lambda x: scale * (1.0 + np.cos(3 * x))
    if nd == 2:
        return lambda x, y: scale * (1.0 + np.sin(2 * x) * np.cos(y))
    return lambda x, y, z: scale * (1.0 + x * y - z ** 2)


def _bcs(nd, rng):
    """Mixed walls with every kind of value: numbers, arrays over the faces, functions."""
    g = _grid(nd, False)
    fshape = lambda a: tuple(n for b, n in enumerate(g.shape) if b != a)  # noqa: E731
    specs = {
        "dirichlet-number": Dirichlet(0.7),
        "neumann-number": Neumann(-0.4),
        "robin-number": Robin(2.0, 0.3, 1.1),
        "mixed-arrays": {"x-": Dirichlet(rng.normal(size=fshape(0))), "x+": Neumann(rng.normal(size=fshape(0))),
                         **({"y-": Robin(1.5, 0.2, rng.normal(size=fshape(1))), "y+": 0.25} if nd > 1 else {}),
                         **({"z": Robin(0.5, 1.0, rng.normal(size=fshape(2)))} if nd > 2 else {})},
        "functions": {"x-": Dirichlet(_face_fn(nd)), "x+": Robin(1.0, 0.5, _face_fn(nd, 2.0)),
                      **({"y": Neumann(_face_fn(nd, -1.0))} if nd > 1 else {}),
                      **({"z+": Dirichlet(_face_fn(nd, 0.5))} if nd > 2 else {})},
    }
    return specs


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("case", ["dirichlet-number", "neumann-number", "robin-number", "mixed-arrays", "functions"])
def test_walls_constant_D(nd, case, rng):
    grid = _grid(nd, False)
    bc = _bcs(nd, rng)[case]
    u = rng.normal(size=grid.shape)
    D = 0.8
    k, r, s = three_ways(grid, bc, u, D=D)
    assert rel_err(k, r) < TOL
    assert rel_err(s, r) < TOL
    # the fast constant-D kernel and the diagonal-tensor kernel give the same numbers
    bounds = Boundaries(grid, bc)
    fast = apply_kernel(stencils.laplace_kernel, Packed(grid, bounds, D=D), u)
    assert rel_err(fast, r) < TOL
    if nd > 1:
        aniso = apply_kernel(stencils.anisotropic_kernel, Packed(grid, bounds, D=0.0, tensor=D * np.eye(nd)), u)
        assert rel_err(aniso, r) < TOL
        assert rel_err(reference.anisotropic(u, grid, bounds, D * np.eye(nd)), r) < TOL


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("periodic", [True, "mixed"])
def test_periodic_and_mixed_axes(nd, periodic, rng):
    per = True if periodic is True else [a % 2 == 0 for a in range(nd)]
    grid = _grid(nd, per)
    bc = Dirichlet(0.3) if periodic is True else {a + s: (Robin(1.0, 0.4, 0.2) if a == "y" else 0.0)
                                                 for a in "xyz"[:nd] for s in "-+" if not grid.periodic["xyz".index(a)]}
    u = rng.normal(size=grid.shape)
    k, r, s = three_ways(grid, bc, u, D=1.7)
    assert rel_err(k, r) < TOL and rel_err(s, r) < TOL
    fast = apply_kernel(stencils.laplace_kernel, Packed(grid, Boundaries(grid, bc), D=1.7), u)
    assert rel_err(fast, r) < TOL


def test_periodic_laplacian_is_the_textbook_stencil(rng):
    """An independent check of the maths: (u[i-1] - 2u[i] + u[i+1]) / dx² with rolled arrays."""
    grid = Grid((10, 8), extent=(2.0, 3.0), periodic=True)
    u = rng.normal(size=grid.shape)
    expect = sum((np.roll(u, 1, a) - 2 * u + np.roll(u, -1, a)) / grid.dx[a] ** 2 for a in range(2))
    k, r, s = three_ways(grid, "periodic", u)
    assert rel_err(k, expect) < TOL and rel_err(r, expect) < TOL and rel_err(s, expect) < TOL


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_variable_D_field(nd, rng):
    grid = _grid(nd, [False, True, False][:nd])
    D = rng.uniform(0.2, 2.0, size=grid.shape)
    D.flat[3] = 0.0                        # an impermeable cell: zero face diffusivity next to it
    bc = {"x-": Dirichlet(_face_fn(nd)), "x+": Robin(1.0, 0.3, 0.5), **({"z": Neumann(0.2)} if nd > 2 else {})}
    u = rng.normal(size=grid.shape)
    k, r, s = three_ways(grid, bc, u, D=D)
    assert rel_err(k, r) < TOL and rel_err(s, r) < TOL


def test_variable_D_is_conservative_flux_form(rng):
    """Harmonic-mean faces: with no-flux walls the operator's entries sum to zero (columns too)."""
    grid = Grid((9, 8), extent=1.0)
    D = rng.uniform(0.1, 3.0, size=grid.shape)
    A, c = assemble(grid, Boundaries(grid, "neumann"), D)
    assert np.max(np.abs(np.asarray(A.sum(axis=0)))) < 1e-12 * abs(A).max()
    assert np.max(np.abs(np.asarray(A.sum(axis=1)))) < 1e-12 * abs(A).max()
    assert np.all(c == 0)
    # the face diffusivity between cells 0 and 1 along x is the harmonic mean
    i, j = 0, 3
    a, b = np.ravel_multi_index((i, j), grid.shape), np.ravel_multi_index((i + 1, j), grid.shape)
    hm = 2 * D[i, j] * D[i + 1, j] / (D[i, j] + D[i + 1, j])
    assert A[a, b] == pytest.approx(hm / grid.dx[0] ** 2, rel=1e-14)


def _disc(grid):
    x, y = grid.mesh()
    return (x - 0.45) ** 2 + (y - 0.5) ** 2 < 0.33 ** 2


@pytest.mark.parametrize("mask_value", [None, 0.6])
@pytest.mark.parametrize("field_D", [False, True])
def test_masks_2d(mask_value, field_D, rng):
    grid = Grid((16, 14), extent=1.0)
    inside = _disc(grid)
    inside[0, 5:9] = True                  # touches the x- wall too
    D = rng.uniform(0.5, 1.5, size=grid.shape) if field_D else 1.3
    u = np.where(inside, rng.normal(size=grid.shape), 0.0)
    bc = {"x-": Dirichlet(0.2), "y": Robin(1.0, 0.1, 0.4)}
    k, r, s = three_ways(grid, bc, u, D=D, mask=inside, mask_value=mask_value)
    assert rel_err(k, r) < TOL and rel_err(s, r) < TOL
    assert np.all(k[~inside] == 0) and np.all(s[~inside] == 0)


@pytest.mark.parametrize("mask_value", [None, -0.3])
def test_masks_3d_on_periodic_axis(mask_value, rng):
    grid = Grid((8, 7, 6), extent=1.0, periodic=[True, False, False])
    x, y, z = grid.mesh()
    inside = (x - 0.5) ** 2 + (y - 0.5) ** 2 + (z - 0.5) ** 2 < 0.45 ** 2
    inside[0, 3, 3] = inside[-1, 3, 3] = True   # neighbours across the periodic seam
    u = rng.normal(size=grid.shape)
    k, r, s = three_ways(grid, {"y": 0.0}, u, D=0.9, mask=inside, mask_value=mask_value)
    assert rel_err(k, r) < TOL and rel_err(s, r) < TOL


def test_mask_no_flux_faces_decouple_outside(rng):
    """Across a no-flux mask face the inside operator does not see the outside value."""
    grid = Grid((12, 12), extent=1.0)
    inside = _disc(grid)
    u = rng.normal(size=grid.shape)
    u2 = np.where(inside, u, rng.normal(size=grid.shape) * 100)
    k1, _, s1 = three_ways(grid, "neumann", u, mask=inside)
    k2, _, s2 = three_ways(grid, "neumann", u2, mask=inside)
    assert rel_err(k1, k2) < TOL and rel_err(s1, s2) < TOL


@pytest.mark.parametrize("t", [0.0, 0.37])
def test_time_dependent_wall_values(t, rng):
    grid = Grid((9, 10), extent=((0.0, 1.0), (-1.0, 1.0)))
    bc = {"x-": Dirichlet(lambda x, y, t: np.sin(y + 3 * t)), "y+": Robin(1.0, 0.2, lambda x, y, t: x * t)}
    u = rng.normal(size=grid.shape)
    k, r, s = three_ways(grid, bc, u, t=t)
    assert rel_err(k, r) < TOL and rel_err(s, r) < TOL
    # a packed operator refreshed to t equals one packed at t
    bounds = Boundaries(grid, bc)
    pk = Packed(grid, bounds, D=1.0, t=0.0)
    pk.refresh(t)
    assert rel_err(apply_kernel(stencils.laplace_kernel, pk, u, t), r) < TOL


@pytest.mark.parametrize("shape,periodic", [((16, 12), True), ((10, 9, 8), True), ((14, 11), [True, False]),
                                            ((8, 7, 9), [False, True, False])])
def test_anisotropic_tensor(shape, periodic, rng):
    nd = len(shape)
    grid = Grid(shape, extent=[1.0, 1.3, 0.8][:nd], periodic=periodic)
    M = rng.normal(size=(nd, nd))
    Dt = M @ M.T + 0.1 * np.eye(nd)            # full symmetric positive-definite, cross terms
    bc = {a + s: (Dirichlet(_face_fn(nd)) if s == "-" else Robin(1.0, 0.3, 0.2))
          for a in "xyz"[:nd] for s in "-+" if not grid.periodic["xyz".index(a)]} or "periodic"
    bounds = Boundaries(grid, bc)
    u = rng.normal(size=grid.shape)
    k = apply_kernel(stencils.anisotropic_kernel, Packed(grid, bounds, D=0.0, tensor=Dt), u)
    r = reference.anisotropic(u, grid, bounds, Dt)
    assert rel_err(k, r) < TOL
    # the model's explicit problem uses the same kernel
    rhs = Diffusion(D=Dt, bc=bc).problem(grid, method="euler").rhs
    assert rel_err(rhs(0.0, u), r) < TOL


def test_anisotropic_exact_on_quadratics():
    """Centred differences are exact on quadratics: sum D_ij d_i d_j (x^T Q x) = 2 tr(D Q)."""
    grid = Grid((12, 10), extent=((-1.0, 1.0), (-0.5, 1.0)))
    Dt = np.array([[1.0, 0.4], [0.4, 0.7]])
    Q = np.array([[0.3, -0.8], [-0.8, 1.1]])
    x, y = grid.mesh()
    u = Q[0, 0] * x ** 2 + 2 * Q[0, 1] * x * y + Q[1, 1] * y ** 2
    interior = (slice(1, -1), slice(1, -1))
    r = reference.anisotropic(u, grid, Boundaries(grid, "neumann"), Dt)
    assert np.allclose(r[interior], 2 * np.trace(Dt @ Q), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", [(24,), (16, 20), (8, 10, 12)])
def test_fourth_order_periodic(shape, rng):
    nd = len(shape)
    grid = Grid(shape, extent=[2.0, 1.0, 3.0][:nd], periodic=True)
    u = rng.normal(size=grid.shape)
    pk = Packed(grid, Boundaries(grid, "periodic"), D=0.7, order=4)
    k = apply_kernel(stencils.div_grad_kernel, pk, u)
    r = reference.laplace4(u, grid, D=0.7)
    assert rel_err(k, r) < TOL
    rhs = Diffusion(D=0.7, order=4).problem(grid, method="rk4").rhs
    assert rel_err(rhs(0.0, u), r) < TOL


def test_fourth_order_near_walls_falls_back_to_second(rng):
    grid = Grid((12, 10), extent=1.0, periodic=[True, False])
    bc = {"y-": Dirichlet(0.5), "y+": Neumann(0.1)}
    u = rng.normal(size=grid.shape)
    k4 = apply_kernel(stencils.div_grad_kernel, Packed(grid, Boundaries(grid, bc), D=1.0, order=4), u)
    # expected: 4th order along x everywhere; along y 4th order two cells from the walls, else 2nd
    ex = (-np.roll(u, 2, 0) + 16 * np.roll(u, 1, 0) - 30 * u + 16 * np.roll(u, -1, 0) - np.roll(u, -2, 0)) / (
        12 * grid.dx[0] ** 2)
    g = np.pad(u, ((0, 0), (2, 2)))
    g[:, 1] = -u[:, 0] + 2 * 0.5
    g[:, -2] = u[:, -1] + 0.1 * grid.dx[1]
    ey = np.empty_like(u)
    for j in range(u.shape[1]):
        c = j + 2
        if 2 <= j <= u.shape[1] - 3:
            ey[:, j] = (-g[:, c - 2] + 16 * g[:, c - 1] - 30 * g[:, c] + 16 * g[:, c + 1] - g[:, c + 2]) / 12
        else:
            ey[:, j] = g[:, c - 1] - 2 * g[:, c] + g[:, c + 1]
    expect = ex + ey / grid.dx[1] ** 2
    assert rel_err(k4, expect) < TOL


@pytest.mark.parametrize("order", [2, 4])
def test_stencil_accuracy_order(order):
    """Applied to sin(kx) the stencil error falls as dx^order (the operator's own order)."""
    hs, errs = [], []
    for n in (16, 32, 64, 128):
        grid = Grid((n,), extent=2 * np.pi, periodic=True)
        x = grid.coords(0)
        u = np.sin(3 * x)
        pk = Packed(grid, Boundaries(grid, "periodic"), D=1.0, order=order)
        k = apply_kernel(stencils.div_grad_kernel, pk, u)
        hs.append(grid.dx[0])
        errs.append(np.max(np.abs(k + 9 * u)))
    from tests.helpers import assert_order
    assert_order(hs, errs, order)


def test_source_and_decay_in_kernels(rng):
    grid = Grid((10, 9), extent=1.0)
    src = rng.normal(size=grid.shape)
    u = rng.normal(size=grid.shape)
    bounds = Boundaries(grid, {"x": Dirichlet(0.4)})
    base = reference.div_grad(u, grid, bounds, D=0.6)
    expect = base + src - 0.3 * u
    for fn in (stencils.laplace_kernel, stencils.div_grad_kernel):
        got = apply_kernel(fn, Packed(grid, bounds, D=0.6, source=src, decay=0.3), u)
        assert rel_err(got, expect) < TOL
    A, c = assemble(grid, bounds, 0.6, decay=0.3)
    assert rel_err((A @ u.ravel() + c).reshape(u.shape) + src, expect) < TOL
    aniso = apply_kernel(stencils.anisotropic_kernel,
                         Packed(grid, bounds, D=0.0, tensor=0.6 * np.eye(2), source=src, decay=0.3), u)
    assert rel_err(aniso, expect) < TOL


@pytest.mark.parametrize("method", ["euler", "backward_euler", "adi"])
def test_model_problem_matches_reference(method, rng):
    """What simulate integrates (kernel or A u + forcing) is the reference operator plus sources."""
    grid = Grid((12, 10), extent=1.0)
    inside = _disc(grid)
    D = rng.uniform(0.5, 1.5, size=grid.shape)
    src = rng.normal(size=grid.shape)
    bc = {"x-": Dirichlet(0.4), "y+": Robin(1.0, 0.2, 0.1)}
    model = Diffusion(D=D, bc=bc, source=src, decay=0.2, mask_bc=0.3)
    prob = model.problem(grid, method=method, mask=Mask(grid, inside))
    u = np.where(inside, rng.normal(size=grid.shape), 0.0)
    expect = reference.div_grad(u, grid, Boundaries(grid, bc), D=D, mask=inside, mask_value=0.3)
    expect = np.where(inside, expect + src - 0.2 * u, 0.0)
    if prob.linear is None:
        got = prob.rhs(0.0, u)
    else:
        got = prob.linear.apply(0.0, u, None) + prob.rhs(0.0, u)
    assert rel_err(got, expect) < TOL


@pytest.mark.parametrize("decay", [0.0, 0.2])
def test_adi_axis_parts_sum_to_the_operator(decay, rng):
    """Douglas' splitting needs A = sum_a A_a exactly."""
    grid = Grid((12, 10), extent=1.0)
    inside = _disc(grid)
    D = rng.uniform(0.5, 1.5, size=grid.shape)
    model = Diffusion(D=D, bc={"x-": Dirichlet(0.4), "y+": Robin(1.0, 0.2, 0.1)}, decay=decay, mask_bc=0.3)
    lin = model.problem(grid, method="adi", mask=Mask(grid, inside)).linear
    u = np.where(inside, rng.normal(size=grid.shape), 0.0)
    parts = sum(P @ u.ravel() for P in lin.parts).reshape(u.shape)
    assert rel_err(parts, lin.apply(0.0, u, None)) < TOL
