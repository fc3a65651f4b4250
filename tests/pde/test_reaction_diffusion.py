"""Reaction–diffusion models: compiled kernels against their numpy references, steady states,
presets, validation, front speeds, homogeneous oscillations, temporal orders of the exponential
and IMEX methods, mass balance, positivity and stochastic RD."""
from __future__ import annotations

import functools
import json
import math
import zlib

import numpy as np
import pytest

import simdiff
from simdiff.core.backend import ops_for
from simdiff.errors import InputError, StabilityError
from simdiff.pde import (Brusselator, Dirichlet, FisherKPP, GrayScott, Grid, Oregonator, Robin, Schnakenberg,
                         get_model, models, simulate)
from simdiff.pde.reaction_diffusion import ReactionDiffusion
from tests.helpers import assert_order
from tests.pde._rd_util import disc_mask, level_crossing, random_state, smooth_state, upward_crossings
from tests.pde._util import rel_err

MODELS = sorted(models())
PRESETS = [(name, p) for name in MODELS for p in get_model(name).presets]
SHAPES = {1: (17,), 2: (12, 9), 3: (6, 5, 7)}

BUG_SINGLE_SPECIES_D = (
    "bug: stencils.laplace_kernel/div_grad_kernel use the per-species diffusivity only when there are "
    "2+ species (`p[ip[25] + s] if S > 1 else 1.0`), so a one-species model (Fisher–KPP) runs with "
    "D = 1 whatever D_u is")


def _grid(ndim, periodic):
    return Grid(SHAPES[ndim], extent=(3.0, 2.0, 1.5)[:ndim], periodic=periodic)


def _model(name, diffusivity="default"):
    """The model with its default parameters, or with every diffusivity changed (distinct per
    species; a zero diffusivity stays zero)."""
    M = get_model(name)
    if diffusivity == "default":
        return M()
    return M(**{f"D_{s}": 0.7 * (i + 1) * M.diffusivity.get(s, 1.0) for i, s in enumerate(M.species)})


def _kernel_cases():
    out = []
    for name in MODELS:
        for dv in ("default", "scaled"):
            out.append(pytest.param(name, dv, id=f"{name}-{dv}D"))
    return out


# ---------------------------------------------------------------------------------------------
# compiled kernel == numpy reference

@pytest.mark.parametrize("masked", [False, True], ids=["box", "disc"])
@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "walls"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("name,dv", _kernel_cases())
def test_explicit_kernel_matches_reference(name, dv, ndim, periodic, masked):
    """The fused diffusion + reaction kernel of the explicit methods equals the numpy reference
    (reaction + div_grad per species with its own D) on random states."""
    rng = np.random.default_rng(zlib.crc32(repr((name, dv, ndim, periodic, masked)).encode()))
    m = _model(name, dv)
    g = _grid(ndim, periodic)
    mask = disc_mask(g) if masked else None
    pr = m.problem(g, method="rk4", mask=mask)
    y = random_state(m, g, rng)
    ref = pr.rhs.reference(0.0, y)
    assert rel_err(pr.rhs(0.0, y), ref) <= 1e-12
    if masked:
        assert np.all(ref[:, ~mask] == 0.0)


@pytest.mark.parametrize("masked", [False, True], ids=["box", "disc"])
@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "walls"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("name", MODELS)
def test_reaction_only_kernel_and_linear_part_match_reference(name, ndim, periodic, masked):
    """Exponential and IMEX problems: the kernel is the reaction alone, and linear part + kernel
    is the same semi-discrete right-hand side as the explicit reference (one ODE for every method)."""
    rng = np.random.default_rng(zlib.crc32(repr((name, ndim, periodic, masked)).encode()))
    m = _model(name, "scaled")
    g = _grid(ndim, periodic)
    mask = disc_mask(g) if masked else None
    y = random_state(m, g, rng)
    methods = ["backward_euler", "crank_nicolson"] + (["etd1", "etdrk2", "etdrk4"] if periodic and not masked else [])
    full = None
    for method in methods:
        pr = m.problem(g, method=method, mask=mask)
        ref = pr.rhs.reference(0.0, y, reaction_only=True)
        assert rel_err(pr.rhs(0.0, y), ref) <= 1e-12, method
        expect = m.reaction(y) if mask is None else np.where(mask[None], m.reaction(y), 0.0)
        assert rel_err(ref, expect) <= 1e-15
        full = pr.rhs.reference(0.0, y) if full is None else full
        assembled = pr.linear.apply(0.0, y, ops_for(y)) + pr.rhs(0.0, y)
        assert rel_err(assembled, full) <= 1e-12, method


@pytest.mark.parametrize("mode", ["explicit", "reaction_only"])
@pytest.mark.parametrize("masked", [False, True], ids=["box", "disc"])
@pytest.mark.parametrize("name", MODELS)
def test_fused_euler_kernel(name, masked, mode):
    """With p[fused_slot] = h the kernel writes y + h f(y) (one-pass explicit Euler). States are
    zero outside a mask, as simulate() makes them."""
    rng = np.random.default_rng(7)
    m = _model(name)
    g = _grid(2, False)
    mask = disc_mask(g) if masked else None
    pr = m.problem(g, method="euler" if mode == "explicit" else "crank_nicolson", mask=mask)
    k = pr.rhs
    y = random_state(m, g, rng)
    if masked:
        y = np.where(mask[None], y, 0.0)
    h = 0.0137
    p = k.p.copy()
    p[k.fused_slot] = h
    out = np.full(y.size, np.nan)
    k.fn(0.0, y.reshape(-1), out, p, k.ip)
    expect = y + h * k.reference(0.0, y, reaction_only=(mode != "explicit"))
    assert rel_err(out.reshape(y.shape), expect) <= 1e-12


# ---------------------------------------------------------------------------------------------
# steady states, presets, validation, configuration

@pytest.mark.parametrize("name,preset", PRESETS + [(n, None) for n in MODELS])
def test_steady_state_is_a_fixed_point(name, preset):
    M = get_model(name)
    m = M() if preset is None else M.preset(preset)
    ss = m.steady_state()
    assert ss.shape == (len(M.species),) and np.all(np.isfinite(ss))
    if M.nonnegative:
        assert np.all(ss >= 0)
    assert np.max(np.abs(m.reaction(ss[:, None])[:, 0])) < 1e-12
    # the same on a grid through the compiled kernel (reaction only: exactly the reaction)
    g = Grid((5, 4), extent=1.0)
    y = ss.reshape(-1, 1, 1) * np.ones((1, *g.shape))
    assert np.max(np.abs(m.problem(g, method="rk4").rhs(0.0, y))) < 1e-12


BUG_STABLE_DT = (
    "bug: ReactionDiffusion.stable_dt (and simulate's default explicit dt, 0.9 of it) bounds only the "
    "diffusion; the Oregonator's reaction (Jacobian ~ 1/eps * (1 + 2 f v q/(u+q)^2), ~1e3 near u ~ 0) "
    "needs dt ~ 2e-3, so the preset blows up in the first explicit step at 0.5x stable_dt")


@pytest.mark.parametrize("name,preset", [
    pytest.param(n, p) for n, p in PRESETS])
def test_preset_runs_ten_explicit_steps_at_half_the_stable_dt(name, preset):
    """Each preset on its own box (128 x 128 cells, no-flux walls) from its seeded start: ten Euler
    steps at half the model's stable step (what simulate picks for this frame interval) stay
    finite and (for concentrations) non-negative."""
    M = get_model(name)
    m = M.preset(preset)
    g = Grid((128, 128), extent=M.extent)
    u0 = m.initial(g, "seeded", seed=0)
    dt = 0.5 * m.stable_dt(g, "euler")
    run = simulate(m, g, u0, t_end=10 * dt, method="euler", n_frames=11)
    assert run.dt <= dt * (1 + 1e-12)
    assert np.all(np.isfinite(run.y))
    if M.nonnegative:
        assert run.y.min() >= -1e-3 * np.abs(run.y).max()


def _out_of_range_cases():
    out = []
    for name in MODELS:
        M = get_model(name)
        for key in M.parameters:
            lo, hi = M.ranges.get(key, (-math.inf, math.inf))
            if math.isfinite(hi):
                out.append((name, key, 2 * hi + 1))
            if math.isfinite(lo):
                out.append((name, key, lo - 1 - abs(lo)))
    return out


@pytest.mark.parametrize("name,key,value", _out_of_range_cases())
def test_out_of_range_parameter_is_refused(name, key, value):
    with pytest.raises(InputError, match=rf"\b{key}\b"):
        get_model(name)(**{key: value})
    with pytest.raises(InputError, match=rf"\b{key}\b"):
        get_model(name)(**{key: float("nan")})


@pytest.mark.parametrize("name", MODELS)
def test_negative_diffusivity_and_unknown_names_are_refused(name):
    M = get_model(name)
    for s in M.species:
        with pytest.raises(InputError, match=f"D_{s}"):
            M(**{f"D_{s}": -1e-3})
        with pytest.raises(InputError, match=f"D_{s}"):
            M(**{f"D_{s}": float("inf")})
    with pytest.raises(InputError, match="bogus"):
        M(bogus=1.0)
    with pytest.raises(InputError, match="D_nope"):
        M(D_nope=1.0)
    with pytest.raises(InputError, match="no-such-preset"):
        M.preset("no-such-preset")
    # the boundaries of a valid range are accepted
    for key in M.parameters:
        lo, hi = M.ranges.get(key, (-math.inf, math.inf))
        for v in (lo, hi):
            if math.isfinite(v):
                assert M(**{key: v}).params[key] == v


def test_get_model_spellings():
    assert get_model("gray-scott") is GrayScott
    assert get_model("Gray_Scott") is GrayScott
    assert get_model("fisher_kpp") is FisherKPP
    with pytest.raises(InputError, match="no-model"):
        get_model("no-model")


@pytest.mark.parametrize("name,preset", PRESETS)
def test_to_dict_from_dict_round_trip(name, preset):
    M = get_model(name)
    m = M.preset(preset, bc="neumann")
    d = json.loads(json.dumps(m.to_dict()))       # plain JSON data
    assert d["model"] == name
    for m2 in (M.from_dict(d), ReactionDiffusion.from_dict(d)):
        assert type(m2) is M
        assert m2.params == m.params and m2.D == m.D and m2.bc == m.bc
        assert m2.to_dict() == m.to_dict()


@pytest.mark.parametrize("bc", [Dirichlet(1.0), Robin(1.0, 2.0, 0.5)], ids=["dirichlet", "robin"])
def test_to_dict_from_dict_round_trip_with_a_bc_object(bc):
    m = GrayScott(bc=bc)
    m2 = GrayScott.from_dict(json.loads(json.dumps(m.to_dict())))
    g = Grid((8, 8), extent=1.0)
    y = random_state(m, g, np.random.default_rng(0))
    assert np.array_equal(m.problem(g, method="rk4").rhs(0.0, y), m2.problem(g, method="rk4").rhs(0.0, y))


def test_method_restrictions():
    m = GrayScott()
    walls = Grid((8, 8), extent=1.0)
    per = Grid((8, 8), extent=1.0, periodic=True)
    with pytest.raises(InputError, match="periodic"):
        m.problem(walls, method="etdrk4")
    with pytest.raises(InputError, match="mask"):
        m.problem(per, method="etdrk4", mask=disc_mask(per))
    with pytest.raises(InputError, match="IMEX"):
        GrayScott(bc=Dirichlet(1.0)).problem(walls, method="crank_nicolson")
    with pytest.raises(InputError, match="nope"):
        m.problem(per, method="nope")
    with pytest.raises(InputError, match="euler_maruyama"):
        simulate(m, per, m.initial(per), 1.0, method="rk4", noise=0.1)


# ---------------------------------------------------------------------------------------------
# Fisher–KPP front speed

@pytest.mark.parametrize("D,r,method,dt", [(1.0, 4.0, "rk4", None), (0.5, 2.0, "crank_nicolson", 0.02)])
def test_fisher_kpp_front_speed(D, r, method, dt):
    """A front from a step invades u = 0 at c* = 2 sqrt(D r) (KPP 1937). Bramson's correction
    x(t) = c* t - 3/(2 lambda) ln t (lambda = sqrt(r/D)) lowers the mean speed over [T/2, T] by
    3 ln 2 / (lambda T) ~ 0.5-0.9% here; the grid (lambda dx = 0.25-0.5) adds < 1%."""
    c = 2 * math.sqrt(D * r)
    T, h = 50.0, 0.25
    n = int((c * T + 40) / h)
    g = Grid((n,), extent=n * h)
    x = g.coords(0)
    m = FisherKPP(r=r, D_u=D)
    run = simulate(m, g, np.where(x < 10, 1.0, 0.0)[None], T, method=method, dt=dt, n_frames=51)
    pos = np.array([level_crossing(x, u) for u in run.y[:, 0]])
    late = run.t >= T / 2
    speed = np.polyfit(run.t[late], pos[late], 1)[0]
    assert abs(speed / c - 1) < 0.03, (speed, c)
    assert run.y[-1, 0, -1] < 1e-12          # the front has not reached the far wall


# ---------------------------------------------------------------------------------------------
# homogeneous oscillations

@pytest.mark.parametrize("model,T,dt,spacing", [
    (Brusselator.preset("oscillation"), 45.0, 0.01, 0.05),
    (Oregonator.preset("oscillation"), 30.0, 0.002, 0.02),
], ids=["brusselator", "oregonator"])
def test_homogeneous_oscillation_period(model, T, dt, spacing):
    """A uniform state slightly off the steady state on a periodic grid stays uniform (the
    discrete Laplacian of a constant is exactly 0) and oscillates with the period of the reaction
    ODE (dopri5, rtol 1e-10). Period: mean spacing of the last upward crossings of u* by u."""
    ss = model.steady_state()
    y0 = 1.05 * ss
    times = np.linspace(0.0, T, int(round(T / spacing)) + 1)
    ode = simdiff.ODE(lambda t, y: model.reaction(y[:, None])[:, 0])
    sol = simdiff.solve(ode, y0, (0.0, T), method="dopri5", rtol=1e-10, atol=1e-12, save_at=times)
    c_ode = upward_crossings(sol.t, sol.y[:, 0], ss[0])
    g = Grid((8,), extent=8.0, periodic=True)
    run = simulate(model, g, y0[:, None] * np.ones((2, 8)), T, method="rk4", dt=dt, n_frames=times.size)
    assert np.ptp(run.y, axis=-1).max() <= 1e-12 * np.abs(run.y).max()
    c_pde = upward_crossings(run.t, run.y[:, 0, 3], ss[0])
    assert len(c_ode) >= 5 and len(c_pde) >= 5, "no sustained oscillation"
    p_ode = np.diff(c_ode[-4:]).mean()
    p_pde = np.diff(c_pde[-4:]).mean()
    assert abs(p_pde / p_ode - 1) < 0.01, (p_pde, p_ode)
    # a limit cycle: the late amplitude is finite, not decaying to the steady state
    late = run.t > T - 2 * p_ode
    assert np.ptp(run.y[late, 0, 0]) > 0.5 * ss[0]


# ---------------------------------------------------------------------------------------------
# exponential integrators and IMEX

@functools.lru_cache(maxsize=None)
def _gray_scott_case():
    m = GrayScott.preset("spots")
    g = Grid((64, 64), extent=2.5, periodic=True)
    u0 = m.initial(g, "seeded", seed=1)
    ref = simulate(m, g, u0, 200.0, method="rk4", dt=0.05, n_frames=2).y[-1]
    return m, g, u0, ref


def test_etdrk4_large_step_agrees_with_explicit_small_step():
    """Gray–Scott spots on a periodic 64^2 grid to t = 200: ETDRK4 at dt = 10 and RK4 at dt = 2.5
    both agree with RK4 at dt = 0.05; ETDRK4 with a 16x larger step beats explicit Euler."""
    m, g, u0, ref = _gray_scott_case()
    e_etd = np.abs(simulate(m, g, u0, 200.0, method="etdrk4", dt=10.0, n_frames=2).y[-1] - ref).max()
    y_rk4 = simulate(m, g, u0, 200.0, method="rk4", dt=2.5, n_frames=2).y[-1]
    e_rk4 = np.abs(y_rk4 - ref).max()
    e_eul = np.abs(simulate(m, g, u0, 200.0, method="euler", dt=0.625, n_frames=2).y[-1] - ref).max()
    assert e_etd < 1e-4 and e_rk4 < 1e-6 and e_eul < 1e-3, (e_etd, e_rk4, e_eul)
    assert e_etd < 0.1 * e_eul


@functools.lru_cache(maxsize=None)
def _schnakenberg_case(periodic: bool, L: float = 160.0):
    """Schnakenberg spots from a smooth state: on a 160-wide 32^2 box D_v dt |k|^2_max is 0.4-3 at
    the steps below. Reference: RK4 at half its stable step (and at most T/2048)."""
    m = Schnakenberg.preset("spots")
    g = Grid((32, 32) if periodic else (24, 24), extent=L, periodic=periodic)
    u0 = smooth_state(m, g)
    T = 4.0
    n = int(math.ceil(T / (0.5 * m.stable_dt(g, "rk4"))))
    n = max(n, 2048)
    ref = simulate(m, g, u0, T, method="rk4", dt=T / n, n_frames=2).y[-1]
    return m, g, u0, T, ref


def _etdrk4_kassam_trefethen(model, grid, u0, dt, n):
    """An independent ETDRK4 (Cox & Matthews 2002) with the phi-functions by contour integrals
    (Kassam & Trefethen 2005), on the symbol of the same 2nd-order stencil, in numpy."""
    h = grid.dx
    ks = np.meshgrid(*[2 * np.pi * np.fft.fftfreq(nn, d=hh) for nn, hh in zip(grid.shape, h)], indexing="ij")
    lap = -sum(4 * np.sin(k * hh / 2) ** 2 / hh ** 2 for k, hh in zip(ks, h))
    Lh = np.stack([model.D[s] * lap for s in model.species])
    E, E2 = np.exp(dt * Lh), np.exp(dt * Lh / 2)
    r = np.exp(1j * np.pi * (np.arange(1, 65) - 0.5) / 64)
    LR = dt * Lh[..., None] + r
    Q = dt * np.real(np.mean((np.exp(LR / 2) - 1) / LR, axis=-1))
    f1 = dt * np.real(np.mean((-4 - LR + np.exp(LR) * (4 - 3 * LR + LR ** 2)) / LR ** 3, axis=-1))
    f2 = dt * np.real(np.mean((2 + LR + np.exp(LR) * (-2 + LR)) / LR ** 3, axis=-1))
    f3 = dt * np.real(np.mean((-4 - 3 * LR - LR ** 2 + np.exp(LR) * (4 - LR)) / LR ** 3, axis=-1))
    axes = tuple(range(1, grid.ndim + 1))

    def N(vh):
        return np.fft.fftn(model.reaction(np.real(np.fft.ifftn(vh, axes=axes))), axes=axes)

    v = np.fft.fftn(u0, axes=axes)
    for _ in range(n):
        Nv = N(v)
        a = E2 * v + Q * Nv
        Na = N(a)
        b = E2 * v + Q * Na
        Nb = N(b)
        c = E2 * a + Q * (2 * Nb - Nv)
        v = E * v + f1 * Nv + 2 * f2 * (Na + Nb) + f3 * N(c)
    return np.real(np.fft.ifftn(v, axes=axes))


def test_etdrk4_equals_an_independent_implementation():
    """On a stiffer box (120 wide: D_v dt |k|^2_max up to ~10) Cox–Matthews ETDRK4 shows its known
    stiff order reduction (error ratios ~12 rather than 16 per halving, Hochbruck & Ostermann 2005);
    simdiff's etdrk4 is that scheme to round-off, step for step."""
    m, g, u0, T, ref = _schnakenberg_case(True, 120.0)
    for n in (8, 32):
        y = simulate(m, g, u0, T, method="etdrk4", dt=T / n, n_frames=2).y[-1]
        assert np.abs(y - _etdrk4_kassam_trefethen(m, g, u0, T / n, n)).max() <= 1e-12
        assert np.abs(y - ref).max() < 1e-3


@pytest.mark.parametrize("method,order,ns", [
    ("etdrk4", 4, (8, 16, 32, 64)),
    ("etdrk2", 2, (16, 32, 64, 128)),
    ("etd1", 1, (32, 64, 128, 256)),
])
def test_exponential_temporal_orders(method, order, ns):
    m, g, u0, T, ref = _schnakenberg_case(True)
    errs = [np.abs(simulate(m, g, u0, T, method=method, dt=T / n, n_frames=2).y[-1] - ref).max() for n in ns]
    assert_order([T / n for n in ns], errs, order)


@pytest.mark.parametrize("method,order,ns", [
    ("crank_nicolson", 2, (16, 32, 64, 128)),
    ("backward_euler", 1, (32, 64, 128, 256)),
])
def test_imex_temporal_orders_with_walls(method, order, ns):
    """IMEX on no-flux walls (sparse Laplacian implicit, the reaction explicit: Heun for
    Crank–Nicolson, with simulate's two Rannacher start steps)."""
    m, g, u0, T, ref = _schnakenberg_case(False)
    errs = [np.abs(simulate(m, g, u0, T, method=method, dt=T / n, n_frames=2).y[-1] - ref).max() for n in ns]
    assert_order([T / n for n in ns], errs, order)


# ---------------------------------------------------------------------------------------------
# mass balance of the semi-discrete system

def _balance(rhs_sum, reaction_sum, scale):
    assert abs(rhs_sum - reaction_sum) <= 1e-12 * scale, (rhs_sum, reaction_sum)


@pytest.mark.parametrize("masked", [False, True], ids=["box", "disc"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_fisher_kpp_mass_balance(ndim, masked):
    """No-flux walls (and no-flux mask faces): the diffusion fluxes cancel in pairs, so
    d/dt sum(u) dV = sum(r u (1 - u)) dV exactly, for every method's right-hand side."""
    rng = np.random.default_rng(ndim)
    m = FisherKPP(r=1.7, D_u=0.6)
    g = _grid(ndim, False)
    mask = disc_mask(g) if masked else None
    inside = np.ones(g.shape, bool) if mask is None else mask
    y = rng.random((1, *g.shape))
    react = float(np.sum((1.7 * y * (1 - y))[:, inside])) * g.cell_volume
    for method in ("rk4", "crank_nicolson"):
        pr = m.problem(g, method=method, mask=mask)
        f = pr.rhs(0.0, y)
        if pr.linear is not None:
            f = f + pr.linear.apply(0.0, y, ops_for(y))
        assert np.all(f[:, ~inside] == 0.0)
        scale = float(np.sum(np.abs(f))) * g.cell_volume + abs(react)
        _balance(float(np.sum(f)) * g.cell_volume, react, scale)
        _balance(float(np.sum(pr.rhs.reference(0.0, y))) * g.cell_volume, react, scale)


@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "walls"])
def test_gray_scott_mass_balance(periodic):
    """u + v: the autocatalytic term u v^2 cancels, d/dt sum(u + v) = sum(F (1 - u) - (F + k) v)."""
    rng = np.random.default_rng(3)
    m = GrayScott.preset("mitosis", D_u=3e-5, D_v=1.2e-5)
    g = Grid((20, 16), extent=(0.4, 0.3), periodic=periodic)
    y = rng.random((2, *g.shape))
    F, k = m.F, m.k
    react = float(np.sum(F * (1 - y[0]) - (F + k) * y[1])) * g.cell_volume
    for method in ("rk4", "crank_nicolson") + (("etdrk4",) if periodic else ()):
        pr = m.problem(g, method=method)
        f = pr.rhs(0.0, y)
        if pr.linear is not None:
            f = f + pr.linear.apply(0.0, y, ops_for(y))
        scale = float(np.sum(np.abs(f))) * g.cell_volume + abs(react)
        _balance(float(np.sum(f)) * g.cell_volume, react, scale)


# ---------------------------------------------------------------------------------------------
# positivity

def test_too_large_explicit_step_is_stopped():
    """Euler at 95% of the diffusion limit on a coarse Gray–Scott grid: the reaction makes the step
    far too large. The run stops with a StabilityError that names the species and the fixes."""
    m = GrayScott.preset("spots")
    g = Grid((32, 32), extent=2.5, periodic=True)
    u0 = m.initial(g, "seeded", seed=0)
    # a step the diffusion alone would allow but the reaction's bound at u0 does not: a warning,
    # then the run is stopped (negative concentration or non-finite state)
    diffusion_only = 0.95 * 2.0 / (4.0 * max(m.D.values()) * sum(1.0 / h ** 2 for h in g.dx))
    with pytest.warns(UserWarning, match="reaction"), pytest.raises(StabilityError):
        simulate(m, g, u0, 2000.0, method="euler", dt=diffusion_only, n_frames=21)
    # a run that goes negative anyway (the state moved somewhere stiffer than u0) is stopped at the
    # frame: the frame check itself, on a state with a negative concentration
    from simdiff.pde.simulate import _positivity_check

    bad = u0.copy()
    bad[1, 3, 4] = -0.5
    with pytest.raises(StabilityError) as err:
        _positivity_check(m, "euler", 1.0)(12.5, bad)
    msg = str(err.value)
    if "non-finite" in msg:                        # NaN before a frame showed a negative value
        assert "smaller dt" in msg
    else:
        assert "'u'" in msg or "'v'" in msg
        assert "negative" in msg and "smaller dt" in msg and "etdrk4" in msg
    assert 0 < err.value.t <= 2000.0


@pytest.mark.parametrize("method,periodic,dt,T", [("etdrk4", True, 1.0, 500.0), ("crank_nicolson", False, 1.0, 100.0)])
def test_reasonable_run_stays_nonnegative(method, periodic, dt, T):
    m = GrayScott.preset("spots")
    g = Grid((64, 64) if periodic else (32, 32), extent=2.5 if periodic else 1.25, periodic=periodic)
    run = simulate(m, g, m.initial(g, "seeded", seed=0), T, method=method, dt=dt, n_frames=11)
    assert run.y.min() >= -1e-12
    assert run.y[-1, 1].max() > 0.05              # the pattern is alive, not washed out


def test_fisher_kpp_preset_default_run_on_periodic_grid():
    m = FisherKPP.preset("front")
    g = Grid((512,), extent=m.extent, periodic=True)
    run = simulate(m, g, m.initial(g), m.t_end)
    assert run.y.min() >= -1e-12
    assert run.y[-1].max() <= 1 + 1e-9


# ---------------------------------------------------------------------------------------------
# stochastic reaction–diffusion

def test_stochastic_run_is_reproducible_per_seed():
    m = GrayScott.preset("spots")
    g = Grid((16, 16), extent=0.5, periodic=True)
    u0 = m.initial(g, "seeded", seed=0)
    kw = dict(method="euler_maruyama", noise=1e-3, dt=1.0, n_frames=5)
    a = simulate(m, g, u0, 20.0, seed=11, **kw)
    b = simulate(m, g, u0, 20.0, seed=11, **kw)
    c = simulate(m, g, u0, 20.0, seed=12, **kw)
    assert np.array_equal(a.y, b.y)
    assert np.array_equal(a.y[0], c.y[0])
    d = np.abs(a.y[-1] - c.y[-1]).max()
    assert 1e-5 < d < 1e-1                     # differs at the noise's scale (sigma sqrt(T) ~ 4.5e-3)


def _chi2_band(z, k=4.0):
    """sum z^2 of n iid N(0, 1) has mean n and standard deviation sqrt(2 n)."""
    z = np.asarray(z, float).ravel()
    n = z.size
    assert abs(np.sum(z * z) - n) <= k * math.sqrt(2 * n), (np.sum(z * z), n)
    assert abs(z.mean()) <= k / math.sqrt(n), z.mean()


def test_stochastic_spatial_mean_is_brownian():
    """du_i = (D lap_h u)_i dt + sigma dW_i (each cell an independent increment of variance
    sigma^2 dt; r = 0). On a periodic grid sum_i (lap_h u)_i = 0 exactly (the fluxes telescope), so
    the Euler–Maruyama spatial mean m = (1/N) sum_i u_i moves by (sigma/N) sum_i dW_i: its frame
    increments are iid N(0, sigma^2 dt_frame / N) whatever D and dt (the cell volume does not enter
    with per-cell noise). Five seeds x 100 frames, chi-square 4-sigma band."""
    sigma, D = 0.3, 1.0
    g = Grid((16, 16), extent=3.0, periodic=True)
    m = FisherKPP(r=0.0, D_u=D)
    N = g.size
    z = []
    for seed in range(5):
        u0 = 0.5 + 0.1 * np.random.default_rng(100 + seed).standard_normal((1, *g.shape))
        run = simulate(m, g, u0, 1.0, method="euler_maruyama", noise=sigma, seed=seed, dt=0.002, n_frames=101)
        mean = run.y[:, 0].mean(axis=(1, 2))
        z.append(np.diff(mean) / math.sqrt(sigma ** 2 * np.diff(run.t).mean() / N))
        # run.mass is the integral: N dV times the mean
        assert np.allclose(run.mass[:, 0], mean * N * g.cell_volume, rtol=1e-12)
    _chi2_band(z)


def test_stochastic_without_diffusion_each_cell_is_brownian():
    """D_u = 0, r = 0: every cell is an independent Brownian motion, u_i(T) - u_i(0) ~ N(0, sigma^2 T)."""
    sigma, T = 0.2, 1.0
    g = Grid((16, 16), extent=16.0, periodic=True)
    m = FisherKPP(r=0.0, D_u=0.0)
    z = []
    for seed in range(4):
        u0 = np.full((1, *g.shape), 0.5)
        run = simulate(m, g, u0, T, method="euler_maruyama", noise=sigma, seed=seed, dt=0.01, n_frames=2)
        z.append((run.y[-1] - run.y[0]) / (sigma * math.sqrt(T)))
    _chi2_band(z)


def test_stochastic_noise_stays_inside_the_mask():
    g = Grid((16, 16), extent=1.0)
    mask = disc_mask(g)
    m = FisherKPP(r=0.0)
    run = simulate(m, g, np.full((1, 16, 16), 0.5), 0.01, method="euler_maruyama", noise=0.1, seed=1,
                   mask=mask, dt=1e-4, n_frames=3)
    assert np.all(run.y[:, 0][:, ~mask] == 0.0)
    assert np.ptp(run.y[-1, 0][mask]) > 0
