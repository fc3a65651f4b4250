"""Cartesian, cell-centred grids in 1, 2 and 3 dimensions, and domain masks.

A grid of ``shape`` cells covers ``extent`` along each axis; cell ``i`` along an axis is centred at
``lo + (i + 1/2) dx``. Fields are numpy arrays of ``grid.shape`` (a leading species axis for
reaction–diffusion). A :class:`Mask` marks the cells inside an arbitrary shape; the operators put a
no-flux (or Dirichlet) face between inside and outside cells.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from simdiff.errors import InputError

AXES = "xyz"


def _per_axis(value, ndim: int, name: str):
    if isinstance(value, (list, tuple)):
        if len(value) != ndim:
            raise InputError(f"{name}={value!r} has {len(value)} entries; the grid has {ndim} dimensions.")
        return tuple(value)
    return (value,) * ndim


@dataclass(frozen=True, eq=False)
class Grid:
    """A box of cells.

    Parameters
    ----------
    shape
        Cells per axis, 1 to 3 axes, each >= 3 (>= 5 for the 4th-order stencil).
    extent
        Length of each axis (a number for all, or one per axis), or ``(lo, hi)`` pairs per axis.
    periodic
        One flag for all axes or one per axis.
    """

    shape: tuple
    extent: Any = 1.0
    periodic: Any = False

    def __post_init__(self):
        shape = (int(self.shape),) if np.isscalar(self.shape) else tuple(int(n) for n in self.shape)
        if not 1 <= len(shape) <= 3:
            raise InputError(f"shape={self.shape!r}: simdiff grids have 1, 2 or 3 axes.")
        if min(shape) < 3:
            raise InputError(f"shape={shape}: every axis needs at least 3 cells.")
        nd = len(shape)
        ext = self.extent
        if isinstance(ext, (list, tuple)) and len(ext) == nd and all(isinstance(e, (list, tuple)) for e in ext):
            lo = tuple(float(e[0]) for e in ext)
            hi = tuple(float(e[1]) for e in ext)
        else:
            length = tuple(float(e) for e in _per_axis(ext, nd, "extent"))
            lo, hi = (0.0,) * nd, length
        for a in range(nd):
            if not (math.isfinite(lo[a]) and math.isfinite(hi[a]) and hi[a] > lo[a]):
                raise InputError(f"extent along {AXES[a]} is ({lo[a]:g}, {hi[a]:g}); it must be positive and finite.")
        per = tuple(bool(p) for p in _per_axis(self.periodic, nd, "periodic"))
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "periodic", per)
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        object.__setattr__(self, "extent", tuple((l, h) for l, h in zip(lo, hi)))

    # geometry -------------------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def lengths(self) -> tuple:
        return tuple(h - l for l, h in zip(self.lo, self.hi))

    @property
    def dx(self) -> tuple:
        """Cell size along each axis."""
        return tuple(L / n for L, n in zip(self.lengths, self.shape))

    @property
    def cell_volume(self) -> float:
        return float(np.prod(self.dx))

    def coords(self, axis: int) -> np.ndarray:
        """Cell-centre coordinates along ``axis``."""
        return self.lo[axis] + (np.arange(self.shape[axis]) + 0.5) * self.dx[axis]

    def mesh(self) -> tuple[np.ndarray, ...]:
        """Cell-centre coordinate arrays of ``shape`` (``ij`` indexing): ``x, y = grid.mesh()``."""
        return tuple(np.meshgrid(*[self.coords(a) for a in range(self.ndim)], indexing="ij"))

    def face_coords(self, axis: int, side: int) -> tuple[np.ndarray, ...]:
        """Coordinates of the boundary faces on one side (0 low, 1 high) of ``axis``: arrays over
        the other axes' cell centres, with ``axis``'s coordinate set to the wall."""
        others = [self.coords(a) for a in range(self.ndim) if a != axis]
        grids = np.meshgrid(*others, indexing="ij") if others else []
        wall = self.lo[axis] if side == 0 else self.hi[axis]
        shape = tuple(self.shape[a] for a in range(self.ndim) if a != axis)
        out, k = [], 0
        for a in range(self.ndim):
            if a == axis:
                out.append(np.full(shape, wall))
            else:
                out.append(grids[k])
                k += 1
        return tuple(out)

    # integrals -------------------------------------------------------------------------------
    def integrate(self, field, mask: "Mask | None" = None) -> np.ndarray | float:
        """Integral over the grid (over the trailing ``ndim`` axes; inside ``mask`` only)."""
        f = np.asarray(field)
        self.check_field(f, "field", allow_leading=True)
        if mask is not None:
            f = np.where(mask.inside, f, 0.0)
        axes = tuple(range(f.ndim - self.ndim, f.ndim))
        return f.sum(axis=axes) * self.cell_volume

    def mean(self, field, mask: "Mask | None" = None):
        vol = self.cell_volume * (self.size if mask is None else int(mask.inside.sum()))
        return self.integrate(field, mask) / vol

    def check_field(self, f, name: str = "u0", allow_leading: bool = False) -> None:
        shape = tuple(np.shape(f))
        tail = shape[-self.ndim:] if len(shape) >= self.ndim else shape
        if tail != self.shape or (not allow_leading and len(shape) != self.ndim):
            raise InputError(f"{name} has shape {shape}; the grid has shape {self.shape}. "
                             f"Pass an array of shape {self.shape}" + (" (with species first)." if allow_leading else "."))

    # config ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "extent": [list(e) for e in self.extent], "periodic": list(self.periodic)}

    @classmethod
    def from_dict(cls, d: dict) -> "Grid":
        return cls(tuple(d["shape"]), [tuple(e) for e in d["extent"]], list(d["periodic"]))

    def __eq__(self, other) -> bool:
        return isinstance(other, Grid) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(str(self.to_dict()))

    def __repr__(self) -> str:
        ext = ", ".join(f"{l:g}..{h:g}" for l, h in self.extent)
        return f"Grid(shape={self.shape}, extent=({ext}), periodic={self.periodic})"


class Mask:
    """Cells inside an arbitrary shape: a boolean array of the grid's shape.

    Build it from a boolean array, from a function of the cell-centre coordinates returning a
    boolean (inside) or a float (signed distance, inside where <= 0), or from a black-and-white
    image file (white = inside unless ``invert``), resized to the grid by nearest neighbour.
    """

    def __init__(self, grid: Grid, inside):
        inside = np.asarray(inside)
        if inside.shape != grid.shape:
            raise InputError(f"mask has shape {inside.shape}; the grid has shape {grid.shape}. "
                             f"Pass a boolean array of shape {grid.shape}.")
        if inside.dtype != bool:
            raise InputError(f"mask array has dtype {inside.dtype}; pass a boolean array (True = inside).")
        if not inside.any():
            raise InputError("the mask has no cell inside; check the shape function or the image.")
        self.grid = grid
        self.inside = inside

    @classmethod
    def from_function(cls, grid: Grid, fn: Callable[..., np.ndarray]) -> "Mask":
        v = np.asarray(fn(*grid.mesh()))
        if v.shape != grid.shape:
            raise InputError(f"mask function {getattr(fn, '__name__', fn)!r} returned shape {v.shape}; "
                             f"it must return one value per cell, shape {grid.shape}.")
        return cls(grid, v if v.dtype == bool else v <= 0)

    @classmethod
    def from_image(cls, grid: Grid, path: str | os.PathLike, invert: bool = False, threshold: float = 0.5) -> "Mask":
        if grid.ndim != 2:
            raise InputError(f"an image mask needs a 2D grid; this grid has {grid.ndim} dimensions.")
        if not os.path.exists(path):
            raise InputError(f"mask image {os.fspath(path)!r} does not exist.")
        import matplotlib.image as mpimg

        try:
            img = np.asarray(mpimg.imread(os.fspath(path)), dtype=float)
        except Exception as err:
            raise InputError(f"cannot read mask image {os.fspath(path)!r}: {err}") from None
        if img.ndim == 3:
            img = img[..., :3].mean(axis=-1)
        if img.max() > 1.0:
            img = img / 255.0
        img = img[::-1].T                       # image rows run top-down; grid axis 1 runs up
        ix = (np.arange(grid.shape[0]) + 0.5) * img.shape[0] / grid.shape[0]
        iy = (np.arange(grid.shape[1]) + 0.5) * img.shape[1] / grid.shape[1]
        sampled = img[ix.astype(int)[:, None], iy.astype(int)[None, :]]
        inside = sampled >= threshold
        return cls(grid, ~inside if invert else inside)

    @property
    def volume(self) -> float:
        return float(self.inside.sum()) * self.grid.cell_volume


def as_mask(grid: Grid, mask) -> Mask | None:
    if mask is None or isinstance(mask, Mask):
        if isinstance(mask, Mask) and mask.grid != grid:
            raise InputError(f"the mask was made for {mask.grid}, not {grid}.")
        return mask
    if callable(mask):
        return Mask.from_function(grid, mask)
    if isinstance(mask, (str, os.PathLike)):
        return Mask.from_image(grid, mask)
    return Mask(grid, np.asarray(mask))


