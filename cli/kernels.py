"""Numba kernels used by CLI commands, each beside its numpy reference.

Module-level ``@simdiff.kernel`` functions with parameters in ``p``: numba caches them on disk, so
a second ``simdiff demo`` loads them instead of compiling. Importing this module imports numba.
"""
from __future__ import annotations

import numpy as np

import simdiff


@simdiff.kernel
def ou_drift(t, y, out, p, ip):
    """Ornstein-Uhlenbeck drift ``theta (mu - y)``, with ``p = [theta, mu]``."""
    theta = p[0]
    mu = p[1]
    for i in range(y.size):
        out[i] = theta * (mu - y[i])


def ou_drift_reference(t: float, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """numpy version of :func:`ou_drift`."""
    return p[0] * (p[1] - y)
