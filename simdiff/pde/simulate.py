"""``simulate``: run a grid model through the core solver, with output files and a summary."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from simdiff.core.solution import Solution
from simdiff.core.solve import solve
from simdiff.errors import InputError
from simdiff.pde.diffusion import EXPLICIT, IMPLICIT, METHODS, STABILITY_REACH, Diffusion
from simdiff.pde.grid import Grid, as_mask

# the core method that integrates each pde method's ODE
_CORE = {"spectral": "etd1", "adi": "adi"}


@dataclass
class Run:
    """What :func:`simulate` returns: the solution plus what a summary needs."""

    solution: Solution
    grid: Grid
    model: Any
    method: str
    dt: float
    out: str | None = None
    mass: np.ndarray | None = None          # integral of each saved frame (per field)
    info: dict = field(default_factory=dict)

    @property
    def t(self):
        return self.solution.t

    @property
    def y(self):
        return self.solution.y

    def summary(self) -> str:
        s = self.solution.stats
        m0, m1 = (float(np.sum(self.mass[0])), float(np.sum(self.mass[-1]))) if self.mass is not None else (0, 0)
        scale = float(np.sum(np.abs(self.y[0]))) * self.grid.cell_volume
        rel = (m1 - m0) / abs(m0) if abs(m0) > 1e-12 * max(scale, 1e-300) else float("nan")
        cells = f"{self.grid.shape[0]}-cell" if self.grid.ndim == 1 else "x".join(map(str, self.grid.shape))
        parts = [f"{self.model.name} on a {cells} grid from t={self.t[0]:g} to "
                 f"t={self.t[-1]:g} with method {self.method!r}, dt={self.dt:.3g}: {s.steps} steps in "
                 f"{s.wall_time:.2f} s ({s.path} path), {len(self.t)} frames.",
                 f"Mass {m0:.6g} -> {m1:.6g} " + (f"(relative change {rel:+.2e})." if rel == rel
                                                   else f"(change {m1 - m0:+.2e}).")]
        if self.out:
            parts.append(f"Frames written to {self.out}.")
        return " ".join(parts)


def default_method(model, grid: Grid, mask) -> str:
    if hasattr(model, "default_method"):
        return model.default_method(grid, mask)
    D = model.diffusivity(grid)
    tensor = np.ndim(D) == 2 and np.shape(D) == (grid.ndim, grid.ndim) and grid.ndim >= 2
    if all(grid.periodic) and mask is None and (np.ndim(D) == 0 or tensor):
        return "spectral"
    if tensor:
        return "rk4"
    return "crank_nicolson" if grid.ndim == 1 else "adi"


def simulate(model: Diffusion, grid: Grid, u0, t_end: float, *, dt: float | None = None, method: str = "auto",
             save_every: float | None = None, n_frames: int | None = None, out: str | os.PathLike | None = None,
             resume: bool = False, progress: bool = False, mask: Any = None, t0: float = 0.0,
             callbacks: Sequence = (), seed: int | None = None, attrs: dict | None = None,
             noise: float = 0.0) -> Run:
    """Integrate ``model`` on ``grid`` from ``u0`` at ``t0`` to ``t_end``.

    Parameters
    ----------
    method
        ``"euler"``, ``"rk4"`` (explicit, compiled), ``"backward_euler"``, ``"crank_nicolson"``
        (sparse LU, factorised once per dt), ``"adi"`` (2D/3D boxes), ``"spectral"`` (exact
        exponential in Fourier space; periodic, constant D), or ``"auto"`` (spectral where it
        applies, else ADI, Crank–Nicolson in 1D, RK4 for an anisotropic tensor on walls).
    dt
        Time step. ``None`` picks one: 90% of the stability limit for explicit methods, one step
        per frame for spectral, and for implicit methods the frame interval capped at 50 explicit
        limits and 1/50 of the run. An explicit ``dt`` above the stability limit is refused.
    save_every, n_frames
        Time between saved frames, or their number (default 51 frames).
    out
        HDF5 file written frame by frame (see :mod:`simdiff.io.hdf5`); with ``resume=True`` an
        existing file is continued from its last frame.
    mask
        Boolean array, function of coordinates, image path, or :class:`~simdiff.pde.Mask`.
    attrs
        Extra attributes for the run file (the CLI stores its resolved configuration here).
    noise
        Amplitude ``sigma`` of additive noise for stochastic reaction–diffusion (with
        ``method="euler_maruyama"`` and ``seed``): every cell and species gets independent
        increments of variance ``sigma**2 dt`` (not scaled by the cell volume).
    """
    if method == "auto":
        method = default_method(model, grid, as_mask(grid, mask))
    method = method.replace("-", "_")
    methods = getattr(model, "methods", METHODS)
    if method not in methods:
        raise InputError(f"unknown method {method!r} for {model.name}; use one of {', '.join(methods)} or 'auto'.")
    t_end, t0 = float(t_end), float(t0)
    if not (math.isfinite(t_end) and t_end > t0):
        raise InputError(f"t_end={t_end:g} must be finite and after t0={t0:g}.")
    u0 = np.asarray(u0, dtype=float)      # solve() takes its own copy
    species = getattr(model, "species", None)
    if species is not None:
        want = (len(species), *grid.shape)
        if u0.shape == grid.shape and len(species) == 1:
            u0 = u0[None]
        if u0.shape != want:
            raise InputError(f"u0 has shape {u0.shape}; {model.name} on this grid needs {want} "
                             f"(species {', '.join(species)} first, then the grid's shape).")
    else:
        grid.check_field(u0, "u0")
    if not np.all(np.isfinite(u0)):
        raise InputError("u0 has non-finite values; pass a finite initial field.")
    mk = as_mask(grid, mask)
    if mk is not None:
        u0 = np.where(mk.inside, u0, 0.0)
    if method == "adi" and grid.ndim == 1:
        method = "crank_nicolson"

    if n_frames is not None and save_every is not None:
        raise InputError("pass save_every or n_frames, not both.")
    if save_every is not None:
        if not save_every > 0:
            raise InputError(f"save_every={save_every!r} must be a positive time.")
        n_int = max(1, int(round((t_end - t0) / save_every)))
        if abs(n_int * save_every - (t_end - t0)) > 1e-9 * (t_end - t0):
            n_int = int(math.ceil((t_end - t0) / save_every - 1e-9))
        times = np.minimum(t0 + save_every * np.arange(n_int + 1), t_end)
        times[-1] = t_end
    else:
        nf = 51 if n_frames is None else int(n_frames)
        if nf < 2:
            raise InputError(f"n_frames={n_frames!r}: need at least 2 (the initial and the final state).")
        times = np.linspace(t0, t_end, nf)
    interval = float(np.min(np.diff(times)))

    stored = _stored_run(out) if (out is not None and resume and os.path.exists(out)) else None
    if stored is not None and dt is None:
        dt = float(stored["dt"])         # continue with the file's step
    rd = species is not None
    kw = {"state": u0} if rd else {}          # the reaction's stiffness where the run starts
    limit = model.stable_dt(grid, method, **kw) if method in EXPLICIT else model.stable_dt(grid, "euler", **kw)
    if dt is None:
        if method in EXPLICIT or method == "euler_maruyama":
            dt = 0.9 * limit
        elif method == "spectral":
            dt = interval
        elif hasattr(model, "default_dt"):
            dt = model.default_dt(grid, method)
        else:
            dt = min(interval, 50 * limit, (t_end - t0) / 50)
        # a whole number of steps per frame: frames then fall on steps, and implicit methods
        # see one step size (one factorisation) instead of a new one at every frame
        dt = interval / math.ceil(interval / min(dt, interval) - 1e-9)
    dt = float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise InputError(f"dt={dt!r} must be a positive number.")
    # the diffusion limit is exact (the Laplacian's spectrum): above it a run is refused. The
    # reaction's part is an estimate (a Gershgorin bound, positivity): above it a run is warned.
    hard = limit if not rd else STABILITY_REACH.get(method, 2.0) / max(
        4.0 * model.d_max(grid) * sum(1.0 / h ** 2 for h in grid.dx), 1e-300)
    if method in EXPLICIT and dt > hard * (1 + 1e-12):
        dmax = model.d_max(grid) if hasattr(model, "d_max") else max(model.D.values())
        raise InputError(
            f"explicit method {method!r} is unstable for dt={dt:.3g} on this grid; the limit is "
            f"{hard:.3g} (= reach / (4 D_max sum 1/dx^2) with D_max={dmax:g}, "
            f"dx={', '.join(f'{h:g}' for h in grid.dx)}). "
            f"Use dt <= {hard:.3g}, dt=None to choose one, or method='crank_nicolson' (or 'adi').")
    if method in EXPLICIT and dt > limit * (1 + 1e-12):
        import warnings

        warnings.warn(f"dt={dt:.3g} is above {limit:.3g}, the step {model.name}'s reaction allows by its "
                      f"Jacobian bound and positivity at u0; the run may go unstable or negative. "
                      f"dt=None chooses a safe step.", stacklevel=2)

    fields = list(getattr(model, "species", ("c",)))
    if noise:
        if not hasattr(model, "species"):
            raise InputError("noise= (stochastic reaction–diffusion) needs a reaction–diffusion model.")
        if method != "euler_maruyama":
            raise InputError(f"noise={noise:g} makes the model an SDE: use method='euler_maruyama', not {method!r}.")
        problem = model.problem(grid, method=method, mask=mk, noise=float(noise))
    else:
        problem = model.problem(grid, method=method, mask=mk, t0=t0)
    writer = None
    start_t, start_u = t0, u0
    core_method = _CORE.get(method, method)
    if method == "spectral" and callable(model.source):
        core_method = "etdrk4"
    # the step times of the whole run: a resumed run takes exactly the steps it would have taken
    from simdiff.core.solve import time_grid

    if stored is not None:
        t_first = float(stored["frames"][0])
        steps, _ = time_grid((t_first, t_end), dt=dt,
                             save_at=np.union1d(np.asarray(stored["frames"], float), times))
    else:
        steps, _ = time_grid((t0, t_end), dt=dt, save_at=times)
    full_steps = steps.copy()
    if out is not None:
        from simdiff.io.hdf5 import RunFile
        from simdiff.pde.boundaries import Boundaries

        attrs = {"model": model.to_dict(), "grid": grid.to_dict(), "method": method, "dt": dt,
                 "t_end": t_end, "frames": times.tolist(), "seed": -1 if seed is None else int(seed),
                 "bc": Boundaries(grid, model.bc).to_dict(), "mask": mk is not None, **(attrs or {})}
        if resume and os.path.exists(out):
            writer, start_t, last = RunFile.open_for_resume(out, fields)
            _check_resume(out, writer.h5.attrs, attrs)
            start_u = last.reshape(u0.shape)
            later = times > start_t + 1e-12 * max(1.0, abs(start_t))
            if not later.any():
                writer.close()
                raise InputError(f"{os.fspath(out)!r} already reaches t={start_t:g} >= t_end={t_end:g}; nothing to resume.")
            times = np.concatenate([[start_t], times[later]])
            steps = steps[steps >= start_t - 1e-12 * max(1.0, abs(start_t))]
            steps[0] = start_t
        else:
            writer = RunFile.create(out, grid, fields, t0, u0.reshape((len(fields), *grid.shape)), attrs)

    if method == "crank_nicolson":
        from simdiff.core.methods.implicit import CrankNicolson

        # damp the stiffest modes of rough initial data with two Rannacher steps; a resumed run
        # takes only those it had not taken yet
        taken = 0 if stored is None else int(np.sum(full_steps < start_t - 1e-12 * max(1.0, abs(start_t))))
        core_method = CrankNicolson(rannacher=max(0, 2 - taken))

    first = [True]

    def write(t, y):
        if first[0]:          # the initial frame is already in the file
            first[0] = False
            return
        writer.append(t, np.asarray(y).reshape((len(fields), *grid.shape)))

    cbs = ([write] if writer is not None else []) + list(callbacks)   # the file first: a callback may stop the run
    if getattr(model, "nonnegative", False) and not noise:
        cbs.append(_positivity_check(model, method, dt))
    wall = time.perf_counter()
    try:
        sol = solve(problem, start_u, None, grid=steps, method=core_method, save_at=times,
                    callbacks=cbs, progress=progress, seed=seed)
    finally:
        if writer is not None:
            writer.close()
    sol.stats.wall_time = time.perf_counter() - wall
    mass = np.array([grid.integrate(f, mk) for f in sol.y])
    return Run(sol, grid, model, method, dt, None if out is None else os.fspath(out), mass,
               {"limit": limit, "core_method": core_method, "implicit": method in IMPLICIT})


def _check_resume(path, stored, mine: dict) -> None:
    """Refuse to continue a run file that another run (grid, model, method, dt, frames) wrote."""
    import json

    from simdiff.errors import CheckpointError

    for key in ("grid", "model", "method", "bc"):
        if key not in stored:
            raise CheckpointError(f"{os.fspath(path)!r} has no {key!r} attribute: it is not a simdiff run file.")
        have = stored[key]
        try:
            have = json.loads(have) if isinstance(have, str) and have[:1] in "[{" else have
        except json.JSONDecodeError:
            pass
        want = json.loads(json.dumps(mine[key], default=str))
        same = np.allclose(have, want, rtol=1e-12, atol=0) if key in ("dt", "frames") and \
            np.shape(have) == np.shape(want) else have == want
        if not same:
            raise CheckpointError(f"cannot resume {os.fspath(path)!r}: its {key} is {have!r}, this run's is {want!r}. "
                                  f"Resume with the same settings, or write to another file.")


def _stored_run(path) -> dict:
    """The attributes of an existing run file, JSON decoded."""
    import h5py

    from simdiff.errors import CheckpointError
    from simdiff.io.hdf5 import decode_attrs

    try:
        with h5py.File(path, "r") as h5:
            out = decode_attrs(h5.attrs)
    except OSError as err:
        raise CheckpointError(f"cannot resume from {os.fspath(path)!r}: {err}. Delete it or write to another file.") from None
    for key in ("dt", "frames"):
        if key not in out:
            raise CheckpointError(f"{os.fspath(path)!r} has no {key!r} attribute: it is not a simdiff run file.")
    return out


def _positivity_check(model, method: str, dt: float):
    """A frame callback: concentrations of a model that keeps them >= 0 must stay (nearly) so."""

    def check(t, y):
        y = np.asarray(y)
        lo = float(y.min())
        scale = max(float(np.abs(y).max()), 1e-300)
        if lo < -1e-3 * scale:
            s = int(np.unravel_index(np.argmin(y), y.shape)[0]) if y.ndim > 1 else 0
            name = model.species[s] if hasattr(model, "species") else "c"
            from simdiff.errors import StabilityError

            raise StabilityError(
                f"{model.name}: concentration {name!r} went negative ({lo:.3g}) by t={t:g} with method "
                f"{method!r}, dt={dt:.3g}: the step is too large for the reaction. Use a smaller dt"
                + ("." if method in ("etdrk4", "etd1", "etdrk2", "crank_nicolson", "backward_euler")
                   else ", or method='etdrk4' (periodic grids) / 'crank_nicolson'."), t=float(t), step=-1)

    return check
