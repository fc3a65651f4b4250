"""The probability-flow log-likelihood against closed-form Gaussian-mixture densities.

With the exact mixture model every density along the flow is known:
:math:`p_t = \\sum_k w_k N(\\alpha_t\\mu_k, \\alpha_t^2\\Sigma_k + \\sigma_t^2 I)`. So the solve must
satisfy the change-of-variables identity
:math:`\\log p_{t_{\\min}}(x) = \\log p_T(z) + \\int\\nabla\\cdot\\tilde f` to the ODE tolerance, and the
returned :math:`\\log p` (which uses the prior in place of :math:`p_T`, and starts at
:math:`t_{\\min}`) must differ from the data density :math:`\\log p_0(x)` by no more than those two
known biases.
"""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from simdiff.errors import InputError  # noqa: E402
from simdiff.generative import GaussianMixture, SubVPSDE, VESDE, VPSDE  # noqa: E402
from simdiff.generative.likelihood import log_likelihood  # noqa: E402

pytestmark = pytest.mark.torch

SINGLE = GaussianMixture([1.0], [[0.4, -0.3]], [[[0.2, 0.05], [0.05, 0.1]]])
PAIR = GaussianMixture([0.3, 0.7], [[0.5, -0.5], [-0.8, 0.6]],
                       [[[0.3, 0.1], [0.1, 0.2]], [[0.05, -0.02], [-0.02, 0.1]]])
T_MIN = 1e-5


def _x(mix, n, seed=0):
    return torch.tensor(mix.sample(n, seed=seed))          # float64


@pytest.mark.parametrize("mix", [SINGLE, PAIR], ids=["gaussian", "mixture"])
@pytest.mark.parametrize("sde", [VPSDE(), SubVPSDE(), VESDE()], ids=["vp", "subvp", "ve"])
def test_exact_trace_matches_true_density(mix, sde):
    x = _x(mix, 32)
    out = log_likelihood(mix.model(sde), sde, x, exact_trace=True, t_min=T_MIN, rtol=1e-7, atol=1e-7)
    assert out["logp"].shape == (32,) and out["z"].shape == x.shape and out["nfe"] > 0
    z = out["z"].numpy()
    a0, s0 = sde.alpha_sigma(T_MIN)
    aT, sT = sde.alpha_sigma(sde.T)
    logp_tmin = mix.log_prob(x.numpy(), a0, s0)
    logp_T = mix.log_prob(z, aT, sT)
    # 1. the change of variables, exactly: only the ODE and autograd errors remain (rtol 1e-7)
    np.testing.assert_allclose(out["delta_logp"].numpy() + logp_T, logp_tmin, rtol=0, atol=1e-4)
    # 2. against the data density: the two documented biases and nothing else
    bias_prior = sde.prior_logp(out["z"]).numpy() - logp_T           # p_T is not exactly the prior
    bias_tmin = logp_tmin - mix.log_prob(x.numpy())                   # blur by sigma(t_min)
    err = out["logp"].numpy() - mix.log_prob(x.numpy())
    np.testing.assert_allclose(err, bias_prior + bias_tmin, rtol=0, atol=1e-4)
    # both are small at t_min = 1e-5: the blur costs ~sigma(t_min)^2 / var < 1e-4 nats; the prior's
    # error is ~alpha(T)|z||mu| ~ 0.0066 * 3 * 1 = 0.02 for VP, ~|z||mu| / sigma_max^2 ~ 3|mu| / sigma_max
    # = 0.05 for VE (measured: 0.007, 0.008, 0.023-0.026)
    assert np.abs(err).max() < (0.05 if isinstance(sde, VESDE) else 0.02), np.abs(err).max()


def test_prediction_kind_does_not_matter():
    sde, x = VPSDE(), _x(PAIR, 8)
    a = log_likelihood(PAIR.model(sde, prediction="x0"), sde, x, exact_trace=True, t_min=T_MIN)["logp"]
    b = log_likelihood(PAIR.model(sde, prediction="eps"), sde, x, exact_trace=True, t_min=T_MIN)["logp"]
    torch.testing.assert_close(a, b, rtol=0, atol=1e-4)


def test_default_t_min_bias_is_the_blur():
    # VPSDE.t_min = 1e-3: sigma = 0.0105, so log p_{t_min} differs from log p_0 by up to ~1e-2 nats
    # for PAIR's narrowest direction (variance ~0.04); the returned value is log p_{t_min}
    sde, x = VPSDE(), _x(PAIR, 16)
    out = log_likelihood(PAIR.model(sde), sde, x, exact_trace=True)
    logp_tmin = PAIR.log_prob(x.numpy(), *sde.alpha_sigma(sde.t_min))
    bias_prior = sde.prior_logp(out["z"]).numpy() - PAIR.log_prob(out["z"].numpy(), *sde.alpha_sigma(sde.T))
    np.testing.assert_allclose(out["logp"].numpy() - bias_prior, logp_tmin, rtol=0, atol=1e-3)
    assert np.abs(logp_tmin - PAIR.log_prob(x.numpy())).max() > 1e-3      # the bias is real ...
    assert np.abs(logp_tmin - PAIR.log_prob(x.numpy())).max() < 0.05      # ... and small


@pytest.mark.parametrize("hutchinson", ["rademacher", "gaussian"])
def test_hutchinson_is_unbiased(hutchinson):
    # 8 points, each repeated R times with independent probes: the mean over the copies must
    # agree with the exact trace within 4 standard errors (fixed seed, so the test is deterministic)
    sde, R = VPSDE(), 256
    x = _x(PAIR, 8, seed=1)
    exact = log_likelihood(PAIR.model(sde), sde, x, exact_trace=True, t_min=T_MIN)["logp"]
    est = log_likelihood(PAIR.model(sde), sde, x.repeat(R, 1), hutchinson=hutchinson, t_min=T_MIN,
                         seed=3)["logp"].reshape(R, 8)
    sd = est.std(0)
    assert torch.all(sd > 0.05)                                       # it is an estimate ...
    zscore = (est.mean(0) - exact) / (sd / math.sqrt(R))
    assert torch.all(zscore.abs() < 4.0), zscore                      # ... without bias
    # n_probes averages independent probes: the spread falls like 1/sqrt(n_probes)
    est4 = log_likelihood(PAIR.model(sde), sde, x.repeat(R, 1), hutchinson=hutchinson, n_probes=4,
                          t_min=T_MIN, seed=4)["logp"].reshape(R, 8)
    ratio = float((est4.std(0) / sd).mean())
    assert 0.35 < ratio < 0.7, ratio


def test_probes_follow_the_seed():
    sde, x = VPSDE(), _x(PAIR, 4)
    run = lambda seed: log_likelihood(PAIR.model(sde), sde, x, seed=seed)["logp"]  # noqa: E731
    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_bits_per_dim():
    sde, x = VPSDE(), _x(SINGLE, 4)
    out = log_likelihood(SINGLE.model(sde), sde, x, exact_trace=True)
    torch.testing.assert_close(out["bpd"], -out["logp"] / (2 * math.log(2)))
    # 8-bit data scaled to [-1, 1]: 2^8 bins over a width of 2 add log2(128) = 7 bits per value
    img = log_likelihood(SINGLE.model(sde), sde, x, exact_trace=True, data_bits=8)
    torch.testing.assert_close(img["bpd"], out["bpd"] + 7.0)
    unit = log_likelihood(SINGLE.model(sde), sde, x, exact_trace=True, data_bits=8, data_range=(0.0, 1.0))
    torch.testing.assert_close(unit["bpd"], out["bpd"] + 8.0)


def test_numpy_input_and_errors():
    sde = VPSDE()
    out = log_likelihood(SINGLE.model(sde), sde, SINGLE.sample(3, seed=0), exact_trace=True)
    assert out["logp"].dtype == torch.float64 and out["logp"].shape == (3,)
    x = _x(SINGLE, 3)
    with pytest.raises(InputError, match="t_min"):
        log_likelihood(SINGLE.model(sde), sde, x, t_min=0.0)
    with pytest.raises(InputError, match="rademacher"):
        log_likelihood(SINGLE.model(sde), sde, x, hutchinson="normal")
    with pytest.raises(InputError, match="n_probes"):
        log_likelihood(SINGLE.model(sde), sde, x, n_probes=0)
    with pytest.raises(InputError, match="data_bits"):
        log_likelihood(SINGLE.model(sde), sde, x, data_bits=0)
    with pytest.raises(InputError, match="batch"):
        log_likelihood(SINGLE.model(sde), sde, x[0])
