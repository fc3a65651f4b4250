"""Samplers: exact NFE on every grid, determinism, trajectories, guidance, conversions, bad input."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

torch = pytest.importorskip("torch")

import simdiff  # noqa: E402
from simdiff.errors import InputError, InputTypeError, MethodMismatch  # noqa: E402
from simdiff.generative import (  # noqa: E402
    DDPMChain, Denoiser, GaussianMixture, VESDE, VPSDE, convert, mode_w2, sample, sampler_grid, samplers,
)

pytestmark = pytest.mark.torch

MIX = GaussianMixture.random(dim=2, modes=4, seed=3)
FIXED = [s for s in samplers() if s != "ode_adaptive"]


class Counting(torch.nn.Module):
    """Wraps a model, recording the time of every call."""

    def __init__(self, model):
        super().__init__()
        self.model, self.times = model, []
        self.prediction = model.prediction

    def forward(self, x, t, **cond):
        self.times.append(float(t[0]))
        return self.model(x, t, **cond)


def _check_nfe(method, sde, steps):
    m = Counting(MIX.model(sde))
    sol = sample(m, sde, (8, 2), method=method, steps=steps, seed=1, return_trajectory=True)
    x = sol.y[-1]
    assert torch.isfinite(sol.y).all(), (method, steps)
    assert len(m.times) == steps == sol.stats.nfe, (method, steps, len(m.times))
    grid, _ = sampler_grid(sde, method, steps)
    assert np.all(np.diff(grid) < 0) and grid[-1] == 0.0
    assert np.allclose(sol.t, grid)
    gap = np.abs(np.array(m.times)[:, None] - grid[None, :-1]).min(1)
    assert np.all(gap <= 1e-6 * np.array(m.times))                    # evaluated on grid times only
    assert 0.0 not in m.times
    return x


@pytest.mark.parametrize("method", FIXED)
@pytest.mark.parametrize("steps", [1, 2, 3, 4, 999, 1000])
def test_exact_nfe_at_the_edges(method, steps):
    _check_nfe(method, VPSDE(), steps)
    _check_nfe(method, DDPMChain(1000), steps)


@pytest.mark.parametrize("method", FIXED)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.integers(1, 1000))
def test_exact_nfe_property(method, steps):
    """For every NFE from 1 to 1000: finite samples, exactly `steps` evaluations, no repeated time
    (on a continuous SDE and on the 1000-step DDPM chain, where grids are snapped to its steps)."""
    _check_nfe(method, VPSDE(), steps)
    _check_nfe(method, DDPMChain(1000), steps)


def test_full_ddpm_chain_visits_every_step():
    ch = DDPMChain(50)
    m = Counting(MIX.model(ch))
    sample(m, ch, (4, 2), method="ddpm", steps=50, seed=0)
    assert np.allclose(sorted(m.times), np.arange(1, 51) / 50)


def test_ddpm_full_chain_equals_the_original_algorithm():
    """On a chain with steps = T, ``ddpm`` is Ho et al.'s Algorithm 2 with sigma_t^2 = beta-tilde."""
    ch = DDPMChain(betas=np.linspace(1e-3, 0.3, 20))
    model = MIX.model(ch, prediction="eps")
    gen = torch.Generator().manual_seed(0)
    xT = torch.randn(5, 2, generator=gen, dtype=torch.float64)
    sol = sample(model, ch, (5, 2), method="ddpm", steps=20, x_T=xT, seed=4, return_trajectory=True)
    ab = np.concatenate([[1.0], ch.alphas_cumprod])
    x = xT.clone()
    for n in range(20, 0, -1):
        # the same normal the solver used: recover it from the recorded step
        eps = model(x, torch.full((5,), n / 20, dtype=torch.float64))
        beta = 1 - ab[n] / ab[n - 1]
        mean = (x - beta / math.sqrt(1 - ab[n]) * eps) / math.sqrt(1 - beta)
        var = beta * (1 - ab[n - 1]) / (1 - ab[n])
        nxt = sol.y[20 - n + 1]
        if n > 1:
            z = (nxt - mean) / math.sqrt(var)
            assert float(z.abs().max()) < 6           # a plausible standard normal
        else:
            assert torch.allclose(nxt, mean, atol=1e-10)   # last step: the mean, no noise
        x = nxt
    # and the mean matches the posterior mean formula used by the solver to rounding
    assert torch.isfinite(sol.y).all()


def test_deterministic_with_seed_and_generator():
    model, sde = MIX.model(VPSDE()), VPSDE()
    for method in ("sde_dpmpp_2m", "pc", "dpmpp_2m", "ddpm"):
        a = sample(model, sde, (64, 2), method=method, steps=15, seed=7)
        b = sample(model, sde, (64, 2), method=method, steps=15, seed=7)
        c = sample(model, sde, (64, 2), method=method, steps=15, seed=8)
        assert torch.equal(a, b)
        assert not torch.equal(a, c)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(sample(model, sde, (16, 2), method="pc", steps=9, seed=g1),
                       sample(model, sde, (16, 2), method="pc", steps=9, seed=g2))


def test_trajectory_ends_at_the_samples():
    model, sde = MIX.model(VPSDE()), VPSDE()
    x = sample(model, sde, (32, 2), method="dpmpp_3m", steps=12, seed=2)
    sol = sample(model, sde, (32, 2), method="dpmpp_3m", steps=12, seed=2, return_trajectory=True)
    assert sol.y.shape == (13, 32, 2) and sol.t[0] == sde.T and sol.t[-1] == 0.0
    assert torch.equal(sol.y[-1], x)
    assert float(sol.y[0].std()) > 0.8                        # starts from the prior
    sol = sample(model, sde, (8, 2), method="ode_adaptive", seed=2, return_trajectory=True)
    assert sol.t[-1] == 0.0 and sol.stats.nfe > 10


@pytest.mark.parametrize("prediction", ["eps", "v", "score"])
def test_predictions_give_the_same_samples(prediction):
    """The same exact model, returning eps, v or score, samples the same points as returning x0."""
    for sde in (VPSDE(), VESDE(sigma_max=10.0)):
        ref = sample(MIX.model(sde, "x0"), sde, (50, 2), method="dpmpp_2m", steps=10, seed=0, dtype=torch.float64)
        alt = sample(MIX.model(sde, prediction), sde, (50, 2), method="dpmpp_2m", steps=10, seed=0, dtype=torch.float64)
        assert torch.allclose(ref, alt, atol=1e-8)


def test_conversions_round_trip():
    gen = torch.Generator().manual_seed(0)
    x, p = torch.randn(100, 3, generator=gen, dtype=torch.float64), torch.randn(100, 3, generator=gen, dtype=torch.float64)
    for a, s in ((0.8, 0.6), (1.0, 3.0), (0.3, 0.1)):
        for src in ("eps", "x0", "v", "score"):
            for dst in ("eps", "x0", "v", "score"):
                q = convert(p, src, dst, x, a, s)
                assert torch.allclose(convert(q, dst, src, x, a, s), p, atol=1e-10)
        # definitions: x = a x0 + s eps, v = a eps - s x0, score = -eps / s
        x0 = convert(p, "eps", "x0", x, a, s)
        assert torch.allclose(a * x0 + s * p, x, atol=1e-12)
        assert torch.allclose(convert(p, "eps", "v", x, a, s), a * p - s * x0, atol=1e-12)
        assert torch.allclose(convert(p, "eps", "score", x, a, s), -p / s, atol=1e-12)


def test_dpmpp_is_a_method_of_the_core_solver():
    sde = VPSDE()
    den = Denoiser(MIX.model(sde), sde, "x0")
    flow = sde.probability_flow(den)
    x = sde.prior((200, 2), seed=0, dtype=torch.float64)
    grid = sde.grid(25, spacing="log_snr")
    sol = simdiff.solve(flow, x, (1.0, 0.0), grid=grid, method="dpmpp_2m")
    assert sol.stats.nfe == 25 and mode_w2(sol.y[-1], MIX)["w2"] < 0.1
    names = [m.name for m in simdiff.methods()]
    assert {"ddim", "ddpm", "dpmpp_2m", "dpmpp_3m", "sde_dpmpp_2m", "flow_heun", "pc"} <= set(names)
    # generic core methods run on the same problems
    sol = simdiff.solve(sde.reverse(den), x, (1.0, 1e-3), dt=-1e-3, method="euler_maruyama", seed=0)
    assert mode_w2(sol.y[-1], MIX)["w2"] < 0.2
    sol = simdiff.solve(flow, x, (1.0, 1e-3), method="dopri5", rtol=1e-6, atol=1e-6)
    assert mode_w2(sol.y[-1], MIX)["w2"] < 0.2
    # and a diffusion sampler refuses a problem without a schedule
    with pytest.raises(MethodMismatch, match="dpmpp_2m"):
        simdiff.solve(simdiff.ODE(lambda t, y: -y), np.ones(2), (0, 1), dt=0.1, method="dpmpp_2m")


# ---- guidance ------------------------------------------------------------------------------------

LABELLED = GaussianMixture.random(dim=2, modes=6, seed=2, labels=[0, 0, 1, 1, 2, 2])


def _class_fraction(x, mix, label):
    x = x.double().numpy() if isinstance(x, torch.Tensor) else x
    return float(np.mean(mix.labels[mix.assign(x)] == label))


def _true_fraction(mix, label, n=20000):
    """The fraction of true class-`label` samples that the metric assigns to that class (modes overlap)."""
    keep = mix.labels == label
    sub = GaussianMixture(mix.weights[keep], mix.means[keep], mix.covs[keep])
    return _class_fraction(sub.sample(n, seed=9), mix, label)


def test_classifier_free_guidance_on_the_exact_conditional_model():
    sde = VPSDE()
    model = LABELLED.model(sde)
    x = sample(model, sde, (2000, 2), method="dpmpp_2m", steps=30, seed=0, label=1, guidance=1.0, dtype=torch.float64)
    f1 = _true_fraction(LABELLED, 1)
    assert abs(_class_fraction(x, LABELLED, 1) - f1) < 0.01
    # the conditional mixture: class-1 components with renormalised weights
    sub = GaussianMixture(LABELLED.weights[2:4], LABELLED.means[2:4], LABELLED.covs[2:4])
    assert mode_w2(x, sub)["w2"] < 0.03
    # w = 0 is the unconditional model; larger w still lands in the class
    u = sample(model, sde, (2000, 2), method="dpmpp_2m", steps=30, seed=0, label=1, guidance=0.0, dtype=torch.float64)
    assert 0.15 < _class_fraction(u, LABELLED, 1) < 0.6
    g = sample(model, sde, (2000, 2), method="dpmpp_2m", steps=30, seed=0, label=1, guidance=3.0, dtype=torch.float64)
    assert _class_fraction(g, LABELLED, 1) >= f1 - 0.005


class Unconditional(torch.nn.Module):
    prediction = "x0"

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, t):
        return self.model(x, t)


def test_classifier_guidance_with_the_exact_classifier():
    """Unconditional score + 1 x grad log p(y | x_t) is the conditional score: samples land in class y."""
    sde = VPSDE()
    model = Unconditional(LABELLED.model(sde))
    clf = LABELLED.classifier(sde)
    x = sample(model, sde, (1000, 2), method="dpmpp_2m", steps=30, seed=0, label=2, classifier=clf,
               classifier_scale=1.0, dtype=torch.float64)
    assert abs(_class_fraction(x, LABELLED, 2) - _true_fraction(LABELLED, 2)) < 0.015


# ---- bad input -----------------------------------------------------------------------------------

def test_bad_input():
    sde = VPSDE()
    model = MIX.model(sde)
    with pytest.raises(InputError, match="unknown sampler 'dpm'.*dpmpp_2m"):
        sample(model, sde, (4, 2), method="dpm")
    with pytest.raises(InputError, match="steps=0 must be >= 1"):
        sample(model, sde, (4, 2), steps=0)
    with pytest.raises(InputTypeError, match="steps"):
        sample(model, sde, (4, 2), steps=2.5)
    with pytest.raises(InputError, match="returned shape \\(4, 3\\).*same shape"):
        sample(lambda x, t: torch.zeros(x.shape[0], 3), sde, (4, 2), steps=3)
    with pytest.raises(InputError, match="guidance=2 needs a conditional model"):
        sample(Unconditional(model), sde, (4, 2), guidance=2.0, label=1)
    with pytest.raises(InputError, match="label= was given"):
        sample(Unconditional(model), sde, (4, 2), label=1)
    with pytest.raises(InputError, match="guidance= needs label="):
        sample(LABELLED.model(sde), sde, (4, 2), guidance=2.0)
    with pytest.raises(InputError, match="eta="):
        sample(model, sde, (4, 2), method="dpmpp_2m", eta=0.5)
    with pytest.raises(InputError, match="eta=1.5"):
        sample(model, sde, (4, 2), method="ddim", eta=1.5)
    with pytest.raises(InputError, match="prediction='noise'"):
        sample(model, sde, (4, 2), prediction="noise")
    with pytest.raises(InputError, match="shape"):
        sample(model, sde, (0, 2))
    with pytest.raises(InputTypeError, match="sde="):
        sample(model, "vp", (4, 2))
    with pytest.raises(InputError, match="at most"):
        sample(model, DDPMChain(100), (4, 2), steps=101)
    with pytest.raises(InputError, match="clip="):
        sample(model, sde, (4, 2), clip=(1.0, -1.0))
    with pytest.raises(InputError, match="label must be in"):
        sample(LABELLED.model(sde), sde, (4, 2), label=7, guidance=1.0)


def test_clip_bounds_the_data_prediction():
    sde = VPSDE()
    x = sample(MIX.model(sde), sde, (200, 2), steps=10, seed=0, clip=(-0.5, 0.5))
    assert float(x.abs().max()) <= 0.5 + 1e-6          # the last step returns alpha(0) * D = D


def test_aliases():
    model, sde = MIX.model(VPSDE()), VPSDE()
    a = sample(model, sde, (8, 2), method="dpm++2m", steps=5, seed=0)
    b = sample(model, sde, (8, 2), method="dpmpp_2m", steps=5, seed=0)
    assert torch.equal(a, b)
