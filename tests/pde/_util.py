"""Shared helpers for the pde tests: apply a compiled kernel, build operators the three ways."""
from __future__ import annotations

import numpy as np

from simdiff.pde import Boundaries
from simdiff.pde.operators import reference, stencils
from simdiff.pde.operators.packing import Packed
from simdiff.pde.operators.sparse import assemble


def apply_kernel(fn, pk: Packed, u, t: float = 0.0):
    """``fn(t, u)`` reshaped like ``u``."""
    u = np.ascontiguousarray(u, dtype=float)
    out = np.full(u.size, np.nan)
    fn(float(t), u.reshape(-1), out, pk.p, pk.ip)
    return out.reshape(u.shape)


def three_ways(grid, bc, u, *, D=1.0, mask=None, mask_value=None, t=0.0):
    """The diffusion operator applied to ``u`` by the compiled kernel, the numpy reference and the
    sparse matrix ``A u + c``."""
    bounds = Boundaries(grid, bc)
    pk = Packed(grid, bounds, D=D, mask=mask, mask_value=mask_value, t=t)
    k = apply_kernel(stencils.div_grad_kernel, pk, u, t)
    r = reference.div_grad(u, grid, bounds, D=D, t=t, mask=mask, mask_value=mask_value)
    A, c = assemble(grid, bounds, D, mask=mask, mask_value=mask_value, t=t)
    s = (A @ u.reshape(-1) + c).reshape(u.shape)
    return k, r, s


def rel_err(a, b):
    """max |a - b| / max |b| (b not all zero)."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))
