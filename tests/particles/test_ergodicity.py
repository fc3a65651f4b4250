"""Ergodicity breaking: EB -> 0 for Brownian motion and fBM, and the CTRW's known limit."""
import numpy as np
import pytest
from scipy.special import gamma

from simdiff.particles.analysis import eb_parameter
from simdiff.particles.anomalous import ctrw, fbm


def test_fbm_is_ergodic():
    x = fbm(2000, 2000, 0.3, seed=0)
    assert eb_parameter(x, 10) < 0.02


@pytest.mark.parametrize("alpha", [0.5, 0.8])
def test_ctrw_eb_approaches_the_known_limit(alpha):
    """He, Burov, Metzler & Barkai (PRL 101, 2008): for lag << T, EB -> 2 Gamma(1+a)^2 / Gamma(1+2a) - 1."""
    x = ctrw(2000, 10_000, alpha, seed=0)
    exact = 2 * gamma(1 + alpha) ** 2 / gamma(1 + 2 * alpha) - 1
    eb1, eb10, eb100 = (eb_parameter(x, lag) for lag in (1, 10, 100))
    assert abs(eb1 - exact) < 0.1, (eb1, exact)
    assert eb1 <= eb10 <= eb100          # finite lag/T pushes EB up: the limit is approached from above
    assert eb1 > 0.1                     # and it is far from the ergodic value 0
