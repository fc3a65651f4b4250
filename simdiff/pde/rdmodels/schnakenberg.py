"""Schnakenberg activator–substrate kinetics (Schnakenberg 1979): Turing spots."""
from __future__ import annotations

import numba as nb
import numpy as np

from simdiff.core.kernels import KERNEL_SIG
from simdiff.pde.reaction_diffusion import ReactionDiffusion, rd_diffuse, rd_inside, rd_masked, rd_params


@nb.njit(KERNEL_SIG, cache=True)
def schnakenberg_kernel(t, y, out, p, ip):
    s = rd_diffuse(t, y, out, p, ip)
    n = y.size // 2
    q = rd_params(p, ip)
    a, b = p[q], p[q + 1]
    masked = rd_masked(ip)
    for c in range(n):
        if not masked or rd_inside(ip, c):
            u = y[c]
            v = y[n + c]
            uuv = u * u * v
            out[c] += s * (a - u + uuv)
            out[n + c] += s * (b - uuv)


class Schnakenberg(ReactionDiffusion):
    r"""Schnakenberg: :math:`u_t = D_u\nabla^2 u + a - u + u^2 v`, :math:`v_t = D_v\nabla^2 v + b - u^2 v`.

    Steady state :math:`(a + b,\; b/(a+b)^2)`; ``a, b`` > 0 (dimensionless).
    """

    name = "schnakenberg"
    species = ("u", "v")
    parameters = {"a": 0.1, "b": 0.9}
    ranges = {"a": (0.0, 1e3), "b": (1e-9, 1e3)}
    diffusivity = {"u": 1.0, "v": 40.0}
    extent = 100.0
    t_end = 200.0
    nonnegative = True
    kernel = schnakenberg_kernel
    description = "activator–substrate Turing spots"
    presets = {
        "spots": {"a": 0.1, "b": 0.9, "description": "hexagonal Turing spots"},
        "stripes": {"a": 0.05, "b": 1.2, "D_v": 30.0, "description": "Turing stripes"},
    }

    @staticmethod
    def reaction_numpy(y, a, b):
        u, v = y
        uuv = u * u * v
        return a - u + uuv, b - uuv

    def steady_state(self):
        a, b = self.a, self.b
        return np.array([a + b, b / (a + b) ** 2])
