"""Movies of a run's frames: GIF through Pillow, MP4 through ffmpeg."""
from __future__ import annotations

import os

import numpy as np

from simdiff.errors import InputError
from simdiff.viz._common import atomic_path, check_frames, inside_of, limits, new_figure, pick, time_label
from simdiff.viz.fields import FieldView

MAX_FRAMES = 100


def animate(t, frames, grid, path: str | os.PathLike, fps: int = 10, *, mask=None, title: str | None = None,
            label: str = "c", cmap: str = "viridis", vmin: float | None = None, vmax: float | None = None,
            max_frames: int = MAX_FRAMES, dpi: int = 80) -> str:
    """Write a movie of the frames: a GIF, or an MP4 when ``path`` ends in ``.mp4`` (needs ffmpeg).

    Parameters
    ----------
    t, frames
        Times ``(n_t,)`` and fields ``(n_t, *grid.shape)``, time first.
    path
        ``*.gif`` or ``*.mp4``; written under a temporary name and renamed when complete.
    fps
        Frames per second (1 to 100).
    vmin, vmax
        One colour (1D: y) scale for the whole movie; default the range over every shown frame,
        so decay stays visible.
    max_frames
        At most this many frames (default 100), spread evenly from first to last.

    Each frame is titled with its time (after ``title``, when given). Returns the path written.
    """
    t, frames = check_frames(t, frames, grid)
    inside = inside_of(mask, grid)
    fps = int(fps)
    if not 1 <= fps <= 100:
        raise InputError(f"fps={fps!r}: pass 1 to 100 frames per second.")
    from matplotlib import animation

    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext == ".gif":
        writer = animation.PillowWriter(fps=fps)
    elif ext == ".mp4":
        if not animation.writers.is_available("ffmpeg"):
            raise InputError(f"writing {os.fspath(path)!r} needs ffmpeg, which is not installed (not on PATH); "
                             f"install ffmpeg, or write a .gif instead.")
        writer = animation.FFMpegWriter(fps=fps)
    else:
        raise InputError(f"movie path {os.fspath(path)!r}: use a .gif (Pillow) or .mp4 (ffmpeg) file name.")

    idx = pick(t.size, int(max_frames))
    shown = frames[idx] if inside is None else np.where(inside, frames[idx], np.nan)
    if grid.ndim == 3:
        k = [n // 2 for n in grid.shape]
        shown_range = np.concatenate([shown[:, :, :, k[2]].ravel(), shown[:, :, k[1], :].ravel(),
                                      shown[:, k[0], :, :].ravel()])
    else:
        shown_range = shown
    lo, hi = limits(shown_range, vmin, vmax)

    ratio = grid.lengths[1] / grid.lengths[0] if grid.ndim == 2 else 1.0
    figsize = {1: (6.4, 4.0), 2: (5.4, 0.5 + 4.2 * min(max(ratio, 0.5), 2.0)), 3: (12.8, 4.2)}[grid.ndim]
    fig = new_figure(figsize)
    axes = list(np.atleast_1d(fig.subplots(1, 3 if grid.ndim == 3 else 1)))

    def heading(i):
        return f"{title}, {time_label(t[i])}" if title else time_label(t[i])

    view = FieldView(grid, axes, frames[idx[0]], inside=inside, label=label, cmap=cmap, vmin=lo, vmax=hi,
                     title=heading(idx[0]))
    fig.canvas.draw()
    fig.set_layout_engine("none")          # freeze the layout: no jitter as titles change
    with atomic_path(path) as tmp:
        with writer.saving(fig, tmp, dpi=dpi):
            for i in idx:
                view.update(frames[i])
                view.set_title(heading(i))
                writer.grab_frame()
    return os.fspath(path)
