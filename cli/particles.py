"""``simdiff particles``: Langevin ensembles and anomalous diffusion (commands are added here)."""
from __future__ import annotations

import click


@click.group()
def particles() -> None:
    """Langevin particle ensembles and anomalous diffusion.

    Will hold commands that simulate particle ensembles in force fields (overdamped and
    underdamped Langevin dynamics), anomalous motion (fractional Brownian motion, Levy flights,
    continuous-time random walks) and analyse trajectories (mean squared displacement,
    diffusion exponents). Ensembles run on numba kernels, in parallel with Dask when asked.
    No commands yet.
    """
