"""Every bad input gets one clear error that names the parameter (DESIGN.md: errors at the boundary).

Blow-ups raise StabilityError at the first non-finite step, found by comparison with a manual loop,
with the frames saved before it in ``err.partial``, on the generic and on the compiled path.
"""
from __future__ import annotations

import numba
import numpy as np
import pytest

import simdiff
from simdiff import InputError, InputTypeError, MethodMismatch, StabilityError


@simdiff.kernel
def square_kernel(t, y, out, p, ip):
    for i in range(y.size):
        out[i] = y[i] * y[i]


@simdiff.kernel
def decay_kernel(t, y, out, p, ip):
    for i in range(y.size):
        out[i] = -p[0] * y[i]


@numba.njit
def kernel_with_typing_error(t, y, out, p, ip):
    out[0] = y.no_such_attribute


@numba.njit("float64(float64, float64[::1], float64[::1], float64[::1], int64[::1])")
def kernel_returning_a_value(t, y, out, p, ip):
    for i in range(y.size):
        out[i] = -y[i]
    return 0.0


def neg(t, y):
    return -y


ODE = simdiff.ODE(neg)
SDE_DIAG = simdiff.SDE(neg, lambda t, y: 0.1 * y, noise="diagonal")
Y0 = np.ones(3)


def message(excinfo) -> str:
    return str(excinfo.value)


def test_error_hierarchy():
    assert issubclass(InputError, ValueError)
    assert issubclass(InputTypeError, TypeError)
    assert issubclass(MethodMismatch, InputError)
    assert issubclass(simdiff.CheckpointError, simdiff.SimdiffError)
    assert issubclass(StabilityError, simdiff.SimdiffError)


# --------------------------------------------------------------------------------------------
# Problem functions

def test_rhs_of_wrong_shape_names_the_function():
    def my_rhs(t, y):
        return y[:1]

    with pytest.raises(InputError) as ei:
        simdiff.solve(simdiff.ODE(my_rhs), Y0, (0.0, 1.0), dt=0.1)
    assert "my_rhs" in message(ei) and "(1,)" in message(ei) and "(3,)" in message(ei)


def test_drift_of_wrong_shape_names_the_function():
    def my_drift(t, y):
        return np.zeros((3, 2))

    with pytest.raises(InputError) as ei:
        simdiff.solve(simdiff.SDE(my_drift, 1.0), Y0, (0.0, 1.0), dt=0.1, seed=0)
    assert "my_drift" in message(ei) and "drift" in message(ei) and "(3, 2)" in message(ei)


def test_drift_that_raises_is_reported_with_its_name():
    def broken_drift(t, y):
        return y @ np.ones((5, 5))

    with pytest.raises(InputError, match="broken_drift"):
        simdiff.solve(simdiff.SDE(broken_drift, 1.0), Y0, (0.0, 1.0), dt=0.1, seed=0)


def test_diagonal_diffusion_of_wrong_shape_names_the_function():
    def my_sigma(t, y):
        return np.ones(2)

    sde = simdiff.SDE(neg, my_sigma, noise="diagonal")
    with pytest.raises(InputError) as ei:
        simdiff.solve(sde, Y0, (0.0, 1.0), dt=0.1, seed=0)
    assert "my_sigma" in message(ei) and "diagonal" in message(ei)


def test_general_diffusion_of_wrong_shape_names_noise_dim():
    def my_sigma(t, y):
        return np.ones((*y.shape, 3))

    sde = simdiff.SDE(neg, my_sigma, noise="general", noise_dim=2)
    with pytest.raises(InputError) as ei:
        simdiff.solve(sde, Y0, (0.0, 1.0), dt=0.1, seed=0)
    msg = message(ei)
    assert "my_sigma" in msg and "general" in msg and "noise_dim" in msg and "(3, 2)" in msg


def test_constant_diffusion_that_does_not_broadcast():
    with pytest.raises(InputError, match="diffusion"):
        simdiff.solve(simdiff.SDE(neg, np.ones(4)), Y0, (0.0, 1.0), dt=0.1, seed=0)


def test_non_callable_drift_is_a_type_error():
    with pytest.raises(InputTypeError, match="drift"):
        simdiff.SDE(drift=3.0, diffusion=1.0)


# --------------------------------------------------------------------------------------------
# y0, t_span, dt, grid, save_at

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_y0(bad):
    with pytest.raises(InputError, match="y0"):
        simdiff.solve(ODE, np.array([1.0, bad]), (0.0, 1.0), dt=0.1)


@pytest.mark.parametrize("dt", [0.0, -0.0, np.nan, np.inf])
def test_dt_zero_or_non_finite(dt):
    with pytest.raises(InputError, match="dt"):
        simdiff.solve(ODE, Y0, (0.0, 1.0), dt=dt)


def test_dt_not_a_number():
    with pytest.raises(InputError, match="dt"):
        simdiff.solve(ODE, Y0, (0.0, 1.0), dt="small")


@pytest.mark.parametrize("t_span, dt", [((0.0, 1.0), -0.1), ((1.0, 0.0), 0.1)])
def test_dt_pointing_away_from_t1(t_span, dt):
    with pytest.raises(InputError) as ei:
        simdiff.solve(ODE, Y0, t_span, dt=dt)
    msg = message(ei)
    assert "dt" in msg and f"dt={-dt:g}" in msg      # says which sign would work


def test_dt_with_the_right_sign_integrates_backwards():
    sol = simdiff.solve(ODE, Y0, (1.0, 0.0), dt=-0.01, method="rk4")
    np.testing.assert_allclose(sol.final, np.e * Y0, rtol=1e-8)


def test_empty_t_span():
    with pytest.raises(InputError, match="t_span"):
        simdiff.solve(ODE, Y0, (1.0, 1.0), dt=0.1)


@pytest.mark.parametrize("t_span", [(0.0,), (0.0, np.inf), "ab", None])
def test_malformed_t_span(t_span):
    with pytest.raises(InputError, match="t_span"):
        simdiff.solve(ODE, Y0, t_span, dt=0.1)


@pytest.mark.parametrize("save_at", [[0.5, 2.0], [-0.1, 0.5], [0.8, 0.2], []])
def test_save_at_outside_t_span_or_unordered(save_at):
    with pytest.raises(InputError, match="save_at"):
        simdiff.solve(ODE, Y0, (0.0, 1.0), dt=0.1, save_at=save_at)


@pytest.mark.parametrize("grid", [[0.0, 0.5, 0.5, 1.0], [0.0, 0.7, 0.5, 1.0]])
def test_grid_with_repeated_or_unordered_times(grid):
    with pytest.raises(InputError, match="grid"):
        simdiff.solve(ODE, Y0, (0.0, 1.0), grid=grid, method="rk4")
    with pytest.raises(InputError, match="grid"):
        simdiff.solve(ODE, Y0, None, grid=grid, method="rk4")


def test_grid_not_matching_t_span():
    with pytest.raises(InputError, match="grid"):
        simdiff.solve(ODE, Y0, (0.0, 1.0), grid=[0.0, 0.5, 0.9], method="rk4")


def test_dt_and_grid_together():
    with pytest.raises(InputError, match="dt or grid"):
        simdiff.solve(ODE, Y0, (0.0, 1.0), dt=0.1, grid=[0.0, 0.5, 1.0], method="rk4")


# --------------------------------------------------------------------------------------------
# Methods

def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(InputError) as ei:
        simdiff.solve(ODE, Y0, (0.0, 1.0), dt=0.1, method="rk5")
    msg = message(ei)
    assert "rk5" in msg and "rk4" in msg and "euler_maruyama" in msg and "dopri5" in msg


def test_milstein_with_general_noise_says_which_methods_can():
    sde = simdiff.SDE(neg, lambda t, y: np.ones((*y.shape, 2)), noise="general", noise_dim=2)
    with pytest.raises(MethodMismatch) as ei:
        simdiff.solve(sde, Y0, (0.0, 1.0), dt=0.1, method="milstein", seed=0)
    msg = message(ei)
    assert "milstein" in msg and "general" in msg
    assert "Methods that can: " in msg and "euler_maruyama" in msg.split("Methods that can: ")[1]
    assert "milstein" not in msg.split("Methods that can: ")[1]


def test_sra1_with_diagonal_noise_says_which_methods_can():
    with pytest.raises(MethodMismatch) as ei:
        simdiff.solve(SDE_DIAG, Y0, (0.0, 1.0), dt=0.1, method="sra1", seed=0)
    msg = message(ei)
    assert "sra1" in msg and "diagonal" in msg and "additive" in msg
    can = msg.split("Methods that can: ")[1]
    assert "euler_maruyama" in can and "milstein" in can and "sra1" not in can


def test_ode_method_on_an_sde():
    with pytest.raises(MethodMismatch) as ei:
        simdiff.solve(SDE_DIAG, Y0, (0.0, 1.0), dt=0.1, method="rk4", seed=0)
    msg = message(ei)
    assert "rk4" in msg and "SDE" in msg and "euler_maruyama" in msg


def test_sde_method_on_an_ode():
    with pytest.raises(MethodMismatch) as ei:
        simdiff.solve(ODE, Y0, (0.0, 1.0), dt=0.1, method="euler_maruyama")
    msg = message(ei)
    assert "euler_maruyama" in msg and "ODE" in msg and "rk4" in msg


@pytest.mark.parametrize("method", ["etd1", "etdrk2", "etdrk4"])
def test_exponential_method_without_linear_part(method):
    with pytest.raises(MethodMismatch) as ei:
        simdiff.solve(ODE, Y0, (0.0, 1.0), dt=0.1, method=method)
    msg = message(ei)
    assert method in msg and "linear" in msg and "rk4" in msg


def test_exponential_sde_method_without_linear_part():
    with pytest.raises(MethodMismatch, match="linear"):
        simdiff.solve(SDE_DIAG, Y0, (0.0, 1.0), dt=0.1, method="exp_euler_maruyama", seed=0)


def test_stratonovich_method_on_ito_sde_with_diagonal_noise():
    with pytest.raises(MethodMismatch) as ei:
        simdiff.solve(SDE_DIAG, Y0, (0.0, 1.0), dt=0.1, method="stochastic_heun", seed=0)
    msg = message(ei)
    assert "stochastic_heun" in msg and "stratonovich" in msg and "ito" in msg
    assert "euler_maruyama" in msg.split("Methods that can: ")[1]


def test_stratonovich_method_is_accepted_where_it_is_right():
    """Positive controls: additive noise (Itô = Stratonovich) and a Stratonovich SDE."""
    add = simdiff.SDE(neg, 0.3)
    strat = simdiff.SDE(neg, lambda t, y: 0.1 * y, noise="diagonal", calculus="stratonovich")
    for sde in (add, strat):
        sol = simdiff.solve(sde, Y0, (0.0, 1.0), dt=0.1, method="stochastic_heun", seed=0)
        assert np.all(np.isfinite(sol.y))


@pytest.mark.parametrize("problem, method", [(ODE, "rk4"), (SDE_DIAG, "euler_maruyama"), (SDE_DIAG, None)])
def test_fixed_step_method_without_dt(problem, method):
    with pytest.raises(InputError) as ei:
        simdiff.solve(problem, Y0, (0.0, 1.0), method=method, seed=0)
    assert "dt" in message(ei) and "grid" in message(ei)


def test_bad_noise_kind_and_calculus():
    with pytest.raises(InputError, match="noise"):
        simdiff.SDE(neg, lambda t, y: y, noise="multiplicative")
    with pytest.raises(InputError, match="calculus"):
        simdiff.SDE(neg, lambda t, y: y, calculus="ito-ish")
    with pytest.raises(InputError, match="noise_dim"):
        simdiff.SDE(neg, lambda t, y: y, noise="general")


# --------------------------------------------------------------------------------------------
# Kernels

def test_plain_function_as_kernel_says_to_use_the_decorator():
    def my_kernel(t, y, out, p, ip):
        out[:] = y

    with pytest.raises(InputTypeError) as ei:
        simdiff.Kernel(my_kernel)
    assert "my_kernel" in message(ei) and "@simdiff.kernel" in message(ei)
    assert isinstance(ei.value, TypeError)


def test_numba_kernel_that_does_not_compile_is_an_input_type_error():
    with pytest.raises(InputTypeError) as ei:
        simdiff.Kernel(kernel_with_typing_error)
    assert "kernel_with_typing_error" in message(ei) and "signature" in message(ei)


def test_numba_kernel_compiled_for_another_signature():
    @numba.njit("void(float32, float32[::1], float32[::1], float32[::1], int64[::1])", cache=False)
    def float32_kernel(t, y, out, p, ip):
        out[0] = y[0]

    with pytest.raises(InputTypeError, match="float32_kernel"):
        simdiff.Kernel(float32_kernel)


def test_numba_kernel_with_a_return_value_is_refused_up_front():
    with pytest.raises(InputTypeError, match="kernel_returning_a_value"):
        simdiff.Kernel(kernel_returning_a_value)


# --------------------------------------------------------------------------------------------
# Blow-ups

def first_bad_step(f, step, ts, y0):
    """Manual loop: index of the first step whose result is non-finite (and the state before it)."""
    y = np.array(y0, dtype=float)
    with np.errstate(all="ignore"):
        for j in range(ts.size - 1):
            y = step(f, ts[j], ts[j + 1], y)
            if not np.all(np.isfinite(y)):
                return j
    raise AssertionError("the manual loop did not blow up")


def rk4_step(f, t0, t1, y):
    h = t1 - t0
    k1 = f(t0, y)
    k2 = f(t0 + 0.5 * h, y + 0.5 * h * k1)
    k3 = f(t0 + 0.5 * h, y + 0.5 * h * k2)
    k4 = f(t1, y + h * k3)
    return y + h * (k1 / 6 + k2 / 3 + k3 / 3 + k4 / 6)


def euler_step(f, t0, t1, y):
    return y + (t1 - t0) * f(t0, y)


BLOWUPS = {
    # dy/dt = y^2 from 1: y = 1/(1 - t) blows up at t = 1
    "quadratic-rk4": (lambda t, y: y * y, square_kernel, [], "rk4", rk4_step, (0.0, 2.0), 0.01, 21),
    # explicit Euler on dy/dt = -1000 y with dt = 0.01: amplification -9 per step, overflows after
    # ~320 steps (over (0, 1) it would stay finite at 9^100 ~ 1e95, so the span is (0, 5))
    "stiff-euler": (lambda t, y: -1000.0 * y, decay_kernel, [1000.0], "euler", euler_step, (0.0, 5.0), 0.01, 11),
}


@pytest.mark.parametrize("path", ["generic", "compiled"])
@pytest.mark.parametrize("case", sorted(BLOWUPS))
def test_blowup_raises_stability_error_at_the_first_bad_step(case, path):
    f, kern, p, method, step, t_span, dt, n_save = BLOWUPS[case]
    rhs = f if path == "generic" else simdiff.Kernel(kern, p=p)
    ts, saves = simdiff.time_grid(t_span, dt=dt, save_at=n_save)
    j = first_bad_step(f, step, ts, np.ones(2))

    with np.errstate(all="ignore"), pytest.raises(StabilityError) as ei:
        simdiff.solve(simdiff.ODE(rhs), np.ones(2), t_span, dt=dt, method=method, save_at=n_save)
    err = ei.value
    assert isinstance(err, RuntimeError)
    assert err.step == j and err.t == pytest.approx(ts[j + 1], abs=1e-12)
    msg = str(err)
    assert f"t={ts[j + 1]:g}" in msg and f"step {j}" in msg and "dt" in msg and repr(method) in msg

    # err.partial holds exactly the frames saved before the blow-up, with the right values
    part = err.partial
    assert isinstance(part, simdiff.Solution)
    assert part.stats.path == path
    before = saves[saves < ts[j + 1]]
    assert len(before) >= 2
    np.testing.assert_array_equal(part.t, before)
    ok = simdiff.solve(simdiff.ODE(rhs), np.ones(2), (t_span[0], before[-1]), dt=dt, method=method,
                       save_at=before)
    assert ok.stats.path == path
    np.testing.assert_allclose(part.y, ok.y, rtol=1e-12)


def test_blowup_of_an_sde():
    """Geometric growth with euler_maruyama: the partial frames are those before the blow-up."""
    sde = simdiff.SDE(lambda t, y: 1e3 * y * y, lambda t, y: 0.1 * y, noise="diagonal")
    with np.errstate(all="ignore"), pytest.raises(StabilityError) as ei:
        simdiff.solve(sde, np.ones(4), (0.0, 1.0), dt=1e-3, save_at=11, seed=1)
    err = ei.value
    assert 0.0 < err.t <= 1.0 and err.step == round(err.t / 1e-3) - 1
    assert np.all(err.partial.t < err.t) and np.all(np.isfinite(err.partial.y))


def test_adaptive_blowup_stops_near_the_singularity():
    with np.errstate(all="ignore"), pytest.raises(StabilityError) as ei:
        simdiff.solve(simdiff.ODE(lambda t, y: y * y), np.ones(2), (0.0, 2.0), save_at=21)
    assert ei.value.t == pytest.approx(1.0, abs=1e-3)
    assert np.all(ei.value.partial.t <= 1.0 + 1e-12)


def test_blowup_under_floating_point_traps_is_still_a_stability_error():
    f = lambda t, y: y * y  # noqa: E731
    ts, _ = simdiff.time_grid((0.0, 2.0), dt=0.01)
    with np.errstate(over="raise", invalid="raise"), pytest.raises(StabilityError) as ei:
        simdiff.solve(simdiff.ODE(f), np.ones(2), (0.0, 2.0), dt=0.01, method="rk4")
    assert ei.value.step == first_bad_step(f, rk4_step, ts, np.ones(2))
