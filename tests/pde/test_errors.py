"""Bad input: each a clear InputError naming the parameter (and what would work)."""
from __future__ import annotations

import numpy as np
import pytest

from simdiff.errors import InputError
from simdiff.pde import Diffusion, Dirichlet, Grid, Mask, Robin, simulate

G1 = Grid((16,), extent=1.0)
G2 = Grid((12, 10), extent=1.0)


def _sim(model, grid=G2, u0=None, **kw):
    return simulate(model, grid, np.ones(grid.shape) if u0 is None else u0, 0.1, **kw)


@pytest.mark.parametrize("D", [-0.1, np.nan, np.inf])
def test_bad_scalar_D(D):
    with pytest.raises(InputError, match=r"diffusivity D"):
        Diffusion(D=D)


def test_bad_D_field():
    D = np.full(G2.shape, 0.1)
    D[3, 4] = -1e-3
    with pytest.raises(InputError, match=r"D must be >= 0.*-0.001"):
        Diffusion(D=D)
    D[3, 4] = np.nan
    with pytest.raises(InputError, match=r"D .*(non-finite|NaN)"):
        Diffusion(D=D)


def test_bad_D_function_caught_at_run_time():
    model = Diffusion(D=lambda x, y: x - 0.5)       # negative on half the box
    with pytest.raises(InputError, match=r"diffusivity D"):
        _sim(model)
    with pytest.raises(InputError, match=r"D function returned shape \(3,\)"):
        _sim(Diffusion(D=lambda x, y: np.ones(3)))


def test_D_field_wrong_shape():
    with pytest.raises(InputError, match=r"diffusivity D has shape \(5,\).*\(12, 10\)"):
        _sim(Diffusion(D=np.ones(5)))


def test_tensor_not_psd_or_not_symmetric():
    with pytest.raises(InputError, match="positive semi-definite"):
        _sim(Diffusion(D=np.array([[1.0, 2.0], [2.0, 1.0]])), method="euler")
    with pytest.raises(InputError, match="symmetric"):
        _sim(Diffusion(D=np.array([[1.0, 0.2], [0.1, 1.0]])), method="euler")


def test_u0_shape_mismatch():
    with pytest.raises(InputError, match=r"u0 has shape \(10, 12\); the grid has shape \(12, 10\)"):
        _sim(Diffusion(), u0=np.ones((10, 12)))
    with pytest.raises(InputError, match="u0"):
        _sim(Diffusion(), grid=G1, u0=np.ones(15))


def test_u0_not_finite():
    u0 = np.ones(G2.shape)
    u0[0, 0] = np.nan
    with pytest.raises(InputError, match="u0 has non-finite"):
        _sim(Diffusion(), u0=u0)


def test_mask_shape_mismatch():
    with pytest.raises(InputError, match=r"mask has shape \(10, 12\); the grid has shape \(12, 10\)"):
        _sim(Diffusion(), mask=np.ones((10, 12), bool))
    with pytest.raises(InputError, match="mask function"):
        _sim(Diffusion(), mask=lambda x, y: np.ones(4, bool))
    with pytest.raises(InputError, match="mask was made for"):
        _sim(Diffusion(), mask=Mask(Grid((12, 10), extent=2.0), np.ones((12, 10), bool)))


def test_mask_empty_or_not_boolean():
    with pytest.raises(InputError, match="no cell inside"):
        _sim(Diffusion(), mask=np.zeros(G2.shape, bool))
    with pytest.raises(InputError, match="boolean"):
        _sim(Diffusion(), mask=np.ones(G2.shape))


def test_mask_image_missing(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        _sim(Diffusion(), mask=str(tmp_path / "nothing.png"))


@pytest.mark.parametrize("bc,match", [
    ("absorbing", r"unknown boundary condition 'absorbing'.*periodic, dirichlet, neumann, robin"),
    ({"x-": "sticky"}, r"unknown boundary condition 'sticky' at x-"),
    ({"w+": 0.0}, r"bc key 'w\+' is not a side"),
    (object(), r"cannot read the boundary condition"),
])
def test_unknown_bc(bc, match):
    with pytest.raises(InputError, match=match):
        _sim(Diffusion(bc=bc))


def test_periodic_bc_on_walled_grid():
    with pytest.raises(InputError, match=r"bc is periodic along x, but the grid is not.*periodic=True"):
        _sim(Diffusion(bc="periodic"))
    with pytest.raises(InputError, match=r"periodic along y"):
        _sim(Diffusion(bc={"y": "periodic"}), grid=Grid((8, 8), extent=1.0, periodic=[True, False]))


def test_walls_on_periodic_axis():
    with pytest.raises(InputError, match=r"grid is periodic along x, but bc gives dirichlet"):
        _sim(Diffusion(bc={"x-": 1.0}), grid=Grid((8, 8), extent=1.0, periodic=True))


def test_spectral_needs_periodic_grid():
    with pytest.raises(InputError, match=r"spectral.*periodic"):
        _sim(Diffusion(), method="spectral")
    with pytest.raises(InputError, match=r"spectral.*no mask"):
        _sim(Diffusion(), grid=Grid((8, 8), extent=1.0, periodic=True), method="spectral",
             mask=np.eye(8, dtype=bool) | np.eye(8, k=1, dtype=bool))


def test_order4_with_variable_D():
    with pytest.raises(InputError, match=r"order=4 needs a constant scalar D"):
        _sim(Diffusion(D=np.full(G2.shape, 0.2), order=4), method="rk4")
    with pytest.raises(InputError, match=r"order=4"):
        _sim(Diffusion(D=0.2, order=4), method="rk4", mask=np.ones(G2.shape, bool))
    with pytest.raises(InputError, match=r"order=3"):
        Diffusion(order=3)


def test_robin_degenerate():
    dx = G2.dx[0]
    with pytest.raises(InputError, match=r"Robin condition at x- has alpha/2 \+ beta/dx = 0"):
        _sim(Diffusion(bc={"x-": Robin(2.0, -dx)}))


def test_unknown_method():
    with pytest.raises(InputError, match=r"unknown method 'leapfrog'.*crank_nicolson"):
        _sim(Diffusion(), method="leapfrog")


def test_implicit_refuses_tensor():
    with pytest.raises(InputError, match=r"anisotropic tensor.*explicit"):
        _sim(Diffusion(D=np.array([[1.0, 0.2], [0.2, 1.0]])), method="crank_nicolson")


@pytest.mark.parametrize("kw,match", [
    (dict(decay=-1.0), r"decay=-1.0"),
    (dict(decay=np.inf), r"decay=inf"),
    (dict(mask_bc="dirichlet"), r"mask_bc='dirichlet'"),
])
def test_bad_model_parameters(kw, match):
    with pytest.raises(InputError, match=match):
        Diffusion(**kw)


@pytest.mark.parametrize("kw,match", [
    (dict(t_end=-1.0), r"t_end=-1 must be finite and after t0=0"),
    (dict(dt=-0.01, method="backward_euler"), r"dt=-0.01 must be a positive"),
    (dict(n_frames=1), r"n_frames=1"),
    (dict(n_frames=5, save_every=0.01), r"save_every or n_frames"),
    (dict(save_every=0.0), r"save_every=0.0"),
])
def test_bad_run_parameters(kw, match):
    args = dict(t_end=0.1)
    args.update(kw)
    with pytest.raises(InputError, match=match):
        simulate(Diffusion(), G2, np.ones(G2.shape), args.pop("t_end"), **args)


def test_source_wrong_shape():
    with pytest.raises(InputError, match=r"source has shape \(3,\)"):
        _sim(Diffusion(source=np.ones(3)), method="euler")


def test_boundary_value_wrong_shape():
    with pytest.raises(InputError, match=r"boundary value at x- has shape \(4,\); that side has \(10,\) faces"):
        _sim(Diffusion(bc={"x-": Dirichlet(np.ones(4))}))


def test_grid_errors():
    with pytest.raises(InputError, match="at least 3 cells"):
        Grid((2, 10))
    with pytest.raises(InputError, match="1, 2 or 3 axes"):
        Grid((4, 4, 4, 4))
    with pytest.raises(InputError, match=r"extent along y is \(1, 1\)"):
        Grid((4, 4), extent=((0, 1), (1, 1)))
