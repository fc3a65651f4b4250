"""``simdiff pde``: partial differential equations on grids, one command per model.

Every model command is built from the same option groups: :data:`GRID_OPTIONS` (dimension,
cells, box, boundary conditions, mask, initial state), :data:`RUN_OPTIONS` (end time, method,
step, frames, seed, resume), :data:`OUTPUT_OPTIONS` (run file, plot, movie, ``--config``). A new
model (Gray-Scott, ...) adds a ``@pde.command(cls=PDECommand)`` function with those groups and its
own physics options, builds its model object and hands it to :func:`run_model`, which does the
rest: TOML configuration, grid, initial state, the run with a progress bar, the resolved
configuration in the run file, the figures and the printed summary.

numpy, numba, the physics and matplotlib are imported inside the commands, so ``simdiff pde
--help`` stays light.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable

import click
from click.core import ParameterSource

from simdiff_cli.errors import CommandError

# the methods of simdiff.pde.simulate, as the command line spells them (tests check the two agree)
METHODS = ("auto", "crank-nicolson", "backward-euler", "adi", "spectral", "euler", "heun", "rk4", "ssprk3")
DEFAULT_CELLS = {1: 256, 2: 128, 3: 48}
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
                raise CommandError(f"{err.format_message()} (see `simdiff pde {self.name} --help`)") from None
            raise CommandError(err.format_message()) from None


def _group(*decorators: Callable) -> Callable:
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


GRID_OPTIONS = _group(
    click.option("--dim", type=click.IntRange(1, 3), default=2, show_default=True,
                 help="Number of space dimensions (1, 2 or 3)."),
    click.option("--shape", default=None, metavar="N [N [N]]",
                 help="Cells per axis, one number per dimension: `256 256`, `256,256` or `256x256`; one number "
                      "sets every axis. Without --dim the count of numbers gives the dimension. "
                      "[default: 256 in 1D, 128 in 2D, 48 in 3D]"),
    click.option("--extent", default="1.0", show_default=True, metavar="L [L [L]]",
                 help="Length of the box along each axis (one number for all, or one per axis)."),
    click.option("--bc", multiple=True, metavar="[SIDE=]KIND[:VALUES]",
                 help="Boundary condition, repeatable; later ones override earlier ones. KIND is neumann "
                      "(du/dn = VALUE; default 0, no flux), dirichlet (u = VALUE, default 0), periodic, or "
                      "robin:ALPHA,BETA[,VALUE] (alpha u + beta du/dn = VALUE; also robin(ALPHA,BETA,VALUE)). "
                      "Without SIDE it applies to every side; SIDE is x-, x+, y-, y+, z-, z+ or x, y, z for "
                      "both ends: --bc neumann --bc x-=dirichlet:1. Periodic sides make the grid periodic "
                      "along that axis. [default: neumann]"),
    click.option("--mask", default=None, metavar="IMAGE",
                 help="Black-and-white image of the domain (2D): white cells are inside, walls between "
                      "inside and outside are no-flux. Resized to the grid."),
    click.option("--init", default="gaussian", show_default=True, metavar="KIND",
                 help="Initial state: gaussian (unit peak, width 0.05 of the box, at the centre), step "
                      "(1 in the left half along x), random (uniform in [0, 1), from --seed), or "
                      "image:PATH (grey levels 0..1 of an image resized to the grid; 2D)."),
)

RUN_OPTIONS = _group(
    click.option("--t-end", type=float, default=10.0, show_default=True, help="End time of the run."),
    click.option("--method", default="auto", show_default=True, metavar="METHOD",
                 help=f"Time stepper: {', '.join(METHODS)}. auto picks spectral on fully periodic grids, "
                      f"ADI in 2D/3D, Crank-Nicolson in 1D. Explicit methods (euler, heun, rk4, ssprk3) "
                      f"refuse a --dt above their stability limit."),
    click.option("--dt", type=float, default=None,
                 help="Time step. [default: 90% of the stability limit for explicit methods; the frame "
                      "interval capped at 50 explicit limits for implicit ones]"),
    click.option("--frames", type=int, default=51, show_default=True,
                 help="Saved frames, evenly spaced from t=0 to --t-end (at least 2)."),
    click.option("--seed", type=int, default=0, show_default=True,
                 help="Seed of the random initial state; recorded in the run file."),
    click.option("--resume", is_flag=True,
                 help="Continue the run in --out from its last frame up to --t-end (same model and grid; the file's "
                      "frame spacing unless --frames is given)."),
    click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar."),
)

OUTPUT_OPTIONS = _group(
    click.option("--out", default="run.h5", show_default=True, metavar="FILE.h5",
                 help="HDF5 run file: frames (time first), coordinates, resolved configuration, seed."),
    click.option("--plot", is_flag=True, help="Also write <out stem>.png: a few frames from the first to the last."),
    click.option("--movie", is_flag=True, help="Also write a movie <out stem>.gif (at most 100 frames)."),
    click.option("--movie-format", type=click.Choice(["gif", "mp4"]), default="gif", show_default=True,
                 help="Movie format; mp4 needs ffmpeg."),
    click.option("--fps", type=click.IntRange(1, 100), default=10, show_default=True, help="Movie frames per second."),
    click.option("--config", default=None, metavar="FILE.toml",
                 help="Read options from a TOML file (keys are option names, dashes or underscores: "
                      "t-end = 10, shape = [256, 256], bc = [\"x-=dirichlet:1\"] or a [bc] table). "
                      "Options given on the command line override it."),
)


@click.group()
def pde() -> None:
    """Diffusion and reaction-diffusion on grids.

    Each command discretises a PDE in space (finite volumes on a cell-centred grid, method of
    lines) and integrates it with simdiff's solver, writing an HDF5 run file (frames, version,
    configuration, seed) and, on request, a PNG of a few frames and a movie. Every command
    reads its options from a TOML file with --config; flags given on the command line win.

    \b
    Example:
      simdiff pde diffusion --dim 2 --shape 256 256 --D 1e-3 --t-end 10 --plot --movie
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


def per_axis(ctx: click.Context, opts: dict) -> tuple[int, tuple[int, ...], list[float]]:
    """Dimension, cells per axis and box lengths from --dim, --shape, --extent."""
    dim_given = _given(ctx, "dim")
    shape = None if opts["shape"] is None else _numbers(opts["shape"], "--shape", int)
    dim = opts["dim"] if dim_given or shape is None or len(shape) == 1 else len(shape)
    if shape is None:
        shape = [DEFAULT_CELLS[dim]]
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


def _record(out: str, config: dict, boundaries: dict) -> None:
    """The resolved configuration and boundary conditions, as run-file attributes."""
    import h5py

    with h5py.File(out, "a") as h5:
        h5.attrs["config"] = json.dumps(config)
        h5.attrs["bc"] = json.dumps(boundaries)


def _read_frames(out: str, field: str, n: int):
    """Times and ``n`` frames (evenly spread, first and last included) of a run file."""
    import h5py
    import numpy as np

    with h5py.File(out, "r") as h5:
        t = h5["t"][()]
        count = min(t.size, h5[field].shape[0])
        idx = np.unique(np.round(np.linspace(0, count - 1, min(n, count))).astype(int))
        return t[idx], h5[field][idx]


def run_model(ctx: click.Context, opts: dict, make_model: Callable[[dict, Any], Any], *, title: str) -> None:
    """Everything after a model command has parsed its options.

    ``make_model(opts, bc)`` builds the model from the merged options and the parsed boundary
    conditions; ``title`` heads the figures. Prints the run summary and the files written.
    """
    from simdiff.pde import Grid, simulate

    if opts["seed"] < 0:
        raise CommandError(f"--seed={opts['seed']}: use a seed >= 0.")
    if opts["frames"] < 2:
        raise CommandError(f"--frames={opts['frames']}: need at least 2 (the initial and the final state).")
    dim, shape, extent = per_axis(ctx, opts)
    bc, periodic, described = parse_bc(opts["bc"], dim)
    grid = Grid(shape, extent=extent, periodic=periodic)
    model = make_model(opts, bc)
    u0 = initial_state(opts["init"], grid, opts["seed"])
    mask = None
    if opts["mask"]:
        from simdiff.pde import Mask

        mask = Mask.from_image(grid, opts["mask"])
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
            raise CommandError(f"--movie-format mp4 needs ffmpeg, which is not installed (not on PATH); install "
                               f"ffmpeg or use --movie-format gif.")

    try:
        run = simulate(model, grid, u0, opts["t_end"], dt=opts["dt"], method=opts["method"].replace("-", "_"),
                       **saving, out=out, resume=opts["resume"], progress=opts["progress"],
                       mask=mask, seed=opts["seed"])
    except KeyboardInterrupt:
        click.echo(f"\nInterrupted: the frames finished so far are in {out}; add --resume to continue.", err=True)
        ctx.exit(130)

    config = {"command": f"simdiff pde {ctx.info_name}", "dim": dim, "shape": list(shape), "extent": extent,
              "bc": described, "resolved_method": run.method, "resolved_dt": run.dt}
    config.update({k: v for k, v in opts.items() if k not in config and k not in ("shape", "extent", "bc", "dim")})
    _record(out, json.loads(json.dumps(config, default=str)), _bc_dict(grid, model))
    click.echo(run.summary())
    written = [(out, "run file")] + _figures(out, grid, model, mask, opts, title=title,
                                             heading=f"{title}, {'x'.join(map(str, shape))} grid, "
                                                     f"{run.method.replace('_', '-')}")
    for path, what in written:
        click.echo(f"wrote {path} ({what})")


def _figures(out: str, grid, model, mask, opts: dict, *, title: str, heading: str) -> list[tuple[str, str]]:
    """``--plot`` and ``--movie`` from the run file (so a resumed run is shown whole); one file per
    species, ``<stem>-<species>.png`` when the model has several."""
    if not (opts["plot"] or opts["movie"]):
        return []
    from simdiff.viz import animate, plot_frames

    species = list(getattr(model, "species", ("c",)))
    written = []
    for name in species:
        stem = Path(out).with_suffix("") if len(species) == 1 else Path(f"{Path(out).with_suffix('')}-{name}")
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


def _bc_dict(grid, model) -> dict:
    from simdiff.pde import Boundaries

    return Boundaries(grid, model.bc).to_dict()


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
