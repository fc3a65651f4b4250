"""Figures and movies of fields on grids (matplotlib, imported only when a function is called).

>>> import numpy as np
>>> from simdiff.pde import Grid
>>> from simdiff.viz import plot_field
>>> grid = Grid((32, 32))
>>> x, y = grid.mesh()
>>> ax = plot_field(np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / 0.02), grid, title="t = 0")

- :func:`plot_field`: one field; 1D profile, 2D image with colorbar, 3D mid-plane slices.
- :func:`plot_frames`: a PNG of a few frames of a run (first to last).
- :func:`animate`: a GIF (Pillow) or MP4 (ffmpeg) of a run, at most 100 frames.

Files are written under a temporary name beside the target and renamed into place. Without a
display (no ``DISPLAY``/``WAYLAND_DISPLAY`` on Linux) the Agg backend is selected.
"""
from simdiff.viz.animation import animate
from simdiff.viz.fields import plot_field, plot_frames

__all__ = ["plot_field", "plot_frames", "animate"]
