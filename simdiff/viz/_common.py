"""Shared plumbing of the plotting functions: backend, input checks, colour limits, atomic files."""
from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

from simdiff.errors import InputError
from simdiff.io.atomic import atomic_path  # noqa: F401  (used by the plotting modules)

AXES = "xyz"


def pyplot():
    """``matplotlib.pyplot``, choosing Agg first when there is no display to draw on."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND") and sys.platform.startswith(
            "linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def new_figure(figsize: tuple[float, float]):
    """A figure outside pyplot's state (nothing to close, safe in threads), drawn by Agg."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def check_field(field, grid, name: str = "field") -> np.ndarray:
    f = np.asarray(field, dtype=float)
    if f.shape != tuple(grid.shape):
        raise InputError(f"{name} has shape {f.shape}; the grid has shape {tuple(grid.shape)}. "
                         f"Pass one value per cell (a single species).")
    return f


def check_frames(t, frames, grid) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, dtype=float).reshape(-1)
    frames = np.asarray(frames, dtype=float)
    if frames.shape[1:] != tuple(grid.shape) or frames.shape[0] != t.size:
        raise InputError(f"frames have shape {frames.shape} and t has {t.size} entries; frames must be "
                         f"(len(t), *grid.shape) = ({t.size}, {', '.join(map(str, grid.shape))}), time first.")
    if t.size == 0:
        raise InputError("there are no frames to plot (t is empty).")
    return t, frames


def inside_of(mask, grid) -> np.ndarray | None:
    """The boolean ``inside`` array of a :class:`~simdiff.pde.Mask` or a boolean array (None: everywhere)."""
    if mask is None:
        return None
    inside = np.asarray(getattr(mask, "inside", mask))
    if inside.shape != tuple(grid.shape) or inside.dtype != bool:
        raise InputError(f"mask must be a Mask or a boolean array of shape {tuple(grid.shape)}; "
                         f"got {inside.dtype} of shape {inside.shape}.")
    return inside


def limits(values, vmin: float | None = None, vmax: float | None = None) -> tuple[float, float]:
    """Colour (or y) limits over the finite values; a constant field gets a small range around it."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lo = float(v.min()) if vmin is None and v.size else (0.0 if vmin is None else float(vmin))
    hi = float(v.max()) if vmax is None and v.size else (1.0 if vmax is None else float(vmax))
    if not hi > lo:
        pad = 0.5 if lo == 0 else 0.05 * abs(lo)
        lo, hi = lo - pad, hi + pad
    return lo, hi


def pick(n_total: int, n: int) -> np.ndarray:
    """``n`` indices spread evenly over ``range(n_total)``, first and last included."""
    if n < 1:
        raise InputError(f"n={n!r}: need at least 1 frame.")
    return np.unique(np.round(np.linspace(0, n_total - 1, min(n, n_total))).astype(int))


def time_label(t: float) -> str:
    return f"t = {t:.4g}"


def savefig(fig: Any, path: str | os.PathLike, dpi: int) -> str:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return os.fspath(path)
