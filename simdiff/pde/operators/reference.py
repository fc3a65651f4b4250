r"""Readable numpy versions of the compiled operators: the maths, and what the tests compare with.

Flux form on a cell-centred grid. Along each axis, with :math:`u_\pm` the neighbour cells (or the
ghost values of :mod:`simdiff.pde.boundaries` beyond a wall, or the cell itself across a mask face)
and :math:`D_{\pm 1/2}` the face diffusivities (harmonic mean of the two cells; the edge cell's
value on a wall; zero across a mask face):

.. math:: [\nabla\cdot(D\nabla u)]_i = \sum_{axes} \frac{D_{+1/2}(u_+ - u_i) - D_{-1/2}(u_i - u_-)}{\Delta x^2}

Summed over the cells, the face fluxes cancel pairwise: with no-flux walls and mask faces the
total mass changes only by sources, to round-off.
"""
from __future__ import annotations

import numpy as np

from simdiff.pde.boundaries import Boundaries
from simdiff.pde.grid import Grid


def shift(u, axis, step, periodic, fill=np.nan):
    """``u`` moved by one cell: ``step=+1`` gives the + neighbour. Off-grid entries are ``fill``."""
    if periodic:
        return np.roll(u, -step, axis=axis)
    out = np.full_like(u, fill)
    src = [slice(None)] * u.ndim
    dst = [slice(None)] * u.ndim
    if step > 0:
        src[axis], dst[axis] = slice(1, None), slice(0, -1)
    else:
        src[axis], dst[axis] = slice(0, -1), slice(1, None)
    out[tuple(dst)] = u[tuple(src)]
    return out


def wall_diffusivity(D, axis: int, side: int, wall_D=None):
    """D on the wall faces of one side: ``wall_D[(axis, side)]`` when given (a function of position
    evaluated on the wall), else the edge value extrapolated half a cell with a minmod-limited slope
    (second order for smooth D, exact for layers); the edge value itself for a constant D."""
    if wall_D is not None and (axis, side) in wall_D:
        return np.asarray(wall_D[(axis, side)], dtype=float)
    D = np.asarray(D, dtype=float)
    if D.ndim == 0:
        return D
    n = D.shape[axis]
    e = np.take(D, 0 if side == 0 else -1, axis=axis)
    nxt = np.take(D, 1 if side == 0 else -2, axis=axis) if n > 1 else e
    nn = np.take(D, 2 if side == 0 else -3, axis=axis) if n > 2 else nxt
    # half a cell out with a minmod-limited slope: second order where D is smooth, and no
    # overshoot at a jump next to the wall (a layered medium keeps its edge layer's D)
    a, b = e - nxt, nxt - nn
    slope = np.where(a * b > 0, np.sign(a) * np.minimum(np.abs(a), np.abs(b)), 0.0)
    return np.maximum(e + 0.5 * slope, 0.0)


def _edge(axis, side, n):
    idx = [slice(None)] * n
    idx[axis] = 0 if side == 0 else -1
    return tuple(idx)


def div_grad(u, grid: Grid, bounds: Boundaries, D=1.0, t: float = 0.0, mask=None, mask_value=None,
             wall_D=None):
    """:math:`\\nabla\\cdot(D\\nabla u)`; ``D`` a number or a cell array; ``mask`` a boolean array.

    Across a mask face the flux is zero, or with ``mask_value`` the face holds ``u = mask_value``.
    Cells outside the mask get 0.
    """
    u = np.asarray(u, dtype=float)
    Dc = np.broadcast_to(np.asarray(D, dtype=float), u.shape)
    out = np.zeros_like(u)
    inside = np.ones(u.shape, bool) if mask is None else mask
    for a in range(grid.ndim):
        per = grid.periodic[a]
        for step in (-1, 1):
            side = 0 if step < 0 else 1
            un = shift(u, a, step, per)
            Dn = shift(Dc, a, step, per)
            inn = shift(inside.astype(float), a, step, per)
            if not per:
                aa, bb = bounds.ghost_rule(a, side, t)
                e = _edge(a, side, u.ndim)
                un[e] = aa * u[e] + bb
                Dn[e] = Dc[e]
                inn[e] = 1.0
            with np.errstate(invalid="ignore", divide="ignore"):
                Df = np.where(Dc + Dn > 0, 2 * Dc * Dn / (Dc + Dn), 0.0)
            if not per:
                Df[e] = np.broadcast_to(wall_diffusivity(D, a, side, wall_D), Df[e].shape)
            across = inn < 0.5
            if mask_value is None:
                un = np.where(across, u, un)
            else:
                un = np.where(across, 2 * mask_value - u, un)
                Df = np.where(across, Dc, Df)
            out += Df * (un - u) / grid.dx[a] ** 2
    return np.where(inside, out, 0.0)


def laplace4(u, grid: Grid, D=1.0):
    """Fourth-order Laplacian on a fully periodic grid: (-u[-2] + 16u[-1] - 30u + 16u[1] - u[2]) / 12dx²."""
    out = np.zeros_like(u, dtype=float)
    for a in range(grid.ndim):
        r = lambda k: np.roll(u, -k, axis=a)  # noqa: E731
        out += (-r(-2) + 16 * r(-1) - 30 * u + 16 * r(1) - r(2)) / (12 * grid.dx[a] ** 2)
    return D * out


def anisotropic(u, grid: Grid, bounds: Boundaries, Dt, t: float = 0.0):
    r""":math:`\nabla\cdot(\mathbf{D}\nabla u)` for a constant symmetric tensor, in flux form.

    The flux :math:`F_a = (\mathbf{D}\nabla u)_a` on each face normal to axis ``a``: the normal
    derivative from the two cells, each tangential derivative :math:`\partial_b u` as the mean of the
    two cells' centred differences (ghost cells at walls, corners included). On a Neumann wall the
    condition is the conormal one, :math:`(\mathbf{D}\nabla u)\cdot n = D_{aa}\,q`, so no-flux walls
    conserve mass exactly, cross terms and all.
    """
    g = pad_ghosts(u, grid, bounds, t)
    nd = grid.ndim
    out = np.zeros_like(np.asarray(u, dtype=float))
    for a in range(nd):
        # faces along a: L cells are padded indices 0..n_a, R cells 1..n_a+1; other axes interior
        def take(offs, lo):
            idx = []
            for b in range(nd):
                n = grid.shape[b]
                if b == a:
                    idx.append(slice(lo, lo + n + 1))
                else:
                    idx.append(slice(1 + offs[b], 1 + offs[b] + n))
            return g[tuple(idx)]

        zero = [0] * nd
        uL, uR = take(zero, 0), take(zero, 1)
        F = Dt[a][a] * (uR - uL) / grid.dx[a]
        cross = np.zeros_like(F)
        for b in range(nd):
            if b == a:
                continue
            p, m = list(zero), list(zero)
            p[b], m[b] = 1, -1
            dL = (take(p, 0) - take(m, 0)) / (2 * grid.dx[b])
            dR = (take(p, 1) - take(m, 1)) / (2 * grid.dx[b])
            cross = cross + Dt[a][b] * 0.5 * (dL + dR)
        if not grid.periodic[a]:
            for side, face in ((0, 0), (1, -1)):
                if bounds.sides[a][side].kind == "neumann":
                    sl = [slice(None)] * nd
                    sl[a] = face
                    cross[tuple(sl)] = 0.0
        F = F + cross
        hi = [slice(None)] * nd
        lo = [slice(None)] * nd
        hi[a], lo[a] = slice(1, None), slice(0, -1)
        out += (F[tuple(hi)] - F[tuple(lo)]) / grid.dx[a]
    return out


def pad_ghosts(u, grid: Grid, bounds: Boundaries, t: float = 0.0):
    """``u`` with one ghost layer on every side (periodic copies or ghost rules, corners included)."""
    g = np.asarray(u, dtype=float)
    for a in range(grid.ndim):
        if grid.periodic[a]:
            g = np.concatenate([np.take(g, [-1], axis=a), g, np.take(g, [0], axis=a)], axis=a)
            continue
        lo_a, lo_b = bounds.ghost_rule(a, 0, t)
        hi_a, hi_b = bounds.ghost_rule(a, 1, t)
        # b arrays cover the faces of the unpadded grid; pad them along the axes padded so far
        def fit(b):
            b = np.expand_dims(b, a)
            pads = [(1, 1) if (x < a) else (0, 0) for x in range(grid.ndim)]
            # beyond the corner, wall values are extrapolated linearly (2 b_edge - b_next), which
            # keeps the cross-derivative terms of anisotropic diffusion second order at walls
            return np.pad(b, pads, mode="reflect", reflect_type="odd")
        lo = lo_a * np.take(g, [0], axis=a) + fit(lo_b)
        hi = hi_a * np.take(g, [-1], axis=a) + fit(hi_b)
        g = np.concatenate([lo, g, hi], axis=a)
    return g
