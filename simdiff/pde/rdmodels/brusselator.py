"""The Brusselator (Prigogine & Lefever 1968): oscillations and Turing patterns."""
from __future__ import annotations

import numba as nb
import numpy as np

from simdiff.core.kernels import KERNEL_SIG
from simdiff.pde.reaction_diffusion import ReactionDiffusion, rd_diffuse, rd_inside, rd_masked, rd_params


@nb.njit(KERNEL_SIG, cache=True)
def brusselator_kernel(t, y, out, p, ip):
    s = rd_diffuse(t, y, out, p, ip)
    n = y.size // 2
    q = rd_params(p, ip)
    A, B = p[q], p[q + 1]
    masked = rd_masked(ip)
    for c in range(n):
        if not masked or rd_inside(ip, c):
            u = y[c]
            v = y[n + c]
            uuv = u * u * v
            out[c] += s * (A - (B + 1.0) * u + uuv)
            out[n + c] += s * (B * u - uuv)


class Brusselator(ReactionDiffusion):
    r"""Brusselator: :math:`u_t = D_u\nabla^2 u + A - (B+1)u + u^2 v`, :math:`v_t = D_v\nabla^2 v + Bu - u^2 v`.

    Steady state :math:`(A, B/A)`; homogeneous (Hopf) oscillations for :math:`B > 1 + A^2`;
    Turing patterns for :math:`B > (1 + A\sqrt{D_u/D_v})^2` when that is below the Hopf line.
    ``A, B`` > 0 (dimensionless).
    """

    name = "brusselator"
    species = ("u", "v")
    parameters = {"A": 1.0, "B": 3.0}
    ranges = {"A": (1e-9, 1e3), "B": (0.0, 1e3)}
    diffusivity = {"u": 1.0, "v": 1.0}
    extent = 64.0
    t_end = 100.0
    nonnegative = True
    kernel = brusselator_kernel
    description = "chemical oscillator: homogeneous oscillations, Turing spots and stripes"
    presets = {
        "oscillation": {"A": 1.0, "B": 3.0, "D_u": 1.0, "D_v": 1.0,
                        "description": "homogeneous limit-cycle oscillation (B > 1 + A^2)"},
        "turing": {"A": 3.0, "B": 9.0, "D_u": 1.0, "D_v": 8.0,
                   "description": "stationary Turing pattern (spots/stripes)"},
    }

    @staticmethod
    def reaction_numpy(y, A, B):
        u, v = y
        uuv = u * u * v
        return A - (B + 1) * u + uuv, B * u - uuv

    def steady_state(self):
        return np.array([self.A, self.B / self.A])
