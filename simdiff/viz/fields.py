"""Still figures of fields: :func:`plot_field` (one field) and :func:`plot_frames` (a run's frames)."""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from simdiff.errors import InputError
from simdiff.viz._common import (
    AXES, check_field, check_frames, inside_of, limits, new_figure, pick, pyplot, savefig, time_label,
)


class FieldView:
    """The artists that show one field on given axes, updatable frame by frame (movies reuse it).

    1D: a profile line on one axes. 2D: an image (``origin="lower"``, axes in grid units) with a
    colorbar. 3D: the three mid-planes ``z = z_mid``, ``y = y_mid``, ``x = x_mid`` on three axes
    with one colour scale. Cells outside ``inside`` are left out (grey in images).
    """

    def __init__(self, grid, axes: Sequence[Any], field: np.ndarray, *, inside: np.ndarray | None = None,
                 label: str = "c", cmap: str = "viridis", vmin: float | None = None, vmax: float | None = None,
                 colorbar: bool = True, title: str | None = None):
        import matplotlib

        self.grid, self.axes, self.inside = grid, list(axes), inside
        nd = grid.ndim
        if nd == 1:
            ax = self.axes[0]
            (self.line,) = ax.plot(grid.coords(0), self._masked(field), color="C0", lw=1.6)
            ax.set_xlim(grid.lo[0], grid.hi[0])
            if vmin is not None or vmax is not None:
                lo, hi = limits(self._masked(field), vmin, vmax)
                pad = 0.05 * (hi - lo)
                ax.set_ylim(lo - pad, hi + pad)
            ax.set_xlabel("x")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            self.images = []
            self.artists = [self.line]
        else:
            cm = matplotlib.colormaps[cmap].with_extremes(bad="0.85")
            planes = self._planes(field)
            lo, hi = limits(np.concatenate([np.ma.filled(p, np.nan).ravel() for p in planes]), vmin, vmax)
            self.images = []
            for ax, p, (a, b) in zip(self.axes, planes, self._plane_axes()):
                ext = (grid.lo[a], grid.hi[a], grid.lo[b], grid.hi[b])
                ratio = grid.lengths[a] / grid.lengths[b]
                self.images.append(ax.imshow(p, origin="lower", extent=ext, cmap=cm, vmin=lo, vmax=hi,
                                             aspect="equal" if 0.25 <= ratio <= 4 else "auto"))
                ax.set_xlabel(AXES[a])
                ax.set_ylabel(AXES[b])
            self.artists = list(self.images)
            if colorbar:
                fig = self.axes[0].figure
                fig.colorbar(self.images[0], ax=self.axes if nd == 3 else self.axes[0], label=label,
                             shrink=0.9 if nd == 3 else 1.0)
        self.set_title(title)

    @property
    def changing(self) -> list:
        """The artists :meth:`update` and :meth:`set_title` change (a movie redraws only these)."""
        return self.artists + [ax.title for ax in self.axes]

    # geometry of the 3D mid-planes: (fixed axis, its index) and the two in-plane axes
    def _plane_axes(self) -> list[tuple[int, int]]:
        return [(0, 1)] if self.grid.ndim == 2 else [(0, 1), (0, 2), (1, 2)]

    def _masked(self, field: np.ndarray):
        f = np.asarray(field, dtype=float)
        if self.inside is not None:
            f = np.where(self.inside, f, np.nan)
        return f

    def _planes(self, field: np.ndarray) -> list[np.ndarray]:
        f = np.ma.masked_invalid(self._masked(field))
        if self.grid.ndim == 2:
            return [f.T]                                    # imshow rows are y
        kx, ky, kz = (n // 2 for n in self.grid.shape)
        return [f[:, :, kz].T, f[:, ky, :].T, f[kx, :, :].T]

    def update(self, field: np.ndarray) -> None:
        if self.grid.ndim == 1:
            self.line.set_ydata(self._masked(field))
            return
        for im, p in zip(self.images, self._planes(field)):
            im.set_data(p)

    def set_title(self, title: str | None) -> None:
        if self.grid.ndim < 3:
            self.axes[0].set_title(title or "")
            return
        for ax, a in zip(self.axes, (2, 1, 0)):
            k = self.grid.shape[a] // 2
            where = f"{AXES[a]} = {self.grid.coords(a)[k]:.3g}"
            ax.set_title(f"{title}, {where}" if title else where, fontsize=10)


def plot_field(field, grid, ax=None, title: str | None = None, mask=None, *, label: str = "c",
               cmap: str = "viridis", vmin: float | None = None, vmax: float | None = None, colorbar: bool = True):
    """Plot one field on ``grid``: a profile (1D), an image with a colorbar (2D), or the three
    mid-plane slices side by side (3D).

    Parameters
    ----------
    field
        Array of ``grid.shape`` (one species).
    ax
        Axes to draw on (three axes for a 3D field); ``None`` makes a new pyplot figure (Agg when
        there is no display).
    title
        Axes title (3D: prefixed to each slice's ``z = ...`` title).
    mask
        A :class:`~simdiff.pde.Mask` or boolean array; cells outside are left blank (grey).
    label
        Name of the quantity: the y label (1D) or the colorbar label.
    vmin, vmax
        Colour (1D: y) limits; default the field's finite range.

    Returns the axes (a tuple of three for 3D).

    >>> import numpy as np
    >>> from simdiff.pde import Grid
    >>> grid = Grid((50,))
    >>> ax = plot_field(np.sin(np.pi * grid.coords(0)), grid, title="t = 0")
    """
    f = check_field(field, grid)
    inside = inside_of(mask, grid)
    n_axes = 3 if grid.ndim == 3 else 1
    if ax is None:
        plt = pyplot()
        figsize = {1: (6.0, 4.0), 2: (5.6, 4.6), 3: (13.0, 4.2)}[grid.ndim]
        fig, axes = plt.subplots(1, n_axes, figsize=figsize, layout="constrained", squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
        if len(axes) != n_axes:
            per = " (one per mid-plane)" if n_axes == 3 else ""
            raise InputError(f"a {grid.ndim}D field needs {n_axes} axes{per}; got {len(axes)}.")
    FieldView(grid, axes, f, inside=inside, label=label, cmap=cmap, vmin=vmin, vmax=vmax, colorbar=colorbar,
              title=title)
    return tuple(axes) if grid.ndim == 3 else axes[0]


def plot_frames(t, frames, grid, path: str | os.PathLike, n: int = 4, *, mask=None, title: str | None = None,
                label: str = "c", cmap: str = "viridis", dpi: int = 100) -> str:
    """Save a PNG of ``n`` frames spread from the first to the last, each titled with its time.

    1D: the profiles on one axes, coloured by time. 2D: the frames side by side, each with its own
    colorbar (diffusion lowers peaks; a shared scale would hide the late frames). 3D: one row of
    mid-plane slices per frame.

    Parameters
    ----------
    t, frames
        Times ``(n_t,)`` and fields ``(n_t, *grid.shape)``, time first (``run.t``, ``run.y``).
    path
        PNG file, written atomically.
    n
        Frames to show (fewer if the run has fewer).
    mask, label, cmap
        As for :func:`plot_field`; ``title`` goes above the whole figure.

    Returns the path written.
    """
    t, frames = check_frames(t, frames, grid)
    inside = inside_of(mask, grid)
    idx = pick(t.size, int(n))
    k = idx.size
    if grid.ndim == 1:
        import matplotlib

        fig = new_figure((7.0, 4.2))
        ax = fig.subplots()
        colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.9, k))
        x = grid.coords(0)
        for c, i in zip(colors, idx):
            f = frames[i] if inside is None else np.where(inside, frames[i], np.nan)
            ax.plot(x, f, color=c, lw=1.6, label=time_label(t[i]))
        ax.set_xlim(grid.lo[0], grid.hi[0])
        ax.set_xlabel("x")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    elif grid.ndim == 2:
        ratio = grid.lengths[1] / grid.lengths[0]
        fig = new_figure((4.0 * k, 0.4 + 3.3 * min(max(ratio, 0.5), 2.0)))
        axes = fig.subplots(1, k, squeeze=False)[0]
        for ax, i in zip(axes, idx):
            FieldView(grid, [ax], frames[i], inside=inside, label=label, cmap=cmap, title=time_label(t[i]))
    else:
        fig = new_figure((13.0, 3.6 * k + 0.4))
        axes = fig.subplots(k, 3, squeeze=False)
        for row, i in zip(axes, idx):
            FieldView(grid, row, frames[i], inside=inside, label=label, cmap=cmap, title=time_label(t[i]))
    if title:
        fig.suptitle(title)
    return savefig(fig, path, dpi)
