"""Physical diffusion on grids: Fick's laws in 1D, 2D and 3D, boxes and arbitrary shapes."""
from simdiff.pde.boundaries import BC, Boundaries, Dirichlet, Neumann, Periodic, Robin
from simdiff.pde.grid import Grid, Mask

__all__ = ["Grid", "Mask", "BC", "Boundaries", "Dirichlet", "Neumann", "Robin", "Periodic"]
