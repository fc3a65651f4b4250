r"""Diffusion samplers as methods of the core solver, and ``sample()``.

Each sampler is a registered :class:`simdiff.Method` that steps the probability-flow ODE
(deterministic samplers) or the reverse-time SDE (stochastic ones) of
:mod:`simdiff.generative.problems` over an explicit, strictly decreasing time grid ending at
:math:`t = 0`. They read :math:`\alpha(t), \sigma(t)` from the problem's
:class:`~simdiff.generative.sde.Schedule` and call the denoiser through ``ev.denoise`` (one network
evaluation each). Notation: a step goes from ``s = t0`` (noisier) to ``t = t1``;
:math:`\lambda = \log(\alpha/\sigma)`, :math:`h = \lambda_t - \lambda_s`, :math:`D` the data
prediction, :math:`z` a standard normal (``dW / sqrt|h|``).

========================  ======================================================================
name                      update
========================  ======================================================================
``ddim``                  :math:`x_t = \alpha_t D + \sqrt{\sigma_t^2-c^2}\,\hat\epsilon + c z`,
                          :math:`c = \eta\,\sigma_t\sqrt{1-(\alpha_s\sigma_t/\alpha_t\sigma_s)^2}`
                          (Song, Meng & Ermon 2021); ``eta=0`` is deterministic (= DPM-Solver++ 1)
``ddpm``                  ancestral sampling from :math:`q(x_t|x_s,\hat x_0)` (Ho et al. 2020;
                          = ``ddim`` with ``eta=1``); on a :class:`DDPMChain` with ``steps=T``
                          it is the original algorithm, with fewer steps the strided one
``dpmpp_2m``, ``dpmpp_3m``  multistep exponential integrators of the flow ODE in data-prediction
                          form (Lu et al. 2022, DPM-Solver++), first order on the first step and
                          on a final step to :math:`\sigma = 0`
``sde_dpmpp_2m``          the stochastic DPM-Solver++(2M) of the same paper: exact for the linear
                          part of the reverse SDE, second order in :math:`D`
``flow_heun``             Heun's method on the flow ODE in Karras et al.'s variables
                          :math:`(\tilde\sigma = \sigma/\alpha,\ \tilde x = x/\alpha)`
                          (:math:`d\tilde x/d\tilde\sigma = (\tilde x - D)/\tilde\sigma`); Euler
                          on a step to :math:`\sigma = 0`
``pc``                    predictor–corrector (Song et al. 2021): Euler–Maruyama on the reverse
                          SDE plus a Langevin corrector with a signal-to-noise ratio ``snr``
========================  ======================================================================

The core's own methods run on the same problems: ``euler_maruyama`` on the reverse SDE and
``dopri5`` (adaptive) on the flow ODE are samplers too.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch

from simdiff.core.methods import register
from simdiff.core.methods.base import Method
from simdiff.errors import InputError, InputTypeError, MethodMismatch
from simdiff.generative.denoiser import Denoiser
from simdiff.generative.sde import DiffusionSDE, Schedule, _steps

__all__ = ["sample", "SAMPLERS", "samplers", "DDIM", "DDPM", "DPMSolverPP", "SDEDPMSolverPP",
           "FlowHeun", "PredictorCorrector", "sampler_grid"]


class _Sampler(Method):
    needs_linear = True
    noise = frozenset({"additive"})

    def linear_problem(self, linear):
        if not isinstance(linear, Schedule):
            return ("it is a diffusion sampler and needs a forward process's schedule: build the problem with "
                    "sde.probability_flow(denoiser) or sde.reverse(denoiser)")
        return None

    def init(self, ev, t0, y0):
        if getattr(ev.problem, "denoiser", None) is None:
            raise MethodMismatch(f"method {self.name!r} needs a problem with a denoiser "
                                 f"(sde.probability_flow(den) or sde.reverse(den)).")
        return None

    @staticmethod
    def _as(ev, t):
        return ev.problem.linear.sde.alpha_sigma(float(t))

    @staticmethod
    def _z(dw, t0, t1):
        return dw[0] / math.sqrt(abs(t1 - t0))


class DDIM(_Sampler):
    name = "ddim"
    kinds = frozenset({"ode", "sde"})
    order = 1
    description = "DDIM (eta=0 deterministic; eta>0 on the reverse SDE)"

    def __init__(self, eta: float = 0.0):
        eta = float(eta)
        if not 0.0 <= eta <= 1.0 or not math.isfinite(eta):
            raise InputError(f"eta={eta:g} must be in [0, 1] (0: deterministic DDIM, 1: DDPM ancestral).")
        self.eta = eta

    def init(self, ev, t0, y0):
        super().init(ev, t0, y0)
        if self.eta > 0 and ev.problem.kind != "sde":
            raise MethodMismatch(f"method {self.name!r} with eta={self.eta:g} adds noise: solve the reverse SDE "
                                 f"(sde.reverse(den)), not the probability-flow ODE.")
        return None

    def step(self, ev, t0, t1, y0, dw, state):
        a0, s0 = self._as(ev, t0)
        a1, s1 = self._as(ev, t1)
        x0 = ev.denoise(t0, y0)
        if s1 == 0.0:
            return a1 * x0, None
        eps = (y0 - a0 * x0) / s0
        if self.eta == 0.0 or dw is None:
            return a1 * x0 + s1 * eps, None
        ratio = (a0 * s1) / (a1 * s0)
        c = self.eta * s1 * math.sqrt(max(0.0, 1.0 - ratio * ratio))
        return a1 * x0 + math.sqrt(max(s1 * s1 - c * c, 0.0)) * eps + c * self._z(dw, t0, t1), None


class DDPM(DDIM):
    name = "ddpm"
    kinds = frozenset({"sde"})
    strong_order = None
    description = "DDPM ancestral sampling (posterior variance; strided on coarse grids)"

    def __init__(self):
        super().__init__(eta=1.0)


class DPMSolverPP(_Sampler):
    """DPM-Solver++ multistep of order 2 or 3 (Lu et al. 2022, Algorithm 2 and its 3rd-order form)."""

    kinds = frozenset({"ode"})

    def __init__(self, order: int = 2):
        if order not in (1, 2, 3):
            raise InputError(f"order={order} must be 1, 2 or 3.")
        self.order = order
        self.name = {1: "dpmpp_1", 2: "dpmpp_2m", 3: "dpmpp_3m"}[order]
        self.description = f"DPM-Solver++({order}M), exponential integrator of the flow ODE"

    def step(self, ev, t0, t1, y0, dw, state):
        a0, s0 = self._as(ev, t0)
        a1, s1 = self._as(ev, t1)
        m0 = ev.denoise(t0, y0)
        if s1 == 0.0:                                 # h = inf: the update is alpha_t D
            return a1 * m0, None
        lam0, lam1 = math.log(a0 / s0), math.log(a1 / s1)
        h = lam1 - lam0
        phi = -math.expm1(-h)                         # 1 - e^{-h}
        hist = state or ()
        k = min(self.order - 1, len(hist))            # how many previous predictions to use
        if k == 0:
            d = m0
            y1 = (s1 / s0) * y0 + (a1 * phi) * d
        elif k == 1:
            m1, l1 = hist[0]
            r0 = (lam0 - l1) / h
            y1 = (s1 / s0) * y0 + (a1 * phi) * m0 + (0.5 * a1 * phi / r0) * (m0 - m1)
        else:
            (m1, l1), (m2, l2) = hist[0], hist[1]
            h0, h1 = lam0 - l1, l1 - l2
            r0, r1 = h0 / h, h1 / h
            d1_0 = (m0 - m1) / r0
            d1_1 = (m1 - m2) / r1
            d1 = d1_0 + (r0 / (r0 + r1)) * (d1_0 - d1_1)
            d2 = (d1_0 - d1_1) / (r0 + r1)
            em = math.expm1(-h)                       # e^{-h} - 1
            c1 = em / h + 1.0
            y1 = (s1 / s0) * y0 - (a1 * em) * m0 + (a1 * c1) * d1 - (a1 * (c1 / h - 0.5)) * d2
        return y1, ((m0, lam0),) + tuple(hist[: self.order - 2])


class SDEDPMSolverPP(_Sampler):
    r"""Stochastic DPM-Solver++ of multistep order 2 or 3 (Lu et al. 2022, SDE variant; the order-3
    and ``eta`` forms as in k-diffusion's ``dpmpp_3m_sde``).

    With :math:`h_\eta = (1+\eta)h` one step is
    :math:`x_t = \frac{\sigma_t}{\sigma_s}e^{-\eta h}x_s + \alpha_t(1-e^{-h_\eta})D + \text{(multistep
    corrections)} + \sigma_t\sqrt{1-e^{-2\eta h}}\,z`: for every :math:`\eta \in [0, 1]` it keeps
    :math:`q(x_t|x_0)` exact when :math:`D = x_0`; ``eta=0`` is DPM-Solver++ on the flow ODE,
    ``eta=1`` is the reverse SDE itself.
    """

    kinds = frozenset({"sde"})

    def __init__(self, order: int = 2, eta: float = 1.0):
        eta = float(eta)
        if not 0.0 <= eta <= 1.0 or not math.isfinite(eta):
            raise InputError(f"eta={eta:g} must be in [0, 1] (1: the reverse SDE, 0: the flow ODE).")
        if order not in (2, 3):
            raise InputError(f"order={order} must be 2 or 3.")
        self.order, self.eta = order, eta
        self.name = f"sde_dpmpp_{order}m"
        self.description = f"stochastic DPM-Solver++({order}M) on the reverse SDE (eta= noise level)"

    def step(self, ev, t0, t1, y0, dw, state):
        a0, s0 = self._as(ev, t0)
        a1, s1 = self._as(ev, t1)
        m0 = ev.denoise(t0, y0)
        if s1 == 0.0:
            return a1 * m0, None
        lam0, lam1 = math.log(a0 / s0), math.log(a1 / s1)
        h = lam1 - lam0
        eta = self.eta
        he = (1.0 + eta) * h
        c = -math.expm1(-he)                           # 1 - e^{-h_eta}
        y1 = (s1 / s0 * math.exp(-eta * h)) * y0 + (a1 * c) * m0
        hist = state or ()
        k = min(self.order - 1, len(hist))
        if k == 1 and self.order == 2:                  # midpoint form (DPM-Solver++ 2M SDE)
            m1, l1 = hist[0]
            y1 = y1 + (0.5 * a1 * c * h / (lam0 - l1)) * (m0 - m1)
        elif k >= 1:
            phi2 = 1.0 - c / he
            m1, l1 = hist[0]
            r0 = (lam0 - l1) / h
            if k == 1:
                y1 = y1 + (a1 * phi2 / r0) * (m0 - m1)
            else:
                m2, l2 = hist[1]
                r1 = (l1 - l2) / h
                d1_0, d1_1 = (m0 - m1) / r0, (m1 - m2) / r1
                d1 = d1_0 + (r0 / (r0 + r1)) * (d1_0 - d1_1)
                d2 = (d1_0 - d1_1) / (r0 + r1)
                y1 = y1 + (a1 * phi2) * d1 - (a1 * (phi2 / he - 0.5)) * d2
        if eta > 0.0:
            y1 = y1 + (s1 * math.sqrt(-math.expm1(-2.0 * eta * h))) * self._z(dw, t0, t1)
        return y1, ((m0, lam0),) + tuple(hist[: self.order - 2])


class FlowHeun(_Sampler):
    """Heun on the flow ODE in :math:`\\tilde\\sigma`; ``euler_steps`` leading steps are Euler (so that
    any evaluation count is reachable), and a step to :math:`\\sigma = 0` is Euler."""

    name = "flow_heun"
    kinds = frozenset({"ode"})
    order = 2
    evals_per_step = 2
    description = "Heun on the probability-flow ODE in sigma/alpha (Karras et al. 2022)"

    def __init__(self, euler_steps: int = 0):
        self.euler_steps = int(euler_steps)

    def init(self, ev, t0, y0):
        super().init(ev, t0, y0)
        return 0

    def step(self, ev, t0, t1, y0, dw, state):
        a0, s0 = self._as(ev, t0)
        a1, s1 = self._as(ev, t1)
        j = int(state or 0)
        q0, q1 = s0 / a0, s1 / a1
        x = y0 / a0
        d0 = (x - ev.denoise(t0, y0)) / q0
        x1 = x + (q1 - q0) * d0
        if s1 > 0.0 and j >= self.euler_steps:
            d1 = (x1 - ev.denoise(t1, a1 * x1)) / q1
            x1 = x + (0.5 * (q1 - q0)) * (d0 + d1)
        return a1 * x1, j + 1


class PredictorCorrector(_Sampler):
    """Reverse-SDE Euler–Maruyama predictor and Langevin corrector (Song et al. 2021, Alg. 2–5).

    The corrector at time ``t`` takes :math:`x \\leftarrow x + \\epsilon s + \\sqrt{2\\epsilon} z`
    with :math:`\\epsilon = 2 a (r \\lVert z\\rVert / \\lVert s\\rVert)^2` per sample, ``r = snr`` and
    :math:`a = (\\alpha_s/\\alpha_t)^2` (the VP "alpha" of the step; 1 for VE). Its normal is the
    second independent normal of the Brownian stream. ``skip`` leading correctors are left out (so
    any evaluation count is reachable); there is none on a step to :math:`\\sigma = 0`.
    """

    name = "pc"
    kinds = frozenset({"sde"})
    needs_area = True
    strong_order = 0.5
    evals_per_step = 2
    description = "predictor-corrector: reverse-SDE Euler-Maruyama + Langevin corrector"

    def __init__(self, snr: float = 0.16, skip: int = 0):
        snr = float(snr)
        if not snr > 0 or not math.isfinite(snr):
            raise InputError(f"snr={snr:g} must be a positive number (the corrector's signal-to-noise ratio).")
        self.snr, self.skip = snr, int(skip)

    def init(self, ev, t0, y0):
        super().init(ev, t0, y0)
        return 0

    def step(self, ev, t0, t1, y0, dw, state):
        sde = ev.problem.linear.sde
        j = int(state or 0)
        h = t1 - t0
        a0, s0 = sde.alpha_sigma(t0)
        x0 = ev.denoise(t0, y0)
        score = -(y0 - a0 * x0) / (s0 * s0)
        y = y0 + (sde.f(t0) * h) * y0 - (sde.g2(t0) * h) * score + sde.g(t0) * dw[0]
        a1, s1 = sde.alpha_sigma(t1)
        if s1 > 0.0 and j >= self.skip:
            dW, area = dw
            z = (2.0 * area / h - dW) * math.sqrt(3.0 / abs(h))     # the stream's second normal
            x0c = ev.denoise(t1, y)
            g = -(y - a1 * x0c) / (s1 * s1)
            dims = tuple(range(1, y.dim()))
            gn = torch.linalg.vector_norm(g, dim=dims).mean()
            zn = torch.linalg.vector_norm(z, dim=dims).mean()
            a = (a0 / a1) ** 2
            eps = 2.0 * a * float((self.snr * zn / gn) ** 2)
            y = y + eps * g + math.sqrt(2.0 * eps) * z
        return y, j + 1


for _m in (DDIM(), DDPM(), DPMSolverPP(2), DPMSolverPP(3), SDEDPMSolverPP(2), SDEDPMSolverPP(3), FlowHeun(), PredictorCorrector()):
    register(_m, replace=True)


# ------------------------------------------------------------------------------------------------
# sample()

#: sampler name -> (problem "flow" | "reverse", default grid spacing, description)
SAMPLERS: dict[str, tuple[str, str, str]] = {
    "ddpm": ("reverse", "quadratic", "DDPM ancestral (strided when steps < T)"),
    "ddim": ("flow", "quadratic", "DDIM; eta= adds noise (then on the reverse SDE)"),
    "euler_maruyama": ("reverse", "quadratic", "Euler-Maruyama on the reverse-time SDE"),
    "pc": ("reverse", "quadratic", "predictor-corrector with a Langevin corrector (snr=)"),
    "heun": ("flow", "quadratic", "Heun on the probability-flow ODE (Karras et al.)"),
    "ode_adaptive": ("flow", "time", "adaptive Dormand-Prince on the flow ODE (rtol=, atol=; steps ignored)"),
    "dpmpp_2m": ("flow", "log_snr", "DPM-Solver++(2M)"),
    "dpmpp_3m": ("flow", "log_snr", "DPM-Solver++(3M)"),
    "sde_dpmpp_2m": ("reverse", "log_snr", "stochastic DPM-Solver++(2M); eta=0.5 by default (1: the reverse SDE)"),
    "sde_dpmpp_3m": ("reverse", "log_snr", "stochastic DPM-Solver++(3M); eta=0.5 by default"),
}
ALIASES = {"dpm++2m": "dpmpp_2m", "dpm++3m": "dpmpp_3m", "sde-dpm++2m": "sde_dpmpp_2m", "dpm++2m-sde": "sde_dpmpp_2m",
           "em": "euler_maruyama", "reverse_sde": "euler_maruyama", "rk45": "ode_adaptive", "dopri5": "ode_adaptive",
           "ancestral": "ddpm", "flow_heun": "heun", "edm": "heun"}


def samplers() -> list[str]:
    """The sampler names ``sample(method=...)`` accepts."""
    return list(SAMPLERS)


def _resolve(method: str) -> str:
    if not isinstance(method, str):
        raise InputTypeError(f"method={method!r}: pass a sampler name ({', '.join(SAMPLERS)}).")
    key = method.strip().lower()
    key = ALIASES.get(key, key.replace("-", "_"))
    if key not in SAMPLERS:
        raise InputError(f"unknown sampler {method!r}; samplers: {', '.join(SAMPLERS)} "
                         f"(aliases: {', '.join(sorted(ALIASES))}).")
    return key


def sampler_grid(sde: DiffusionSDE, method: str, steps: int, spacing: str | None = None,
                 t_min: float | None = None) -> tuple[np.ndarray, Method]:
    """The time grid and the configured core method ``sample`` uses for ``steps`` evaluations."""
    name = _resolve(method)
    n_eval = _steps(steps)
    problem, default_spacing, _ = SAMPLERS[name]
    spacing = spacing or default_spacing
    if name == "heun":
        # n intervals, the last to sigma = 0 is Euler: 2n - 1 evaluations; one leading Euler step
        # more when steps is even
        n = (n_eval + 2) // 2
        m = FlowHeun(euler_steps=2 * n - 1 - n_eval)
    elif name == "pc":
        n = (n_eval + 2) // 2
        m = PredictorCorrector(skip=2 * n - 1 - n_eval)
    else:
        n = n_eval
        m = None
    return sde.grid(n, spacing=spacing, t_min=t_min), m


def sample(model: Callable, sde: DiffusionSDE, shape, *, method: str = "dpmpp_2m", steps: int = 20,
           seed: Any = None, prediction: str | None = None, label: Any = None, guidance: float | None = None,
           classifier: Callable | None = None, classifier_scale: float = 1.0, spacing: str | None = None,
           t_min: float | None = None, eta: float | None = None, snr: float = 0.16, x_T: torch.Tensor | None = None,
           device: Any = None, dtype: torch.dtype = torch.float32, return_trajectory: bool = False,
           rtol: float = 1e-5, atol: float = 1e-5, progress: bool = False,
           clip: tuple[float, float] | None = None):
    """Draw samples by integrating a reverse process from the prior at ``T`` to ``t = 0``.

    Parameters
    ----------
    model
        ``model(x, t, **cond) -> prediction`` (or a :class:`Denoiser`).
    sde
        The forward process (:class:`VPSDE`, :class:`SubVPSDE`, :class:`VESDE`, :class:`DDPMChain`).
    shape
        Output shape ``(batch, ...)``.
    method
        A sampler name (:func:`samplers` lists them; ``dpm++2m`` style aliases work).
    steps
        Network evaluations (NFE), exactly, for every sampler but ``ode_adaptive``.
    seed
        int or ``torch.Generator``: the prior draw and all sampler noise; same seed, same samples.
    label, guidance, classifier, classifier_scale
        Class-conditional sampling, classifier-free guidance, classifier guidance (see :class:`Denoiser`).
    spacing, t_min
        Override the time grid (``"time"``, ``"quadratic"``, ``"log_snr"``, ``"karras"``) and its last
        nonzero time.
    eta
        Noise level of ``ddim`` (default 0: deterministic; 1: ancestral) and of ``sde_dpmpp_2m``/``3m``
        (default 0.5; 1 is the reverse SDE itself, as in diffusers' ``sde-dpmsolver++``).
    snr
        The predictor–corrector's signal-to-noise ratio.
    clip
        ``(lo, hi)`` clamps every data prediction to the data range (``(-1, 1)`` for images).
    return_trajectory
        Return the :class:`simdiff.Solution` with every grid time (``sol.t``, ``sol.y[k]``; the
        samples are ``sol.y[-1]``, ``sol.stats.nfe`` the evaluations) instead of the samples.
    """
    from simdiff.core.solve import solve
    from simdiff.core.rng import child_seeds

    name = _resolve(method)
    if not isinstance(sde, DiffusionSDE):
        raise InputTypeError(f"sde={sde!r}: pass a forward process (VPSDE, SubVPSDE, VESDE, DDPMChain).")
    den = model if isinstance(model, Denoiser) else Denoiser(
        model, sde, prediction, label=label, guidance=guidance, classifier=classifier,
        classifier_scale=classifier_scale, clip=clip)
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise InputTypeError(f"shape={shape!r}: pass a tuple of sizes (batch, ...).") from None
    if len(shape) < 1 or min(shape) < 1:
        raise InputError(f"shape={shape} must be (batch, ...) with every size >= 1.")
    m = None
    if name == "ode_adaptive":
        grid = None
    else:
        grid, m = sampler_grid(sde, name, steps, spacing, t_min)
    if name == "ddim":
        eta = 0.0 if eta is None else eta
        m = DDIM(eta)
        problem = sde.reverse(den) if m.eta > 0 else sde.probability_flow(den)
    elif name.startswith("sde_dpmpp"):
        m = SDEDPMSolverPP(int(name[-2]), 0.5 if eta is None else eta)
        problem = sde.reverse(den)
    else:
        if eta is not None:
            raise InputError(f"eta= is a setting of ddim and sde_dpmpp_2m/3m; method {name!r} does not take it.")
        problem = sde.reverse(den) if SAMPLERS[name][0] == "reverse" else sde.probability_flow(den)
        if name == "pc":
            m = PredictorCorrector(snr=snr, skip=m.skip)
        elif m is None and name != "ode_adaptive":
            m = name
    if isinstance(seed, torch.Generator):
        prior_seed, solve_seed = seed, seed
    elif seed is None:
        prior_seed = solve_seed = None
    else:
        a, b = child_seeds(int(seed), 2)
        prior_seed, solve_seed = int(a.generate_state(1)[0]), int(b.generate_state(1)[0])
    if x_T is None:
        x = sde.prior(shape, seed=prior_seed, device=device, dtype=dtype)
    else:
        if not isinstance(x_T, torch.Tensor) or tuple(x_T.shape) != shape:
            raise InputError(f"x_T must be a tensor of shape {shape}.")
        x = x_T
    with torch.no_grad():
        if name == "ode_adaptive":
            sol = solve(problem, x, (sde.T, sde.t_min), method="dopri5", rtol=rtol, atol=atol,
                        progress=progress)
            x1 = sol.y[-1]
            out = sde.alpha(0.0) * den.x0(sde.t_min, x1)         # the last step: to sigma = 0
            sol.stats.nfe += 1
            if return_trajectory:
                return _append(sol, out)
            return out
        sol = solve(problem, x, (float(grid[0]), float(grid[-1])), grid=grid, method=m, seed=solve_seed,
                    save_at=grid if return_trajectory else None, progress=progress)
    if return_trajectory:
        return sol
    return sol.y[-1]


def _append(sol, x):
    from simdiff.core.solution import Solution

    t = np.concatenate([np.asarray(sol.t), [0.0]])
    y = torch.cat([sol.y, x[None]]) if isinstance(sol.y, torch.Tensor) else torch.stack([*sol.y, x])
    return Solution(t=t, y=y, stats=sol.stats)
