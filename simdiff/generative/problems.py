r"""The reverse-time SDE and the probability-flow ODE as problems of the core solver.

Both carry their forward process (``.sde``) and their :class:`~simdiff.generative.Denoiser`
(``.denoiser``), and their linear part is the process's :class:`~simdiff.generative.sde.Schedule`
:math:`f(t) I`. So every core method runs on them — ``euler_maruyama`` on the reverse SDE, ``heun``,
``rk4``, ``dopri5`` or ``etdrk2`` on the flow — and the diffusion samplers (``ddim``, ``dpmpp_2m``,
...) are core methods that read :math:`\alpha(t), \sigma(t)` from the schedule and call the
denoiser through ``ev.denoise`` (counted as one network evaluation).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simdiff.core.problem import ODE, SDE

__all__ = ["FlowODE", "ReverseSDE", "flow_ode", "reverse_sde"]


@dataclass(frozen=True, eq=False)
class FlowODE(ODE):
    """:math:`\\dot x = f(t)x - \\tfrac12 g(t)^2\\,\\nabla\\log p_t(x)`; ``rhs`` is the score term."""

    sde: Any = None
    denoiser: Any = None


@dataclass(frozen=True, eq=False)
class ReverseSDE(SDE):
    """:math:`dx = [f(t)x - g(t)^2\\,\\nabla\\log p_t(x)]\\,dt + g(t)\\,d\\bar W` from ``T`` down to 0."""

    sde: Any = None
    denoiser: Any = None


def flow_ode(sde, denoiser) -> FlowODE:
    def rhs(t, x):
        return (-0.5 * sde.g2(t)) * denoiser.score(t, x)

    rhs.__name__ = "probability_flow"
    return FlowODE(rhs=rhs, linear=sde.linear, sde=sde, denoiser=denoiser)


def reverse_sde(sde, denoiser) -> ReverseSDE:
    def drift(t, x):
        return (-sde.g2(t)) * denoiser.score(t, x)

    def diffusion(t, x):
        return sde.g(t)

    drift.__name__ = "reverse_drift"
    return ReverseSDE(drift=drift, diffusion=diffusion, noise="additive", linear=sde.linear, sde=sde, denoiser=denoiser)
