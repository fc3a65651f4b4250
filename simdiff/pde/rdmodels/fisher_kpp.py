"""Fisher–KPP: logistic growth with diffusion; fronts travel at 2 sqrt(D r)."""
from __future__ import annotations

import numba as nb
import numpy as np

from simdiff.core.kernels import KERNEL_SIG
from simdiff.pde.reaction_diffusion import ReactionDiffusion, rd_diffuse, rd_inside, rd_masked, rd_params


@nb.njit(KERNEL_SIG, cache=True)
def fisher_kpp_kernel(t, y, out, p, ip):
    s = rd_diffuse(t, y, out, p, ip)
    r = p[rd_params(p, ip)]
    masked = rd_masked(ip)
    for c in range(y.size):
        if not masked or rd_inside(ip, c):
            u = y[c]
            out[c] += s * r * u * (1.0 - u)


class FisherKPP(ReactionDiffusion):
    r"""Fisher–KPP: :math:`u_t = D\nabla^2 u + r u (1 - u)`; ``r`` >= 0 is the growth rate (1/time).

    A front invading u = 0 moves at the minimal speed :math:`c^* = 2\sqrt{D r}` (Kolmogorov,
    Petrovsky & Piskunov 1937).
    """

    name = "fisher-kpp"
    species = ("u",)
    parameters = {"r": 1.0}
    ranges = {"r": (0.0, 1e6)}
    diffusivity = {"u": 1.0}
    extent = 200.0
    t_end = 40.0
    nonnegative = True
    kernel = fisher_kpp_kernel
    description = "logistic invasion fronts at speed 2 sqrt(D r)"
    presets = {"front": {"r": 1.0, "description": "a front moving into empty space"}}

    @staticmethod
    def reaction_numpy(y, r):
        (u,) = y
        return (r * u * (1 - u),)

    def steady_state(self):
        return np.array([1.0])

    def seed(self, grid, u, rng, amplitude):
        """Occupied (u = 1) in the first tenth of axis x, empty elsewhere."""
        x = grid.mesh()[0]
        return np.where(x < grid.lo[0] + 0.1 * grid.lengths[0], 1.0, 0.0)[None].astype(float)
