"""``simdiff pde``: partial differential equations on grids, one command per model.

``simdiff pde diffusion`` is written out below. The reaction–diffusion commands are generated
from the model registry (:func:`simdiff.pde.models`): :func:`model_command` turns a model class
into a command whose physics options (``--F``, ``--k``, ``--D-u``, ...) come from the class's
``parameters``, ``ranges`` and ``diffusivity``, so a new registered model gets its command, its
``simdiff pde presets`` rows and its ``simdiff pde turing`` subcommand without touching this file.

Every command is assembled from the same option groups: grid (dimension, cells, box, boundaries,
mask, initial state), run (end time, method, step, frames, seed, resume) and output (run file,
plot, movie, ``--config``), and hands its model to :func:`run_model` (diffusion) or
:func:`run_reaction_diffusion`, which do the rest: TOML configuration, grid, initial state, the run
with a progress bar, the resolved configuration in the run file, the figures and the summary. A
command for a model built at run time (species and reactions given on the command line) is one
more function of that shape: the shared groups, its own model options, and
``run_reaction_diffusion(ctx, opts, make_model, title=...)``.

numpy, numba, the physics and matplotlib are imported inside the commands: ``simdiff pde --help``
lists the models from :func:`model_index`, which reads the model modules' source without
importing them.
"""
from __future__ import annotations

import ast
import functools
import json
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import click
from click.core import ParameterSource

from simdiff_cli.errors import CommandError

# the methods of simdiff.pde.simulate, as the command line spells them (tests check the two agree)
METHODS = ("auto", "crank-nicolson", "backward-euler", "adi", "spectral", "euler", "heun", "rk4", "ssprk3")
DEFAULT_CELLS = {1: 256, 2: 128, 3: 48}
RD_CELLS = {1: 512, 2: 256, 3: 64}          # reaction–diffusion patterns need more cells per box
# the methods of simdiff.pde.reaction_diffusion, for commands declared before it is imported (tests check)
RD_METHODS = ("euler", "heun", "rk4", "ssprk3", "etd1", "etdrk2", "etdrk4", "backward_euler", "crank_nicolson",
              "euler_maruyama")
SIDES = ("x-", "x+", "y-", "y+", "z-", "z+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# options that take one number per axis: `--shape 256 256` is read as `--shape 256,256`
_PER_AXIS = ("--shape", "--extent")


class PDECommand(click.Command):
    """A model command: numbers per axis may follow ``--shape``/``--extent`` separated by spaces,
    and usage errors (a bad type, an unknown flag) are one ``Error: ...`` line with exit code 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        joined, i = [], 0
        while i < len(args):
            joined.append(args[i])
            i += 1
            if joined[-1] in _PER_AXIS:
                values = []
                while i < len(args) and _NUMBER.fullmatch(args[i]):
                    values.append(args[i])
                    i += 1
                if values:
                    joined.append(",".join(values))
        try:
            return super().parse_args(ctx, joined)
        except click.UsageError as err:
            if isinstance(err, click.NoSuchOption) or not err.ctx:
                path = " ".join(["simdiff", *ctx.command_path.split()[1:]])
                raise CommandError(f"{err.format_message()} (see `{path} --help`)") from None
            raise CommandError(err.format_message()) from None


def _group(*decorators: Callable) -> Callable:
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


def _dim_shape_extent(cells: dict[int, int], extent: str, extent_help: str) -> list[Callable]:
    return [
        click.option("--dim", type=click.IntRange(1, 3), default=2, show_default=True,
                     help="Number of space dimensions (1, 2 or 3)."),
        click.option("--shape", default=None, metavar="N [N [N]]",
                     help="Cells per axis, one number per dimension: `256 256`, `256,256` or `256x256`; one number "
                          "sets every axis. Without --dim the count of numbers gives the dimension. "
                          f"[default: {cells[1]} in 1D, {cells[2]} in 2D, {cells[3]} in 3D]"),
        click.option("--extent", default=extent, show_default=True, metavar="L [L [L]]", help=extent_help),
    ]


MASK_OPTION = click.option(
    "--mask", default=None, metavar="IMAGE",
    help="Black-and-white image of the domain (2D): white cells are inside, walls between inside and outside "
         "are no-flux. Resized to the grid.")

GRID_OPTIONS = _group(
    *_dim_shape_extent(DEFAULT_CELLS, "1.0",
                       "Length of the box along each axis (one number for all, or one per axis)."),
    click.option("--bc", multiple=True, metavar="[SIDE=]KIND[:VALUES]",
                 help="Boundary condition, repeatable; later ones override earlier ones. KIND is neumann "
                      "(du/dn = VALUE; default 0, no flux), dirichlet (u = VALUE, default 0), periodic, or "
                      "robin:ALPHA,BETA[,VALUE] (alpha u + beta du/dn = VALUE; also robin(ALPHA,BETA,VALUE)). "
                      "Without SIDE it applies to every side; SIDE is x-, x+, y-, y+, z-, z+ or x, y, z for "
                      "both ends: --bc neumann --bc x-=dirichlet:1. Periodic sides make the grid periodic "
                      "along that axis. [default: neumann]"),
    MASK_OPTION,
    click.option("--init", default="gaussian", show_default=True, metavar="KIND",
                 help="Initial state: gaussian (unit peak, width 0.05 of the box, at the centre), step "
                      "(1 in the left half along x), random (uniform in [0, 1), from --seed), or "
                      "image:PATH (grey levels 0..1 of an image resized to the grid; 2D)."),
)


def _run_options(t_end: float, method: Callable, dt_help: str) -> list[Callable]:
    return [
        click.option("--t-end", type=float, default=t_end, show_default=True, help="End time of the run."),
        method,
        click.option("--dt", type=float, default=None, help=dt_help),
        click.option("--frames", type=int, default=51, show_default=True,
                     help="Saved frames, evenly spaced from t=0 to --t-end (at least 2)."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed of the random initial state; recorded in the run file."),
        click.option("--resume", is_flag=True,
                     help="Continue the run in --out from its last frame up to --t-end (same model and grid; the "
                          "file's frame spacing unless --frames is given)."),
        click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar."),
    ]


RUN_OPTIONS = _group(*_run_options(
    10.0,
    click.option("--method", default="auto", show_default=True, metavar="METHOD",
                 help=f"Time stepper: {', '.join(METHODS)}. auto picks spectral on fully periodic grids, "
                      f"ADI in 2D/3D, Crank-Nicolson in 1D. Explicit methods (euler, heun, rk4, ssprk3) "
                      f"refuse a --dt above their stability limit."),
    "Time step. [default: 90% of the stability limit for explicit methods; the frame interval capped at 50 "
    "explicit limits for implicit ones]"))


def _output_options(out: str) -> list[Callable]:
    return [
        click.option("--out", default=out, show_default=True, metavar="FILE.h5",
                     help="HDF5 run file: frames (time first), coordinates, resolved configuration, seed."),
        click.option("--plot", is_flag=True,
                     help="Also write <out stem>.png: a few frames from the first to the last."),
        click.option("--movie", is_flag=True, help="Also write a movie <out stem>.gif (at most 100 frames)."),
        click.option("--movie-format", type=click.Choice(["gif", "mp4"]), default="gif", show_default=True,
                     help="Movie format; mp4 needs ffmpeg."),
        click.option("--fps", type=click.IntRange(1, 100), default=10, show_default=True,
                     help="Movie frames per second."),
        click.option("--config", default=None, metavar="FILE.toml",
                     help="Read options from a TOML file (keys are option names, dashes or underscores: "
                          "t-end = 10, shape = [256, 256], bc = [\"x-=dirichlet:1\"] or a [bc] table). "
                          "Options given on the command line override it."),
    ]


OUTPUT_OPTIONS = _group(*_output_options("run.h5"))


# ---- the model registry, without importing it ----------------------------------------------------

def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


@functools.lru_cache(maxsize=None)
def _scan_models() -> dict[str, tuple[str, int]]:
    """``{name: (description, number of species)}`` of the built-in models, read from the source
    of ``simdiff/pde/rdmodels/*.py`` (class attributes ``name``, ``description``, ``species``)."""
    import simdiff

    found = {}
    for path in sorted((Path(simdiff.__file__).parent / "pde" / "rdmodels").glob("*.py")):
        for cls in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(cls, ast.ClassDef):
                continue
            attrs = {t.id: _literal(n.value) for n in cls.body if isinstance(n, ast.Assign)
                     for t in n.targets if isinstance(t, ast.Name)}
            if isinstance(attrs.get("name"), str) and attrs["name"]:
                species = attrs.get("species")
                found[attrs["name"]] = (str(attrs.get("description") or ""),
                                        len(species) if isinstance(species, tuple) else 2)
    return found


def model_index() -> dict[str, tuple[str, int]]:
    """Every reaction–diffusion model as ``{name: (description, number of species)}``.

    Lists the built-in models without importing numba (``simdiff pde --help`` stays light); once
    the registry is imported (a command ran, or a model was registered from Python) its live
    entries are added, so models registered at run time are listed too.
    """
    index = dict(_scan_models())
    if "simdiff.pde.reaction_diffusion" in sys.modules:
        from simdiff.pde import models

        index.update({n: (cls.description, len(cls.species)) for n, cls in models().items()})
    return index


def model_class(name: str) -> type:
    """The registered model class of a command name (imports the registry)."""
    from simdiff.pde import get_model, models

    models()
    return get_model(name)


class ModelGroup(click.Group):
    """A group with one generated subcommand per reaction–diffusion model next to its own commands.

    ``factory(cls)`` builds the subcommand of a model class on first use; ``--help`` lists the
    models from :func:`model_index` without building (or importing) any of them. ``min_species``
    leaves out models with fewer species (a Turing analysis needs two). An unknown name is a
    one-line error that lists the models.
    """

    def __init__(self, *args, factory: Callable[[type], click.Command], min_species: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.factory, self.min_species = factory, min_species
        self._built: dict[str, click.Command] = {}

    def model_names(self) -> list[str]:
        return sorted(n for n, (_, k) in model_index().items() if k >= self.min_species and n not in self.commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.model_names()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        if name not in self._built:
            if name.replace("_", "-").lower() not in model_index():
                return None
            self._built[name] = self.factory(model_class(name))
        return self._built[name]

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            where = " ".join(["simdiff", *ctx.command_path.split()[1:]])
            raise CommandError(f"`{where}` has no command {args[0]!r}; its commands are "
                               f"{', '.join(self.list_commands(ctx))}.")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        index = model_index()
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                if not self.commands[name].hidden:
                    rows.append((name, self.commands[name].get_short_help_str(formatter.width - 6 - len(name))))
            else:
                rows.append((name, index[name][0]))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _model_command(cls: type) -> click.Command:
    return model_command(cls)


@click.group(cls=ModelGroup, factory=_model_command)
def pde() -> None:
    """Diffusion and reaction-diffusion on grids.

    Each command discretises a PDE in space (finite volumes on a cell-centred grid, method of
    lines) and integrates it with simdiff's solver, writing an HDF5 run file (frames, version,
    configuration, seed) and, on request, a PNG of a few frames and a movie. Every command
    reads its options from a TOML file with --config; flags given on the command line win.
    There is one command per reaction-diffusion model; `simdiff pde presets` lists their
    named parameter sets and `simdiff pde turing MODEL` their linear stability.

    \b
    Examples:
      simdiff pde diffusion --dim 2 --shape 256 256 --D 1e-3 --t-end 10 --plot --movie
      simdiff pde gray-scott --preset spots --t-end 10000 --out gs.h5 --plot --movie
      simdiff pde turing schnakenberg --preset spots --plot turing.png
    """


# ---- configuration ------------------------------------------------------------------------------

def _load_toml(path: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:                      # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise CommandError("--config needs Python >= 3.11 (tomllib) or the tomli package.") from None
    if not os.path.isfile(path):
        raise CommandError(f"--config {path!r} does not exist.")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise CommandError(f"--config {path!r} is not valid TOML: {err}") from None


def _from_toml(name: str, value: Any) -> Any:
    """A TOML value in the form the option's type expects."""
    if name in ("shape", "extent") and isinstance(value, list):
        return ",".join(str(v) for v in value)
    if name == "bc":
        if isinstance(value, dict):
            return tuple(f"{side}={spec}" for side, spec in value.items())
        return tuple(value) if isinstance(value, list) else (value,)
    return value


def apply_config(ctx: click.Context, opts: dict) -> dict:
    """Fill every option not given on the command line from ``--config``; returns the merged options."""
    path = opts.get("config")
    if not path:
        return opts
    params = {p.name: p for p in ctx.command.params if p.name and p.name != "config"}
    lookup = {**{n.lower(): n for n in params}, **{n: n for n in params}}
    merged = dict(opts)
    for key, value in _load_toml(path).items():
        name = lookup.get(key.replace("-", "_")) or lookup.get(key.replace("-", "_").lower())
        if name is None:
            valid = ", ".join(sorted(p.replace("_", "-") for p in params))
            raise CommandError(f"--config {path!r}: unknown option {key!r}; valid keys are {valid}.")
        if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            continue
        try:
            merged[name] = params[name].type_cast_value(ctx, _from_toml(name, value))
        except click.BadParameter as err:
            raise CommandError(f"--config {path!r}: {key} = {value!r}: {err.format_message()}") from None
        ctx.meta.setdefault("simdiff_from_config", set()).add(name)
    return merged


def _given(ctx: click.Context, name: str) -> bool:
    return (ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
            or name in ctx.meta.get("simdiff_from_config", ()))


# ---- grid, boundaries, initial state ------------------------------------------------------------

def _numbers(text: str, option: str, kind: type) -> list:
    parts = [p for p in re.split(r"[,x\s]+", str(text).strip()) if p]
    try:
        values = [kind(p) for p in parts]
    except ValueError:
        what = "whole numbers" if kind is int else "numbers"
        raise CommandError(f"{option} {text!r}: expected {what} separated by spaces or commas.") from None
    if not values:
        raise CommandError(f"{option} is empty; give one number per axis.")
    return values


def per_axis(ctx: click.Context, opts: dict, cells: dict[int, int] = DEFAULT_CELLS
             ) -> tuple[int, tuple[int, ...], list[float]]:
    """Dimension, cells per axis and box lengths from --dim, --shape, --extent (``cells``: the
    default cells per axis by dimension)."""
    dim_given = _given(ctx, "dim")
    shape = None if opts["shape"] is None else _numbers(opts["shape"], "--shape", int)
    dim = opts["dim"] if dim_given or shape is None or len(shape) == 1 else len(shape)
    if shape is None:
        shape = [cells[dim]]
    if len(shape) == 1:
        shape = shape * dim
    if len(shape) != dim:
        raise CommandError(f"--shape {' '.join(map(str, shape))} has {len(shape)} numbers but --dim is {dim}; "
                           f"give one number per axis (or one for all).")
    extent = _numbers(opts["extent"], "--extent", float)
    if len(extent) == 1:
        extent = extent * dim
    if len(extent) != dim:
        raise CommandError(f"--extent has {len(extent)} numbers but the grid has {dim} dimensions; give one "
                           f"length per axis (or one for all).")
    return dim, tuple(shape), extent


_BC_SPEC = re.compile(r"(?P<kind>[a-z-]+)\s*(?::\s*(?P<a>.*)|\((?P<b>.*)\))?")
_BC_USE = ("use neumann[:VALUE], dirichlet[:VALUE], periodic or robin:ALPHA,BETA[,VALUE], optionally "
           "after a side: x-=dirichlet:1")


def parse_bc(specs: tuple[str, ...], dim: int):
    """``--bc`` strings -> (``bc`` for the model, periodic flag per axis, short description per side)."""
    from simdiff.pde import BC, Dirichlet, Neumann, Periodic, Robin

    sides: dict[str, BC] = {}
    valid_sides = SIDES[:2 * dim]
    for text in specs or ("neumann",):
        where, _, spec = text.rpartition("=")
        where = where.strip().lower()
        if where and where not in valid_sides and where not in "xyz"[:dim]:
            raise CommandError(f"--bc {text!r}: {where!r} is not a side of a {dim}D box; sides are "
                               f"{', '.join(valid_sides)} (or {', '.join('xyz'[:dim])} for both ends).")
        m = _BC_SPEC.fullmatch(spec.strip().lower())
        if not m:
            raise CommandError(f"--bc {text!r}: cannot read it; {_BC_USE}.")
        kind, args = m["kind"], m["a"] if m["a"] is not None else m["b"]
        try:
            values = [float(v) for v in args.split(",")] if args and args.strip() else []
        except ValueError:
            raise CommandError(f"--bc {text!r}: the values {args!r} are not numbers; {_BC_USE}.") from None
        n_max = {"periodic": 0, "dirichlet": 1, "neumann": 1, "no-flux": 1, "robin": 3}.get(kind)
        if n_max is None:
            raise CommandError(f"--bc {text!r}: unknown kind {kind!r}; {_BC_USE}.")
        if len(values) > n_max or (kind == "robin" and len(values) < 2):
            need = {0: "no values", 1: "at most one value", 3: "ALPHA,BETA[,VALUE]"}[n_max]
            raise CommandError(f"--bc {text!r}: {kind} takes {need}.")
        bc = (Periodic() if kind == "periodic" else Dirichlet(*values) if kind == "dirichlet"
              else Robin(*values) if kind == "robin" else Neumann(*values))
        targets = valid_sides if not where else [where] if len(where) == 2 else [where + "-", where + "+"]
        for s in targets:
            sides[s] = bc
    for s in valid_sides:
        sides.setdefault(s, Neumann(0.0))
    periodic = []
    for a in "xyz"[:dim]:
        lo, hi = sides[a + "-"].kind == "periodic", sides[a + "+"].kind == "periodic"
        if lo != hi:
            raise CommandError(f"--bc: {a}{'-' if lo else '+'} is periodic but {a}{'+' if lo else '-'} is not; "
                               f"periodic joins both ends of an axis (use --bc {a}=periodic).")
        periodic.append(lo)
    described = {s: _describe(b) for s, b in sides.items()}
    kinds = set(described.values())
    bc: Any = next(iter(kinds)) if len(kinds) == 1 and ":" not in next(iter(kinds)) else sides
    return bc, tuple(periodic), described


def _describe(b) -> str:
    if b.kind == "periodic":
        return "periodic"
    if b.kind == "robin":
        return f"robin:{b.alpha:g},{b.beta:g},{float(b.value):g}"
    return b.kind if float(b.value) == 0.0 else f"{b.kind}:{float(b.value):g}"


def initial_state(spec: str, grid, seed: int):
    """The ``--init`` field on ``grid``."""
    import numpy as np

    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "gaussian" and not arg:
        mesh = grid.mesh()
        r2 = sum(((x - (lo + hi) / 2) / (0.05 * (hi - lo))) ** 2 for x, lo, hi in zip(mesh, grid.lo, grid.hi))
        return np.exp(-0.5 * r2)
    if kind == "step" and not arg:
        x = grid.mesh()[0]
        return np.where(x < (grid.lo[0] + grid.hi[0]) / 2, 1.0, 0.0)
    if kind == "random" and not arg:
        return np.random.default_rng(seed).uniform(0.0, 1.0, grid.shape)
    if kind == "image" and arg:
        return _image_field(arg, grid)
    raise CommandError(f"--init {spec!r}: use gaussian, step, random or image:PATH.")


def _image_field(path: str, grid):
    import numpy as np

    if grid.ndim != 2:
        raise CommandError(f"--init image:{path} needs a 2D grid (--dim 2); this one has {grid.ndim} dimensions.")
    if not os.path.isfile(path):
        raise CommandError(f"--init image:{path}: the image does not exist.")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            grey = img.convert("L").resize((grid.shape[0], grid.shape[1]), Image.Resampling.BILINEAR)
    except (UnidentifiedImageError, OSError) as err:
        raise CommandError(f"--init image:{path}: cannot read the image ({err}).") from None
    # image rows run top-down and columns along x; grid axis 0 is x and axis 1 runs up
    return np.asarray(grey, dtype=float)[::-1].T / 255.0


# ---- the run ------------------------------------------------------------------------------------

def _check_resume(out: str, grid, model) -> float | None:
    """Refuse to continue a run file of another grid or model; returns its frame interval."""
    import h5py

    try:
        with h5py.File(out, "r") as h5:
            stored = {k: json.loads(h5.attrs[k]) for k in ("grid", "model") if k in h5.attrs}
            t = h5["t"][:2] if "t" in h5 else []
    except OSError as err:
        raise CommandError(f"--resume: cannot read {out!r} ({err}); delete it or pass another --out.") from None
    wanted = json.loads(json.dumps({"grid": grid.to_dict(), "model": model.to_dict()}, default=str))
    for key in ("grid", "model"):
        if key in stored and stored[key] != wanted[key]:
            diff = sorted(k for k in set(stored[key]) | set(wanted[key])
                          if stored[key].get(k) != wanted[key].get(k))
            raise CommandError(f"--resume: {out!r} holds another {key} (differs in {', '.join(diff)}); use the "
                               f"options of the original run, or another --out.")
    return float(t[1] - t[0]) if len(t) == 2 and t[1] > t[0] else None


def _read_frames(out: str, field: str, n: int):
    """Times and ``n`` frames (evenly spread, first and last included) of a run file."""
    import h5py
    import numpy as np

    with h5py.File(out, "r") as h5:
        t = h5["t"][()]
        count = min(t.size, h5[field].shape[0])
        idx = np.unique(np.round(np.linspace(0, count - 1, min(n, count))).astype(int))
        return t[idx], h5[field][idx]


def _check_run_options(opts: dict) -> None:
    if opts["seed"] < 0:
        raise CommandError(f"--seed={opts['seed']}: use a seed >= 0.")
    if opts["frames"] < 2:
        raise CommandError(f"--frames={opts['frames']}: need at least 2 (the initial and the final state).")


def _mask(grid, opts: dict):
    if not opts["mask"]:
        return None
    from simdiff.pde import Mask

    return Mask.from_image(grid, opts["mask"])


def run_model(ctx: click.Context, opts: dict, make_model: Callable[[dict, Any], Any], *, title: str) -> None:
    """Everything after a diffusion-type command has parsed its options.

    ``make_model(opts, bc)`` builds the model from the merged options and the parsed boundary
    conditions; ``title`` heads the figures. Prints the run summary and the files written.
    """
    from simdiff.pde import Grid

    _check_run_options(opts)
    dim, shape, extent = per_axis(ctx, opts)
    bc, periodic, described = parse_bc(opts["bc"], dim)
    grid = Grid(shape, extent=extent, periodic=periodic)
    model = make_model(opts, bc)
    u0 = initial_state(opts["init"], grid, opts["seed"])
    execute(ctx, opts, grid, model, u0, mask=_mask(grid, opts), boundaries=described, title=title)


def execute(ctx: click.Context, opts: dict, grid, model, u0, *, mask, boundaries: dict, title: str,
            fields: list[str] | None = None, method: str | None = None, noise: float = 0.0,
            config: dict | None = None) -> None:
    """Run ``model`` from ``u0`` with the run and output options, record the resolved configuration
    (plus ``config``) in the run file, print the summary, draw ``fields`` (default: every species).
    ``method`` overrides ``opts["method"]``."""
    from simdiff.pde import simulate

    out = opts["out"]
    if not out:
        raise CommandError("--out is empty; give the run file's path, e.g. --out run.h5.")
    saving = {"n_frames": opts["frames"]}
    if opts["resume"] and os.path.exists(out):
        interval = _check_resume(out, grid, model)
        if interval and not _given(ctx, "frames"):      # keep the file's frame spacing
            saving = {"save_every": interval}
    if opts["movie"] and opts["movie_format"] == "mp4":     # fail before the run, not after it
        from matplotlib import animation

        if not animation.writers.is_available("ffmpeg"):
            raise CommandError("--movie-format mp4 needs ffmpeg, which is not installed (not on PATH); install "
                               "ffmpeg or use --movie-format gif.")

    # the resolved configuration goes into the run file as it is created (simulate also records
    # the method, dt, grid, model and boundary conditions itself)
    record = {"command": f"simdiff {ctx.command_path.split(' ', 1)[-1]}", "dim": grid.ndim, "shape": list(grid.shape),
              "extent": list(grid.lengths), "bc": boundaries, **(config or {})}
    record.update({k: v for k, v in opts.items() if k not in record and k not in ("shape", "extent", "bc", "dim")})
    record = json.loads(json.dumps(record, default=str))

    try:
        with warnings.catch_warnings():         # a run that goes non-finite ends in one error line, not in
            warnings.simplefilter("ignore", RuntimeWarning)      # numpy's warnings on the way there
            run = simulate(model, grid, u0, opts["t_end"], dt=opts["dt"],
                           method=(method or opts["method"]).replace("-", "_"), **saving, out=out,
                           resume=opts["resume"], progress=opts["progress"], mask=mask, seed=opts["seed"],
                           noise=noise, attrs={"config": record})
    except KeyboardInterrupt:
        click.echo(f"\nInterrupted: the frames finished so far are in {out}; add --resume to continue.", err=True)
        ctx.exit(130)

    shape = list(grid.shape)
    click.echo(run.summary())
    written = [(out, "run file")] + _figures(out, grid, mask, opts, fields or list(getattr(model, "species", ("c",))),
                                             title=title, heading=f"{title}, {'x'.join(map(str, shape))} grid, "
                                                                  f"{run.method.replace('_', '-')}")
    for path, what in written:
        click.echo(f"wrote {path} ({what})")


def _figures(out: str, grid, mask, opts: dict, fields: list[str], *, title: str, heading: str
             ) -> list[tuple[str, str]]:
    """``--plot`` and ``--movie`` from the run file (so a resumed run is shown whole): ``<stem>.png``
    for one field, ``<stem>-<field>.png`` for each of several."""
    if not (opts["plot"] or opts["movie"]):
        return []
    from simdiff.viz import animate, plot_frames

    written = []
    for name in fields:
        stem = Path(out).with_suffix("") if len(fields) == 1 else Path(f"{Path(out).with_suffix('')}-{name}")
        if opts["plot"]:
            t, frames = _read_frames(out, name, 4)
            png = plot_frames(t, frames, grid, f"{stem}.png", n=4, mask=mask, title=heading, label=name)
            written.append((png, f"{len(t)} frames"))
        if opts["movie"]:
            t, frames = _read_frames(out, name, 100)
            movie = animate(t, frames, grid, f"{stem}.{opts['movie_format']}", fps=opts["fps"], mask=mask,
                            title=title, label=name)
            written.append((movie, f"{len(t)} frames at {opts['fps']} fps"))
    return written


# ---- models -------------------------------------------------------------------------------------

@pde.command(cls=PDECommand)
@click.option("--D", "D", type=float, default=1e-3, show_default=True, help="Diffusivity (length^2/time), >= 0.")
@click.option("--decay", type=float, default=0.0, show_default=True, help="First-order loss rate k >= 0 (1/time).")
@click.option("--source", type=float, default=None, help="Constant source s (amount/(volume time)).")
@GRID_OPTIONS
@RUN_OPTIONS
@OUTPUT_OPTIONS
@click.pass_context
def diffusion(ctx: click.Context, **opts) -> None:
    """Fick's second law: dc/dt = div(D grad c) + s - k c.

    \b
    Examples:
      simdiff pde diffusion --dim 2 --shape 256 256 --D 1e-3 --t-end 10 --plot --movie
      simdiff pde diffusion --dim 1 --shape 200 --init step --bc x-=dirichlet:1 --bc x+=dirichlet:0
      simdiff pde diffusion --bc periodic --init random --method spectral --out noise.h5
      simdiff pde diffusion --config run.toml --t-end 20
    """
    opts = apply_config(ctx, opts)

    def make(o: dict, bc):
        from simdiff.pde import Diffusion

        return Diffusion(D=o["D"], bc=bc, source=o["source"], decay=o["decay"])

    run_model(ctx, opts, make, title=f"diffusion, D={opts['D']:g}")


# ---- reaction–diffusion -------------------------------------------------------------------------

RD_INIT = click.option(
    "--init", type=click.Choice(["seeded", "steady"]), default="seeded", show_default=True,
    help="Initial state: seeded (the model's own start, e.g. a perturbed square in the middle, plus noise of "
         "0.01 from --seed) or steady (the homogeneous steady state plus noise of 0.01).")


def _rd_method_option(methods: tuple[str, ...]) -> Callable:
    names = ("auto",) + tuple(m.replace("_", "-") for m in methods)
    return click.option(
        "--method", default="auto", show_default=True, metavar="METHOD",
        help=f"Time stepper: {', '.join(names)}. auto picks the fused explicit Euler kernel, or ETDRK4 on a "
             f"periodic grid without a mask when its step is over 50 times longer, and euler-maruyama with "
             f"--noise. Explicit methods refuse a --dt above the diffusion stability limit and warn above the "
             f"reaction's; etd* need a periodic grid.")


def rd_options(*, extent: float, t_end: float, out: str, species: tuple[str, ...] | None,
               methods: tuple[str, ...] = RD_METHODS) -> Callable:
    """The options every reaction–diffusion command shares (grid, run, output, shown field, noise);
    the defaults are the model's. A command adds its model options on top. ``species=None`` (a
    model defined on the command line) leaves --field free, checked once the model is built."""
    if species is None:
        field = click.option("--field", default=None, metavar="SPECIES",
                             help="Species drawn by --plot and --movie, or all (one file each). [default: the first]")
    else:
        field = click.option("--field", type=click.Choice([*species, "all"]), default=None,
                             help=f"Species drawn by --plot and --movie, or all (one file each). "
                                  f"[default: {species[0]}]")
    return _group(
        *_dim_shape_extent(RD_CELLS, f"{extent:g}", "Length of the box along each axis (one number for all, or one "
                                                     "per axis); the default is the box the presets are made for."),
        click.option("--periodic/--walls", default=True, show_default=True,
                     help="Periodic box, or no-flux walls on every side."),
        MASK_OPTION,
        RD_INIT,
        *_run_options(t_end, _rd_method_option(methods),
                      "Time step. [default: 90% of the diffusion stability limit for explicit methods; for "
                      "ETD/IMEX a step that resolves the reaction, at most 50 explicit limits]"),
        click.option("--noise", type=float, default=0.0, show_default=True,
                     help="Amplitude sigma of additive noise in every species and cell, increments of variance "
                          "sigma^2 dt (stochastic reaction-diffusion, euler-maruyama; seeded by --seed)."),
        field,
        *_output_options(out),
    )


def default_field(model) -> str:
    """The species the figures show unless --field says otherwise."""
    return getattr(model, "display_species", None) or model.species[0]


def run_reaction_diffusion(ctx: click.Context, opts: dict, make_model: Callable[[dict], Any], *, title: str) -> None:
    """Everything after a reaction–diffusion command has parsed its options (:func:`rd_options`):
    grid from --dim/--shape/--extent/--periodic, ``make_model(opts)``, the model's initial state,
    the run (euler-maruyama with --noise), the figures of --field."""
    from simdiff.pde import Grid

    _check_run_options(opts)
    if not opts["noise"] >= 0:
        raise CommandError(f"--noise={opts['noise']:g}: the noise amplitude must be >= 0.")
    dim, shape, extent = per_axis(ctx, opts, RD_CELLS)
    grid = Grid(shape, extent=extent, periodic=opts["periodic"])
    model = make_model(opts)
    field = opts["field"] or default_field(model)
    if field not in (*model.species, "all"):
        raise CommandError(f"--field {field!r}: {model.name} has the species {', '.join(model.species)} (or all).")
    method = "euler-maruyama" if opts["noise"] and opts["method"] == "auto" else opts["method"]
    u0 = model.initial(grid, kind=opts["init"], seed=opts["seed"])
    side = "periodic" if opts["periodic"] else "neumann"
    execute(ctx, opts, grid, model, u0, mask=_mask(grid, opts), boundaries={s: side for s in SIDES[:2 * dim]},
            title=title, fields=list(model.species) if field == "all" else [field], method=method,
            noise=opts["noise"], config={"model": model.to_dict()})


_RESERVED = {"preset", "dim", "shape", "extent", "periodic", "mask", "init", "t_end", "method", "dt", "frames",
             "seed", "resume", "progress", "noise", "field", "out", "plot", "movie", "movie_format", "fps",
             "config", "state"}


def physics_options(cls: type) -> list[Callable]:
    """``--preset``, one option per reaction parameter (``--F``) and per diffusivity (``--D-u``),
    from the model class. Their defaults are None: unset, the preset's (or the model's) value."""
    clash = sorted(set(cls.parameters) & _RESERVED)
    if clash:
        raise TypeError(f"model {cls.name!r}: parameter names {clash} clash with command options; rename them.")
    presets = ", ".join(cls.presets) or "none"
    options = [click.option("--preset", default=None, metavar="NAME",
                            help=f"Named parameter set: {presets} (`simdiff pde presets {cls.name}`). Options "
                                 f"given with it override its values.")]
    for p, default in cls.parameters.items():
        lo, hi = cls.ranges.get(p, (float("-inf"), float("inf")))
        options.append(click.option(f"--{p}", p, type=float, default=None, metavar="X",
                                    help=f"Reaction parameter {p}, in [{lo:g}, {hi:g}]. [default: {default:g}, "
                                         f"or the preset's]"))
    for s in cls.species:
        options.append(click.option(f"--D-{s}", f"D_{s}", type=float, default=None, metavar="D",
                                    help=f"Diffusivity of {s} (length^2/time), >= 0. [default: "
                                         f"{cls.diffusivity.get(s, 1.0):g}, or the preset's]"))
    return options


def build_model(cls: type, opts: dict):
    """The model from --preset and the parameter/diffusivity options (given ones win)."""
    values = {k: opts[k] for k in [*cls.parameters, *(f"D_{s}" for s in cls.species)] if opts.get(k) is not None}
    name = opts.get("preset")
    if name is None:
        return cls(**values)
    if name not in cls.presets:
        raise CommandError(f"--preset {name!r}: {cls.name} has no such preset; presets are "
                           f"{', '.join(cls.presets) or 'none'}.")
    return cls.preset(name, **values)


def _title(model, preset: str | None) -> str:
    params = ", ".join(f"{k}={v:g}" for k, v in model.params.items())
    return f"{model.name}{f' ({preset})' if preset else ''}: {params}"


_TEX = [(r"\\nabla\^2\s*", " ∇²"), (r"\\varepsilon", "ε"), (r"\\left|\\right", ""), (r"\\[;,]", " "),
        (r"\\sqrt\{([^{}]*)\}", r" sqrt(\1)"), (r"\\frac\{(\w+)\}\{(\w+)\}", r"\1/\2"),
        (r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)"),
        (r":math:`([^`]*)`", r"\1"), (r"``([^`]*)``", r"\1")]


def _plain(text: str) -> str:
    """A docstring paragraph without reST and LaTeX markup, for the terminal."""
    text = " ".join(text.split())
    for pattern, repl in _TEX:
        text = re.sub(pattern, repl, text)
    return text


def _docstring(cls: type) -> str:
    lines = [f"{cls.description[:1].upper()}{cls.description[1:]}."]
    doc = (cls.__doc__ or "").strip().split("\n\n")
    lines += [p for part in doc[:2] for p in ("", _plain(part))]
    example = f"simdiff pde {cls.name}" + (f" --preset {next(iter(cls.presets))}" if cls.presets else "")
    lines += ["", "\b", "Examples:", f"  {example} --plot --movie",
              f"  {example} --shape 128 128 --extent {cls.extent / 2:g} --out small.h5   # a quarter of the box"]
    return "\n".join(lines)


def model_command(cls: type) -> click.Command:
    """The ``simdiff pde <model>`` command of a reaction–diffusion model class."""

    def command(ctx: click.Context, **opts) -> None:
        opts = apply_config(ctx, opts)
        model = build_model(cls, opts)
        run_reaction_diffusion(ctx, opts, lambda o: model, title=_title(model, opts["preset"]))

    decorate = _group(*physics_options(cls), rd_options(extent=cls.extent, t_end=cls.t_end, out=f"{cls.name}.h5",
                                                        species=cls.species, methods=tuple(cls.methods)))
    return click.command(cls.name, cls=PDECommand, help=_docstring(cls),
                         short_help=cls.description)(click.pass_context(decorate(command)))


# ---- presets and Turing analysis ----------------------------------------------------------------

@pde.command(short_help="Every model's presets: parameters and what they show.")
@click.argument("model", required=False, metavar="[MODEL]")
def presets(model: str | None) -> None:
    """List every reaction-diffusion model's presets: parameters and what they show.

    Each row is a model, a preset, the values it sets (the rest are the model's defaults, shown
    in the model's first row) and a one-line description. Run one with
    `simdiff pde MODEL --preset NAME`.
    """
    from simdiff.pde import models

    registry = models()
    if model is not None and model.replace("_", "-").lower() not in registry:
        raise CommandError(f"no model {model!r}; models are {', '.join(sorted(registry))}.")
    rows = [("model", "preset", "parameters", "description")]
    for name in sorted(registry) if model is None else [model.replace("_", "-").lower()]:
        cls = registry[name]
        defaults = {**cls.parameters, **{f"D_{s}": cls.diffusivity.get(s, 1.0) for s in cls.species}}
        rows.append((name, "(defaults)", " ".join(f"{k}={v:g}" for k, v in defaults.items()), cls.description))
        for preset, values in cls.presets.items():
            set_ = " ".join(f"{k}={v:g}" for k, v in values.items() if k != "description") or "-"
            rows.append(("", preset, set_, values.get("description", "")))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[3])


def _parse_state(text: str | None, species: tuple[str, ...]):
    if text is None:
        return None
    values = _numbers(text, "--state", float)
    if len(values) != len(species):
        raise CommandError(f"--state {text!r} has {len(values)} numbers; give one per species "
                           f"({', '.join(species)}).")
    return values


def _plot_dispersion(analysis, path: str, title: str) -> None:
    """``turing.plot``, zoomed on the unstable band (the curve falls like -D k^2 far beyond it)."""
    from simdiff.io.atomic import atomic_path
    from simdiff.pde import turing

    fig = turing.plot(analysis, title=title)
    if analysis.band is not None:
        ax = fig.axes[0]
        near = analysis.k <= 2 * analysis.band[1]
        ax.set_xlim(0.0, 2 * analysis.band[1])
        ax.set_ylim(1.2 * analysis.growth[near].min(), 1.5 * analysis.growth.max())
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)


def turing_command(cls: type) -> click.Command:
    """The ``simdiff pde turing <model>`` command of a model class."""

    def command(preset: str | None, state: str | None, plot: str | None, **opts) -> None:
        from simdiff.pde import turing

        model = build_model(cls, {"preset": preset, **opts})
        analysis = turing.analyse(model, state=_parse_state(state, cls.species))
        click.echo(f"{_title(model, preset)}, " + ", ".join(f"D_{s}={d:g}" for s, d in model.D.items()))
        click.echo(analysis.summary())
        if plot:
            _plot_dispersion(analysis, plot, title=f"{cls.name}{f' ({preset})' if preset else ''}: dispersion relation")
            click.echo(f"wrote {plot} (dispersion relation)")

    decorate = _group(
        *physics_options(cls),
        click.option("--state", default=None, metavar="U,V[,...]",
                     help="Analyse around this homogeneous state instead of the model's steady state."),
        click.option("--plot", default=None, metavar="FILE.png",
                     help="Also write the dispersion relation max Re lambda(k) with the unstable band."),
    )
    return click.command(cls.name, cls=PDECommand, short_help=cls.description,
                         help=f"Dispersion relation and Turing band of {cls.name} around its homogeneous steady "
                              f"state.\n\nPrints the unstable band of wavenumbers, the fastest-growing k and the "
                              f"predicted pattern wavelength 2 pi / k_max.")(decorate(command))


@pde.group(cls=ModelGroup, factory=turing_command, min_species=2,
           short_help="Turing band and predicted pattern wavelength of a model.")
def turing() -> None:
    """Linear stability of a model's steady state: Turing band and wavelength.

    Perturbing the homogeneous steady state by exp(lambda t + i k.x) gives
    lambda(k) = eig(J - k^2 D); a Turing instability is stable at k = 0 and unstable on a band of
    k > 0, and the fastest-growing k_max predicts the pattern wavelength 2 pi / k_max.

    \b
    Examples:
      simdiff pde turing schnakenberg --preset spots --plot turing.png
      simdiff pde turing brusselator --A 3 --B 9 --D-v 8
    """


# ---- a model written on the command line ---------------------------------------------------------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class CustomCommand(PDECommand):
    """``--species u v`` and ``--D 1e-5 5e-6`` take several words, like ``--shape``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        joined, i = [], 0
        while i < len(args):
            joined.append(args[i])
            i += 1
            pattern = {"--species": _NAME, "--D": _NUMBER}.get(joined[-1])
            if pattern is not None:
                values = []
                while i < len(args) and pattern.fullmatch(args[i]):
                    values.append(args[i])
                    i += 1
                if values:
                    joined.append(",".join(values))
        return super().parse_args(ctx, joined)


@pde.command(cls=CustomCommand, short_help="A model written on the command line: species, D, reactions.")
@click.option("--species", "species_list", required=True, metavar="NAME [NAME ...]",
              help="Species names, e.g. `--species u v`.")
@click.option("--D", "D_list", default=None, metavar="D [D ...]",
              help="Diffusivity per species (length^2/time), in --species order; one number for all. [default: 1]")
@click.option("--reaction", "reactions", multiple=True, required=True, metavar='"S: EXPR"',
              help="The reaction term of one species, e.g. `--reaction \"u: -u*v**2 + F*(1-u)\"` (repeat per "
                   "species). EXPR uses the species, the parameters, t, numbers, + - * / ** and exp, log, sqrt, "
                   "sin, cos, tan, sinh, cosh, tanh, abs, min, max.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A reaction parameter (repeatable).")
@rd_options(extent=1.0, t_end=100.0, out="custom.h5", species=None)
@click.pass_context
def custom(ctx: click.Context, species_list: str, D_list: str | None, reactions: tuple[str, ...],
           params: tuple[str, ...], **opts) -> None:
    """A reaction–diffusion model from the command line.

    The expressions are parsed into a safe arithmetic subset (never evaluated as Python), compiled
    with numba and cached on disk, so a second run of the same model starts at once.

    \b
    Example (Gray–Scott, written out):
      simdiff pde custom --species u v --D 2e-5 1e-5 \\
        --reaction "u: -u*v**2 + F*(1-u)" --reaction "v: u*v**2 - (F+k)*v" \\
        --param F=0.04 --param k=0.06 --extent 2.5 --t-end 2000 --plot
    """
    opts = apply_config(ctx, opts)
    species = [s for s in re.split(r"[,\s]+", species_list) if s]
    D = None
    if D_list is not None:
        D = _numbers(D_list, "--D", float)
        if len(D) == 1:
            D = D * len(species)
        elif len(D) != len(species):
            raise CommandError(f"--D has {len(D)} values for {len(species)} species ({', '.join(species)}).")
    values = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not _NAME.fullmatch(name.strip()):
            raise CommandError(f"--param {item!r}: write NAME=VALUE, e.g. --param F=0.04.")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise CommandError(f"--param {item!r}: {value!r} is not a number.") from None

    def make(o):
        from simdiff.pde import custom_model

        return custom_model(species, list(reactions), params=values, D=D,
                            bc="periodic" if o["periodic"] else "neumann")

    model = make(opts)
    title = "custom: " + "; ".join(reactions) + (f" ({', '.join(f'{k}={v:g}' for k, v in values.items())})"
                                                 if values else "")
    run_reaction_diffusion(ctx, opts, lambda o: model, title=title)
