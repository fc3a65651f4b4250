"""solve() features: save_fn, callbacks, progress, the method table, user-registered methods."""
import numpy as np
import pytest

import simdiff
from simdiff.core.methods import get
from tests.core.test_sde_orders import coarsen, fine_path
from tests.helpers import assert_order


def test_save_fn_keeps_statistics_not_states():
    prob = simdiff.SDE(lambda t, y: -y, 1.0, noise="additive")
    seen = []
    sol = simdiff.solve(prob, np.full(50_000, 1.0), (0.0, 2.0), dt=1e-2, save_at=5, seed=0,
                        save_fn=lambda t, y: np.array([y.mean(), y.var()]),
                        callbacks=[lambda t, y: seen.append(t)])
    assert sol.y.shape == (5, 2)
    np.testing.assert_allclose(sol.t, np.linspace(0, 2, 5))
    assert seen == list(sol.t)
    np.testing.assert_allclose(sol.y[:, 0], np.exp(-sol.t), atol=0.02)
    np.testing.assert_allclose(sol.y[:, 1], (1 - np.exp(-2 * sol.t)) / 2, atol=0.02)


def test_progress_bar_runs(capsys):
    sol = simdiff.solve(simdiff.ODE(lambda t, y: -y), np.ones(2), (0.0, 1.0), dt=0.1, method="euler",
                        save_at=3, progress=True)
    assert sol.stats.steps == 10
    assert "simdiff euler" in capsys.readouterr().err


def test_methods_table_lists_orders():
    table = str(simdiff.methods())
    for name in ("euler", "heun", "rk4", "dopri5", "euler_maruyama", "milstein", "stochastic_heun", "sra1",
                 "etd1", "etdrk2", "etdrk4", "exp_euler_maruyama"):
        assert name in table
    assert get("sra1").strong_order == 1.5 and get("euler_maruyama").weak_order == 1.0


def test_user_registered_method_follows_the_contract():
    """Ralston's method written against the Method contract: order 2 measured."""

    class Ralston(simdiff.Method):
        name = "ralston_test"
        kinds = frozenset({"ode"})
        order = 2
        evals_per_step = 2

        def step(self, ev, t0, t1, y0, dw, state):
            h = t1 - t0
            k1 = ev.f(t0, y0)
            k2 = ev.f(t0 + 2 * h / 3, y0 + (2 * h / 3) * k1)
            return y0 + h * (k1 / 4 + 3 * k2 / 4), None

    from simdiff.core.methods import unregister

    simdiff.register(Ralston(), replace=True)
    try:
        hs = 2.0 ** -np.arange(4, 9)
        errs = [abs(simdiff.solve(simdiff.ODE(lambda t, y: y * np.cos(t)), np.ones(1), (0, 2), dt=h,
                                  method="ralston_test").final[0] - np.exp(np.sin(2))) for h in hs]
        assert_order(hs, errs, 2.0)
        sol = simdiff.solve(simdiff.ODE(lambda t, y: -y), np.ones(1), (0, 1), dt=0.1, method="ralston_test")
        assert sol.stats.nfe == 20
    finally:
        unregister("ralston_test")


def test_exp_euler_maruyama_strong_order_half():
    """GBM with its drift as the linear part: dX = mu X dt + sigma X dW, exact solution known."""
    mu, sigma, T = 0.5, 0.5, 1.0
    rng = np.random.default_rng(5)
    n_paths, n_fine = 4000, 2 ** 10
    hf = T / n_fine
    dw, _ = fine_path(rng, n_fine, n_paths, hf)
    exact = np.exp((mu - 0.5 * sigma ** 2) * T + sigma * dw.sum(axis=0))
    hs, errs = [], []
    for f in 2 ** np.arange(2, 8):
        cdw, _ = coarsen(dw, None, f, hf)
        prob = simdiff.SDE(lambda t, y: np.zeros_like(y), lambda t, y: sigma * y, noise="diagonal",
                           linear=simdiff.Diagonal(mu), driver=simdiff.Prescribed(cdw))
        sol = simdiff.solve(prob, np.ones(n_paths), (0.0, T), dt=f * hf, method="exp_euler_maruyama")
        hs.append(f * hf)
        errs.append(np.mean(np.abs(sol.final - exact)))
    assert_order(hs, errs, 0.5)


def test_solution_final_and_repr():
    sol = simdiff.solve(simdiff.ODE(lambda t, y: -y), [1.0, 2.0], (0.0, 1.0), dt=0.5, method="rk4")
    assert sol.final.shape == (2,) and "rk4" in repr(sol)
    assert sol.stats.nfe == 8 and sol.stats.steps == 2


@pytest.mark.parametrize("save_at", [1, 2, 7])
def test_integer_save_at(save_at):
    sol = simdiff.solve(simdiff.ODE(lambda t, y: -y), np.ones(1), (0.0, 1.0), dt=0.25, method="rk4",
                        save_at=save_at)
    assert len(sol.t) == save_at and sol.t[-1] == 1.0
