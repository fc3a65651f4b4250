"""Movies of a run's frames: GIF through Pillow, MP4 through ffmpeg.

The figure is drawn once; each frame then redraws only what changes (the image or line and the
titles) over a saved background (blitting), so a frame costs a few milliseconds, not a full
redraw of axes, ticks and colorbar.
"""
from __future__ import annotations

import os
import subprocess
from typing import Iterator

import numpy as np

from simdiff.errors import InputError, SimdiffError
from simdiff.viz._common import atomic_path, check_frames, inside_of, limits, new_figure, pick, time_label
from simdiff.viz.fields import FieldView

MAX_FRAMES = 100


def _ffmpeg() -> str | None:
    from matplotlib import animation

    return animation.FFMpegWriter.bin_path() if animation.writers.is_available("ffmpeg") else None


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
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in (".gif", ".mp4"):
        raise InputError(f"movie path {os.fspath(path)!r}: use a .gif (Pillow) or .mp4 (ffmpeg) file name.")
    ffmpeg = _ffmpeg() if ext == ".mp4" else None
    if ext == ".mp4" and ffmpeg is None:
        raise InputError(f"writing {os.fspath(path)!r} needs ffmpeg, which is not installed (not on PATH); "
                         f"install ffmpeg, or write a .gif instead.")
    idx = pick(t.size, int(max_frames))
    images = _render(t, frames, grid, idx, inside, title, label, cmap, vmin, vmax, dpi)
    with atomic_path(path) as tmp:
        if ext == ".gif":
            _write_gif(images, tmp, fps)
        else:
            _write_mp4(images, tmp, fps, ffmpeg)
    return os.fspath(path)


def _render(t, frames, grid, idx, inside, title, label, cmap, vmin, vmax, dpi) -> Iterator[np.ndarray]:
    """RGB arrays ``(height, width, 3)`` of the chosen frames, one at a time."""
    shown = frames[idx] if inside is None else np.where(inside, frames[idx], np.nan)
    if grid.ndim == 3:                     # the colour scale of what is shown: the mid-planes
        k = [n // 2 for n in grid.shape]
        shown = np.concatenate([shown[:, :, :, k[2]].ravel(), shown[:, :, k[1], :].ravel(),
                                shown[:, k[0], :, :].ravel()])
    lo, hi = limits(shown, vmin, vmax)
    ratio = grid.lengths[1] / grid.lengths[0] if grid.ndim == 2 else 1.0
    figsize = {1: (6.4, 4.0), 2: (5.4, 0.5 + 4.2 * min(max(ratio, 0.5), 2.0)), 3: (12.8, 4.2)}[grid.ndim]
    fig = new_figure(figsize)
    fig.set_dpi(dpi)
    axes = list(np.atleast_1d(fig.subplots(1, 3 if grid.ndim == 3 else 1)))

    def heading(i):
        return f"{title}, {time_label(t[i])}" if title else time_label(t[i])

    view = FieldView(grid, axes, frames[idx[0]], inside=inside, label=label, cmap=cmap, vmin=lo, vmax=hi,
                     title=heading(idx[-1]))
    canvas = fig.canvas
    canvas.draw()                          # lay out once, with the longest title in place
    fig.set_layout_engine("none")          # then freeze it: nothing moves between frames
    for a in view.changing:
        a.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)

    def frames_rgb():
        for i in idx:
            view.update(frames[i])
            view.set_title(heading(i))
            canvas.restore_region(background)
            for a in view.changing:
                fig.draw_artist(a)
            yield np.asarray(canvas.buffer_rgba())[..., :3].copy()

    return frames_rgb()


def _write_gif(images, path: str, fps: int) -> None:
    from PIL import Image

    pics = [Image.fromarray(rgb) for rgb in images]
    # GIF stores delays in 1/100 s; every frame differs (its time is in the title), so none merge
    pics[0].save(path, format="GIF", save_all=True, append_images=pics[1:], duration=int(round(1000 / fps)),
                 loop=0)


def _write_mp4(images, path: str, fps: int, ffmpeg: str) -> None:
    first = next(iter(images))
    h, w = first.shape[:2]
    cmd = [ffmpeg, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-framerate", str(fps), "-i", "pipe:", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
           "-vcodec", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4", path]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(first.tobytes())
        for rgb in images:
            proc.stdin.write(rgb.tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read().decode(errors="replace").strip()
    if proc.wait() != 0:
        raise SimdiffError(f"ffmpeg could not write {path!r}: {err.splitlines()[-1] if err else 'unknown error'}")
