"""Stochastic and anomalous diffusion one particle at a time.

- :mod:`simdiff.particles.langevin`: overdamped Langevin dynamics in potentials, with reflecting
  walls and absorbing levels (first-passage times), compiled through ``simdiff.solve``;
- :mod:`simdiff.particles.anomalous`: fractional Brownian motion, scaled Brownian motion,
  continuous-time random walks, Lévy flights and walks, annealed transient time motion;
- :mod:`simdiff.particles.analysis`: ensemble and time-averaged MSD, anomalous exponent fits,
  ergodicity breaking, velocity autocorrelation, van Hove histograms, first passage;
- :mod:`simdiff.particles.io`: trajectory files (HDF5 written atomically; HDF5, .npy and CSV read).

Submodules load on first use (``simdiff.particles.fbm`` etc. are re-exported lazily).
"""
import importlib

_LAZY = {
    "overdamped": "langevin", "underdamped": "langevin", "UnderdampedSDE": "langevin", "harmonic": "langevin", "double_well": "langevin", "washboard": "langevin",
    "fbm": "anomalous", "sbm": "anomalous", "ctrw": "anomalous", "levy_flight": "anomalous",
    "levy_walk": "anomalous", "attm": "anomalous",
    "msd": "analysis", "tamsd": "analysis", "fit_exponent": "analysis", "eb_parameter": "analysis",
    "vacf": "analysis", "van_hove": "analysis", "first_passage_times": "analysis",
}
__all__ = list(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'simdiff.particles' has no attribute {name!r}")
    return getattr(importlib.import_module(f"simdiff.particles.{_LAZY[name]}"), name)
