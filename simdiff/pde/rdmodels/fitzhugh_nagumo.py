"""FitzHugh–Nagumo excitable medium (FitzHugh 1961; Nagumo et al. 1962): pulses and spirals."""
from __future__ import annotations

import numba as nb
import numpy as np

from simdiff.core.kernels import KERNEL_SIG
from simdiff.pde.reaction_diffusion import ReactionDiffusion, rd_diffuse, rd_inside, rd_masked, rd_params


@nb.njit(KERNEL_SIG, cache=True)
def fitzhugh_nagumo_kernel(t, y, out, p, ip):
    s = rd_diffuse(t, y, out, p, ip)
    n = y.size // 2
    q = rd_params(p, ip)
    a, b, eps, I = p[q], p[q + 1], p[q + 2], p[q + 3]
    masked = rd_masked(ip)
    for c in range(n):
        if not masked or rd_inside(ip, c):
            u = y[c]
            v = y[n + c]
            out[c] += s * (u - u * u * u / 3.0 - v + I)
            out[n + c] += s * eps * (u + a - b * v)


class FitzHughNagumo(ReactionDiffusion):
    r"""FitzHugh–Nagumo: :math:`u_t = D_u\nabla^2 u + u - u^3/3 - v + I`,
    :math:`v_t = D_v\nabla^2 v + \varepsilon(u + a - b v)`.

    ``u`` is the fast (voltage-like) variable, ``v`` the slow recovery; ``eps`` > 0 the time-scale
    ratio. With ``I = 0`` the medium is excitable: a strong enough kick sends out a pulse, and a
    broken wave front curls into a spiral.
    """

    name = "fitzhugh-nagumo"
    species = ("u", "v")
    parameters = {"a": 0.7, "b": 0.8, "eps": 0.08, "I": 0.0}
    ranges = {"a": (-10.0, 10.0), "b": (0.0, 10.0), "eps": (1e-9, 10.0), "I": (-10.0, 10.0)}
    diffusivity = {"u": 1.0, "v": 0.0}
    extent = 200.0
    t_end = 400.0
    kernel = fitzhugh_nagumo_kernel
    description = "excitable medium: travelling pulses and rotating spirals"
    presets = {
        "spiral": {"eps": 0.04, "description": "a broken wave front that curls into a rotating spiral"},
        "pulse": {"description": "a single excitation pulse travelling outwards"},
    }

    @staticmethod
    def reaction_numpy(y, a, b, eps, I):
        u, v = y
        return u - u ** 3 / 3 - v + I, eps * (u + a - b * v)

    def steady_state(self):
        """The rest state: the real root of u - u^3/3 - (u + a)/b + I = 0."""
        a, b, I = self.a, self.b, self.I
        roots = np.roots([-1 / 3, 0.0, 1 - 1 / b, I - a / b])
        u = float(np.real(roots[np.argmin(np.abs(roots.imag))]))
        return np.array([u, (u + a) / b])

    def seed(self, grid, u, rng, amplitude):
        """A spiral seed in 2D (an excited half-line with a refractory band behind it); a kick at
        one end otherwise."""
        out = u.copy()
        X = grid.mesh()
        x = X[0]
        x0 = grid.lo[0] + 0.5 * grid.lengths[0]
        if grid.ndim >= 2:
            y = X[1]
            y0 = grid.lo[1] + 0.5 * grid.lengths[1]
            front = (np.abs(x - x0) < 0.03 * grid.lengths[0]) & (y > y0)
            back = (x < x0 - 0.03 * grid.lengths[0]) & (x > x0 - 0.15 * grid.lengths[0]) & (y > y0)
            out[0] = np.where(front, 2.0, out[0])
            out[1] = np.where(back, 1.5, out[1])
        else:
            out[0] = np.where(x < grid.lo[0] + 0.05 * grid.lengths[0], 2.0, out[0])
        return out + amplitude * rng.standard_normal(out.shape)
