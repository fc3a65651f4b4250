"""Gray–Scott autocatalysis (Gray & Scott 1984; patterns: Pearson, Science 261, 1993)."""
from __future__ import annotations

import numba as nb
import numpy as np

from simdiff.core.kernels import KERNEL_SIG
from simdiff.pde.reaction_diffusion import ReactionDiffusion, rd_diffuse, rd_inside, rd_masked, rd_params


@nb.njit(KERNEL_SIG, cache=True)
def gray_scott_kernel(t, y, out, p, ip):
    s = rd_diffuse(t, y, out, p, ip)
    n = y.size // 2
    q = rd_params(p, ip)
    F, k = p[q], p[q + 1]
    masked = rd_masked(ip)
    for c in range(n):
        if not masked or rd_inside(ip, c):
            u = y[c]
            v = y[n + c]
            uvv = u * v * v
            out[c] += s * (-uvv + F * (1.0 - u))
            out[n + c] += s * (uvv - (F + k) * v)


class GrayScott(ReactionDiffusion):
    r"""Gray–Scott: :math:`u_t = D_u\nabla^2 u - uv^2 + F(1-u)`, :math:`v_t = D_v\nabla^2 v + uv^2 - (F+k)v`.

    ``F`` (feed) and ``k`` (kill) are rates in 1/time, in [0, 0.1] here; ``D_u = 2e-5``,
    ``D_v = 1e-5`` on a 2.5 x 2.5 box as in Pearson (1993), whose pattern classes the presets name.
    """

    name = "gray-scott"
    species = ("u", "v")
    parameters = {"F": 0.04, "k": 0.06}
    ranges = {"F": (0.0, 0.1), "k": (0.0, 0.1)}
    diffusivity = {"u": 2e-5, "v": 1e-5}
    extent = 2.5
    t_end = 10_000.0
    nonnegative = True
    kernel = gray_scott_kernel
    description = "feed/kill autocatalysis: spots, stripes, mazes, mitosis, coral, waves"
    presets = {
        "spots": {"F": 0.035, "k": 0.065, "description": "isolated self-replicating spots"},
        "stripes": {"F": 0.022, "k": 0.051, "description": "parallel stripes"},
        "mazes": {"F": 0.029, "k": 0.057, "description": "labyrinthine maze"},
        "mitosis": {"F": 0.0367, "k": 0.0649, "description": "spots that divide like cells"},
        "coral": {"F": 0.0545, "k": 0.062, "description": "branching coral growth"},
        "waves": {"F": 0.010, "k": 0.047, "description": "chaotic travelling wave fragments (Pearson's alpha)"},
        "worms": {"F": 0.058, "k": 0.065, "description": "worm-like segments that grow longer"},
        "holes": {"F": 0.039, "k": 0.058, "description": "holes in a uniform sheet"},
    }

    @staticmethod
    def reaction_numpy(y, F, k):
        u, v = y
        uvv = u * v * v
        return -uvv + F * (1 - u), uvv - (F + k) * v

    def steady_state(self):
        return np.array([1.0, 0.0])

    def seed(self, grid, u, rng, amplitude):
        """Pearson's start: u = 1, v = 0, with a central square at u = 1/2, v = 1/4, plus noise."""
        X = grid.mesh()
        box = np.ones(grid.shape, bool)
        for a, x in enumerate(X):
            mid = 0.5 * (grid.lo[a] + grid.hi[a])
            box &= np.abs(x - mid) < 0.1 * grid.lengths[a]
        out = np.stack([np.where(box, 0.5, 1.0), np.where(box, 0.25, 0.0)])
        return out + amplitude * rng.standard_normal(out.shape)
