"""phi functions: full precision near z = 0 (contour) and far from it (direct)."""
import math

import numpy as np
import pytest

from simdiff.core.phi import phi


def series(z, k, terms=40):
    return sum(z ** j / math.factorial(j + k) for j in range(terms))


@pytest.mark.parametrize("z", [0.0, 1e-12, -1e-8, 1e-4, -0.3, 0.7, -0.999, 0.999, 1.5 + 0.5j, -0.2 + 0.9j])
def test_phi_near_zero_matches_series(z):
    vals = phi(np.array([z]), 3)
    for k in range(4):
        assert abs(vals[k][0] - series(z, k)) <= 1e-14 * max(1.0, abs(series(z, k))), k


@pytest.mark.parametrize("z", [-1.0, -5.0, -50.0, -1e4, 3.0, -20 + 40j])
def test_phi_far_matches_closed_form(z):
    vals = phi(np.array([z]), 3)
    e = np.exp(z)
    exact = [e, (e - 1) / z, (e - 1 - z) / z ** 2, (e - 1 - z - z ** 2 / 2) / z ** 3]
    for k in range(4):
        assert abs(vals[k][0] - exact[k]) <= 1e-13 * max(1.0, abs(exact[k])), (k, vals[k][0], exact[k])


def test_phi_real_input_gives_real_output_and_scalar_works():
    v = phi(np.linspace(-100, 1, 7), 2)
    assert all(np.isrealobj(x) for x in v)
    s = phi(0.0, 2)
    assert [float(x) for x in s] == pytest.approx([1.0, 1.0, 0.5], abs=1e-15)
