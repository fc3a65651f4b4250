"""Turing analysis: the dispersion relation of J - k^2 D against closed forms, the instability
classification, and the wavelength of simulated patterns."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from simdiff.errors import InputError
from simdiff.pde import Brusselator, FisherKPP, FitzHughNagumo, GrayScott, Grid, Schnakenberg, simulate, turing
from tests.pde._rd_util import dominant_wavelength


def _closed_form_jacobian(m) -> np.ndarray:
    """The reaction Jacobian at the steady state, by hand."""
    if isinstance(m, Schnakenberg):
        u, v = m.steady_state()               # (a + b, b / (a + b)^2)
        return np.array([[-1 + 2 * u * v, u * u], [-2 * u * v, -u * u]])
    if isinstance(m, Brusselator):
        A, B = m.A, m.B                       # steady state (A, B / A)
        return np.array([[B - 1, A * A], [-B, -A * A]])
    raise AssertionError(type(m))


def _band_closed_form(m) -> tuple[float, float]:
    """Roots of det(J - q D) = Du Dv q^2 - (Du J22 + Dv J11) q + det J = 0, as k = sqrt(q)."""
    J = _closed_form_jacobian(m)
    Du, Dv = m.D["u"], m.D["v"]
    q = np.roots([Du * Dv, -(Du * J[1, 1] + Dv * J[0, 0]), np.linalg.det(J)])
    assert np.all(np.isreal(q)) and np.all(q.real > 0)
    k1, k2 = np.sqrt(np.sort(q.real))
    return float(k1), float(k2)


def _largest_growth(m, k) -> float:
    J = _closed_form_jacobian(m)
    return float(np.max(np.linalg.eigvals(J - k * k * np.diag([m.D["u"], m.D["v"]])).real))


TURING_PRESETS = [Schnakenberg.preset("spots"), Schnakenberg.preset("stripes"), Brusselator.preset("turing")]
IDS = ["schnakenberg-spots", "schnakenberg-stripes", "brusselator-turing"]


@pytest.mark.parametrize("m", TURING_PRESETS, ids=IDS)
def test_jacobian_matches_closed_form(m):
    J = _closed_form_jacobian(m)
    assert np.max(np.abs(m.jacobian() - J)) <= 1e-7 * np.max(np.abs(J))
    assert np.max(np.abs(turing.analyse(m).jacobian - J)) <= 1e-7 * np.max(np.abs(J))


@pytest.mark.parametrize("m", TURING_PRESETS, ids=IDS)
def test_band_edges_are_roots_of_the_determinant(m):
    """tr(J - k^2 D) < 0 for all k at a Turing point, so the unstable band is exactly where
    det(J - k^2 D) < 0: between the two roots. analyse() reports the first and last unstable
    samples of its k grid, so each edge lies within one grid step inside the exact one."""
    k1, k2 = _band_closed_form(m)
    J = _closed_form_jacobian(m)
    assert np.trace(J) < 0
    a = turing.analyse(m)
    dk = float(a.k[1] - a.k[0])
    slack = 1e-8
    assert -slack <= a.band[0] - k1 <= dk + slack, (a.band[0], k1, dk)
    assert -slack <= k2 - a.band[1] <= dk + slack, (a.band[1], k2, dk)
    # the determinant vanishes at the exact edges and is negative inside
    D = np.diag([m.D["u"], m.D["v"]])
    for k in (k1, k2):
        assert abs(np.linalg.det(J - k * k * D)) <= 1e-10 * np.abs(J).max() ** 2
    assert np.linalg.det(J - (0.5 * (k1 + k2)) ** 2 * D) < 0
    # on a caller's fine grid the edges tighten with it
    kk = np.linspace(0.5 * k1, 1.5 * k2, 20_001)
    fine = turing.analyse(m, k=kk)
    step = kk[1] - kk[0]
    assert step < 0.1 * dk
    assert abs(fine.band[0] - k1) <= step + slack and abs(fine.band[1] - k2) <= step + slack


@pytest.mark.parametrize("m", TURING_PRESETS, ids=IDS)
def test_k_max_is_the_fastest_growing_wavenumber(m):
    """k_max (parabola-refined on the default grid) against a bounded scalar maximisation of the
    largest eigenvalue of the closed-form J - k^2 D; wavelength = 2 pi / k_max; the growth curve
    is the max real eigenvalue at each k."""
    k1, k2 = _band_closed_form(m)
    best = minimize_scalar(lambda k: -_largest_growth(m, k), bounds=(k1, k2), method="bounded",
                           options={"xatol": 1e-12})
    a = turing.analyse(m)
    assert a.k_max == pytest.approx(best.x, rel=1e-5)
    assert a.wavelength == pytest.approx(2 * np.pi / a.k_max, rel=1e-14)
    assert a.growth.max() == pytest.approx(-best.fun, rel=1e-5)
    for i in (0, len(a.k) // 7, len(a.k) // 3, len(a.k) - 1):
        assert a.growth[i] == pytest.approx(_largest_growth(m, a.k[i]), rel=1e-6, abs=1e-9)


def test_growth_rates_are_the_eigenvalues_of_J_minus_k2_D():
    m = Brusselator.preset("turing")
    J = _closed_form_jacobian(m)
    k = np.array([0.0, 0.3, 1.2, 4.0])
    lam = turing.growth_rates(m, k)
    assert lam.shape == (4, 2)
    for kk, ev in zip(k, lam):
        M = J - kk * kk * np.diag([m.D["u"], m.D["v"]])
        # the two roots of l^2 - tr l + det
        assert np.sort_complex(ev) == pytest.approx(np.sort_complex(np.roots([1, -np.trace(M), np.linalg.det(M)])),
                                                    rel=1e-6)
    assert turing.growth_rates(m, 0.5).shape == (1, 2)


@pytest.mark.parametrize("m,turing_,hopf", [
    pytest.param(Schnakenberg.preset("spots"), True, False, id="schnakenberg-spots"),
    pytest.param(Schnakenberg.preset("stripes"), True, False, id="schnakenberg-stripes"),
    pytest.param(Brusselator.preset("turing"), True, False, id="brusselator-turing"),
    pytest.param(Brusselator.preset("oscillation"), False, True, id="brusselator-oscillation"),
    pytest.param(FitzHughNagumo(), False, False, id="fitzhugh-nagumo"),
] + [pytest.param(GrayScott.preset(p), False, False, id=f"gray-scott-{p}") for p in GrayScott.presets])
def test_classification_of_presets(m, turing_, hopf):
    a = turing.analyse(m)
    assert a.turing is turing_ and a.hopf is hopf
    assert (a.band is not None) is turing_ and (a.wavelength is not None) is turing_
    if isinstance(m, GrayScott):               # the trivial state (1, 0) is linearly stable at every k
        assert np.allclose(a.steady_state, [1.0, 0.0])
        assert a.growth.max() < 0 and "stable at every wavenumber" in a.summary()
    if turing_:
        assert "Turing-unstable" in a.summary()
    if hopf:
        assert "Hopf" in a.summary()


@pytest.mark.parametrize("B,turing_,hopf", [
    (3.5, False, False), (4.0, False, False), (5.0, True, False), (9.0, True, False), (9.9, True, False),
    (10.5, False, True),
])
def test_brusselator_thresholds(B, turing_, hopf):
    """Brusselator with A = 3, D_u = 1, D_v = 8: Turing for (1 + A sqrt(Du/Dv))^2 = 4.25 < B < 1 + A^2 = 10,
    Hopf (a rotating, growing uniform mode) above 1 + A^2."""
    A, Du, Dv = 3.0, 1.0, 8.0
    a = turing.analyse(Brusselator(A=A, B=B, D_u=Du, D_v=Dv))
    assert turing_ is bool((1 + A * np.sqrt(Du / Dv)) ** 2 < B < 1 + A * A)
    assert a.turing is turing_ and a.hopf is hopf


def test_one_species_model_is_refused():
    with pytest.raises(InputError, match="one species"):
        turing.analyse(FisherKPP())


@pytest.mark.parametrize("m,L,T,dt", [
    (Brusselator.preset("turing"), 80.0, 2.0, 0.05),
    (Schnakenberg.preset("spots"), 240.0, 16.0, 0.25),
], ids=["brusselator", "schnakenberg"])
def test_simulated_pattern_has_the_predicted_wavelength(m, L, T, dt):
    """The steady state plus small white noise on a periodic box of ~16 predicted wavelengths
    (128^2, ETDRK4), run until the pattern has grown ~100-fold but not yet saturated (nonlinear
    selection later drifts Schnakenberg spots ~10% shorter): the power-weighted wavenumber of the
    radially averaged spectrum's peak gives the predicted wavelength within 10%. (The 2nd-order
    stencil's symbol shifts the fastest lattice mode by (k dx)^2/24 ~ 3%.)"""
    a = turing.analyse(m)
    g = Grid((128, 128), extent=L, periodic=True)
    u0 = m.initial(g, "steady", seed=0, amplitude=1e-3)
    run = simulate(m, g, u0, T, method="etdrk4", dt=dt, n_frames=2)
    u = run.y[-1, 0]
    assert 0.05 < u.std() < 0.5                # grown far above the noise, still near-linear
    lam = dominant_wavelength(u, g)
    assert abs(lam / a.wavelength - 1) < 0.10, (lam, a.wavelength)
