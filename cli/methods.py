"""``simdiff methods``: the integrator table."""
from __future__ import annotations

import click


@click.command()
def methods() -> None:
    """List the integrators: name, problem kinds, deterministic/strong/weak order, accepted noise
    kinds (and calculus when not Itô), what each needs, and a description.

    Pass a name to `simdiff.solve(..., method=NAME)`.
    """
    import simdiff

    click.echo(str(simdiff.methods()))
