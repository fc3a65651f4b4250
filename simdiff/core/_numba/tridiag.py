"""Batched (cyclic) tridiagonal solves along one axis of a C-ordered array: the axis solves of ADI.

Line ``m`` starts at flat index ``bases[m]`` and runs ``n`` entries with stride ``s``. Thomas'
algorithm per line; a periodic line (corner entries ``alpha`` top-right, ``beta`` bottom-left) is
solved by the Sherman–Morrison correction (Press et al., Numerical Recipes, 2.7.2).
"""
from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _thomas(lo, di, up, r, x, cp, base, n, s):
    """Solve one tridiagonal line in place of x (cp: scratch of length n)."""
    b = di[base]
    x[base] = r[base] / b
    for i in range(1, n):
        k = base + i * s
        cp[i - 1] = up[k - s] / b
        b = di[k] - lo[k] * cp[i - 1]
        x[k] = (r[k] - lo[k] * x[k - s]) / b
    for i in range(n - 2, -1, -1):
        k = base + i * s
        x[k] -= cp[i] * x[k + s]


@nb.njit(cache=True)
def solve_lines(lo, di, up, alpha, beta, r, bases, n, s):
    """x with (lo, di, up) tridiagonal (+ corners alpha, beta per line) x = r along every line."""
    x = np.empty_like(r)
    cp = np.empty(n)
    di2 = di.copy()
    z = np.zeros_like(r)
    u = np.zeros_like(r)
    for m in range(bases.size):
        base = bases[m]
        al, be = alpha[m], beta[m]
        if al == 0.0 and be == 0.0:
            _thomas(lo, di, up, r, x, cp, base, n, s)
            continue
        last = base + (n - 1) * s
        gamma = -di[base]
        di2[base] = di[base] - gamma
        di2[last] = di[last] - al * be / gamma
        _thomas(lo, di2, up, r, x, cp, base, n, s)
        u[base] = gamma
        u[last] = be
        _thomas(lo, di2, up, u, z, cp, base, n, s)
        fact = (x[base] + al * x[last] / gamma) / (1.0 + z[base] + al * z[last] / gamma)
        for i in range(n):
            k = base + i * s
            x[k] -= fact * z[k]
        di2[base] = di[base]
        di2[last] = di[last]
        u[base] = 0.0
        u[last] = 0.0
    return x
