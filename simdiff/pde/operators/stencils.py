"""Compiled diffusion operators (numba kernels with the core's kernel signature).

``div_grad_kernel`` is the general one: variable diffusivity in flux form, masks (no-flux or
Dirichlet faces), every boundary rule, 2nd- or 4th-order stencils. ``laplace_kernel`` is the fast
one for the common case (constant D, no mask, 2nd order): it walks the grid row by row along the
last axis, so the inner loop has no branches and vectorises; boundary cells are peeled off.
Both write ``out = div(D grad u) + source - decay * u``; :mod:`.reference` has the same maths in numpy.

Layout of the parameter arrays (built by :class:`~simdiff.pde.operators.packing.Packed`), with the grid padded to three kernel
axes (a 2D grid of shape (n, m) runs as (1, n, m)); side ``s = 2 * axis + (0 low | 1 high)``:

ip: [0] ndim, [1:4] shape, [4:10] side kind (0 periodic, 1 ghost rule, 2 inactive axis),
    [10:16] offset of each side's ghost ``b`` values in p, [16] mask?, [17] mask faces Dirichlet?,
    [18] D field?, [19] D offset, [20] source?, [21] source offset, [22] order, [23] mask offset
    in ip, [24] number of species S (fields stacked species-major; 0 or 1: one field), [25] offset
    in p of the S diffusivities (S > 1; they multiply p[0]), [26:32] side is a Neumann wall?,
    [32:38] offset in p of each wall's face diffusivities (D field only), then the mask
p:  [0] D, [1:4] 1/dx^2, [4:10] ghost ``a`` per side, [10] decay, [11] mask face value,
    [12] fused Euler step h (0: the kernel writes f(u); h != 0: it writes u + h f(u), one pass over
    memory per explicit Euler step), then the ``b`` arrays, the D field, the source field.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from simdiff.core.kernels import KERNEL_SIG



@nb.njit(cache=True)
def _wall_value(p, off, na, nb, ja, jb):
    """A wall's value array (na, nb) at (ja, jb), linearly extrapolated one face beyond its edges."""
    ia0, ia1, wa0, wa1 = ja, ja, 1.0, 0.0
    if ja < 0:
        ia0, ia1, wa0, wa1 = 0, min(1, na - 1), 2.0, -1.0
    elif ja >= na:
        ia0, ia1, wa0, wa1 = na - 1, max(na - 2, 0), 2.0, -1.0
    ib0, ib1, wb0, wb1 = jb, jb, 1.0, 0.0
    if jb < 0:
        ib0, ib1, wb0, wb1 = 0, min(1, nb - 1), 2.0, -1.0
    elif jb >= nb:
        ib0, ib1, wb0, wb1 = nb - 1, max(nb - 2, 0), 2.0, -1.0
    if na == 1:
        wa0, wa1 = 1.0, 0.0
    if nb == 1:
        wb0, wb1 = 1.0, 0.0
    return (wa0 * (wb0 * p[off + ia0 * nb + ib0] + wb1 * p[off + ia0 * nb + ib1])
            + wa1 * (wb0 * p[off + ia1 * nb + ib0] + wb1 * p[off + ia1 * nb + ib1]))


@nb.njit(cache=True)
def _pad_ghosts(y, p, ip):
    """y as (n0+2, n1+2, n2+2) with ghost layers (periodic copies or ghost rules, corners too)."""
    n0, n1, n2 = ip[1], ip[2], ip[3]
    g = np.zeros((n0 + 2, n1 + 2, n2 + 2))
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                g[i + 1, j + 1, k + 1] = y[(i * n1 + j) * n2 + k]
    ns = (n0, n1, n2)
    for ax in range(3):
        kind_lo, kind_hi = ip[4 + 2 * ax], ip[5 + 2 * ax]
        if kind_lo == 2:
            continue
        n = ns[ax]
        # loop over the other two axes on the padded range (earlier axes already have ghosts)
        r1 = n1 + 2 if ax != 1 else 1
        r0 = n0 + 2 if ax != 0 else 1
        r2 = n2 + 2 if ax != 2 else 1
        for a in range(r0):
            for b in range(r1):
                for c in range(r2):
                    for side in range(2):
                        kind = kind_lo if side == 0 else kind_hi
                        e = 1 if side == 0 else n          # edge cell index (padded)
                        gi = 0 if side == 0 else n + 1     # ghost index (padded)
                        wrap = n if side == 0 else 1
                        s = 2 * ax + side
                        if ax == 0:
                            edge = g[e, b, c]
                            src = g[wrap, b, c]
                            bv = _wall_value(p, ip[10 + s], n1, n2, b - 1, c - 1) if kind != 0 else 0.0
                        elif ax == 1:
                            edge = g[a, e, c]
                            src = g[a, wrap, c]
                            bv = _wall_value(p, ip[10 + s], n0, n2, a - 1, c - 1) if kind != 0 else 0.0
                        else:
                            edge = g[a, b, e]
                            src = g[a, b, wrap]
                            bv = _wall_value(p, ip[10 + s], n0, n1, a - 1, b - 1) if kind != 0 else 0.0
                        v = src if kind == 0 else p[4 + s] * edge + bv
                        if ax == 0:
                            g[gi, b, c] = v
                        elif ax == 1:
                            g[a, gi, c] = v
                        else:
                            g[a, b, gi] = v
    return g


@nb.njit(cache=True)
def _fourth(g, y, ip, i, j, k, ax, uc):
    """(-u[-2] + 16 u[-1] - 30 u + 16 u[1] - u[2]) / 12 along ``ax`` (without 1/dx^2); 2nd order
    next to a wall, where the second neighbour would lie beyond it."""
    n0, n1, n2 = ip[1], ip[2], ip[3]
    n = n0 if ax == 0 else (n1 if ax == 1 else n2)
    pos = i if ax == 0 else (j if ax == 1 else k)
    um = g[i, j + 1, k + 1] if ax == 0 else (g[i + 1, j, k + 1] if ax == 1 else g[i + 1, j + 1, k])
    up = g[i + 2, j + 1, k + 1] if ax == 0 else (g[i + 1, j + 2, k + 1] if ax == 1 else g[i + 1, j + 1, k + 2])
    periodic = ip[4 + 2 * ax] == 0
    if not periodic and (pos < 2 or pos > n - 3):
        return um + up - 2.0 * uc
    pm = (pos - 2) % n
    pp = (pos + 2) % n
    if ax == 0:
        umm, upp = y[(pm * n1 + j) * n2 + k], y[(pp * n1 + j) * n2 + k]
    elif ax == 1:
        umm, upp = y[(i * n1 + pm) * n2 + k], y[(i * n1 + pp) * n2 + k]
    else:
        umm, upp = y[(i * n1 + j) * n2 + pm], y[(i * n1 + j) * n2 + pp]
    return (-umm + 16.0 * um - 30.0 * uc + 16.0 * up - upp) / 12.0


@nb.njit(cache=True)
def _div_grad_block(t, y, out, p, ip, D):
    """Flux form with variable D and masks, on a ghost-padded copy of the field.

    Face diffusivity: harmonic mean of the two cells; on a wall the edge cell's D (the ghost rule
    supplies the value); across a mask face zero flux, or with a Dirichlet mask ``u = p[11]`` at
    the face (half a cell away: flux ``2 D (g - u) / dx^2``).
    """
    n0, n1, n2 = ip[1], ip[2], ip[3]
    g = _pad_ghosts(y, p, ip)
    mflag = ip[16] == 1
    mdir = ip[17] == 1
    moff = ip[23]
    dfield = ip[18] == 1
    doff = ip[19]
    sflag = ip[20] == 1
    soff = ip[21]
    order4 = ip[22] == 4
    decay = p[10]
    gval = p[11]
    w0, w1, w2 = p[1], p[2], p[3]
    fa, fs = (1.0, p[12]) if p[12] != 0.0 else (0.0, 1.0)
    for i in range(n0):
        for j in range(n1):
            base = (i * n1 + j) * n2
            for k in range(n2):
                c = base + k
                if mflag and ip[moff + c] == 0:
                    out[c] = fa * y[c]          # outside the mask: no change
                    continue
                uc = g[i + 1, j + 1, k + 1]
                Dc = p[doff + c] if dfield else D
                acc = 0.0
                for ax in range(3):
                    w = w0 if ax == 0 else (w1 if ax == 1 else w2)
                    if w == 0.0:
                        continue
                    if order4:
                        acc += Dc * w * _fourth(g, y, ip, i, j, k, ax, uc)
                        continue
                    for dirn in (-1, 1):
                        ii, jj, kk = i, j, k
                        if ax == 0:
                            ii += dirn
                        elif ax == 1:
                            jj += dirn
                        else:
                            kk += dirn
                        un = g[ii + 1, jj + 1, kk + 1]
                        inside_grid = 0 <= ii < n0 and 0 <= jj < n1 and 0 <= kk < n2
                        wrapped = not inside_grid and ip[4 + 2 * ax + (0 if dirn < 0 else 1)] == 0
                        if not inside_grid and not wrapped:
                            Dw = Dc                              # wall: ghost value, wall-face D
                            if dfield:
                                face = (j * n2 + k) if ax == 0 else ((i * n2 + k) if ax == 1 else (i * n1 + j))
                                Dw = p[ip[32 + 2 * ax + (0 if dirn < 0 else 1)] + face]
                            acc += w * Dw * (un - uc)
                            continue
                        if wrapped:
                            ii, jj, kk = ii % n0, jj % n1, kk % n2
                        nb = (ii * n1 + jj) * n2 + kk
                        if mflag and ip[moff + nb] == 0:
                            if mdir:
                                acc += w * 2.0 * Dc * (gval - uc)
                            continue
                        if dfield:
                            Dn = p[doff + nb]
                            sD = Dc + Dn
                            Df = 2.0 * Dc * Dn / sD if sD > 0.0 else 0.0
                        else:
                            Df = Dc
                        acc += w * Df * (un - uc)
                if sflag:
                    acc += p[soff + c]
                out[c] = fa * uc + fs * (acc - decay * uc)



@nb.njit(KERNEL_SIG, cache=True)
def div_grad_kernel(t, y, out, p, ip):
    n = ip[1] * ip[2] * ip[3]
    S = max(ip[24], 1)
    for s in range(S):
        D = p[0] * (p[ip[25] + s] if ip[24] > 0 else 1.0)
        _div_grad_block(t, y[s * n:(s + 1) * n], out[s * n:(s + 1) * n], p, ip, D)


@nb.njit(cache=True, inline="always")
def _nb_index(idx, n, kind):
    """The neighbour index along an axis: itself, wrapped (periodic), or -1 (a ghost beyond a wall)."""
    if 0 <= idx < n:
        return idx
    if kind == 0:
        return idx + n if idx < 0 else idx - n
    return -1


@nb.njit(cache=True)
def _laplace_wall_row(u, o, p, ip, i, j, im, iq, jm, jq, c0, a0, a1, a2):
    """A row next to a wall (some neighbour is a ghost): ghost values built inline."""
    n0, n1, n2 = u.shape
    for k in range(n2):
        uc = u[i, j, k]
        left = u[i, j, k - 1] if k > 0 else (u[i, j, n2 - 1] if ip[8] == 0 else p[8] * uc + p[ip[14] + i * n1 + j])
        right = u[i, j, k + 1] if k < n2 - 1 else (u[i, j, 0] if ip[9] == 0 else p[9] * uc + p[ip[15] + i * n1 + j])
        v0m = u[im, j, k] if im >= 0 else p[4] * uc + p[ip[10] + j * n2 + k]
        v0p = u[iq, j, k] if iq >= 0 else p[5] * uc + p[ip[11] + j * n2 + k]
        v1m = u[i, jm, k] if jm >= 0 else p[6] * uc + p[ip[12] + i * n2 + k]
        v1p = u[i, jq, k] if jq >= 0 else p[7] * uc + p[ip[13] + i * n2 + k]
        o[i, j, k] = c0 * uc + a2 * (left + right) + a0 * (v0m + v0p) + a1 * (v1m + v1p)


# The two drivers below share one loop body (a parallel and a serial twin): numba cannot choose
# prange or range at run time in a cached function, and the body calls no function that takes
# arrays (the threads would fight over their reference counts). Rows next to a wall are left to
# _laplace_walls. Constants are folded: o = c0 u + a2 (left + right) + a0 (axis-0 pair)
# + a1 (axis-1 pair), with c0 = fa - fs (2 sum w + decay) and a = fs w.

@nb.njit(cache=True, parallel=True)
def _laplace_rows_parallel(u, o, p, ip, c0, a0, a1, a2):
    n0, n1, n2 = u.shape
    for r in nb.prange(n0 * n1):
        i = r // n1
        j = r - i * n1
        im = _nb_index(i - 1, n0, ip[4]) if a0 != 0.0 else i
        iq = _nb_index(i + 1, n0, ip[5]) if a0 != 0.0 else i
        jm = _nb_index(j - 1, n1, ip[6]) if a1 != 0.0 else j
        jq = _nb_index(j + 1, n1, ip[7]) if a1 != 0.0 else j
        if im < 0 or iq < 0 or jm < 0 or jq < 0:
            continue                                  # a wall row: done by _laplace_walls
        if a0 != 0.0:
            for k in range(1, n2 - 1):
                o[i, j, k] = (c0 * u[i, j, k] + a2 * (u[i, j, k - 1] + u[i, j, k + 1])
                              + a0 * (u[im, j, k] + u[iq, j, k]) + a1 * (u[i, jm, k] + u[i, jq, k]))
        else:                                          # 1D/2D: no axis-0 neighbours to load
            for k in range(1, n2 - 1):
                o[i, j, k] = (c0 * u[i, j, k] + a2 * (u[i, j, k - 1] + u[i, j, k + 1])
                              + a1 * (u[i, jm, k] + u[i, jq, k]))
        for k in (0, n2 - 1):
            uc = u[i, j, k]
            left = u[i, j, k - 1] if k > 0 else (u[i, j, n2 - 1] if ip[8] == 0 else p[8] * uc + p[ip[14] + i * n1 + j])
            right = u[i, j, k + 1] if k < n2 - 1 else (u[i, j, 0] if ip[9] == 0 else p[9] * uc + p[ip[15] + i * n1 + j])
            o[i, j, k] = (c0 * uc + a2 * (left + right) + a0 * (u[im, j, k] + u[iq, j, k])
                          + a1 * (u[i, jm, k] + u[i, jq, k]))


@nb.njit(cache=True)
def _laplace_rows(u, o, p, ip, c0, a0, a1, a2):
    n0, n1, n2 = u.shape
    for r in range(n0 * n1):
        i = r // n1
        j = r - i * n1
        im = _nb_index(i - 1, n0, ip[4]) if a0 != 0.0 else i
        iq = _nb_index(i + 1, n0, ip[5]) if a0 != 0.0 else i
        jm = _nb_index(j - 1, n1, ip[6]) if a1 != 0.0 else j
        jq = _nb_index(j + 1, n1, ip[7]) if a1 != 0.0 else j
        if im < 0 or iq < 0 or jm < 0 or jq < 0:
            continue                                  # a wall row: done by _laplace_walls
        if a0 != 0.0:
            for k in range(1, n2 - 1):
                o[i, j, k] = (c0 * u[i, j, k] + a2 * (u[i, j, k - 1] + u[i, j, k + 1])
                              + a0 * (u[im, j, k] + u[iq, j, k]) + a1 * (u[i, jm, k] + u[i, jq, k]))
        else:                                          # 1D/2D: no axis-0 neighbours to load
            for k in range(1, n2 - 1):
                o[i, j, k] = (c0 * u[i, j, k] + a2 * (u[i, j, k - 1] + u[i, j, k + 1])
                              + a1 * (u[i, jm, k] + u[i, jq, k]))
        for k in (0, n2 - 1):
            uc = u[i, j, k]
            left = u[i, j, k - 1] if k > 0 else (u[i, j, n2 - 1] if ip[8] == 0 else p[8] * uc + p[ip[14] + i * n1 + j])
            right = u[i, j, k + 1] if k < n2 - 1 else (u[i, j, 0] if ip[9] == 0 else p[9] * uc + p[ip[15] + i * n1 + j])
            o[i, j, k] = (c0 * uc + a2 * (left + right) + a0 * (u[im, j, k] + u[iq, j, k])
                          + a1 * (u[i, jm, k] + u[i, jq, k]))


@nb.njit(cache=True)
def _laplace_walls(u, o, p, ip, c0, a0, a1, a2):
    """The rows whose axis-0 or axis-1 neighbour lies beyond a wall."""
    n0, n1, n2 = u.shape
    for r in range(n0 * n1):
        i = r // n1
        j = r - i * n1
        im = _nb_index(i - 1, n0, ip[4]) if a0 != 0.0 else i
        iq = _nb_index(i + 1, n0, ip[5]) if a0 != 0.0 else i
        jm = _nb_index(j - 1, n1, ip[6]) if a1 != 0.0 else j
        jq = _nb_index(j + 1, n1, ip[7]) if a1 != 0.0 else j
        if im < 0 or iq < 0 or jm < 0 or jq < 0:
            _laplace_wall_row(u, o, p, ip, i, j, im, iq, jm, jq, c0, a0, a1, a2)


PARALLEL_CELLS = 1 << 17   # below this a step is too short for threads to pay


@nb.njit(cache=True)
def _laplace_block(t, y, out, p, ip, D):
    n0, n1, n2 = ip[1], ip[2], ip[3]
    w0, w1, w2 = D * p[1], D * p[2], D * p[3]
    fa, fs = (1.0, p[12]) if p[12] != 0.0 else (0.0, 1.0)
    c0 = fa - fs * (2.0 * (w0 + w1 + w2) + p[10])
    u = y.reshape((n0, n1, n2))
    o = out.reshape((n0, n1, n2))
    if y.size >= PARALLEL_CELLS:
        _laplace_rows_parallel(u, o, p, ip, c0, fs * w0, fs * w1, fs * w2)
    else:
        _laplace_rows(u, o, p, ip, c0, fs * w0, fs * w1, fs * w2)
    _laplace_walls(u, o, p, ip, c0, fs * w0, fs * w1, fs * w2)
    if ip[20] == 1:
        soff = ip[21]
        for c in range(y.size):
            out[c] += fs * p[soff + c]


@nb.njit(KERNEL_SIG, cache=True)
def laplace_kernel(t, y, out, p, ip):
    n = ip[1] * ip[2] * ip[3]
    S = max(ip[24], 1)
    for s in range(S):
        D = p[0] * (p[ip[25] + s] if ip[24] > 0 else 1.0)
        _laplace_block(t, y[s * n:(s + 1) * n], out[s * n:(s + 1) * n], p, ip, D)


@nb.njit(cache=True)
def _tangential(g, a, b, I, J, K):
    """Centred difference (without 1/(2 dx_b)) along kernel axis ``b`` at padded cell (I, J, K)."""
    if b == 0:
        return g[I + 1, J, K] - g[I - 1, J, K]
    if b == 1:
        return g[I, J + 1, K] - g[I, J - 1, K]
    return g[I, J, K + 1] - g[I, J, K - 1]


@nb.njit(KERNEL_SIG, cache=True)
def anisotropic_kernel(t, y, out, p, ip):
    """div(D grad u) for a constant symmetric tensor (3x3 in kernel axes at p[ip[19]:]), flux form.

    Face flux F_a = D_aa du/dx_a + sum_b D_ab (mean of the two cells' centred d_b u); on Neumann
    walls only the normal part (the conormal condition), so no-flux walls conserve mass exactly.
    """
    n0, n1, n2 = ip[1], ip[2], ip[3]
    ns = (n0, n1, n2)
    g = _pad_ghosts(y, p, ip)
    toff = ip[19]
    inv = (np.sqrt(p[1]), np.sqrt(p[2]), np.sqrt(p[3]))      # 1/dx per axis (0 if inactive)
    decay = p[10]
    sflag = ip[20] == 1
    soff = ip[21]
    fa, fs = (1.0, p[12]) if p[12] != 0.0 else (0.0, 1.0)
    acc = np.zeros(n0 * n1 * n2)
    for a in range(3):
        if ip[4 + 2 * a] == 2:
            continue
        na = ns[a]
        neu_lo = ip[26 + 2 * a] == 1
        neu_hi = ip[27 + 2 * a] == 1
        # faces normal to a: f = 0..na, between padded cells f and f + 1 along a
        r0 = n0 + 1 if a == 0 else n0
        r1 = n1 + 1 if a == 1 else n1
        r2 = n2 + 1 if a == 2 else n2
        for i in range(r0):
            for j in range(r1):
                for k in range(r2):
                    # padded indices of the L and R cells of this face
                    LI, LJ, LK = (i, j + 1, k + 1) if a == 0 else ((i + 1, j, k + 1) if a == 1 else (i + 1, j + 1, k))
                    RI, RJ, RK = (LI + 1, LJ, LK) if a == 0 else ((LI, LJ + 1, LK) if a == 1 else (LI, LJ, LK + 1))
                    f = i if a == 0 else (j if a == 1 else k)
                    F = p[toff + 4 * a] * (g[RI, RJ, RK] - g[LI, LJ, LK]) * inv[a]
                    wall = (f == 0 or f == na) and ip[4 + 2 * a] != 0
                    neumann_wall = (f == 0 and neu_lo) or (f == na and neu_hi)
                    if not (wall and neumann_wall):
                        for b in range(3):
                            if b == a or ip[4 + 2 * b] == 2:
                                continue
                            Dab = p[toff + 3 * a + b]
                            if Dab != 0.0:
                                F += Dab * 0.25 * inv[b] * (_tangential(g, a, b, LI, LJ, LK)
                                                            + _tangential(g, a, b, RI, RJ, RK))
                    F *= inv[a]
                    # the face adds to its R cell (as its low face) and subtracts from its L cell
                    if f < na:
                        ci = (LI - 1 + (1 if a == 0 else 0), LJ - 1 + (1 if a == 1 else 0), LK - 1 + (1 if a == 2 else 0))
                        acc[(ci[0] * n1 + ci[1]) * n2 + ci[2]] -= F
                    if f > 0:
                        ci = (LI - 1, LJ - 1, LK - 1)
                        acc[(ci[0] * n1 + ci[1]) * n2 + ci[2]] += F
    for c in range(n0 * n1 * n2):
        uc = y[c]
        v = acc[c]
        if sflag:
            v += p[soff + c]
        out[c] = fa * uc + fs * (v - decay * uc)
