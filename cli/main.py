"""The root ``simdiff`` command and its lazy-loading group.

Subcommands are named in :data:`COMMANDS` as ``"module:attribute"`` strings with a short help
line. ``simdiff --help`` lists them from that table without importing a single command module, so
listing stays fast and imports neither numba nor torch; a command's module is imported only when
the command runs or its own ``--help`` is asked for.
"""
from __future__ import annotations

import importlib

import click

import simdiff
from simdiff.errors import SimdiffError
from simdiff_cli.errors import CommandError, one_line

# name -> ("module:attribute", short help shown by `simdiff --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("simdiff_cli.demo:demo", "Run OU and GBM ensembles and check them against theory."),
    "methods": ("simdiff_cli.methods:methods", "List the integrators, their orders and noise kinds."),
    "pde": ("simdiff_cli.pde:pde", "Diffusion and reaction-diffusion on grids."),
    "particles": ("simdiff_cli.particles:particles", "Langevin ensembles, anomalous diffusion, MSD analysis."),
    "train": ("simdiff_cli.generative:train", "Train a diffusion model on images (torch)."),
    "generate": ("simdiff_cli.generative:generate", "Generate images with a trained or shipped model (torch)."),
    "evaluate": ("simdiff_cli.generative:evaluate", "FID-digits, accuracy and coverage of a digits model (torch)."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use.

    ``lazy_commands`` maps a command name to ``("package.module:attribute", short help)``. The
    short help is what ``--help`` lists, so listing imports nothing. Errors of simdiff
    (:class:`simdiff.SimdiffError`) raised by any command below become one ``Error: ...`` line
    with exit code 2.
    """

    def __init__(self, *args, lazy_commands: dict[str, tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        eager = [n for n in super().list_commands(ctx) if n not in self.lazy_commands]
        return list(self.lazy_commands) + eager

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy_commands:
            return self._load(name)
        return super().get_command(ctx, name)

    def _load(self, name: str) -> click.Command:
        target = self.lazy_commands[name][0]
        module, _, attr = target.partition(":")
        cmd = getattr(importlib.import_module(module), attr)
        if not isinstance(cmd, click.Command):
            raise TypeError(f"lazy command {name!r} -> {target!r} is {type(cmd).__name__}, not a click command")
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy_commands:
                rows.append((name, self.lazy_commands[name][1]))
                continue
            cmd = super().get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SimdiffError as err:
            raise CommandError(one_line(err)) from None


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Start with `simdiff demo --out demo_output`; `simdiff COMMAND --help` explains each command.",
)
@click.version_option(simdiff.__version__, "--version", "-V", prog_name="simdiff",
                      message="%(prog)s %(version)s")
def cli() -> None:
    """simdiff: physical and generative diffusion through one ODE/SDE solver.

    PDEs (method of lines), Langevin particles, anomalous diffusion and score-based generative
    models are all integrated by the same `simdiff.solve`.
    """
