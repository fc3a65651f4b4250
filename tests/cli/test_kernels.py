"""CLI kernels agree with their numpy references."""
import numpy as np
import simdiff

from simdiff_cli.kernels import ou_drift, ou_drift_reference


def test_ou_drift_matches_reference(rng):
    y = rng.normal(size=(7, 5))
    p = np.array([1.7, -0.3])
    k = simdiff.Kernel(ou_drift, p=p)
    np.testing.assert_allclose(k(0.4, y), ou_drift_reference(0.4, y, p), rtol=0, atol=1e-15)
