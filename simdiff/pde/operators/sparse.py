"""The diffusion operator as a sparse affine map ``L(u) = A u + c`` for implicit methods.

Same discretisation as the stencils (flux form, harmonic-mean face diffusivity, ghost rules on
walls, no-flux or Dirichlet mask faces); ``tests/pde`` checks ``A u + c`` against the kernels.
``axis=`` assembles one axis's part only (for ADI splitting).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from simdiff.pde.boundaries import Boundaries
from simdiff.pde.grid import Grid
from simdiff.pde.operators.reference import shift as _shift_idx
from simdiff.pde.operators.reference import wall_diffusivity


def assemble(grid: Grid, bounds: Boundaries, D=1.0, *, mask=None, mask_value=None, decay: float = 0.0,
             t: float = 0.0, axis: int | None = None, wall_D=None):
    """``(A, c)``: CSR matrix and constant vector (flattened C order) with ``L(u) = A u + c``."""
    shape = grid.shape
    N = grid.size
    idx = np.arange(N).reshape(shape)
    Dc = np.broadcast_to(np.asarray(D, dtype=float), shape)
    inside = np.ones(shape, bool) if mask is None else np.asarray(mask, bool)
    diag = np.zeros(shape)
    c = np.zeros(shape)
    rows, cols, vals = [], [], []
    for a in (range(grid.ndim) if axis is None else (axis,)):
        w = 1.0 / grid.dx[a] ** 2
        per = grid.periodic[a]
        for step in (-1, 1):
            side = 0 if step < 0 else 1
            nb = _shift_idx(idx, a, step, per, -1)
            Dn = _shift_idx(np.array(Dc), a, step, per, 0.0)
            inn = _shift_idx(inside, a, step, per, True)
            valid = nb >= 0
            with np.errstate(invalid="ignore", divide="ignore"):
                Df = np.where(Dc + Dn > 0, 2 * Dc * Dn / np.where(Dc + Dn > 0, Dc + Dn, 1.0), 0.0)
            normal = valid & inn & inside
            rows.append(idx[normal])
            cols.append(nb[normal])
            vals.append(w * Df[normal])
            diag -= np.where(normal, w * Df, 0.0)
            across = valid & ~inn & inside
            if mask_value is not None:
                diag -= np.where(across, 2 * w * Dc, 0.0)
                c += np.where(across, 2 * w * Dc * mask_value, 0.0)
            wall = ~valid & inside
            if wall.any():
                ga, gb = bounds.ghost_rule(a, side, t)
                gb = np.expand_dims(gb, a)
                Dw = np.expand_dims(np.broadcast_to(wall_diffusivity(D, a, side, wall_D), bounds.face_shape(a)), a)
                diag += np.where(wall, w * Dw * (ga - 1.0), 0.0)
                c += np.where(wall, w * Dw * gb, 0.0)
    if decay and axis is None:
        diag -= np.where(inside, decay, 0.0)
    rows.append(idx.reshape(-1))
    cols.append(idx.reshape(-1))
    vals.append(diag.reshape(-1))
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(N, N))
    return A, c.reshape(-1)
