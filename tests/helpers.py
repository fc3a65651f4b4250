"""Shared assertions: fitted convergence orders and statistical bands."""
from __future__ import annotations

import numpy as np


def measured_order(hs, errors) -> float:
    """Least-squares slope of log(error) against log(h)."""
    return float(np.polyfit(np.log(np.asarray(hs, float)), np.log(np.asarray(errors, float)), 1)[0])


def assert_order(hs, errors, expected, tol=0.15):
    slope = measured_order(hs, errors)
    assert abs(slope - expected) <= tol, (
        f"measured order {slope:.3f}, expected {expected} +- {tol}\n"
        f"h      = {np.asarray(hs)}\nerrors = {np.asarray(errors)}")
    return slope


def assert_within_sigma(sample, exact_mean, k=4.0, exact_std=None):
    """The sample mean lies within k standard errors of ``exact_mean``."""
    sample = np.asarray(sample, float)
    sd = exact_std if exact_std is not None else sample.std(ddof=1)
    se = sd / np.sqrt(sample.size)
    assert abs(sample.mean() - exact_mean) <= k * se, (
        f"mean {sample.mean():.6g} vs exact {exact_mean:.6g}: {abs(sample.mean() - exact_mean) / se:.2f} sigma (> {k})")
