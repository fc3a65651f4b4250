r"""The phi functions of exponential integrators.

.. math:: \varphi_0(z) = e^z, \qquad \varphi_{k+1}(z) = \frac{\varphi_k(z) - 1/k!}{z},
          \qquad \varphi_k(0) = 1/k!.

Evaluated directly, :math:`\varphi_k` loses every digit near :math:`z = 0` to cancellation. Following
Kassam & Trefethen (SIAM J. Sci. Comput. 26, 2005), for :math:`|z| < 1` we average the direct
formula over a circle of radius 1 around :math:`z` (the trapezoid rule on an analytic function,
exact to round-off with 32 points); farther out the direct formula is accurate. So every
eigenvalue, stiff or near zero, gets full precision.
"""
from __future__ import annotations

import math

import numpy as np

_M = 32
_CIRCLE = np.exp(2j * np.pi * (np.arange(_M) + 0.5) / _M)


def _direct(z: np.ndarray, kmax: int) -> list[np.ndarray]:
    out = [np.exp(z)]
    for k in range(kmax):
        out.append((out[-1] - 1.0 / math.factorial(k)) / z)
    return out


def phi(z, kmax: int) -> list[np.ndarray]:
    """``[phi_0(z), ..., phi_kmax(z)]`` for a scalar or array ``z`` (real or complex)."""
    z = np.asarray(z)
    real = not np.iscomplexobj(z)
    zc = z.astype(complex)
    small = np.abs(zc) < 1.0
    res = [np.empty_like(zc) for _ in range(kmax + 1)]
    big = ~small
    if big.any():
        for r, v in zip(res, _direct(zc[big], kmax)):
            r[big] = v
    if small.any():
        w = zc[small][..., None] + _CIRCLE
        for r, v in zip(res, _direct(w, kmax)):
            r[small] = v.mean(axis=-1)
    if real:
        return [r.real for r in res]
    return res
