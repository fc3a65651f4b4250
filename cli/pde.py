"""``simdiff pde``: partial differential equations on grids (commands are added here)."""
from __future__ import annotations

import click


@click.group()
def pde() -> None:
    """Diffusion and reaction-diffusion on grids.

    Will hold commands that discretise a PDE in space (method of lines) and integrate it with
    simdiff's solver: diffusion with walls and masks, reaction-diffusion models (Gray-Scott,
    Schnakenberg, ...), Turing analysis, with stiff steppers (Crank-Nicolson, ADI, ETDRK4).
    Each run writes an HDF5 file (version, configuration, seed) and optionally a movie.
    No commands yet.
    """
