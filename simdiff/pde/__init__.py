"""Physical diffusion on grids: Fick's laws in 1D, 2D and 3D, boxes and arbitrary shapes.

>>> import numpy as np
>>> from simdiff.pde import Grid, Diffusion, simulate
>>> grid = Grid((64,), extent=1.0)
>>> run = simulate(Diffusion(D=1e-2), grid, np.where(grid.coords(0) < 0.5, 1.0, 0.0), t_end=1.0)
>>> bool(abs(run.mass[-1] - run.mass[0]) < 1e-12)
True
"""
from simdiff.pde.boundaries import BC, Boundaries, Dirichlet, Neumann, Periodic, Robin
from simdiff.pde.diffusion import Diffusion, boundary_flux, flux
from simdiff.pde.grid import Grid, Mask
from simdiff.pde.simulate import Run, simulate

__all__ = ["Grid", "Mask", "BC", "Boundaries", "Dirichlet", "Neumann", "Robin", "Periodic",
           "Diffusion", "flux", "boundary_flux", "simulate", "Run"]
from simdiff.pde.models import Brusselator, FisherKPP, FitzHughNagumo, GrayScott, Oregonator, Schnakenberg  # noqa: E402
from simdiff.pde.reaction_diffusion import ReactionDiffusion, get_model, models  # noqa: E402

__all__ += ["ReactionDiffusion", "get_model", "models", "GrayScott", "FitzHughNagumo", "Brusselator",
            "Schnakenberg", "FisherKPP", "Oregonator"]
from simdiff.pde import turing  # noqa: E402

__all__ += ["turing"]
