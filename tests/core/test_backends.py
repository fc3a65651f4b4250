"""numpy and torch run the same integrator code; torch stays out of `import simdiff`."""
import subprocess
import sys

import numpy as np
import pytest

import simdiff

pytestmark = pytest.mark.torch


def _pair(fn_np, fn_t):
    return fn_np, fn_t


@pytest.mark.parametrize("method", ["euler", "heun", "rk4", "ssprk3", "dopri5"])
def test_numpy_and_torch_agree_float64(method):
    torch = pytest.importorskip("torch")
    y0 = np.array([1.0, 0.5, -0.25])
    kw = dict(dt=0.01) if method != "dopri5" else dict(rtol=1e-8)
    a = simdiff.solve(simdiff.ODE(lambda t, y: -y + np.sin(t) * y ** 2), y0, (0.0, 2.0), method=method,
                      save_at=5, **kw)
    b = simdiff.solve(simdiff.ODE(lambda t, y: -y + np.sin(t) * y ** 2), torch.tensor(y0), (0.0, 2.0),
                      method=method, save_at=5, **kw)
    assert b.stats.backend == "torch" and isinstance(b.y, torch.Tensor) and b.y.dtype == torch.float64
    np.testing.assert_allclose(b.y.numpy(), a.y, rtol=0, atol=1e-10)
    assert a.stats.nfe == b.stats.nfe


@pytest.mark.parametrize("method", ["etd1", "etdrk2", "etdrk4"])
def test_exponential_methods_on_torch(method):
    torch = pytest.importorskip("torch")
    n, D = 32, 0.1
    k = np.fft.rfftfreq(n, d=1.0 / n)
    x = 2 * np.pi * np.arange(n) / n
    u0 = 0.5 + 0.3 * np.sin(x)
    lin = simdiff.FourierDiagonal(-D * k ** 2, axes=(0,))
    a = simdiff.solve(simdiff.ODE(lambda t, u: u * (1 - u), linear=lin), u0, (0.0, 1.0), dt=0.1, method=method)
    b = simdiff.solve(simdiff.ODE(lambda t, u: u * (1 - u), linear=lin), torch.tensor(u0), (0.0, 1.0), dt=0.1,
                      method=method)
    np.testing.assert_allclose(b.final.numpy(), a.final, atol=1e-12)
    # a time-dependent scalar linear part (the VP-SDE's -beta(t)/2) on torch
    lin_t = simdiff.ScalarOfTime(lambda t: -0.5 * (1 + t), lambda t0, t1: -0.5 * ((t1 - t0) + 0.5 * (t1 ** 2 - t0 ** 2)))
    c = simdiff.solve(simdiff.ODE(lambda t, y: torch.zeros_like(y), linear=lin_t), torch.ones(3, dtype=torch.float64),
                      (0.0, 1.0), dt=0.25, method=method)
    np.testing.assert_allclose(c.final.numpy(), np.exp(-0.5 * 1.5), rtol=1e-13)


def test_torch_sde_float32_and_seed():
    torch = pytest.importorskip("torch")
    prob = simdiff.SDE(lambda t, y: -y, 0.5, noise="additive")
    y0 = torch.zeros(10_000, dtype=torch.float32)
    a = simdiff.solve(prob, y0, (0.0, 1.0), dt=0.01, seed=3)
    b = simdiff.solve(prob, y0, (0.0, 1.0), dt=0.01, seed=3)
    assert a.y.dtype == torch.float32
    assert torch.equal(a.y, b.y)
    var = 0.25 * (1 - np.exp(-2.0)) / 2
    assert abs(float(a.final.var()) - var) < 5 * np.sqrt(2 / 1e4) * var
    g = torch.Generator().manual_seed(3)
    c = simdiff.solve(prob, y0, (0.0, 1.0), dt=0.01, seed=g)
    assert torch.equal(a.y, c.y)


def test_reverse_time_sde_on_torch():
    """A reverse-time SDE runs with t_span decreasing and a negative dt."""
    torch = pytest.importorskip("torch")
    prob = simdiff.SDE(lambda t, y: -y, 1.0, noise="additive")
    sol = simdiff.solve(prob, torch.zeros(20_000, dtype=torch.float64), (1.0, 0.0), dt=-1e-2, seed=0)
    # integrating dX = -X dt + dW with dt < 0 is growth: Var = (e^{2} - 1)/2 after |T| = 1
    var = (np.exp(2.0) - 1) / 2
    assert abs(float(sol.final.var()) - var) < 0.05 * var
    np.testing.assert_allclose(sol.t, [1.0, 0.0])


def test_import_simdiff_does_not_import_torch_or_numba():
    code = "import simdiff, sys; print('torch' in sys.modules, 'numba' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "False"]
