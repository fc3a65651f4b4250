"""Every sampler, driven by the exact score of a Gaussian mixture, converges to the mixture.

The metric is the per-mode W2 of :func:`simdiff.generative.mode_w2` against the mixture's own
parameters; its Monte-Carlo floor is the same metric for true samples of the same size (averaged
over seeds). At the largest NFE every sampler must sit within 1.3x that floor, and its error must
fall as NFE grows.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from simdiff.generative import DDPMChain, GaussianMixture, VESDE, VPSDE, mode_w2, sample, samplers  # noqa: E402

pytestmark = pytest.mark.torch

# per sampler: NFE ladder (first order samplers need many steps to reach the floor)
LADDER = {
    "ddpm": (10, 100, 1000), "ddim": (10, 100, 1000), "euler_maruyama": (20, 100, 1000), "pc": (50, 200, 1000),
    "heun": (10, 30, 100), "dpmpp_2m": (5, 10, 50), "dpmpp_3m": (5, 10, 50), "sde_dpmpp_2m": (10, 50, 200),
    "sde_dpmpp_3m": (10, 50, 200),
}


def _floor(mix, n, seeds=4):
    return float(np.mean([mode_w2(mix.sample(n, seed=100 + s), mix)["w2"] for s in range(seeds)]))


def _run(mix, sde, method, steps, n, seed=0):
    x = sample(mix.model(sde), sde, (n, mix.dim), method=method, steps=steps, seed=seed, dtype=torch.float64)
    assert torch.isfinite(x).all()
    return mode_w2(x, mix)


@pytest.fixture(scope="module")
def mix2():
    return GaussianMixture.random(dim=2, modes=6, seed=1, std=(0.02, 0.12))


@pytest.fixture(scope="module")
def mix16():
    return GaussianMixture.random(dim=16, modes=8, seed=0, std=(0.02, 0.15))


def test_samplers_list_is_covered():
    assert set(samplers()) == set(LADDER) | {"ode_adaptive"}


@pytest.mark.parametrize("method", list(LADDER))
def test_converges_2d(mix2, method):
    n = 4000
    floor = _floor(mix2, n)
    res = [_run(mix2, VPSDE(), method, s, n) for s in LADDER[method]]
    w2 = [r["w2"] for r in res]
    assert w2[0] > w2[-1], w2
    assert w2[-1] < 1.3 * floor, (w2, floor)
    assert res[-1]["weight_tv"] < 0.03


@pytest.mark.parametrize("method", list(LADDER))
def test_converges_16d(mix16, method):
    n = 2000
    floor = _floor(mix16, n)
    res = [_run(mix16, VPSDE(), method, s, n) for s in (LADDER[method][0], LADDER[method][-1])]
    w2 = [r["w2"] for r in res]
    assert w2[0] > w2[-1], w2
    assert w2[-1] < 1.3 * floor, (w2, floor)
    assert res[-1]["weight_tv"] < 0.04


def test_adaptive_flow_ode_reaches_the_floor(mix16):
    n = 2000
    r = _run(mix16, VPSDE(), "ode_adaptive", 0, n)
    assert r["w2"] < 1.3 * _floor(mix16, n)


@pytest.mark.parametrize("sde", [VESDE(sigma_min=0.002, sigma_max=20.0), DDPMChain(1000, "cosine")], ids=["ve", "ddpm-cosine"])
@pytest.mark.parametrize("method", ["dpmpp_2m", "sde_dpmpp_2m", "heun", "ddim"])
def test_other_processes(mix2, sde, method):
    n = 4000
    steps = {"dpmpp_2m": 50, "sde_dpmpp_2m": 200, "heun": 199, "ddim": 1000}[method]
    # Heun's default grid (quadratic in t) suits the linear VP schedules; the cosine chain's log-SNR
    # falls steeply near t = 1, where a grid uniform in log-SNR puts the steps
    spacing = "log_snr" if method == "heun" else None
    x = sample(mix2.model(sde), sde, (n, 2), method=method, steps=steps, seed=0, spacing=spacing, dtype=torch.float64)
    r = mode_w2(x, mix2)
    assert r["w2"] < 1.3 * _floor(mix2, n)


def test_high_order_beats_first_order_at_low_nfe(mix16):
    """At 10 NFE DPM-Solver++(2M) is well ahead of DDIM and Euler-Maruyama, and the
    stochastic DPM-Solver++(2M) beats DDPM ancestral and Euler-Maruyama at every NFE tried."""
    n, sde = 2000, VPSDE()
    for steps in (10, 20, 50):
        e = {m: _run(mix16, sde, m, steps, n)["w2"] for m in ("dpmpp_2m", "ddim", "sde_dpmpp_2m", "ddpm", "euler_maruyama")}
        assert e["sde_dpmpp_2m"] < min(e["ddpm"], e["euler_maruyama"]), (steps, e)
        if steps == 10:
            assert e["dpmpp_2m"] < 0.8 * e["ddim"], e
