r"""Forward processes of score-based diffusion: VP, sub-VP and VE SDEs and the discrete DDPM chain.

Every forward process here is linear with a Gaussian perturbation kernel,

.. math:: q(x_t \mid x_0) = \mathcal N(\alpha(t)\,x_0,\ \sigma(t)^2 I),

so a process is fixed by two functions :math:`\alpha(t)` and :math:`\sigma(t)` with
:math:`\alpha(0) = 1`, :math:`\sigma(0) = 0`. Its SDE is :math:`dx = f(t)\,x\,dt + g(t)\,dW` with
:math:`f = d\log\alpha/dt` and :math:`g^2 = d\sigma^2/dt - 2 f \sigma^2`, the log signal-to-noise
ratio is :math:`\lambda(t) = \log(\alpha/\sigma)`, and every sampler in
:mod:`simdiff.generative.samplers` needs only these.

============  ==========================================================  =======================
process       :math:`\alpha(t)`                                           :math:`\sigma(t)`
============  ==========================================================  =======================
VPSDE         :math:`e^{-\frac12\int_0^t\beta}`, linear :math:`\beta`     :math:`\sqrt{1-\alpha^2}`
SubVPSDE      same                                                        :math:`1-\alpha^2`
VESDE         1                                                           :math:`\sigma_{\min}\sqrt{r^{2t}-1}`,
                                                                          :math:`r=\sigma_{\max}/\sigma_{\min}`
DDPMChain     :math:`\sqrt{\bar\alpha_n}` at :math:`t = n/T`              :math:`\sqrt{1-\bar\alpha_n}`
============  ==========================================================  =======================

(Song et al., ICLR 2021, for the SDEs — the VE variance here is the exact one from a clean start,
:math:`\sigma_{\min}^2(r^{2t}-1)`; Ho et al. 2020 and Nichol & Dhariwal 2021 for the linear and
cosine DDPM chains.) Between the chain's times, :math:`\log\alpha` is interpolated linearly, so
continuous-time samplers run on a chain too.

Scalars are Python floats (the solver's step times); tensors of times (training) give tensors.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from simdiff.core.linear import ScalarOfTime
from simdiff.errors import InputError, InputTypeError

__all__ = ["DiffusionSDE", "VPSDE", "SubVPSDE", "VESDE", "DDPMChain", "SPACINGS"]

SPACINGS = ("time", "log_snr", "karras", "quadratic")


def _is_tensor(t) -> bool:
    return isinstance(t, torch.Tensor)


def _pos(name: str, value, strict=True) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputTypeError(f"{name}={value!r}: pass a number.") from None
    if not math.isfinite(v) or v < 0 or (strict and v == 0):
        raise InputError(f"{name}={value!r} must be a finite number {'> 0' if strict else '>= 0'}.")
    return v


class Schedule(ScalarOfTime):
    """The linear part :math:`f(t)\\,I` of a forward process, with the process attached.

    Sampler methods of the core (``ddim``, ``dpmpp_2m``, ...) require this linear part: it is how a
    problem tells them its :math:`\\alpha(t)` and :math:`\\sigma(t)`.
    """

    diagonalisable = True

    def __init__(self, sde: "DiffusionSDE"):
        self.sde = sde
        super().__init__(sde.f, lambda t0, t1: sde.log_alpha(t1) - sde.log_alpha(t0))


class DiffusionSDE:
    """Base class: subclasses define ``log_alpha(t)`` and ``sigma(t)`` (and may override the rest).

    Attributes ``T`` (the end of the forward process), ``t_min`` (the smallest time a sampler
    evaluates the model at, and the lower end of training times) and ``prior_std``.
    """

    T: float = 1.0
    t_min: float = 1e-3
    name = "sde"

    # -- the two functions --------------------------------------------------------------------
    def log_alpha(self, t):
        raise NotImplementedError(f"{type(self).__name__} must define log_alpha(t) (a DiffusionSDE subclass "
                                  f"defines log_alpha and sigma)")

    def sigma(self, t):
        raise NotImplementedError(f"{type(self).__name__} must define sigma(t) (a DiffusionSDE subclass "
                                  f"defines log_alpha and sigma)")

    def alpha(self, t):
        la = self.log_alpha(t)
        return torch.exp(la) if _is_tensor(la) else math.exp(la)

    def alpha_sigma(self, t) -> tuple[Any, Any]:
        return self.alpha(t), self.sigma(t)

    def marginal(self, t) -> tuple[Any, Any]:
        """Mean coefficient and standard deviation of :math:`q(x_t | x_0)`: ``(alpha(t), sigma(t))``."""
        return self.alpha_sigma(t)

    def log_snr(self, t):
        """:math:`\\lambda(t) = \\log\\alpha(t) - \\log\\sigma(t)` (``+inf`` at ``t = 0``)."""
        s = self.sigma(t)
        if _is_tensor(s):
            return self.log_alpha(t) - torch.log(s)
        return self.log_alpha(t) - math.log(s) if s > 0 else math.inf

    def t_of_log_snr(self, lam) -> np.ndarray:
        """Inverse of :meth:`log_snr` (vectorised bisection; subclasses give closed forms)."""
        lam = np.asarray(lam, dtype=float)
        lo = np.full(lam.shape, 0.0)
        hi = np.full(lam.shape, float(self.T))
        f = np.vectorize(lambda s: self.log_snr(float(s)))
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            up = f(mid) > lam            # log-SNR decreases with t: still too early
            lo = np.where(up, mid, lo)
            hi = np.where(up, hi, mid)
        return 0.5 * (lo + hi)

    # -- the SDE coefficients ----------------------------------------------------------------------
    def f(self, t) -> float:
        """Drift coefficient :math:`d\\log\\alpha/dt` (numerical derivative unless overridden)."""
        h = 1e-6 * max(1.0, abs(t))
        a, b = max(t - h, 0.0), min(t + h, self.T)
        return (self.log_alpha(b) - self.log_alpha(a)) / (b - a)

    def g2(self, t) -> float:
        """Squared diffusion coefficient :math:`d\\sigma^2/dt - 2 f \\sigma^2`."""
        h = 1e-6 * max(1.0, abs(t))
        a, b = max(t - h, 0.0), min(t + h, self.T)
        ds2 = (self.sigma(b) ** 2 - self.sigma(a) ** 2) / (b - a)
        return ds2 - 2.0 * self.f(t) * self.sigma(t) ** 2

    def g(self, t) -> float:
        return math.sqrt(max(self.g2(t), 0.0))

    @property
    def linear(self) -> Schedule:
        lin = self.__dict__.get("_linear")
        if lin is None:
            lin = self.__dict__["_linear"] = Schedule(self)
        return lin

    # -- noising and the prior ----------------------------------------------------------------------
    def noise(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor | None = None,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw :math:`x_t \\sim q(x_t|x_0)` for a batch: returns ``(x_t, eps)`` with
        :math:`x_t = \\alpha(t) x_0 + \\sigma(t)\\,\\epsilon`. ``t`` is a tensor of shape ``(batch,)``."""
        if not _is_tensor(x0):
            raise InputTypeError("x0 must be a torch tensor of shape (batch, ...).")
        t = torch.as_tensor(t, dtype=x0.dtype, device=x0.device).reshape(-1)
        if t.numel() == 1:
            t = t.expand(x0.shape[0])
        if t.shape[0] != x0.shape[0]:
            raise InputError(f"t has {t.shape[0]} times for a batch of {x0.shape[0]}; pass one time per sample.")
        if eps is None:
            eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
        a, s = self.alpha_sigma(t)
        shape = (-1,) + (1,) * (x0.dim() - 1)
        return a.reshape(shape) * x0 + s.reshape(shape) * eps, eps

    def sample_time(self, n: int, generator: torch.Generator | None = None, device=None,
                    dtype=torch.float32) -> torch.Tensor:
        """Training times: uniform on ``[t_min, T]`` (a chain overrides: uniform over its steps)."""
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        return (self.t_min + (self.T - self.t_min) * u).to(dtype)

    @property
    def prior_std(self) -> float:
        return float(self.sigma(self.T))

    def prior(self, shape, seed: Any = None, device=None, dtype=torch.float32) -> torch.Tensor:
        """Samples of the prior :math:`N(0, \\sigma(T)^2 I)` (the data term :math:`\\alpha(T) x_0` is
        negligible by construction)."""
        gen = _generator(seed, device)
        return self.prior_std * torch.randn(tuple(shape), generator=gen, device=device, dtype=dtype)

    def prior_logp(self, x: torch.Tensor) -> torch.Tensor:
        """Log density of the prior per sample (summed over all but the first axis)."""
        s = self.prior_std
        d = x[0].numel()
        return -0.5 * (x.reshape(x.shape[0], -1) ** 2).sum(1) / s ** 2 - d * (math.log(s) + 0.5 * math.log(2 * math.pi))

    # -- problems for the core solver ------------------------------------------------------------
    def forward(self):
        """The forward SDE :math:`dx = f(t) x\\,dt + g(t)\\,dW` as a :class:`simdiff.SDE`."""
        from simdiff.core.problem import SDE

        return SDE(drift=lambda t, x: self.f(t) * x, diffusion=lambda t, x: self.g(t), noise="additive")

    def reverse(self, denoiser):
        """The reverse-time SDE :math:`dx = [f x - g^2 \\nabla\\log p_t]\\,dt + g\\,d\\bar W` (solve
        it from ``T`` to 0)."""
        from simdiff.generative.problems import reverse_sde

        return reverse_sde(self, denoiser)

    def probability_flow(self, denoiser):
        """The probability-flow ODE :math:`\\dot x = f x - \\tfrac12 g^2 \\nabla\\log p_t`."""
        from simdiff.generative.problems import flow_ode

        return flow_ode(self, denoiser)

    # -- time grids ------------------------------------------------------------------------------
    def grid(self, steps: int, spacing: str = "log_snr", t_min: float | None = None, rho: float = 7.0) -> np.ndarray:
        """Sampler times: ``steps`` evaluation times from ``T`` down to ``t_min``, then 0.

        Every grid is strictly decreasing and ends at ``t = 0`` (:math:`\\sigma = 0`, the data),
        so a method that evaluates the model at the start of each interval spends ``steps``
        evaluations. Spacings: ``"time"`` (uniform in t), ``"quadratic"`` (uniform in
        :math:`\\sqrt t`), ``"log_snr"`` (uniform in :math:`\\lambda`), ``"karras"`` (uniform in
        :math:`\\tilde\\sigma^{1/\\rho}`, :math:`\\tilde\\sigma = \\sigma/\\alpha`, Karras et al. 2022).
        """
        n = _steps(steps)
        t_min = self.t_min if t_min is None else _pos("t_min", t_min)
        if not t_min < self.T:
            raise InputError(f"t_min={t_min:g} must be below T={self.T:g}.")
        if spacing not in SPACINGS:
            raise InputError(f"spacing={spacing!r} is not a grid spacing; use one of {', '.join(SPACINGS)}.")
        if n == 1:
            ts = np.array([self.T])
        elif spacing == "time":
            ts = np.linspace(self.T, t_min, n)
        elif spacing == "quadratic":
            ts = np.linspace(math.sqrt(self.T), math.sqrt(t_min), n) ** 2
        else:
            l0, l1 = self.log_snr(float(self.T)), self.log_snr(float(t_min))
            if spacing == "log_snr":
                lam = np.linspace(l0, l1, n)
            else:
                s0, s1 = math.exp(-l0), math.exp(-l1)
                lam = -rho * np.log(np.linspace(s0 ** (1 / rho), s1 ** (1 / rho), n))
            ts = self.t_of_log_snr(lam)
            ts[0], ts[-1] = self.T, t_min
        ts = self._snap(ts)
        return np.concatenate([ts, [0.0]])

    def _snap(self, ts: np.ndarray) -> np.ndarray:
        return ts

    def to_dict(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must define to_dict() to be saved in a checkpoint")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"{type(self).__name__}({args})"


def _steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise InputTypeError(f"steps={steps!r}: pass a whole number of network evaluations >= 1.")
    if steps < 1:
        raise InputError(f"steps={steps} must be >= 1 (it is the number of network evaluations).")
    return int(steps)


def _generator(seed, device=None):
    if seed is None:
        return None
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed={seed!r}: pass a whole number >= 0 or a torch.Generator.")
    gen = torch.Generator(device=device if device is not None else "cpu")
    gen.manual_seed(int(seed))
    return gen


class VPSDE(DiffusionSDE):
    """Variance-preserving SDE with linear :math:`\\beta(t) = \\beta_{\\min} + t(\\beta_{\\max}-\\beta_{\\min})`."""

    name = "vp"

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, T: float = 1.0, t_min: float = 1e-3):
        self.beta_min = _pos("beta_min", beta_min, strict=False)
        self.beta_max = _pos("beta_max", beta_max)
        if self.beta_max < self.beta_min:
            raise InputError(f"beta_max={beta_max} must be >= beta_min={beta_min}.")
        self.T = _pos("T", T)
        self.t_min = _pos("t_min", t_min)

    def _int_beta(self, t):
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t

    def beta(self, t):
        return self.beta_min + (self.beta_max - self.beta_min) * t

    def log_alpha(self, t):
        return -0.5 * self._int_beta(t)

    def _sigma_from_log_alpha(self, la):
        if _is_tensor(la):
            return torch.sqrt(-torch.expm1(2 * la))
        return math.sqrt(-math.expm1(2 * la))

    def sigma(self, t):
        return self._sigma_from_log_alpha(self.log_alpha(t))

    def f(self, t):
        return -0.5 * self.beta(t)

    def g2(self, t):
        return self.beta(t)

    def t_of_log_snr(self, lam):
        lam = np.asarray(lam, dtype=float)
        B = np.logaddexp(0.0, -2.0 * lam)             # int beta = log(1 + e^{-2 lambda})
        d = self.beta_max - self.beta_min
        if d == 0:
            return B / self.beta_min
        return 2 * B / (self.beta_min + np.sqrt(self.beta_min ** 2 + 2 * d * B))

    def to_dict(self) -> dict:
        return {"type": "VPSDE", "beta_min": self.beta_min, "beta_max": self.beta_max, "T": self.T, "t_min": self.t_min}


class SubVPSDE(VPSDE):
    """Sub-VP SDE: the VP drift with :math:`g^2 = \\beta(t)(1 - e^{-2\\int\\beta})`, :math:`\\sigma = 1-\\alpha^2`."""

    name = "subvp"

    def _sigma_from_log_alpha(self, la):
        return -torch.expm1(2 * la) if _is_tensor(la) else -math.expm1(2 * la)

    def g2(self, t):
        return self.beta(t) * -math.expm1(-2.0 * self._int_beta(t))

    def t_of_log_snr(self, lam):
        # alpha / (1 - alpha^2) = e^lambda: solve the quadratic for alpha, then invert int beta
        lam = np.asarray(lam, dtype=float)
        e = np.exp(-lam)
        a = 2.0 / (e + np.sqrt(e * e + 4.0))          # root of a^2 + e a - 1 = 0, written stably
        lam_vp = np.log(a) - 0.5 * np.log1p(-a * a)
        return VPSDE.t_of_log_snr(self, lam_vp)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "type": "SubVPSDE"}


class VESDE(DiffusionSDE):
    """Variance-exploding SDE: :math:`\\alpha = 1`, :math:`\\sigma^2 = \\sigma_{\\min}^2 (r^{2t} - 1)`,
    :math:`g^2 = 2\\log r\\,\\sigma_{\\min}^2 r^{2t}` with :math:`r = \\sigma_{\\max}/\\sigma_{\\min}`."""

    name = "ve"

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0, T: float = 1.0, t_min: float = 1e-5):
        self.sigma_min = _pos("sigma_min", sigma_min)
        self.sigma_max = _pos("sigma_max", sigma_max)
        if self.sigma_max <= self.sigma_min:
            raise InputError(f"sigma_max={sigma_max} must be > sigma_min={sigma_min}.")
        self.T = _pos("T", T)
        self.t_min = _pos("t_min", t_min)
        self._logr = math.log(self.sigma_max / self.sigma_min)

    def log_alpha(self, t):
        return torch.zeros_like(t) if _is_tensor(t) else 0.0

    def sigma(self, t):
        if _is_tensor(t):
            return self.sigma_min * torch.sqrt(torch.expm1(2 * self._logr * t))
        return self.sigma_min * math.sqrt(math.expm1(2 * self._logr * t))

    def f(self, t):
        return 0.0

    def g2(self, t):
        return 2 * self._logr * self.sigma_min ** 2 * math.exp(2 * self._logr * t)

    def t_of_log_snr(self, lam):
        s = np.exp(-np.asarray(lam, dtype=float)) / self.sigma_min
        return np.log1p(s * s) / (2 * self._logr)

    def to_dict(self) -> dict:
        return {"type": "VESDE", "sigma_min": self.sigma_min, "sigma_max": self.sigma_max, "T": self.T, "t_min": self.t_min}


class DDPMChain(DiffusionSDE):
    """The discrete DDPM forward chain :math:`q(x_n|x_{n-1}) = N(\\sqrt{1-\\beta_n} x_{n-1}, \\beta_n I)`.

    ``schedule="linear"``: :math:`\\beta_n` from ``beta_start`` to ``beta_end`` (Ho et al.; scaled by
    1000/T so other chain lengths keep the same end points); ``"cosine"``: Nichol & Dhariwal's
    :math:`\\bar\\alpha(t) \\propto \\cos^2(\\frac{t+s}{1+s}\\frac\\pi2)`, :math:`\\beta \\le 0.999`.
    Step ``n`` sits at time ``t = n / T`` (so a model sees times in (0, 1] like the SDEs'); sampler
    grids are snapped onto those times, strictly decreasing.
    """

    name = "ddpm"

    def __init__(self, steps: int = 1000, schedule: str = "linear", beta_start: float = 1e-4,
                 beta_end: float = 0.02, cosine_s: float = 0.008, betas=None):
        if betas is not None:
            b = np.asarray(betas, dtype=float).reshape(-1)
            if b.size < 1 or not np.all((b > 0) & (b < 1)):
                raise InputError("betas must be numbers in (0, 1).")
            schedule = "custom"
        else:
            n = _steps(steps)
            if schedule == "linear":
                scale = 1000.0 / n
                b = np.linspace(scale * _pos("beta_start", beta_start), scale * _pos("beta_end", beta_end), n)
                if b[-1] >= 1:
                    raise InputError(f"beta_end={beta_end} scaled to {n} steps reaches {b[-1]:g} >= 1; use more steps.")
            elif schedule == "cosine":
                s = _pos("cosine_s", cosine_s)
                tt = np.arange(n + 1) / n
                ab = np.cos((tt + s) / (1 + s) * math.pi / 2) ** 2
                b = np.clip(1.0 - ab[1:] / ab[:-1], 0.0, 0.999)
            else:
                raise InputError(f"schedule={schedule!r}: use 'linear' or 'cosine'.")
        self.schedule = schedule
        self.betas = b
        self.n_steps = b.size
        self.beta_start, self.beta_end, self.cosine_s = beta_start, beta_end, cosine_s
        self.T = 1.0
        self.t_min = 1.0 / self.n_steps
        self._la = np.concatenate([[0.0], 0.5 * np.cumsum(np.log1p(-b))])   # log alpha at t = n/T
        self._t = np.arange(self.n_steps + 1) / self.n_steps
        self._la_t = torch.from_numpy(self._la)

    @classmethod
    def from_sde(cls, sde: VPSDE, steps: int) -> "DDPMChain":
        """The chain whose :math:`\\bar\\alpha_n` equals the SDE's :math:`\\alpha(n/T)^2` (the chain
        with :math:`1-\\beta_n = \\bar\\alpha_n/\\bar\\alpha_{n-1}`; it converges to the SDE as steps grow)."""
        n = _steps(steps)
        la = np.array([sde.log_alpha(k / n * sde.T) for k in range(n + 1)])
        return cls(betas=-np.expm1(2 * np.diff(la)))

    @property
    def alphas_cumprod(self) -> np.ndarray:
        """:math:`\\bar\\alpha_n` for n = 1..T (diffusers' ``alphas_cumprod``)."""
        return np.exp(2 * self._la[1:])

    def log_alpha(self, t):
        if _is_tensor(t):
            x = t.double() * self.n_steps
            i = torch.clamp(torch.floor(x), 0, self.n_steps - 1).long()
            la = self._la_t.to(t.device)
            w = x - i
            return ((1 - w) * la[i] + w * la[i + 1]).to(t.dtype)
        return float(np.interp(t, self._t, self._la))

    def sigma(self, t):
        la = self.log_alpha(t)
        return torch.sqrt(-torch.expm1(2 * la)) if _is_tensor(la) else math.sqrt(-math.expm1(2 * la))

    def f(self, t):
        i = min(max(int(math.ceil(t * self.n_steps - 1e-9)), 1), self.n_steps)
        return (self._la[i] - self._la[i - 1]) * self.n_steps

    def t_of_log_snr(self, lam):
        # log alpha = -softplus(-2 lambda) / 2 exactly, and log alpha is piecewise linear in t
        la = -0.5 * np.logaddexp(0.0, -2.0 * np.asarray(lam, dtype=float))
        return np.interp(-la, -self._la, self._t)

    def sample_time(self, n, generator=None, device=None, dtype=torch.float32):
        k = torch.randint(1, self.n_steps + 1, (n,), generator=generator, device=device)
        return (k.double() / self.n_steps).to(dtype)

    def _snap(self, ts):
        """Onto the chain's times ``k/T``, strictly decreasing (no repeated step for any count <= T)."""
        n = ts.size
        if n > self.n_steps:
            raise InputError(f"steps={n} exceeds the chain's {self.n_steps} steps; a DDPM chain of T steps "
                             f"has at most T distinct times (use steps <= {self.n_steps}).")
        k = np.rint(ts * self.n_steps).astype(np.int64)
        k[0] = self.n_steps
        for i in range(1, n):                       # strictly decreasing from the top ...
            k[i] = min(k[i], k[i - 1] - 1)
        k[-1] = max(k[-1], 1)
        for i in range(n - 2, -1, -1):              # ... and leaving room below
            k[i] = max(k[i], k[i + 1] + 1)
        return k / self.n_steps

    def to_dict(self) -> dict:
        if self.schedule == "custom":
            return {"type": "DDPMChain", "betas": self.betas.tolist()}
        return {"type": "DDPMChain", "steps": self.n_steps, "schedule": self.schedule,
                "beta_start": self.beta_start, "beta_end": self.beta_end, "cosine_s": self.cosine_s}


def sde_from_dict(d: dict) -> DiffusionSDE:
    """Rebuild a forward process from :meth:`DiffusionSDE.to_dict`."""
    d = dict(d)
    kind = d.pop("type", None)
    classes = {"VPSDE": VPSDE, "SubVPSDE": SubVPSDE, "VESDE": VESDE, "DDPMChain": DDPMChain}
    if kind not in classes:
        raise InputError(f"unknown forward process {kind!r}; expected one of {', '.join(classes)}.")
    return classes[kind](**d)
