r"""The diffusion equation and Fick's laws.

Second law, with sources and first-order decay:

.. math:: \partial_t c = \nabla\cdot(D\nabla c) + s(x, t) - k\,c

First law: the flux :math:`J = -D\nabla c` (:func:`flux`), and its integral through a wall
(:func:`boundary_flux`). ``D`` is a number, a field (one value per cell: variable diffusivity in
conservative flux form), a function of the cell-centre coordinates, or a constant symmetric
``ndim x ndim`` tensor (anisotropic diffusion with cross terms).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from simdiff.core.linear import FourierDiagonal, SparseOperator
from simdiff.core.problem import ODE, Kernel
from simdiff.errors import InputError
from simdiff.pde.boundaries import Boundaries
from simdiff.pde.grid import AXES, Grid, as_mask
from simdiff.pde.operators.reference import wall_diffusivity

EXPLICIT = ("euler", "heun", "rk4", "ssprk3")
IMPLICIT = ("backward_euler", "crank_nicolson")
METHODS = EXPLICIT + IMPLICIT + ("adi", "spectral")
# the stable step of an explicit method is (this) / (D * sum 1/dx^2): where its stability region
# meets the negative real axis, over the Laplacian's largest eigenvalue magnitude 4 D sum 1/dx^2
STABILITY_REACH = {"euler": 2.0, "heun": 2.0, "ssprk3": 2.5127, "rk4": 2.7853}


def _is_tensor(D, grid: Grid) -> bool:
    return grid.ndim >= 2 and np.ndim(D) == 2 and np.shape(D) == (grid.ndim, grid.ndim)


class Diffusion:
    r"""Diffusion with optional sources and decay: :math:`\partial_t c = \nabla\cdot(D\nabla c) + s - k c`.

    Parameters
    ----------
    D
        Diffusivity (length²/time), >= 0: a number, a field of the grid's shape, a function
        ``D(x, y, ...)`` of the cell centres, or a symmetric positive semi-definite tensor.
    bc
        Boundary conditions (see :class:`simdiff.pde.Boundaries`); default no-flux walls.
    source
        ``s``: a number, a field, a function ``s(x, y, ...)`` or a time-dependent ``s(x, y, ..., t)``.
    decay
        First-order loss rate ``k`` >= 0 (1/time).
    order
        2 or 4: the order of the Laplacian stencil (4 needs constant D; it applies in periodic
        directions and falls back to 2nd order next to walls).
    mask_bc
        On the surface of a mask: ``"neumann"`` (no flux) or a number (Dirichlet value).
    """

    name = "diffusion"

    def __init__(self, D: Any = 1.0, bc: Any = "neumann", source: Any = None, decay: float = 0.0,
                 order: int = 2, mask_bc: Any = "neumann"):
        self.D = D
        self.bc = bc
        self.source = source
        self.decay = float(decay)
        self.order = int(order)
        self.mask_bc = mask_bc
        if not math.isfinite(self.decay) or self.decay < 0:
            raise InputError(f"decay={decay!r} must be a finite rate >= 0 (1/time).")
        if self.order not in (2, 4):
            raise InputError(f"order={order!r}: the Laplacian stencil is 2nd or 4th order; pass 2 or 4.")
        if not callable(D):
            arr = np.asarray(D, dtype=float)
            if not np.all(np.isfinite(arr)):
                raise InputError("diffusivity D has non-finite values (NaN or Inf); pass finite values >= 0.")
            maybe_tensor = arr.ndim == 2 and arr.shape in ((2, 2), (3, 3))   # cross terms may be < 0
            if np.any(arr < 0) and not maybe_tensor:
                raise InputError(f"diffusivity D must be >= 0; got min(D) = {arr.min():g}. Diffusion runs down "
                                 f"gradients: a negative D is ill-posed (use decay or a source for losses).")
        if mask_bc != "neumann" and not isinstance(mask_bc, (int, float)):
            raise InputError(f"mask_bc={mask_bc!r}: pass 'neumann' (no flux) or a number (Dirichlet value).")

    # -- parameters resolved on a grid -----------------------------------------------------------
    def diffusivity(self, grid: Grid) -> np.ndarray | float:
        """D on the grid: a float, a cell field, or an (ndim, ndim) tensor."""
        D = self.D
        if callable(D):
            D = np.asarray(D(*grid.mesh()), dtype=float)
            if D.shape != grid.shape:
                raise InputError(f"D function returned shape {D.shape}; it must give one value per cell, {grid.shape}.")
        D = np.asarray(D, dtype=float)
        if not np.all(np.isfinite(D)) or (np.any(D < 0) and not _is_tensor(D, grid)):
            raise InputError(f"diffusivity D must be finite and >= 0; got min(D) = {np.nanmin(D):g}.")
        if D.ndim == 0:
            return float(D)
        if _is_tensor(D, grid):
            if not np.allclose(D, D.T):
                raise InputError(f"the diffusivity tensor must be symmetric; got {D.tolist()}.")
            ev = np.linalg.eigvalsh(D)
            if ev.min() < -1e-12 * max(1.0, ev.max()):
                raise InputError(f"the diffusivity tensor must be positive semi-definite; its eigenvalues are {ev}.")
            return D
        if D.shape != grid.shape:
            raise InputError(f"diffusivity D has shape {D.shape}; the grid has shape {grid.shape}. Pass a number, "
                             f"an array of shape {grid.shape}, or a {grid.ndim}x{grid.ndim} tensor.")
        return D

    def wall_diffusivity(self, grid: Grid) -> dict | None:
        """D on the wall faces, ``{(axis, side): array}``, when D is a function of position (else
        None: the operators extrapolate a D field to its walls)."""
        if not callable(self.D):
            return None
        out = {}
        for a in range(grid.ndim):
            if grid.periodic[a]:
                continue
            for side in (0, 1):
                v = np.asarray(self.D(*grid.face_coords(a, side)), dtype=float)
                shape = tuple(n for b, n in enumerate(grid.shape) if b != a)
                try:
                    v = np.broadcast_to(v, shape)
                except ValueError:
                    raise InputError(f"D function returned shape {v.shape} on a wall; it must give one value per face.") from None
                if np.any(v < 0) or not np.all(np.isfinite(v)):
                    raise InputError("D function gives negative or non-finite values on a wall; D must be finite and >= 0.")
                out[(a, side)] = v
        return out

    def d_max(self, grid: Grid) -> float:
        D = self.diffusivity(grid)
        if np.ndim(D) == 2 and _is_tensor(D, grid):
            return float(np.linalg.eigvalsh(D).max())
        return float(np.max(D))

    def source_field(self, grid: Grid, t: float = 0.0):
        """The source on the grid at time t (None when there is none)."""
        s = self.source
        if s is None:
            return None
        if callable(s):
            from simdiff.pde.boundaries import _n_args

            args = grid.mesh()
            v = s(*args, t) if _n_args(s) == grid.ndim + 1 else s(*args)
        else:
            v = s
        v = np.asarray(v, dtype=float)
        try:
            v = np.broadcast_to(v, grid.shape)
        except ValueError:
            raise InputError(f"source has shape {v.shape}; the grid has shape {grid.shape}.") from None
        if not np.all(np.isfinite(v)):
            raise InputError("source has non-finite values; pass finite values.")
        return v

    def stable_dt(self, grid: Grid, method: str = "euler") -> float:
        """Largest stable step of an explicit method: ``reach / (4 D_max sum(1/dx^2) + decay)``."""
        if method not in STABILITY_REACH:
            return math.inf
        lam = 4.0 * self.d_max(grid) * sum(1.0 / h ** 2 for h in grid.dx) + self.decay
        if self.order == 4:
            lam *= 4.0 / 3.0
        return math.inf if lam == 0 else STABILITY_REACH[method] / lam

    # -- the ODE --------------------------------------------------------------------------------
    def problem(self, grid: Grid, *, method: str = "euler", mask: Any = None, t0: float = 0.0) -> ODE:
        """The semi-discrete equation as a core :class:`~simdiff.ODE` suited to ``method``.

        Explicit methods get a compiled :class:`~simdiff.Kernel`; implicit ones a
        ``SparseOperator`` linear part; ``spectral`` a ``FourierDiagonal`` one; ``adi`` an
        axis-split operator.
        """
        from simdiff.pde.boundaries import _n_args

        if method not in METHODS:
            raise InputError(f"unknown method {method!r} for diffusion; use one of {', '.join(METHODS)}.")
        mask = as_mask(grid, mask)
        bounds = Boundaries(grid, self.bc)
        D = self.diffusivity(grid)
        tensor = np.ndim(D) == 2 and _is_tensor(D, grid)
        src_t = callable(self.source) and _n_args(self.source) == grid.ndim + 1
        inside = None if mask is None else mask.inside
        mask_value = None if self.mask_bc == "neumann" else float(self.mask_bc)
        if self.order == 4 and (np.ndim(D) > 0 or mask is not None):
            raise InputError("order=4 needs a constant scalar D and no mask; use order=2 for variable D or masks.")
        if method == "spectral":
            return self._spectral(grid, bounds, D, tensor, mask)
        if method in IMPLICIT or method == "adi":
            if tensor:
                raise InputError(f"method {method!r} handles isotropic D; for an anisotropic tensor use an explicit "
                                 f"method (euler, rk4) or 'spectral' on a periodic grid.")
            return self._implicit(grid, bounds, D, inside, mask_value, src_t, method)
        return self._explicit(grid, bounds, D, tensor, inside, mask_value, src_t, t0)

    def _explicit(self, grid, bounds, D, tensor, inside, mask_value, src_t, t0):
        from simdiff.pde.operators import stencils
        from simdiff.pde.operators.packing import Packed

        src = None if src_t else self.source_field(grid)
        pk = Packed(grid, bounds, D=(0.0 if tensor else D), mask=inside, mask_value=mask_value, source=src,
                    decay=self.decay, order=self.order, t=t0, tensor=D if tensor else None,
                    wall_D=self.wall_diffusivity(grid))
        if tensor:
            fn = stencils.anisotropic_kernel
        elif np.ndim(D) == 0 and inside is None and self.order == 2:
            fn = stencils.laplace_kernel
        else:
            fn = stencils.div_grad_kernel
        kernel = Kernel(fn, p=pk.p, ip=pk.ip, fused_slot=12)
        if not (bounds.time_dependent or src_t):
            return ODE(kernel)
        # time-dependent walls or sources: refresh them each evaluation (generic path)
        shape = grid.shape

        def rhs(t, u):
            pk.refresh(t)
            out = np.empty(u.size)
            fn(float(t), np.ascontiguousarray(u).reshape(-1), out, pk.p, pk.ip)
            out = out.reshape(shape)
            if src_t:
                st = self.source_field(grid, t)
                out += st if inside is None else np.where(inside, st, 0.0)
            return out

        rhs.__name__ = "diffusion_rhs"
        return ODE(rhs)

    def _implicit(self, grid, bounds, D, inside, mask_value, src_t, method):
        from simdiff.pde.operators.sparse import assemble

        shape = grid.shape
        wall_D = self.wall_diffusivity(grid)
        A, c = assemble(grid, bounds, D, mask=inside, mask_value=mask_value, decay=self.decay, wall_D=wall_D)
        src = None if src_t else self.source_field(grid)
        const = c.reshape(shape) + (0.0 if src is None else src)
        if inside is not None:
            const = np.where(inside, const, 0.0)
        need_t = bounds.time_dependent or src_t

        def forcing(t, u):
            if not need_t:
                return const
            _, ct = assemble(grid, bounds, D, mask=inside, mask_value=mask_value, decay=self.decay, t=t,
                             wall_D=wall_D)
            out = ct.reshape(shape) + (self.source_field(grid, t) if src_t else (0.0 if src is None else src))
            return out if inside is None else np.where(inside, out, 0.0)

        forcing.__name__ = "diffusion_forcing"
        if method == "adi":
            import scipy.sparse as sp

            from simdiff.core.linear import AxisSplit

            # the decay, a diagonal, is shared equally by the axis parts so that sum(parts) == A
            share = sp.diags(np.where(inside, self.decay, 0.0).reshape(-1) if inside is not None
                             else np.full(grid.size, self.decay)) / grid.ndim
            parts = [assemble(grid, bounds, D, mask=inside, mask_value=mask_value, axis=a, wall_D=wall_D)[0] - share
                     for a in range(grid.ndim)]
            return ODE(forcing, linear=AxisSplit(A, parts, shape=grid.shape), forcing=True)
        return ODE(forcing, linear=SparseOperator(A), forcing=True)

    def _spectral(self, grid, bounds, D, tensor, mask):
        if not all(grid.periodic) or mask is not None or (np.ndim(D) > 0 and not tensor):
            raise InputError("method='spectral' needs a fully periodic grid, no mask and a constant D (scalar or "
                             "tensor); use 'crank_nicolson' or 'adi' otherwise.")
        ks = [2 * np.pi * np.fft.fftfreq(n, d=h) for n, h in zip(grid.shape, grid.dx)]
        ks[-1] = 2 * np.pi * np.fft.rfftfreq(grid.shape[-1], d=grid.dx[-1])
        K = np.meshgrid(*ks, indexing="ij")
        if tensor:
            symbol = -sum(D[i, j] * K[i] * K[j] for i in range(grid.ndim) for j in range(grid.ndim))
        else:
            # pseudo-spectral: the exact symbol -D|k|^2, spectrally accurate in space and, through
            # the exponential, exact in time for the linear part
            symbol = -D * sum(k ** 2 for k in K)
        symbol = symbol - self.decay
        src = self.source_field(grid) if not callable(self.source) else None
        if callable(self.source):
            from simdiff.pde.boundaries import _n_args

            if _n_args(self.source) == grid.ndim + 1:
                rhs = lambda t, u: self.source_field(grid, t)  # noqa: E731
            else:
                src = self.source_field(grid)
        if src is None and not callable(self.source):
            rhs = lambda t, u: np.zeros_like(u)  # noqa: E731
        elif src is not None:
            rhs = lambda t, u: src  # noqa: E731
        rhs.__name__ = "diffusion_source"
        return ODE(rhs, linear=FourierDiagonal(symbol, axes=tuple(range(grid.ndim))))

    # -- configuration --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        def enc(v):
            if callable(v):
                return f"<function {getattr(v, '__name__', 'f')}>"
            if isinstance(v, np.ndarray):
                return v.tolist() if v.size <= 9 else "<array>"
            return v

        return {"model": "diffusion", "D": enc(self.D), "source": enc(self.source), "decay": self.decay,
                "order": self.order, "mask_bc": self.mask_bc, "bc": encode_bc(self.bc)}

    def __repr__(self) -> str:
        return f"Diffusion(D={self.D if np.ndim(self.D) == 0 else '<field>'}, bc={self.bc!r}, decay={self.decay})"


def encode_bc(bc) -> Any:
    """A boundary-condition spec as plain JSON data (functions by name), the same in every process."""
    from simdiff.pde.boundaries import BC

    if isinstance(bc, BC):
        return bc.to_dict()
    if isinstance(bc, dict):
        return {str(k): encode_bc(v) for k, v in bc.items()}
    if isinstance(bc, (list, tuple)):
        return [encode_bc(v) for v in bc]
    if callable(bc):
        return f"<function {getattr(bc, '__name__', 'f')}>"
    if isinstance(bc, np.ndarray):
        return bc.tolist() if bc.size <= 16 else "<array>"
    return bc


# ---- Fick's first law ------------------------------------------------------------------------

def gradient(c, grid: Grid, bc: Any = "neumann", t: float = 0.0) -> tuple[np.ndarray, ...]:
    r""":math:`\nabla c` at cell centres, one array per axis: centred differences, with the
    ghost rules of ``bc`` at walls (second order everywhere)."""
    c = np.asarray(c, dtype=float)
    grid.check_field(c, "c")
    from simdiff.pde.operators.reference import pad_ghosts

    g = pad_ghosts(c, grid, Boundaries(grid, bc), t)
    core = [slice(1, -1)] * grid.ndim
    grads = []
    for a in range(grid.ndim):
        hi, lo = list(core), list(core)
        hi[a], lo[a] = slice(2, None), slice(0, -2)
        grads.append((g[tuple(hi)] - g[tuple(lo)]) / (2 * grid.dx[a]))
    return tuple(grads)


def divergence(J, grid: Grid) -> np.ndarray:
    r""":math:`\nabla\cdot J` of a vector field given at cell centres (one array per axis):
    centred differences, periodic wrap on periodic axes, one-sided (second order) at walls."""
    J = [np.asarray(j, dtype=float) for j in J]
    if len(J) != grid.ndim:
        raise InputError(f"J has {len(J)} components; the grid has {grid.ndim} axes.")
    out = np.zeros(grid.shape)
    for a, j in enumerate(J):
        grid.check_field(j, f"J[{a}]")
        if grid.periodic[a]:
            out += (np.roll(j, -1, axis=a) - np.roll(j, 1, axis=a)) / (2 * grid.dx[a])
        else:
            out += np.gradient(j, grid.dx[a], axis=a, edge_order=2)
    return out


def flux(c, grid: Grid, D: Any = 1.0, bc: Any = "neumann", t: float = 0.0) -> tuple[np.ndarray, ...]:
    r"""Fick's first law :math:`J = -D\nabla c` at cell centres, one array per axis.

    Centred differences inside, ghost rules (``bc``) at walls. ``D`` a number, field or tensor.
    """
    grads = gradient(c, grid, bc, t)
    Dv = Diffusion(D).diffusivity(grid)
    if np.ndim(Dv) == 2 and _is_tensor(Dv, grid):
        return tuple(-sum(Dv[a, b] * grads[b] for b in range(grid.ndim)) for a in range(grid.ndim))
    return tuple(-Dv * gr for gr in grads)


def boundary_flux(c, grid: Grid, D: Any = 1.0, bc: Any = "neumann", side: str = "all", t: float = 0.0,
                  mask: Any = None, mask_value: float | None = None) -> float:
    r"""Total outward flux :math:`\oint J\cdot n\,dA` (Fick: :math:`J = -D\nabla c`).

    ``side`` is one wall (``"x-"``, ``"y+"``, ...), ``"mask"`` (the surface of ``mask``), or
    ``"all"`` (every wall, plus the mask surface when there is a mask). With a mask, walls count
    the cells inside it only; the mask surface carries flux only with a Dirichlet ``mask_value``
    (face gradient :math:`2(g - u)/\Delta x`, as in the solver).

    Uses the solver's face gradients, :math:`(u_g - u_e)/\Delta x` with the ghost rule, so for a
    conservative run :math:`dM/dt = -` (this) + sources, exactly in the semi-discrete equation.
    """
    c = np.asarray(c, dtype=float)
    grid.check_field(c, "c")
    bounds = Boundaries(grid, bc)
    Dv = Diffusion(D).diffusivity(grid)
    if np.ndim(Dv) == 2 and _is_tensor(Dv, grid):
        raise InputError("boundary_flux supports scalar D (constant or field).")
    Dc = np.broadcast_to(Dv, grid.shape)
    mk = as_mask(grid, mask)
    inside = np.ones(grid.shape, bool) if mk is None else mk.inside
    total = 0.0
    if side in ("mask", "all") and mk is not None and mask_value is not None:
        for a in range(grid.ndim):
            area = grid.cell_volume / grid.dx[a]
            for step in (-1, 1):
                nb = np.roll(inside, -step, axis=a)
                face = inside & ~nb
                if not grid.periodic[a]:            # wall faces are not mask faces
                    e = [slice(None)] * grid.ndim
                    e[a] = -1 if step > 0 else 0
                    face[tuple(e)] = False
                total += float(np.sum(np.where(face, -Dc * 2.0 * (float(mask_value) - c) / grid.dx[a], 0.0)) * area)
    elif side == "mask" and mk is None:
        raise InputError("side='mask' needs mask=...")
    if side == "mask":
        return total
    sides = [(a, s) for a in range(grid.ndim) for s in (0, 1)] if side == "all" else [_side(side, grid)]
    for a, s in sides:
        if grid.periodic[a]:
            continue
        ga, gb = bounds.ghost_rule(a, s, t)
        e = [slice(None)] * grid.ndim
        e[a] = 0 if s == 0 else -1
        edge = c[tuple(e)]
        ghost = ga * edge + gb
        area = grid.cell_volume / grid.dx[a]
        Dw = wall_diffusivity(Dv, a, s, Diffusion(D).wall_diffusivity(grid))
        flux = -Dw * (ghost - edge) / grid.dx[a]
        total += float(np.sum(np.where(inside[tuple(e)], flux, 0.0)) * area)
    return total


def _side(name: str, grid: Grid) -> tuple[int, int]:
    if len(name) != 2 or name[0] not in AXES[:grid.ndim] or name[1] not in "-+":
        raise InputError(f"side={name!r}: use one of {', '.join(a + s for a in AXES[:grid.ndim] for s in '-+')}, "
                         f"'all' or 'mask'.")
    return AXES.index(name[0]), (0 if name[1] == "-" else 1)
