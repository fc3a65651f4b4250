"""The two-variable Oregonator (Field & Noyes 1974; Tyson & Fife 1980): the Belousov–Zhabotinsky
reaction's oscillations and target/spiral waves."""
from __future__ import annotations

import numba as nb
import numpy as np

from simdiff.core.kernels import KERNEL_SIG
from simdiff.pde.reaction_diffusion import ReactionDiffusion, rd_diffuse, rd_inside, rd_masked, rd_params


@nb.njit(KERNEL_SIG, cache=True)
def oregonator_kernel(t, y, out, p, ip):
    s = rd_diffuse(t, y, out, p, ip)
    n = y.size // 2
    q = rd_params(p, ip)
    eps, f, qq = p[q], p[q + 1], p[q + 2]
    masked = rd_masked(ip)
    for c in range(n):
        if not masked or rd_inside(ip, c):
            u = y[c]
            v = y[n + c]
            out[c] += s * (u * (1.0 - u) - f * v * (u - qq) / (u + qq)) / eps
            out[n + c] += s * (u - v)


class Oregonator(ReactionDiffusion):
    r"""Oregonator (Tyson–Fife form): :math:`u_t = D_u\nabla^2 u + \frac{1}{\varepsilon}\left[u(1-u) - f v \frac{u-q}{u+q}\right]`,
    :math:`v_t = D_v\nabla^2 v + u - v`.

    ``u`` is HBrO2 (activator), ``v`` the oxidised catalyst; ``eps`` > 0 small (stiff), ``q`` > 0
    small, ``f`` the stoichiometric factor: the homogeneous system oscillates for f in about
    (0.5, 2.4) at small q.
    """

    name = "oregonator"
    species = ("u", "v")
    parameters = {"eps": 0.05, "f": 1.0, "q": 0.002}
    ranges = {"eps": (1e-9, 10.0), "f": (0.0, 10.0), "q": (1e-12, 1.0)}
    diffusivity = {"u": 1.0, "v": 0.6}
    extent = 100.0
    t_end = 50.0
    nonnegative = True
    kernel = oregonator_kernel
    description = "Belousov–Zhabotinsky oscillations, target and spiral waves"
    presets = {
        "oscillation": {"f": 1.0, "description": "homogeneous relaxation oscillation"},
        "excitable": {"f": 2.5, "description": "excitable medium: trigger waves"},
    }

    @staticmethod
    def reaction_numpy(y, eps, f, q):
        u, v = y
        return (u * (1 - u) - f * v * (u - q) / (u + q)) / eps, u - v

    def steady_state(self):
        """The positive root of u(1-u) = f u (u-q)/(u+q) with v = u."""
        f, q = self.f, self.q
        # u(1-u)(u+q) = f u (u - q)  ->  u^2 + (f + q - 1) u - q (1 + f) = 0 for u != 0
        bq = f + q - 1
        u = 0.5 * (-bq + np.sqrt(bq * bq + 4 * q * (1 + f)))
        return np.array([u, u])
