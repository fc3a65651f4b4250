"""Build the flat parameter arrays (p, ip) that the compiled stencils read (layout in stencils.py)."""
from __future__ import annotations

import numpy as np

from simdiff.pde.boundaries import Boundaries
from simdiff.pde.grid import Grid

HDR_I = 38
HDR_P = 13


class Packed:
    """p, ip for one operator, plus what is needed to refresh time-dependent boundary values."""

    def __init__(self, grid: Grid, bounds: Boundaries, *, D=1.0, mask=None, mask_value=None, source=None,
                 decay: float = 0.0, order: int = 2, t: float = 0.0, tensor=None,
                 species_D=None, wall_D=None):
        nd = grid.ndim
        pad = 3 - nd
        shape3 = (1,) * pad + tuple(grid.shape)
        N = grid.size
        ip = np.zeros(HDR_I, dtype=np.int64)
        ip[0] = nd
        ip[1:4] = shape3
        head = np.zeros(HDR_P)
        field_D = np.ndim(D) > 0
        head[0] = 1.0 if field_D else float(D)
        for a in range(nd):
            head[1 + pad + a] = 1.0 / grid.dx[a] ** 2
        head[10] = float(decay)
        head[11] = 0.0 if mask_value is None else float(mask_value)
        chunks = [head]
        off = HDR_P
        self.b_slots = []          # (axis, side, offset, size) for refreshing
        for ka in range(3):
            a = ka - pad
            for side in (0, 1):
                s = 2 * ka + side
                if a < 0:
                    ip[4 + s] = 2
                    continue
                if grid.periodic[a]:
                    ip[4 + s] = 0
                    continue
                ip[4 + s] = 1
                ip[26 + s] = 1 if bounds.sides[a][side].kind == "neumann" else 0
                aa, bb = bounds.ghost_rule(a, side, t)
                head[4 + s] = aa
                bb = np.ascontiguousarray(bb, dtype=float).reshape(-1)
                ip[10 + s] = off
                self.b_slots.append((a, side, off, bb.size))
                chunks.append(bb)
                off += bb.size
        if mask is not None:
            ip[16] = 1
            ip[17] = 0 if mask_value is None else 1
        if field_D:
            from simdiff.pde.operators.reference import wall_diffusivity

            for a in range(nd):
                if grid.periodic[a]:
                    continue
                for side in (0, 1):
                    w = np.broadcast_to(wall_diffusivity(D, a, side, wall_D),
                                        tuple(n for b, n in enumerate(grid.shape) if b != a))
                    ip[32 + 2 * (pad + a) + side] = off
                    chunks.append(np.ascontiguousarray(w, dtype=float).reshape(-1))
                    off += w.size
            Df = np.ascontiguousarray(np.broadcast_to(np.asarray(D, float), grid.shape)).reshape(-1)
            ip[18], ip[19] = 1, off
            chunks.append(Df)
            off += N
        if tensor is not None:
            T3 = np.zeros((3, 3))
            T3[pad:, pad:] = np.asarray(tensor, float)
            ip[18], ip[19] = 2, off
            chunks.append(T3.reshape(-1))
            off += 9
        if species_D is not None:
            sd = np.asarray(species_D, dtype=float).reshape(-1)
            ip[24], ip[25] = sd.size, off
            chunks.append(sd)
            off += sd.size
        if source is not None:
            src = np.ascontiguousarray(np.broadcast_to(np.asarray(source, float), grid.shape)).reshape(-1)
            ip[20], ip[21] = 1, off
            chunks.append(src)
            off += N
        ip[22] = order
        ip[23] = HDR_I
        ipc = [ip]
        if mask is not None:
            ipc.append(np.asarray(mask, dtype=np.int64).reshape(-1))
        self.p = np.ascontiguousarray(np.concatenate(chunks))
        self.ip = np.ascontiguousarray(np.concatenate(ipc))
        self.bounds = bounds

    def refresh(self, t: float) -> None:
        """Recompute time-dependent boundary values at time ``t`` (in place)."""
        for a, side, off, size in self.b_slots:
            _, bb = self.bounds.ghost_rule(a, side, t)
            self.p[off:off + size] = np.asarray(bb, float).reshape(-1)
