"""``simdiff train`` and ``simdiff generate``: score-based generative diffusion (needs torch).

The groups check for torch before running any of their commands and fail with one line naming
the install command; their ``--help`` works without torch.
"""
from __future__ import annotations

import importlib.util
import sys

import click

from simdiff_cli.errors import CommandError

TORCH_INSTALL = "pip install 'simdiff[generative]' (or pip install torch)"


def torch_available() -> bool:
    """Whether ``import torch`` can succeed, without importing it (importing takes seconds)."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def require_torch(command: str) -> None:
    """Raise a one-line :class:`CommandError` (exit code 2) when torch is missing."""
    if not torch_available():
        raise CommandError(f"simdiff {command} needs torch, which is not installed: {TORCH_INSTALL}")


@click.group(invoke_without_command=True)
@click.pass_context
def train(ctx: click.Context) -> None:
    """Train score-based diffusion models (needs torch).

    Will hold commands that train a score network for a forward SDE (VP, VE, sub-VP) on a data set,
    including pattern data sets rendered by `simdiff pde`, with checkpoints (safetensors
    weights plus a JSON configuration that rebuilds the model) and multi-GPU training via torchrun.
    No commands yet.
    """
    require_torch("train")
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@click.group(invoke_without_command=True)
@click.pass_context
def generate(ctx: click.Context) -> None:
    """Sample from trained diffusion models (needs torch).

    Will hold commands that draw samples by integrating the reverse-time SDE or the
    probability-flow ODE with simdiff's solver (Euler-Maruyama, DDIM, DEIS, DPM-Solver) on a
    printable time grid, and write images and metrics.
    No commands yet.
    """
    require_torch("generate")
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
