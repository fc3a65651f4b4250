"""Forward processes: closed forms, inverses, marginals against simulation, DDPM chain -> VP SDE."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import simdiff  # noqa: E402
from simdiff.errors import InputError, InputTypeError  # noqa: E402
from simdiff.generative import DDPMChain, SubVPSDE, VESDE, VPSDE, sde_from_dict  # noqa: E402
from simdiff.generative.sde import DiffusionSDE  # noqa: E402

pytestmark = pytest.mark.torch

SDES = [VPSDE(), SubVPSDE(), VESDE(sigma_min=0.01, sigma_max=20.0), DDPMChain(1000, "linear"), DDPMChain(1000, "cosine")]
IDS = ["vp", "subvp", "ve", "ddpm-linear", "ddpm-cosine"]


@pytest.mark.parametrize("sde", SDES, ids=IDS)
def test_start_end_and_monotone(sde):
    assert sde.alpha(0.0) == 1.0 and sde.sigma(0.0) == 0.0
    t = np.linspace(1e-3, 1.0, 200)
    lam = np.array([sde.log_snr(float(s)) for s in t])
    assert np.all(np.diff(lam) < 0), "log-SNR must decrease with t"
    # tensors give the same numbers as floats
    tt = torch.tensor(t, dtype=torch.float64)
    a, s = sde.alpha_sigma(tt)
    assert np.allclose(a.numpy(), [sde.alpha(float(x)) for x in t], rtol=1e-12)
    assert np.allclose(s.numpy(), [sde.sigma(float(x)) for x in t], rtol=1e-12)


@pytest.mark.parametrize("sde", SDES, ids=IDS)
def test_log_snr_inverse(sde):
    t = np.linspace(0.01, 1.0, 50)
    if isinstance(sde, DDPMChain) and sde.schedule == "cosine":
        t = t[:-1]                      # the cosine chain's last step has alpha ~ 0 (lambda ~ -inf)
    lam = np.array([sde.log_snr(float(s)) for s in t])
    assert np.allclose(sde.t_of_log_snr(lam), t, atol=1e-9)


@pytest.mark.parametrize("sde", SDES[:3], ids=IDS[:3])
def test_sde_coefficients_match_marginals(sde):
    """Closed-form f and g^2 equal d log(alpha)/dt and d sigma^2/dt - 2 f sigma^2."""
    for t in (0.05, 0.3, 0.7, 0.95):
        f_num = DiffusionSDE.f(sde, t)
        g2_num = DiffusionSDE.g2(sde, t)
        assert sde.f(t) == pytest.approx(f_num, rel=1e-6, abs=1e-9)
        assert sde.g2(t) == pytest.approx(g2_num, rel=1e-5)


@pytest.mark.parametrize("sde", [VPSDE(), SubVPSDE(), VESDE(sigma_min=0.01, sigma_max=5.0)], ids=["vp", "subvp", "ve"])
def test_forward_sde_marginals_match_closed_form(sde):
    """Simulate dx = f x dt + g dW with the core solver: mean alpha x0, standard deviation sigma."""
    n, x0 = 100_000, 0.7
    sol = simdiff.solve(sde.forward(), np.full(n, x0), (0.0, 1.0), dt=1e-3, save_at=[0.25, 1.0], seed=3)
    for t, y in zip(sol.t[1:], sol.y[1:]):
        a, s = sde.marginal(float(t))
        se = s / math.sqrt(n)
        assert abs(y.mean() - a * x0) < 5 * se + 2e-3 * abs(a * x0)
        assert abs(y.std() / s - 1) < 5 / math.sqrt(2 * n) + 5e-3


def test_noise_draws_the_marginal():
    sde = VPSDE()
    gen = torch.Generator().manual_seed(0)
    x0 = torch.full((200_000, 1), 2.0, dtype=torch.float64)
    t = torch.full((200_000,), 0.4, dtype=torch.float64)
    xt, eps = sde.noise(x0, t, generator=gen)
    a, s = sde.marginal(0.4)
    assert float(xt.mean()) == pytest.approx(2 * a, abs=5 * s / math.sqrt(2e5))
    assert float(xt.std()) == pytest.approx(s, rel=0.01)
    assert torch.allclose(xt, a * x0 + s * eps)


def test_ddpm_chain_converges_to_vp_sde():
    """The linear DDPM chain of T steps (betas scaled by 1000/T) tends to the VP SDE(0.1, 20): error ~ 1/T."""
    vp = VPSDE(0.1, 20.0)
    t = np.linspace(0.01, 1.0, 100)
    errs = []
    for T in (100, 1000, 10_000):
        ch = DDPMChain(T, "linear")
        errs.append(max(abs(ch.log_alpha(float(s)) - vp.log_alpha(float(s))) for s in t))
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 4e-3
    rates = np.log10(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(rates > 0.9), rates
    # and the chain built from the SDE's alphas matches it at its times
    ch = DDPMChain.from_sde(vp, 500)
    assert max(abs(ch.log_alpha(k / 500) - vp.log_alpha(k / 500)) for k in range(501)) < 1e-12


def test_chain_alphas_cumprod_match_ddpm_definition():
    ch = DDPMChain(1000, "linear")
    betas = np.linspace(1e-4, 0.02, 1000)
    assert np.allclose(ch.alphas_cumprod, np.cumprod(1 - betas), rtol=1e-12)
    cos = DDPMChain(1000, "cosine")
    f = lambda t: np.cos((t + 0.008) / 1.008 * np.pi / 2) ** 2     # noqa: E731
    ab = f(np.arange(1, 1001) / 1000) / f(0)
    assert np.allclose(cos.alphas_cumprod[:990], ab[:990], rtol=1e-10)


@pytest.mark.parametrize("sde", SDES, ids=IDS)
@pytest.mark.parametrize("spacing", ["time", "quadratic", "log_snr", "karras"])
def test_grids_strictly_decreasing_to_zero(sde, spacing):
    for n in (1, 2, 3, 10, 999, 1000):
        g = sde.grid(n, spacing=spacing)
        assert g.size == n + 1 and g[0] == sde.T and g[-1] == 0.0
        assert np.all(np.diff(g) < 0)


def test_karras_grid_is_uniform_in_sigma_to_the_one_over_rho():
    sde = VPSDE()
    g = sde.grid(12, spacing="karras")[:-1]
    q = np.array([sde.sigma(float(t)) / sde.alpha(float(t)) for t in g]) ** (1 / 7)
    assert np.allclose(np.diff(q), np.diff(q)[0], rtol=1e-6)


def test_round_trip_and_bad_input():
    for sde in SDES:
        back = sde_from_dict(sde.to_dict())
        assert type(back) is type(sde)
        assert back.log_snr(0.5) == pytest.approx(sde.log_snr(0.5), rel=1e-12)
    with pytest.raises(InputError, match="beta_max"):
        VPSDE(beta_min=5, beta_max=1)
    with pytest.raises(InputError, match="sigma_max"):
        VESDE(sigma_min=1, sigma_max=0.5)
    with pytest.raises(InputError, match="schedule"):
        DDPMChain(100, "quadratic")
    with pytest.raises(InputError, match="steps"):
        VPSDE().grid(0)
    with pytest.raises(InputTypeError, match="steps"):
        VPSDE().grid(2.5)
    with pytest.raises(InputError, match="spacing"):
        VPSDE().grid(10, spacing="uniform")
    with pytest.raises(InputError, match="at most"):
        DDPMChain(50).grid(51)
    with pytest.raises(InputError, match="unknown forward process"):
        sde_from_dict({"type": "OU"})
