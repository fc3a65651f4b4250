"""Physical diffusion on grids: Fick's laws in 1D, 2D and 3D, boxes and arbitrary shapes, and
reaction–diffusion models.

>>> import numpy as np
>>> from simdiff.pde import Grid, Diffusion, simulate
>>> grid = Grid((64,), extent=1.0)
>>> run = simulate(Diffusion(D=1e-2), grid, np.where(grid.coords(0) < 0.5, 1.0, 0.0), t_end=1.0)
>>> bool(abs(run.mass[-1] - run.mass[0]) < 1e-12)
True

The reaction–diffusion names (``GrayScott``, ``models()``, ``turing``, ...) load on first use, so
a diffusion run loads none of their compiled kernels.
"""
import importlib

from simdiff.pde.boundaries import BC, Boundaries, Dirichlet, Neumann, Periodic, Robin
from simdiff.pde.diffusion import Diffusion, boundary_flux, divergence, flux, gradient
from simdiff.pde.grid import Grid, Mask
from simdiff.pde.simulate import Run, simulate

_LAZY = {
    "ReactionDiffusion": "simdiff.pde.reaction_diffusion",
    "get_model": "simdiff.pde.reaction_diffusion",
    "models": "simdiff.pde.reaction_diffusion",
    "GrayScott": "simdiff.pde.rdmodels",
    "FitzHughNagumo": "simdiff.pde.rdmodels",
    "Brusselator": "simdiff.pde.rdmodels",
    "Schnakenberg": "simdiff.pde.rdmodels",
    "FisherKPP": "simdiff.pde.rdmodels",
    "Oregonator": "simdiff.pde.rdmodels",
    "turing": None,
}

__all__ = ["Grid", "Mask", "BC", "Boundaries", "Dirichlet", "Neumann", "Robin", "Periodic",
           "Diffusion", "flux", "boundary_flux", "gradient", "divergence", "simulate", "Run", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'simdiff.pde' has no attribute {name!r}")
    module = _LAZY[name]
    if module is None:
        return importlib.import_module(f"simdiff.pde.{name}")
    return getattr(importlib.import_module(module), name)

_LAZY.update({"custom_model": "simdiff.pde.custom", "CustomReactionDiffusion": "simdiff.pde.custom"})
__all__ += ["custom_model", "CustomReactionDiffusion"]
